"""The JSON API of notifications and campaigns (documented in openapi.yaml). The campaigns package plans,
keeps and reports them; its worker process sends them. Supervisors, administrators and the integration
token may use it; agents may not (a campaign reaches many customers at once).
"""

from functools import wraps
from typing import Any, Callable, Dict, List

from flask import Blueprint, current_app, g, jsonify, request

from campaigns.planning import InvalidCampaign, rows_from_csv
from campaigns.service import CampaignNotFound, Campaigns, WrongState
from handoff.api import SYSTEM, BadRequest, authenticated, body, error, service
from stack.setting_values import ConfigError, flag


def campaigns() -> Campaigns:
    return current_app.extensions["campaigns"]


def manager(view: Callable) -> Callable:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if g.agent is not SYSTEM and not g.agent.sees_all:
            return error("campaigns and notifications need a supervisor's or administrator's token, or the "
                         "integration token", 403)
        return view(*args, **kwargs)
    return guarded


def _campaign_request() -> Dict[str, Any]:
    """The campaign from a JSON body, a text/csv body (fields in the query), or a multipart upload `file`."""
    if request.mimetype == "application/json":
        data = body()
        if not isinstance(data.get("recipients"), list):
            raise BadRequest("'recipients' must be a list of {wa_id, values}")
        return data
    fields = {**request.args.to_dict(), **request.form.to_dict()}
    if request.mimetype == "text/csv":
        text = request.get_data(as_text=True)
    elif "file" in request.files:
        text = request.files["file"].read().decode("utf-8-sig", errors="replace")
    else:
        raise BadRequest("send JSON, a text/csv body, or a multipart form with a CSV `file`")
    return {**fields, "recipients": rows_from_csv(text)}


def add_campaign_routes(api: Blueprint) -> None:
    @api.errorhandler(InvalidCampaign)
    def invalid(exc: InvalidCampaign) -> Any:
        return error(str(exc), 400)

    @api.errorhandler(CampaignNotFound)
    def missing(exc: CampaignNotFound) -> Any:
        return error(str(exc), 404)

    @api.errorhandler(WrongState)
    def wrong_state(exc: WrongState) -> Any:
        return error(str(exc), 409)

    @api.post("/api/notifications")
    @authenticated
    @manager
    def notify() -> Any:
        data = body()
        wa_id = str(data.get("wa_id") or "")
        if not wa_id.isdigit():
            raise BadRequest("'wa_id' must be the customer's WhatsApp id (digits)")
        values = data.get("values") or {}
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise BadRequest("'values' must be an object of parameter name -> text")
        language = str(data.get("language") or service().messenger.policy_config.default_language)
        # A retried request under the same key sends and records the notification once.
        key = str(request.headers.get("Idempotency-Key") or data.get("client_key") or "")
        template = str(data.get("template") or "")
        wamid, text = service().messenger.send_template(wa_id, template, language, values,
                                                        f"notification:{key}" if key else "", label="notification")
        campaigns().notification_sent(wamid, template, language)
        return jsonify(wamid=wamid, text=text), 201

    @api.post("/api/campaigns")
    @authenticated
    @manager
    def create() -> Any:
        data = _campaign_request()
        try:
            draft = flag(data.get("draft"), False, "draft")
        except ConfigError as exc:
            raise BadRequest(str(exc)) from None
        language = str(data.get("language") or service().messenger.policy_config.default_language)
        campaign = campaigns().create(str(data.get("name") or ""), str(data.get("template") or ""), language,
                                      data["recipients"], start_at=data.get("start_at"), draft=draft,
                                      created_by=g.agent.username)
        return jsonify(campaign=campaign), 201

    @api.get("/api/campaigns")
    @authenticated
    @manager
    def index() -> Any:
        return jsonify(campaigns=campaigns().list())

    @api.get("/api/campaigns/<campaign_id>")
    @authenticated
    @manager
    def show(campaign_id: str) -> Any:
        return jsonify(campaign=campaigns().get(campaign_id))

    @api.get("/api/campaigns/<campaign_id>/recipients")
    @authenticated
    @manager
    def recipients(campaign_id: str) -> Any:
        offset = request.args.get("offset", default=0, type=int)
        limit = min(max(request.args.get("limit", default=500, type=int), 1), 5000)
        found = campaigns().recipients(campaign_id, max(offset, 0), limit, request.args.get("status") or None)
        return jsonify(recipients=found)

    @api.get("/api/campaigns/<campaign_id>/plan")
    @authenticated
    @manager
    def plan(campaign_id: str) -> Any:
        return jsonify(plan=campaigns().plan(campaign_id))

    for action in ("start", "pause", "resume", "cancel"):
        api.add_url_rule(f"/api/campaigns/<campaign_id>/{action}", f"campaign_{action}",
                         authenticated(manager(_move(action))), methods=["POST"])

    @api.post("/api/campaigns/<campaign_id>/retry-failed")
    @authenticated
    @manager
    def retry_failed(campaign_id: str) -> Any:
        data = body() if request.get_data() else {}
        codes = data.get("codes")
        if codes is not None and (not isinstance(codes, list) or not all(isinstance(c, (str, int)) for c in codes)):
            raise BadRequest("'codes' must be a list of error codes, e.g. [131026, \"interrupted\"]")
        return jsonify(campaign=campaigns().retry_failed(campaign_id, [str(c) for c in codes] if codes else None))


def _move(action: str) -> Callable[[str], Any]:
    def move(campaign_id: str) -> Any:
        return jsonify(campaign=getattr(campaigns(), action)(campaign_id))
    move.__name__ = f"campaign_{action}"
    return move


__all__: List[str] = ["add_campaign_routes"]
