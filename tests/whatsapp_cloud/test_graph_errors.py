"""Meta's error codes, classified once: one class per code, its family, retryability, the factories."""

import json

import pytest

from tests.support.helpers import PAYLOADS
from whatsapp_cloud.graph import errors
from whatsapp_cloud.graph.errors import (
    ERRORS,
    RETRYABLE_CODES,
    APIPermission,
    AuthorizationError,
    ExpiredAccessToken,
    GraphApiError,
    IntegrityError,
    MarketingError,
    MarketingStopped,
    MediaError,
    MediaUploadError,
    ParameterError,
    ReEngagementMessage,
    TemplateNotExists,
    TemplatePaused,
    TemplateSendError,
    ThrottlingError,
    TooManyMessages,
    WindowError,
    error_for,
)
from whatsapp_cloud.outbound.sender import DeadlinePassed
from whatsapp_cloud.webhooks import inbound

# Meta's codes as its error-code page and /work/shared/whatsapp-platform.md 3.1 give them.
DOCUMENTED = {
    0: "AuthException", 3: "APIMethod", 10: "PermissionDenied", 190: "ExpiredAccessToken",
    131005: "AccessDenied",
    4: "TooManyAPICalls", 80007: "RateLimitIssues", 130429: "RateLimitHit", 131048: "SpamRateLimitHit",
    131056: "TooManyMessages",
    368: "TemporarilyBlocked", 131031: "AccountLocked", 131064: "TemplateClassificationLimit",
    131047: "ReEngagementMessage",
    131050: "MarketingStopped", 131049: "EcosystemEngagement", 130472: "ExperimentGroup",
    131063: "MarketingTemplatesUnavailable", 130497: "CountryRestricted",
    131026: "MessageUndeliverable", 131021: "RecipientCannotBeSender", 131030: "RecipientNotInAllowedList",
    131062: "RecipientIdNotSupported",
    132000: "TemplateParamCountMismatch", 132001: "TemplateNotExists", 132005: "TemplateTextTooLong",
    132007: "TemplateContentPolicyViolation", 132008: "TemplateParamValueInvalid",
    132012: "TemplateParamFormatMismatch", 132015: "TemplatePaused", 132016: "TemplateDisabled",
    132068: "FlowBlocked", 132069: "FlowThrottled",
    131052: "MediaDownloadError", 131053: "MediaUploadError",
    100: "InvalidRequestParameter", 131008: "MissingRequiredParameter", 131009: "InvalidParameter",
    131051: "UnsupportedMessageType",
    131000: "UnknownError", 131016: "ServiceUnavailable", 131057: "AccountInMaintenanceMode",
    131037: "DisplayNameNotApproved", 131042: "BusinessPaymentIssue", 131045: "IncorrectCertificate",
    135000: "GenericUserError",
}


def test_every_documented_code_has_its_own_class() -> None:
    for code, name in DOCUMENTED.items():
        cls = error_for(code)
        assert cls.__name__ == name and cls.code == code
        assert issubclass(cls, GraphApiError) and cls is not GraphApiError


def test_the_map_holds_exactly_the_classes_with_a_code() -> None:
    assert {code: cls.__name__ for code, cls in ERRORS.items() if code not in range(201, 300)} == DOCUMENTED | {
        200: "APIPermission"}
    assert all(ERRORS[code] is APIPermission for code in range(200, 300))
    # Only the classes of this module: a subclass elsewhere without a code is not a Meta error.
    assert DeadlinePassed not in ERRORS.values()


def test_codes_are_unique_across_classes() -> None:
    classes = [cls for cls in vars(errors).values()
               if isinstance(cls, type) and issubclass(cls, GraphApiError) and "code" in vars(cls)]
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)) == len(classes)


def test_families() -> None:
    assert issubclass(TooManyMessages, ThrottlingError)
    assert issubclass(ReEngagementMessage, WindowError)
    assert issubclass(TemplatePaused, TemplateSendError) and issubclass(TemplateNotExists, TemplateSendError)
    assert issubclass(MarketingStopped, MarketingError)
    assert issubclass(ExpiredAccessToken, AuthorizationError)
    assert issubclass(error_for(368), IntegrityError)
    assert issubclass(MediaUploadError, MediaError)
    assert issubclass(error_for(131009), ParameterError)


def test_retryable_codes_are_meta_s_list() -> None:
    # Meta asks to retry these with backoff, and only these (whatsapp-platform.md 3.1, retry policy).
    assert RETRYABLE_CODES == frozenset({4, 80007, 130429, 131000, 131016, 131056, 131057})
    for code, cls in ERRORS.items():
        assert cls.transient is (code in RETRYABLE_CODES)
        assert cls("m").retryable is (code in RETRYABLE_CODES)


@pytest.mark.parametrize("code", sorted(DOCUMENTED))
def test_from_response_returns_the_class_of_the_code(code: int) -> None:
    body = {"error": {"message": f"(#{code}) m", "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": "why"}, "fbtrace_id": "AbC"}}
    error = GraphApiError.from_response(400, body)
    assert type(error) is error_for(code)
    assert (error.code, error.http_status, error.details, error.fbtrace_id) == (code, 400, "why", "AbC")
    assert error.retryable is (code in RETRYABLE_CODES)


def test_any_subclass_builds_from_a_response_by_its_code() -> None:
    # The factory decides by the code, whichever class it is called on.
    error = TemplateSendError.from_response(400, {"error": {"code": 131047, "message": "m"}})
    assert type(error) is ReEngagementMessage


def test_unknown_or_missing_codes_give_the_base_class() -> None:
    unknown = GraphApiError.from_response(400, {"error": {"code": 999999, "message": "new from Meta"}})
    assert type(unknown) is GraphApiError and unknown.code == 999999 and not unknown.retryable
    for body in (None, "<html>down</html>", {}, {"error": {}}):
        error = GraphApiError.from_response(503, body)
        assert type(error) is GraphApiError and error.code is None and error.retryable
        assert error.message == "Graph API answered HTTP 503"
    assert not GraphApiError.from_response(400, None).retryable
    for odd in (None, "131047", True, 1.5):
        assert error_for(odd) is GraphApiError


def test_a_class_knows_its_code_without_being_told() -> None:
    error = ReEngagementMessage("Re-engagement message")
    assert error.code == 131047 and "code=131047" in str(error)
    assert GraphApiError("no code").code is None


def test_webhook_error_objects_map_the_same_way() -> None:
    objects = json.loads((PAYLOADS / "pywa_error_objects.json").read_text())
    for name, error_object in objects.items():
        error = GraphApiError.from_error(error_object)
        assert type(error).__name__ == name.split("_")[0]
    upload = GraphApiError.from_error(objects["MediaUploadError_131053_webhook_error_object"])
    assert upload.message == "Media upload error" and "429" in upload.details and upload.http_status is None


def test_failed_status_codes_map_to_classes() -> None:
    body = json.loads((PAYLOADS / "pywa_status_failed_with_errors.json").read_text())
    [update] = inbound.events(body)
    assert isinstance(update, inbound.StatusUpdate)
    assert [error_for(code).__name__ for code in update.error_codes] == ["ExperimentGroup"]
    assert [type(GraphApiError.from_error(e)).__name__ for e in update.errors] == ["ExperimentGroup"]
