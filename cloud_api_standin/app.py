"""A local stand-in for Meta's Cloud API, so the whole system runs without a Meta account.

It answers the send endpoint as the Graph API does (same validation, same error envelope,
same response with a wamid), refuses free-form messages outside the 24-hour window as Meta
does (ReEngagementMessage), records what the business sent, and plays customers: their messages reach
the bot as signed webhooks in Meta's envelope.
"""

import base64
import hashlib
import secrets
import threading
from typing import Any, Dict, Mapping, Optional, Type, Union

import jsonschema
import requests
from flask import Flask, jsonify, request

from cloud_api_standin import demo_consent, template_review, webhooks
from cloud_api_standin.fault_rates import FaultRates
from cloud_api_standin.outbox import Outbox
from cloud_api_standin.rate_limits import RateLimits
from cloud_api_standin.send_schema import MARK_READ, SEND_MESSAGE
from cloud_api_standin.statuses import StatusReporter, status_envelope
from cloud_api_standin.templates import StandinClock, StandinTemplates, change_envelope
from stack import components
from whatsapp_cloud.graph.errors import (
    ExpiredAccessToken,
    GraphApiError,
    InvalidRequestParameter,
    MarketingStopped,
    MediaUploadError,
    RateLimitHit,
    ReEngagementMessage,
    TooManyMessages,
)
from whatsapp_cloud.outbound.media_files import UnsupportedMedia, media_type
from whatsapp_cloud.policy.template_drafts import DraftError
from whatsapp_cloud.webhooks import inbound

WINDOW_SECONDS = 24 * 3600
INVALID_TOKEN = "Invalid OAuth access token - Cannot parse access token"
REENGAGEMENT_DETAILS = ("Message failed to send because more than 24 hours have passed since the "
                        "customer last replied to this number.")
# Meta accepts these outside the customer service window; everything else needs an open window.
ALLOWED_OUTSIDE_WINDOW = {"template"}

_send_validator = jsonschema.Draft7Validator(SEND_MESSAGE)
_mark_read_validator = jsonschema.Draft7Validator(MARK_READ)


