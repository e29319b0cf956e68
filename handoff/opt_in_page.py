"""The public opt-in page: a customer gives their WhatsApp number and agrees to the business's messages.

No sign-in: the business links it or embeds it (an iframe, from the origins OPT_IN_FRAME_ANCESTORS lists).
The checkbox's wording names the business, WhatsApp and the kind of messages, with WhatsApp's name and logo
beside it and a link to the business's privacy policy, as Meta asks of an opt-in. A sign-up is recorded in
the consent ledger (source `website`, the exact wording shown, the time), then the customer gets the
`opt_in_page_confirmation` template through the one outbound sender and policy; tapping its button is
noted on the record (whatsapp_cloud/policy/hooks.py). The form is CSRF-protected like every form of the
service and limited per client address and per number (request_limits.py). The answer is the same
whether or not the number had agreed before, so the page tells nobody what another number chose.
"""

import logging
from typing import Any, Callable, Dict, Optional

import redis
from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError

from handoff.messaging import SendBlocked, SendFailed
from handoff.settings import OptInSettings
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import entry
from whatsapp_cloud.phone_numbers import NotAPhoneNumber, international_digits

CONFIRMATION_TEMPLATE = "opt_in_page_confirmation"
WORDING = ("Yes, I want {business} to send me {kinds} on WhatsApp at this number. "
           "I can reply STOP at any time to stop them.")

logger = logging.getLogger(__name__)


def wording(settings: OptInSettings) -> str:
    """The checkbox's text, exactly as shown and as kept in the ledger."""
    return WORDING.format(business=settings.business, kinds=settings.message_kinds)


def create_opt_in_page(settings: OptInSettings, limit: Callable[[Callable], Callable]) -> Blueprint:
    page = Blueprint("opt_in", __name__)

    def form(status: int = 200, error: str = "", phone: str = "") -> Any:
        if not settings.privacy_policy_url:
            return Response("The opt-in page is not set up: OPT_IN_PRIVACY_POLICY_URL is not set.\n", 503,
                            mimetype="text/plain")
        return render_template("opt_in.html", settings=settings, wording=wording(settings), error=error,
                               phone=phone), status

    @page.after_request
    def framing(response: Response) -> Response:
        # Embeddable by its own origin and the listed ones only; nothing loads from elsewhere.
        ancestors = " ".join(("'self'", *settings.frame_ancestors))
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors {ancestors}")
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @page.errorhandler(CSRFError)
    def stale_form(exc: CSRFError) -> Any:
        return form(400, "This form has expired. Please enter your number and tick the box again.",
                    request.form.get("phone", ""))

    @page.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded) -> Any:
        return form(429, "Too many sign-ups from here or for this number. Please try again later.")

    @page.get("/opt-in")
    def show() -> Any:
        return form()

    @page.post("/opt-in")
    @limit
    def sign_up() -> Any:
        if not settings.privacy_policy_url:
            return form()
        typed = request.form.get("phone", "")
        if request.form.get("wording") != wording(settings):
            return form(409, "The wording changed while the page was open. Please read it and tick the box again.",
                        typed)
        if request.form.get("agree") != "yes":
            return form(400, "Tick the box to agree to the messages.", typed)
        try:
            wa_id = international_digits(typed)
        except NotAPhoneNumber:
            return form(400, "Enter your WhatsApp number with its country code, e.g. +44 7700 900123.", typed)
        try:
            record(wa_id, settings)
        except redis.RedisError:
            logger.exception("the opt-in page could not record a sign-up")
            return form(503, "We could not record your sign-up just now. Please try again in a minute.", typed)
        return redirect(url_for("opt_in.done"), 303)

    @page.get("/opt-in/done")
    def done() -> Any:
        return render_template("opt_in_done.html", settings=settings)

    return page


def record(wa_id: str, settings: OptInSettings) -> None:
    """The opt-in in the ledger, its event, and the confirmation message when the opt-in changed anything."""
    service = current_app.extensions["handoff"]
    policy = service.messenger.policy
    at = policy.now()
    changed = policy.record_consent(wa_id, "in", settings.scopes, "website", wording(settings), at=at)
    if not changed:  # the number had agreed already: no second confirmation
        return
    current_app.extensions["redis"].xadd(
        redis_keys.EVENT_STREAM, entry(kinds.CONSENT, recipient=wa_id, status="in", source="website",
                                       scopes=",".join(changed)),
        maxlen=service.settings.event_stream_max, approximate=True)
    send_confirmation(wa_id, settings, key=f"opt-in-confirmation:{wa_id}:{at.timestamp():.0f}")


def send_confirmation(wa_id: str, settings: OptInSettings, key: str) -> Optional[str]:
    """The confirmation template through the one sender and policy; its wamid, or None when it was not sent
    (the opt-in stays recorded: the confirmation only asks the customer to confirm it)."""
    messenger = current_app.extensions["handoff"].messenger
    values: Dict[str, str] = {"business": settings.business, "message_kinds": settings.message_kinds}
    try:
        wamid, _ = messenger.send_template(wa_id, CONFIRMATION_TEMPLATE, messenger.policy_config.default_language,
                                           values, key, label="opt_in_confirmation")
        return wamid
    except (SendBlocked, SendFailed) as exc:
        logger.warning("the opt-in confirmation was not sent: %s", exc)
        return None
