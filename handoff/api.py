"""The JSON API (documented in openapi.yaml): escalations from the bot, messages from the channel, agents' work."""

import secrets
from functools import wraps
from typing import Any, Callable, Dict, List, Optional

from flask import Blueprint, Response, current_app, g, jsonify, request

from handoff.agents import Agent, InvalidAgent
from handoff.contract import CUSTOMER_MESSAGES_ROUTE, ESCALATIONS_PATH, REASONS
from handoff.customer_data import customer_data
from handoff.languages import InvalidLanguage, language_code, language_codes
from handoff.messaging import SendBlocked, SendFailed, Window
from handoff.service import Forbidden, HandoffService
from handoff.state import Conflict, Escalation, NotFound
from handoff.teams import TEAMS
from whatsapp_cloud.outbound.media_files import UnsupportedMedia
from whatsapp_cloud.policy.consent import SCOPES

SYSTEM = Agent("system", "Integration", "admin", TEAMS, 0, "online")


class BadRequest(Exception):
    pass


def service() -> HandoffService:
    return current_app.extensions["handoff"]


def error(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def integration_only(view: Callable) -> Callable:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not secrets.compare_digest(_bearer(), service().settings.api_token):
            return error("this endpoint needs the integration token (Authorization: Bearer ...)", 401)
        g.agent = SYSTEM
        return view(*args, **kwargs)
    return guarded


def authenticated(view: Callable) -> Callable:
    """An agent's token, or the integration token (acting as an administrator)."""
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        token = _bearer()
        if token and secrets.compare_digest(token, service().settings.api_token):
            g.agent = SYSTEM
        else:
            g.agent = service().agents.by_token(token)
        if g.agent is None:
            return error("missing or expired token: POST /api/auth/token first", 401)
        if g.agent is not SYSTEM:
            service().agents.seen(g.agent.username)
        return view(*args, **kwargs)
    return guarded


def person(view: Callable) -> Callable:
    """Actions only a real agent can take (claim, reply, status)."""
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if g.agent is SYSTEM:
            return error("this action needs an agent's token, not the integration token", 403)
        return view(*args, **kwargs)
    return guarded


def body() -> Dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def text_field(data: Dict[str, Any], name: str, required: bool = True, limit: int = 4096) -> Optional[str]:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequest(f"'{name}' must be a non-empty string")
    if len(value) > limit:
        raise BadRequest(f"'{name}' is longer than {limit} characters")
    return value


def language_field(data: Dict[str, Any]) -> Optional[str]:
    try:
        return language_code(data.get("language"))
    except InvalidLanguage as exc:
        raise BadRequest(str(exc)) from None


def agent_languages(value: Any) -> tuple:
    if value is not None and not isinstance(value, list):
        raise BadRequest("'languages' must be a list of ISO 639-1 codes")
    try:
        return language_codes(value)
    except InvalidLanguage as exc:
        raise BadRequest(str(exc)) from None


def chat_json(chat: Dict[str, str], window: Window) -> Dict[str, Any]:
    number = lambda name: float(chat[name]) if chat.get(name) else None  # noqa: E731
    return {
        "chat_id": chat["id"], "customer": chat["customer"], "profile_name": chat.get("profile_name") or None,
        "state": chat["state"], "team": chat["team"], "agent": chat.get("agent") or None,
        "reason": chat.get("reason"), "intent": chat.get("intent") or None, "summary": chat.get("summary", ""),
        "created_at": number("created_at"), "assigned_at": number("assigned_at"),
        "resolved_at": number("resolved_at"), "resolution": chat.get("resolution") or None,
        "window_closes_at": window.closes_at, "window_seconds_left": window.seconds_left,
        "sla_breached": chat.get("sla_breached") or None, "transfers": int(chat.get("transfers") or 0),
        "language": chat.get("language") or None,
    }


def chat_answer(chat: Dict[str, str]) -> Any:
    return jsonify(chat=chat_json(chat, service().window(chat)))


def create_api(login_limit: Callable[[Callable], Callable]) -> Blueprint:
    api = Blueprint("api", __name__)

    @api.errorhandler(BadRequest)
    def bad_request(exc: BadRequest) -> Any:
        return error(str(exc), 400)

    @api.errorhandler(NotFound)
    def not_found(exc: NotFound) -> Any:
        return error(str(exc), 404)

    @api.errorhandler(Forbidden)
    def forbidden(exc: Forbidden) -> Any:
        return error(str(exc), 403)

    @api.errorhandler(Conflict)
    def conflict(exc: Conflict) -> Any:
        return jsonify(error=str(exc), reason=exc.reason), 409

    @api.errorhandler(SendBlocked)
    def blocked(exc: SendBlocked) -> Any:
        return error(str(exc), 422)

    @api.errorhandler(SendFailed)
    def failed(exc: SendFailed) -> Any:
        return error(str(exc), 502)

    @api.errorhandler(UnsupportedMedia)
    def unsupported_media(exc: UnsupportedMedia) -> Any:
        return error(str(exc), 413 if exc.too_large else 415)

    @api.errorhandler(InvalidAgent)
    def invalid_agent(exc: InvalidAgent) -> Any:
        return error(str(exc), 400)

    # -- integrations -----------------------------------------------------------------------

    @api.post(ESCALATIONS_PATH)
    @integration_only
    def escalate() -> Any:
        data = body()
        customer = text_field(data, "customer", limit=32)
        assert customer is not None
        if not customer.isdigit():
            raise BadRequest("'customer' must be the customer's WhatsApp id (digits)")
        reason = data.get("reason")
        if reason not in REASONS:
            raise BadRequest(f"'reason' must be one of {', '.join(REASONS)}")
        slots = {} if data.get("slots") is None else data["slots"]
        if not isinstance(slots, dict):
            raise BadRequest("'slots' must be an object")
        escalation = Escalation(
            customer=customer, profile_name=text_field(data, "profile_name", required=False, limit=256),
            reason=reason, intent=text_field(data, "intent", required=False, limit=128), slots=slots,
            summary=text_field(data, "summary", required=False, limit=2000) or "",
            language=language_field(data),
        )
        placement, created = service().escalate(escalation)
        return jsonify(placement), 201 if created else 200

    @api.post(CUSTOMER_MESSAGES_ROUTE)
    @integration_only
    def customer_message(wa_id: str) -> Any:
        data = body()
        wamid = text_field(data, "wamid", limit=256)
        text = text_field(data, "text", required=False, limit=65536) or ""
        sent_at = data.get("timestamp")
        if sent_at is not None and not isinstance(sent_at, (int, float)):
            raise BadRequest("'timestamp' must be a number (seconds since the epoch)")
        outcome, chat_id = service().customer_message(wa_id, str(wamid), text, sent_at,
                                                      str(data.get("type") or "text"))
        return jsonify(chat_id=chat_id, outcome=outcome)

    @api.get("/api/customers/<wa_id>")
    @authenticated
    def customer(wa_id: str) -> Any:
        if not g.agent.sees_all:
            raise Forbidden("only supervisors see customers' ownership history")
        return jsonify(customer=wa_id, owner=service().chats.owner(wa_id), history=service().chats.history(wa_id))

    # -- agents' sessions -------------------------------------------------------------------

    @api.post("/api/auth/token")
    @login_limit
    def issue_token() -> Any:
        data = body()
        agent = service().agents.authenticate(str(data.get("username") or ""), str(data.get("password") or ""))
        if agent is None:
            return error("wrong username or password", 401)
        return jsonify(token=service().agents.issue_token(agent.username), agent=agent.public()), 201

    @api.delete("/api/auth/token")
    @authenticated
    def revoke_token() -> Any:
        service().agents.revoke_token(_bearer())
        return "", 204

    @api.get("/api/me")
    @authenticated
    def me() -> Any:
        return jsonify(agent=g.agent.public(), chats=service().chats.agent_chats(g.agent.username))

    @api.put("/api/me/status")
    @authenticated
    @person
    def set_status() -> Any:
        status = text_field(body(), "status", limit=16)
        service().set_status(g.agent, str(status))
        return jsonify(agent=service().agents.get(g.agent.username).public())  # type: ignore[union-attr]

    @api.get("/api/agents")
    @authenticated
    def list_agents() -> Any:
        if not g.agent.sees_all:
            return jsonify(agents=[a.public() for a in service().agents.all() if set(a.teams) & set(g.agent.teams)])
        return jsonify(agents=[a.public() for a in service().agents.all()])

    @api.post("/api/agents")
    @authenticated
    def create_agent() -> Any:
        if g.agent.role != "admin":
            raise Forbidden("only administrators create agents")
        data = body()
        teams = data.get("teams") or ["general"]
        if not isinstance(teams, list):
            raise BadRequest("'teams' must be a list")
        agent = service().agents.create(
            str(text_field(data, "username", limit=64)), str(text_field(data, "password", limit=256)),
            name=str(data.get("name") or ""), role=str(data.get("role") or "agent"),
            teams=tuple(str(t) for t in teams), capacity=int(data.get("capacity") or 3),
            languages=agent_languages(data.get("languages")))
        return jsonify(agent=agent.public()), 201

    # -- chats ------------------------------------------------------------------------------

    @api.get("/api/queue")
    @authenticated
    def queue() -> Any:
        teams = TEAMS if g.agent.sees_all else g.agent.teams
        chats: List[Dict[str, Any]] = []
        for team in teams:
            for position, chat in enumerate(service().chats.chats(service().chats.queue(team)), start=1):
                chats.append({**chat_json(chat, service().window(chat)), "position": position})
        return jsonify(chats=chats)

    @api.get("/api/chats")
    @authenticated
    def chats() -> Any:
        svc = service()
        if request.args.get("mine"):
            ids = svc.chats.agent_chats(g.agent.username)
        else:
            ids = svc.chats.open_chats()
        visible = [c for c in svc.chats.chats(ids) if g.agent.can_see(c)]
        unread = svc.chats.unread(g.agent.username, [c["id"] for c in visible]) if g.agent is not SYSTEM else {}
        return jsonify(chats=[{**chat_json(c, svc.window(c)), "unread": unread.get(c["id"])} for c in visible])

    @api.get("/api/chats/<chat_id>")
    @authenticated
    def chat(chat_id: str) -> Any:
        svc = service()
        chat = svc.visible_chat(g.agent, chat_id)
        past = svc.customer_history(chat)
        if g.agent is not SYSTEM:
            svc.viewed(g.agent, chat_id)
        return jsonify(chat=chat_json(chat, svc.window(chat)), messages=svc.chats.messages(chat_id),
                       customer=customer_data(chat), history=past["before"], earlier_chats=past["earlier"],
                       composer=svc.composer(chat), conversations=svc.conversations(chat),
                       consent=svc.consent(chat))

    @api.post("/api/chats/<chat_id>/claim")
    @authenticated
    @person
    def claim(chat_id: str) -> Any:
        service().claim(g.agent, chat_id)
        return chat_answer(service().chats.chat(chat_id))

    @api.post("/api/chats/<chat_id>/messages")
    @authenticated
    @person
    def send(chat_id: str) -> Any:
        data = body()
        # One key per message, sent again on a retry: the message goes out and is recorded once.
        client_key = str(request.headers.get("Idempotency-Key") or data.get("client_key") or "")
        if data.get("template"):
            values = data.get("values") or {}
            if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
                raise BadRequest("'values' must be an object of parameter name -> text")
            language = str(data.get("language") or service().messenger.policy_config.default_language)
            message = service().send_template(g.agent, chat_id, str(data["template"]), language, values,
                                              client_key)
        else:
            message = service().reply(g.agent, chat_id, str(text_field(data, "text")), client_key)
        return jsonify(message=message), 201

    @api.post("/api/chats/<chat_id>/media")
    @authenticated
    @person
    def send_media(chat_id: str) -> Any:
        # multipart/form-data: `file`, optional `caption` and `client_key` (or the Idempotency-Key header)
        service().visible_chat(g.agent, chat_id)  # another team's chat: 403 before the body is read
        upload = request.files.get("file")
        if upload is None:
            raise BadRequest("send multipart/form-data with the image or document in the field 'file'")
        client_key = str(request.headers.get("Idempotency-Key") or request.form.get("client_key") or "")
        message = service().send_media(g.agent, chat_id, upload.filename or "", upload.read(),
                                       request.form.get("caption", ""), client_key)
        return jsonify(message=message), 201

    @api.post("/api/chats/<chat_id>/consent")
    @authenticated
    @person
    def record_opt_in(chat_id: str) -> Any:
        service().visible_chat(g.agent, chat_id)  # another team's chat: 403 whatever the body
        data = body()
        scopes = data.get("scopes")
        if not isinstance(scopes, list) or not scopes or not all(s in SCOPES for s in scopes):
            raise BadRequest(f"'scopes' must be a non-empty list of {', '.join(SCOPES)}")
        wording = text_field(data, "wording", limit=1000)
        try:
            recorded = service().record_opt_in(g.agent, chat_id, scopes, str(wording))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return jsonify(recorded), 201

    @api.post("/api/chats/<chat_id>/notes")
    @authenticated
    def note(chat_id: str) -> Any:
        return jsonify(message=service().note(g.agent, chat_id, str(text_field(body(), "text")))), 201

    @api.post("/api/chats/<chat_id>/transfer")
    @authenticated
    def transfer(chat_id: str) -> Any:
        data = body()
        to_agent = text_field(data, "to_agent", required=False, limit=64)
        to_team = text_field(data, "to_team", required=False, limit=32)
        if bool(to_agent) == bool(to_team):
            raise BadRequest("give exactly one of 'to_agent' and 'to_team'")
        return chat_answer(service().transfer(g.agent, chat_id, to_agent, to_team))

    @api.post("/api/chats/<chat_id>/resolve")
    @authenticated
    def resolve(chat_id: str) -> Any:
        data = body() if request.get_data() else {}  # the body is optional; when given, an object
        resolution = text_field(data, "resolution", required=False, limit=500) or "resolved"
        return chat_answer(service().resolve(g.agent, chat_id, resolution))

    @api.get("/api/templates")
    @authenticated
    def templates() -> Any:
        return jsonify(templates=service().messenger.templates())

    @api.get("/api/canned")
    @authenticated
    def canned() -> Any:
        teams = TEAMS if g.agent.sees_all else g.agent.teams
        return jsonify(canned={team: service().canned(team) for team in teams})

    @api.put("/api/canned/<team>")
    @authenticated
    def set_canned(team: str) -> Any:
        if not g.agent.sees_all:
            raise Forbidden("only supervisors edit quick replies")
        if team not in TEAMS:
            raise NotFound(f"no team {team}")
        replies = body().get("replies")
        if not isinstance(replies, dict) or not all(isinstance(v, str) for v in replies.values()):
            raise BadRequest("'replies' must be an object of title -> text")
        service().set_canned(team, replies)
        return jsonify(canned=service().canned(team))

    @api.get("/api/handbacks")
    @authenticated
    def handbacks() -> Any:
        if not g.agent.sees_all:
            raise Forbidden("only supervisors see pending hand backs")
        return jsonify(pending=service().pending_handbacks())

    return api