def meta_error(http_status: int, meta: Union[Type[GraphApiError], int], message: str, details: str = "") -> Any:
    """Meta's error envelope for one of Meta's errors (its class; a bare code for injected faults)."""
    code = meta if isinstance(meta, int) else meta.code
    error: Dict[str, Any] = {
        "message": f"(#{code}) {message}",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": secrets.token_urlsafe(12),
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return jsonify({"error": error}), http_status


def create_app(environ: Optional[Mapping[str, str]] = None) -> Flask:
    env = components.environment() if environ is None else environ
    app = Flask(__name__)
    settings = {
        "access_token": env["WHATSAPP_ACCESS_TOKEN"],
        "app_secret": env["WHATSAPP_APP_SECRET"],
        "phone_number_id": env["WHATSAPP_PHONE_NUMBER_ID"],
        "webhook_url": env["STANDIN_WEBHOOK_URL"],
        "display_phone_number": env.get("STANDIN_DISPLAY_PHONE_NUMBER", "15550100000"),
        "waba_id": env.get("STANDIN_WABA_ID", "100000000000002"),
    }
    outbox = Outbox()
    faults: list = []  # injected refusals, served before any real answer (tests of retries)
    fault_rates = {"value": FaultRates()}  # faults drawn at random (the chaos proofs); none by default
    limits = RateLimits(
        per_second=float(env.get("STANDIN_THROUGHPUT", "80")),
        pair_burst=int(env.get("STANDIN_PAIR_BURST", "45")),
        pair_window_seconds=float(env.get("STANDIN_PAIR_WINDOW", "6")),
    )
    # "sync": refuse free-form messages outside the window at once (ReEngagementMessage); "async": accept
    # them and report a failed status later, as Meta often does.
    window_mode = {"value": env.get("STANDIN_WINDOW_MODE", "sync")}
    review_delay = float(env.get("STANDIN_TEMPLATE_REVIEW_DELAY", "1"))  # Meta takes minutes to hours

    def deliver_signed(envelope: Dict[str, Any]) -> Any:
        return webhooks.deliver(settings["webhook_url"], envelope, settings["app_secret"])

    reporter = StatusReporter(
        deliver_signed,
        lambda recipient, item: status_envelope(
            settings["waba_id"], settings["phone_number_id"], settings["display_phone_number"], recipient, item
        ),
        delay=float(env.get("STANDIN_STATUS_DELAY", "0.2")),
    )
    if env.get("STANDIN_STATUSES", "on") == "off":
        reporter.sent = lambda *args, **kwargs: None  # type: ignore[assignment]
    app.extensions["standin_reporter"] = reporter
    last_inbound: Dict[str, int] = {}  # wa_id -> timestamp of the customer's last message
    media: Dict[str, Dict[str, Any]] = {}  # media id -> what a customer uploaded
    app.extensions["standin_media"] = media
    lock = threading.Lock()
    app.extensions["standin_outbox"] = outbox
    templates = StandinTemplates.from_env(env)
    demo_consent.seed(env)
    clock = StandinClock(env)
    refusals: list = []  # every error the stand-in answered or reported: what a test checks the bot avoided
    app.extensions["standin_refusals"] = refusals

    def refuse(to: str, kind: str, meta: Type[GraphApiError], message: str, details: str = "",
               http_status: int = 400) -> Any:
        with lock:
            refusals.append({"code": meta.code, "to": to, "type": kind, "message": message, "reported": "sync"})
        return meta_error(http_status, meta, message, details)

    def report_failed(wamid: str, wa_id: str, kind: str, meta: Type[GraphApiError], title: str, details: str) -> None:
        with lock:
            refusals.append({"code": meta.code, "to": wa_id, "type": kind, "message": title, "reported": "async"})
        reporter.failed(wamid, wa_id, meta.code, title, details)

    def injected_fault() -> Optional[Any]:
        """The answer of the next injected refusal, if one is queued (POST /_standin/faults)."""
        with lock:
            fault = faults.pop(0) if faults else None
        if fault is None:
            return None
        if fault.get("code") is None:
            return "<html><body>Service unavailable</body></html>", fault.get("http_status", 500)
        return meta_error(fault.get("http_status", 400), fault["code"], fault.get("message", "Injected fault"),
                          fault.get("details", ""))

    def authorized() -> bool:
        return secrets.compare_digest(request.headers.get("Authorization", ""), f"Bearer {settings['access_token']}")

    @app.get("/health")
    def health() -> Any:
        return jsonify(status="ok", service="cloud-api-standin", sent=outbox.last_seq)

    @app.post("/<version>/<phone_number_id>/messages")
    def send(version: str, phone_number_id: str) -> Any:
        if not authorized():
            return meta_error(401, ExpiredAccessToken, INVALID_TOKEN)
        if phone_number_id != settings["phone_number_id"]:
            return meta_error(
                400, InvalidRequestParameter,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist",
            )
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return meta_error(400, InvalidRequestParameter, "Invalid parameter", "request body must be a JSON object")

        if "status" in body:
            problem = _first_problem(_mark_read_validator, body)
            if problem:
                return meta_error(400, InvalidRequestParameter, "Invalid parameter", problem)
            return jsonify(success=True)

        fault = injected_fault()
        if fault is not None:
            return fault

        problem = _first_problem(_send_validator, body)
        if problem is None and not (body.get("to") or body.get("recipient")):
            problem = "The parameter to is required."
        kind = body.get("type", "text")
        if problem is None and kind == "interactive" and body["interactive"]["type"] == "list":
            rows = sum(len(s["rows"]) for s in body["interactive"]["action"]["sections"])
            if rows > 10:
                problem = "a list message has at most 10 rows in all sections"
        if problem:
            return meta_error(400, InvalidRequestParameter, "Invalid parameter", problem)

        to = body.get("to") or body.get("recipient")
        # A phone number may carry "+" or spaces; a business-scoped user id (`recipient`) is taken as it is.
        wa_id = ("".join(ch for ch in to if ch.isdigit()) or to) if body.get("to") else to
        drawn = fault_rates["value"].draw(wa_id)
        if drawn is not None:
            fault_rates["value"].wait(drawn)
            if drawn.code is None:
                return "<html><body>Service unavailable</body></html>", drawn.http_status
            return meta_error(drawn.http_status, drawn.code, drawn.message)
        refusal = limits.check(wa_id)
        if refusal == "throughput":
            return meta_error(400, RateLimitHit, "Rate limit hit", "Cloud API message throughput has been reached.")
        if refusal == "pair":
            return meta_error(400, TooManyMessages, "(Business Account, Consumer Account) pair rate limit hit",
                              "Too many messages sent from the sender phone number to the same recipient "
                              "phone number in a short period of time.")
        template_refusal = templates.refusal(wa_id, body["template"]) if kind == "template" else None
        if template_refusal and template_refusal[0] is not MarketingStopped:
            return refuse(wa_id, kind, template_refusal[0], template_refusal[1])
        with lock:
            last = last_inbound.get(wa_id)
        outside_window = kind not in ALLOWED_OUTSIDE_WINDOW and (
            last is None or clock.time() - last > WINDOW_SECONDS)
        if outside_window and window_mode["value"] == "sync":
            return refuse(wa_id, kind, ReEngagementMessage, "Re-engagement message", REENGAGEMENT_DETAILS)
        wamid = webhooks.new_wamid()
        if outside_window:
            report_failed(wamid, wa_id, kind, ReEngagementMessage, "Re-engagement message", REENGAGEMENT_DETAILS)
        elif template_refusal:  # Meta reports a stopped customer's refusal in a failed status
            report_failed(wamid, wa_id, kind, template_refusal[0], "Marketing messages stopped", template_refusal[1])
        else:
            outbox.add(wamid, wa_id, body)
            reporter.sent(wamid, wa_id, kind, templates.category(body["template"]) if kind == "template" else "")
        return jsonify(
            messaging_product="whatsapp",
            contacts=[{"input": to, "wa_id": wa_id}],
            messages=[{"id": wamid}],
        )

    @app.post("/<version>/<phone_number_id>/media")
    def upload_media(version: str, phone_number_id: str) -> Any:
        """Meta's media upload: multipart `file` and `messaging_product=whatsapp`; answers {"id": ...}."""
        if not authorized():
            return meta_error(401, ExpiredAccessToken, INVALID_TOKEN)
        if phone_number_id != settings["phone_number_id"]:
            return meta_error(400, InvalidRequestParameter,
                              f"Unsupported post request. Object with ID '{phone_number_id}' does not exist")
        upload = request.files.get("file")
        if request.form.get("messaging_product") != "whatsapp" or upload is None:
            return meta_error(400, InvalidRequestParameter, "Invalid parameter",
                              "send multipart form data with messaging_product=whatsapp and a file")
        fault = injected_fault()  # injected refusals apply to uploads as to sends
        if fault is not None:
            return fault
        content = upload.read()
        try:
            kind = media_type(upload.filename or "", content)
        except UnsupportedMedia as exc:
            return meta_error(400, MediaUploadError, "Media upload error", str(exc))
        media_id = str(secrets.randbelow(10**15) + 10**15)
        with lock:
            media[media_id] = {"data": content, "mime_type": kind.mime_type,
                               "sha256": hashlib.sha256(content).hexdigest()}
        return jsonify(id=media_id)

    @app.get("/<version>/<media_id>")
    def media_info(version: str, media_id: str) -> Any:
        if not authorized():
            return meta_error(401, ExpiredAccessToken, INVALID_TOKEN)
        with lock:
            stored = media.get(media_id)
        if stored is None:
            return meta_error(400, InvalidRequestParameter,
                              f"Unsupported get request. Object with ID '{media_id}' does not exist")
        return jsonify(messaging_product="whatsapp", id=media_id, mime_type=stored["mime_type"],
                       sha256=stored["sha256"], file_size=len(stored["data"]),
                       url=f"{request.host_url.rstrip('/')}/_standin/media/{media_id}")

    @app.get("/_standin/media/<media_id>")
    def media_file(media_id: str) -> Any:
        # Like Meta's lookaside URL: without the bearer token there is nothing.
        if not authorized():
            return "", 401
        with lock:
            stored = media.get(media_id)
        if stored is None:
            return "", 404
        return stored["data"], 200, {"Content-Type": stored["mime_type"]}

    @app.post("/_standin/customers/<wa_id>/messages")
    def customer_writes(wa_id: str) -> Any:
        """Play the customer: {"text": ...}, {"button_reply": {"id", "title"}, "context": wamid},
        or {"media": {"type": "image", "data_base64": ..., "mime_type": ..., "caption": ...}}."""
        data = request.get_json(silent=True) or {}
        timestamp = data.get("timestamp") or int(clock.time())
        if isinstance(data.get("media"), dict):
            upload = data["media"]
            kind = upload.get("type", "image")
            try:
                content = base64.b64decode(upload["data_base64"], validate=True)
            except (KeyError, ValueError):
                return jsonify(error="media needs data_base64"), 400
            media_id = str(secrets.randbelow(10**15) + 10**15)
            mime_type = upload.get("mime_type", "application/octet-stream")
            with lock:
                media[media_id] = {"data": content, "mime_type": mime_type,
                                   "sha256": hashlib.sha256(content).hexdigest()}
            message = webhooks.inbound_message(wa_id, kind, {
                "id": media_id, "mime_type": mime_type, "sha256": media[media_id]["sha256"],
                **({"caption": upload["caption"]} if upload.get("caption") else {}),
                **({"filename": upload["filename"]} if upload.get("filename") else {}),
            }, timestamp)
        elif "text" in data and str(data["text"]).strip():
            message = webhooks.text_message(wa_id, str(data["text"]), timestamp)
        elif "button_reply" in data:
            reply = data["button_reply"]
            message = webhooks.button_reply_message(
                wa_id, reply["id"], reply.get("title", reply["id"]), data.get("context", ""), timestamp
            )
        else:
            return jsonify(error='send {"text": "..."} or {"button_reply": {...}}'), 400
        with lock:
            last_inbound[wa_id] = max(int(message["timestamp"]), last_inbound.get(wa_id, 0))
        envelope = webhooks.message_envelope(
            waba_id=settings["waba_id"],
            phone_number_id=settings["phone_number_id"],
            display_phone_number=settings["display_phone_number"],
            wa_id=wa_id,
            profile_name=data.get("name") or "Customer",
            message=message,
        )
        try:
            answer = webhooks.deliver(settings["webhook_url"], envelope, settings["app_secret"])
        except requests.RequestException as exc:
            return jsonify(error=f"the bot's webhook {settings['webhook_url']} is unreachable: {exc}"), 502
        return jsonify(
            wamid=message["id"],
            webhook_status=answer.status_code,
            webhook_answer=answer.text[:500],
            outbox_seq=outbox.last_seq,
        ), (200 if answer.status_code == 200 else 502)

    @app.get("/<version>/<waba_id>/message_templates")
    def message_templates(version: str, waba_id: str) -> Any:
        """The WABA's templates as the Graph API lists them, paged with `limit` and an `after` cursor."""
        if not authorized():
            return meta_error(401, ExpiredAccessToken, INVALID_TOKEN)
        if waba_id != settings["waba_id"]:
            return meta_error(400, InvalidRequestParameter,
                              f"Unsupported get request. Object with ID '{waba_id}' does not exist")
        limit = max(1, min(request.args.get("limit", default=25, type=int), 1000))
        after = request.args.get("after", default="0")
        if not after.isdigit():
            return meta_error(400, InvalidRequestParameter, "Invalid parameter",
                              "after must be a cursor from a previous page")
        items, next_after = templates.page(limit, int(after))
        paging: Dict[str, Any] = {"cursors": {"before": after, "after": str(next_after or "")}}
        if next_after is not None:
            paging["next"] = f"{request.base_url}?limit={limit}&after={next_after}"
        return jsonify(data=items, paging=paging)

    @app.post("/<version>/<waba_id>/message_templates")
    def create_template(version: str, waba_id: str) -> Any:
        """A new template for review: Meta's answer {id, status: PENDING, category}, then the review's
        verdict as a `message_template_status_update` webhook (template_review.py)."""
        if not authorized():
            return meta_error(401, ExpiredAccessToken, INVALID_TOKEN)
        if waba_id != settings["waba_id"]:
            return meta_error(400, InvalidRequestParameter,
                              f"Unsupported post request. Object with ID '{waba_id}' does not exist")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return meta_error(400, InvalidRequestParameter, "Invalid parameter", "request body must be a JSON object")
        try:
            draft = template_review.draft_of(body)
        except DraftError as exc:
            return meta_error(400, InvalidRequestParameter, "Invalid parameter", str(exc))
        template_id = str(secrets.randbelow(9 * 10**14) + 10**14)
        if not templates.create(draft.listed(template_id, "PENDING")):
            return meta_error(400, InvalidRequestParameter, "Invalid parameter",
                              f"Content in this language already exists: {draft.name} ({draft.language})")
        verdict = template_review.review(draft)

        def decide() -> None:
            templates.set_status(draft.name, draft.language, verdict.status)
            value: Dict[str, Any] = {"event": verdict.status, "message_template_id": int(template_id),
                                     "message_template_name": draft.name,
                                     "message_template_language": draft.language, "reason": verdict.reason}
            if verdict.description:
                value["other_info"] = {"title": verdict.reason, "description": verdict.description}
            try:
                deliver_signed(change_envelope(settings["waba_id"], "message_template_status_update", value))
            except requests.RequestException as exc:
                app.logger.warning("the review of %s could not be delivered: %s", draft.name, exc)

        reviewer = threading.Timer(review_delay, decide)
        reviewer.daemon = True
        reviewer.start()
        return jsonify(id=template_id, status="PENDING", category=draft.category)

    @app.post("/_standin/templates/<name>/<language>")
    def change_template(name: str, language: str) -> Any:
        """Play Meta's template review: {"status": "PAUSED|DISABLED|APPROVED", "reason": ...} or
        {"category": "MARKETING"}; the bot gets the matching webhook."""
        data = request.get_json(silent=True) or {}
        base = {"message_template_name": name, "message_template_language": language}
        if data.get("status"):
            status = str(data["status"]).upper()
            if not templates.set_status(name, language, status):
                return jsonify(error=f"no template {name} in {language}"), 404
            change = ("message_template_status_update",
                      {**base, "event": status, "reason": data.get("reason") or "NONE"})
        elif data.get("category"):
            category = str(data["category"]).upper()
            previous = templates.set_category(name, language, category)
            if previous is None:
                return jsonify(error=f"no template {name} in {language}"), 404
            change = ("template_category_update",
                      {**base, "previous_category": previous, "new_category": category})
        else:
            return jsonify(error='send {"status": ...} or {"category": ...}'), 400
        answer = deliver_signed(change_envelope(settings["waba_id"], *change))
        return jsonify(webhook_status=answer.status_code)

    @app.post("/_standin/customers/<wa_id>/preferences")
    def customer_preferences(wa_id: str) -> Any:
        """Play a customer stopping or resuming marketing messages in WhatsApp: {"marketing": "stop"|"resume"}."""
        value = (request.get_json(silent=True) or {}).get("marketing")
        if value not in ("stop", "resume"):
            return jsonify(error='send {"marketing": "stop"} or {"marketing": "resume"}'), 400
        templates.marketing(wa_id, value)
        answer = deliver_signed(change_envelope(settings["waba_id"], "user_preferences", {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": settings["display_phone_number"],
                         "phone_number_id": settings["phone_number_id"]},
            "contacts": [{"wa_id": wa_id, "profile": {"name": "Customer"}}],
            "user_preferences": [{"wa_id": wa_id, "detail": f"User requested to {value} marketing messages",
                                  "category": "marketing_messages", "value": value, "timestamp": int(clock.time())}],
        }))
        return jsonify(webhook_status=answer.status_code)

    @app.get("/_standin/refusals")
    def list_refusals() -> Any:
        """Every error answered (sync) or reported in a failed status (async), oldest first."""
        with lock:
            return jsonify(refusals=list(refusals))

    @app.post("/_standin/modes")
    def set_modes() -> Any:
        """{"statuses": "normal|read_without_delivered|out_of_order|duplicated", "window": "sync|async"}."""
        data = request.get_json(silent=True) or {}
        if data.get("statuses") in ("normal", "read_without_delivered", "out_of_order", "duplicated"):
            reporter.mode = data["statuses"]
        if data.get("window") in ("sync", "async"):
            window_mode["value"] = data["window"]
        return jsonify(statuses=reporter.mode, window=window_mode["value"])

    @app.post("/_standin/replay")
    def replay() -> Any:
        """Deliver any webhook body (e.g. a file from tests/fixtures/payloads), signed, to the bot."""
        envelope = request.get_json(silent=True)
        if not isinstance(envelope, dict):
            return jsonify(error="send a webhook body as JSON"), 400
        with lock:  # customers who write open their window, whichever way their message came
            for message in inbound.messages(envelope):
                last_inbound[message.sender] = max(message.timestamp, last_inbound.get(message.sender, 0))
        answer = deliver_signed(envelope)
        return jsonify(webhook_status=answer.status_code, webhook_answer=answer.text[:500])

    @app.post("/_standin/faults")
    def inject_faults() -> Any:
        """Refuse the next sends: [{"code": 130429, "http_status": 400}, {"http_status": 500}, ...]."""
        data = request.get_json(silent=True)
        if not isinstance(data, list) or not all(isinstance(f, dict) for f in data):
            return jsonify(error="send a list of faults"), 400
        with lock:
            faults.extend(data)
        return jsonify(queued=len(faults))

    @app.post("/_standin/fault-rates")
    def set_fault_rates() -> Any:
        """Faults drawn at random from now on: {"http_500": 0.1, "throughput": 0.05, "timeout": 0.01,
        "pair_burst": 0.02, "burst_length": 3, "permanent": {wa_id: code}, "seed": 1}; {} for none."""
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return jsonify(error="send the fault shares as a JSON object"), 400
        try:
            fault_rates["value"] = FaultRates.parse(data)
        except (TypeError, ValueError) as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(rates=data)

    @app.get("/_standin/fault-rates")
    def served_faults() -> Any:
        """How many faults of each kind were served since the shares were last set."""
        return jsonify(served=dict(fault_rates["value"].served))

    @app.get("/_standin/outbox")
    def read_outbox() -> Any:
        after = request.args.get("after", default=0, type=int)
        wait = min(request.args.get("wait", default=0.0, type=float), 30.0)
        records = outbox.after(after, to=request.args.get("to"), wait=wait)
        return jsonify(messages=records, last_seq=outbox.last_seq)

    return app


def _first_problem(validator: jsonschema.Draft7Validator, body: Dict[str, Any]) -> Optional[str]:
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is None:
        return None
    where = "".join(f"[{p!r}]" for p in error.absolute_path) or "body"
    return f"{where}: {error.message}"
