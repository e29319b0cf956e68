"""Graph API errors, classified once for every caller: Meta's error codes are spelled only here.

One class per code Meta documents for Cloud API messaging, grouped by family (authorization,
throttling, integrity, re-engagement window, consent and marketing, recipient, templates, flows,
media, parameters, service). Each class carries its `code` and whether Meta asks callers to try
again (`transient`). Callers catch or compare classes (`ReEngagementMessage`), never numbers:

- `GraphApiError.from_response(http_status, body)`: an error answer of the Graph API as the class
  of its code (the base class for a code not listed here, or no code at all);
- `GraphApiError.from_error(error)`: the same for an error object of a webhook (a failed status's
  `errors[]`, a value-level `errors[]`);
- `error_for(code)`: the class of a code, e.g. for the codes of a failed status.

Left out: the On-Premises API's codes (470 and the like) and registration-only codes, which this
Cloud API client never sees on the messaging path. Sources: Meta's error-code page and pywa's
`pywa/errors.py` (see /work/shared/whatsapp-platform.md, 3.1).
"""

from typing import Any, ClassVar, Dict, Iterable, Mapping, Optional, Type


class GraphApiError(Exception):
    """An error answer (or no answer) from the Graph API."""

    code: Optional[int] = None  # Meta's error code; a subclass's is its class's
    transient: ClassVar[bool] = False  # Meta asks callers to try again later, with backoff

    def __init__(
        self,
        message: str,
        code: Optional[int] = None,
        http_status: Optional[int] = None,
        details: Optional[str] = None,
        fbtrace_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = type(self).code if code is None else code
        self.http_status = http_status
        self.details = details
        self.fbtrace_id = fbtrace_id

    @property
    def retryable(self) -> bool:
        if self.code is not None:
            return self.code in RETRYABLE_CODES
        # No Meta error code: a network fault or a 5xx without a body is worth another try.
        return self.http_status is None or self.http_status >= 500

    @classmethod
    def from_response(cls, http_status: int, body: Any) -> "GraphApiError":
        error: Dict[str, Any] = body.get("error", {}) if isinstance(body, dict) else {}
        return GraphApiError.from_error(error, http_status)

    @staticmethod
    def from_error(error: Mapping[str, Any], http_status: Optional[int] = None) -> "GraphApiError":
        """Meta's error object (`{code, message, title?, error_data: {details}, fbtrace_id?}`) as its class."""
        code = error.get("code")
        fallback = f"Graph API answered HTTP {http_status}" if http_status is not None else f"Meta error {code}"
        return error_for(code)(
            message=error.get("message") or error.get("title") or fallback,
            code=code,
            http_status=http_status,
            details=(error.get("error_data") or {}).get("details"),
            fbtrace_id=error.get("fbtrace_id"),
        )

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        if self.details:
            parts.append(self.details)
        return " | ".join(parts)


# --- authorization: the token, the app's permissions ------------------------------------------------

class AuthorizationError(GraphApiError):
    """The token or the app's permissions: fix the credentials, sending again will not help."""


class AuthException(AuthorizationError):
    """Meta could not authenticate the app user."""

    code = 0


class APIMethod(AuthorizationError):
    """A capability or permission issue."""

    code = 3


class PermissionDenied(AuthorizationError):
    """A permission is not granted or was removed."""

    code = 10


class ExpiredAccessToken(AuthorizationError):
    """The access token expired or is invalid."""

    code = 190


class APIPermission(AuthorizationError):
    """A permission is not granted or was removed (Meta uses every code from 200 to 299)."""

    code = 200
    codes: ClassVar[Iterable[int]] = range(200, 300)


class AccessDenied(AuthorizationError):
    """The WhatsApp permission is not granted or was removed."""

    code = 131005


# --- throttling: too many calls or messages, for now ------------------------------------------------

class ThrottlingError(GraphApiError):
    """A rate limit: most of them pass, so callers back off and try again."""


class TooManyAPICalls(ThrottlingError):
    """The app reached its API-call rate limit."""

    code = 4
    transient = True


class RateLimitIssues(ThrottlingError):
    """The WhatsApp Business Account reached its rate limit."""

    code = 80007
    transient = True


class RateLimitHit(ThrottlingError):
    """The Cloud API throughput of the business number (messages per second) was reached."""

    code = 130429
    transient = True


class SpamRateLimitHit(ThrottlingError):
    """Too many of the number's messages were blocked or flagged as spam: fix quality, do not retry."""

    code = 131048


class TooManyMessages(ThrottlingError):
    """The pair rate limit: too many messages to the same customer in a short time (back off 4^n s)."""

    code = 131056
    transient = True


# --- integrity: the account is restricted --------------------------------------------------------

class IntegrityError(GraphApiError):
    """The business account is restricted or its messaging is limited for policy reasons."""


class TemporarilyBlocked(IntegrityError):
    """The WhatsApp Business Account was restricted or disabled for a policy violation."""

    code = 368


class AccountLocked(IntegrityError):
    """The account is locked for a policy violation, or data (e.g. the two-step PIN) did not verify."""

    code = 131031


class TemplateClassificationLimit(IntegrityError):
    """The messaging limit was lowered after template-classification violations."""

    code = 131064


# --- the customer service window ------------------------------------------------------------------

class WindowError(GraphApiError):
    """Free-form content outside the customer service window."""


class ReEngagementMessage(WindowError):
    """More than 24 hours since the customer last wrote: only a template may go out."""

    code = 131047


# --- consent and marketing: the customer or Meta withholds marketing ------------------------------

class MarketingError(GraphApiError):
    """A marketing message Meta withheld for the customer's sake or by the customer's choice."""


class MarketingStopped(MarketingError):
    """The customer stopped marketing messages from the business."""

    code = 131050


class EcosystemEngagement(MarketingError):
    """Not delivered "to maintain healthy ecosystem engagement" (Meta's per-user marketing cap)."""

    code = 131049


class ExperimentGroup(MarketingError):
    """The customer is in a Meta experiment group that withholds marketing messages."""

    code = 130472


class MarketingTemplatesUnavailable(MarketingError):
    """Marketing templates are disabled on the Cloud API for this business (Marketing Messages API)."""

    code = 131063


class CountryRestricted(MarketingError):
    """The business may not message customers in that country."""

    code = 130497


# --- the recipient ---------------------------------------------------------------------------------

class RecipientError(GraphApiError):
    """The message cannot reach that recipient."""


class MessageUndeliverable(RecipientError):
    """Not a WhatsApp number, the customer has not accepted the terms, or an old app version."""

    code = 131026


class RecipientCannotBeSender(RecipientError):
    """The sender and the recipient are the same number."""

    code = 131021


class RecipientNotInAllowedList(RecipientError):
    """A test number may only message the numbers in its allowed list."""

    code = 131030


class RecipientIdNotSupported(RecipientError):
    """This message cannot be addressed to a business-scoped user id (BSUID)."""

    code = 131062


# --- templates ---------------------------------------------------------------------------------------

class TemplateSendError(GraphApiError):
    """A template message Meta refuses: the template or its parameters."""


class TemplateParamCountMismatch(TemplateSendError):
    """The number of parameters does not match the template's."""

    code = 132000


class TemplateNotExists(TemplateSendError):
    """The template does not exist in that language, or it is not approved."""

    code = 132001


class TemplateTextTooLong(TemplateSendError):
    """The template's text with its parameters is too long."""

    code = 132005


class TemplateContentPolicyViolation(TemplateSendError):
    """The template's content violates a WhatsApp policy."""

    code = 132007


class TemplateParamValueInvalid(TemplateSendError):
    """A parameter's value is formatted wrongly."""

    code = 132008


class TemplateParamFormatMismatch(TemplateSendError):
    """The parameters' format does not match the template's."""

    code = 132012


class TemplatePaused(TemplateSendError):
    """The template is paused for low quality."""

    code = 132015


class TemplateDisabled(TemplateSendError):
    """The template was paused too often and is now disabled."""

    code = 132016


# --- flows -------------------------------------------------------------------------------------------

class FlowSendError(GraphApiError):
    """A message with a WhatsApp Flow Meta refuses."""


class FlowBlocked(FlowSendError):
    """The flow is blocked."""

    code = 132068


class FlowThrottled(FlowSendError):
    """The flow is throttled: 10 messages with it were already sent in the last hour."""

    code = 132069


# --- media ---------------------------------------------------------------------------------------------

class MediaError(GraphApiError):
    """Media that could not be fetched or used."""


class MediaDownloadError(MediaError):
    """The media a customer sent could not be downloaded."""

    code = 131052


class MediaUploadError(MediaError):
    """The media of the message (its link or id) could not be used."""

    code = 131053


# --- parameters: the request itself is wrong ---------------------------------------------------------

class ParameterError(GraphApiError):
    """The request is malformed: fix it, sending it again will not help."""


class InvalidRequestParameter(ParameterError):
    """A parameter is unsupported or misspelled, or the object it names does not exist."""

    code = 100


class MissingRequiredParameter(ParameterError):
    """A required parameter is missing."""

    code = 131008


class InvalidParameter(ParameterError):
    """A parameter's value is invalid (an id, a phone number, a length)."""

    code = 131009


class UnsupportedMessageType(ParameterError):
    """The message type is not supported."""

    code = 131051


# --- the service and the business account ----------------------------------------------------------

class ServiceError(GraphApiError):
    """Meta's side or the business account's state."""


class UnknownError(ServiceError):
    """Something went wrong: Meta asks to try again."""

    code = 131000
    transient = True


class ServiceUnavailable(ServiceError):
    """A service is temporarily unavailable."""

    code = 131016
    transient = True


class AccountInMaintenanceMode(ServiceError):
    """The business account is in maintenance mode (e.g. a throughput upgrade)."""

    code = 131057
    transient = True


class DisplayNameNotApproved(ServiceError):
    """The display name of the number is not approved yet."""

    code = 131037


class BusinessPaymentIssue(ServiceError):
    """The business's payment method has a problem."""

    code = 131042


class IncorrectCertificate(ServiceError):
    """The phone number's registration (certificate) is wrong."""

    code = 131045


class GenericUserError(ServiceError):
    """Meta's generic user error."""

    code = 135000


def _leaves(cls: Type[GraphApiError]) -> Iterable[Type[GraphApiError]]:
    for sub in cls.__subclasses__():
        if "code" in vars(sub):
            yield sub
        yield from _leaves(sub)


# Only the classes defined above: a subclass declared elsewhere (the sender's DeadlinePassed) has no code.
ERRORS: Dict[int, Type[GraphApiError]] = {
    code: cls for cls in _leaves(GraphApiError) for code in vars(cls).get("codes", (cls.code,))
}
# Codes Meta asks callers to retry with backoff (throughput, pair rate, transient faults).
RETRYABLE_CODES = frozenset(code for code, cls in ERRORS.items() if cls.transient)


def error_for(code: Any) -> Type[GraphApiError]:
    """The class of Meta's error `code`; GraphApiError itself for a code not listed (or not a number)."""
    return ERRORS.get(code, GraphApiError) if isinstance(code, int) and not isinstance(code, bool) else GraphApiError
