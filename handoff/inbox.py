"""The agent inbox: server-rendered pages (CSRF on every form) with live updates by server-sent events."""

import json
import re
import secrets
import time
from functools import wraps
from typing import Any, Callable, Dict, Iterator, Optional

import redis
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_with_context,
    url_for,
)

from handoff.agents import Agent
from handoff.api import chat_json
from handoff.customer_data import customer_data
from handoff.languages import language_label
from handoff.live_feed import FeedHub
from handoff.messaging import SendBlocked, SendFailed
from handoff.service import Forbidden, HandoffService
from handoff.state import Conflict, NotFound
from handoff.teams import TEAMS
from whatsapp_cloud.policy.consent import SCOPES

# One server-sent event stream lasts this long, then the browser reconnects (EventSource does it by
# itself, resuming from Last-Event-ID). Under gevent workers a stream is a greenlet, not a thread.
STREAM_SECONDS = 55
STREAM_BLOCK_MS = 3_000  # a keep-alive at least this often
PRESENCE_EVERY_SECONDS = 20.0  # an open tab reports its agent present this often (presence lasts minutes)
_EVENT_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


def service() -> HandoffService:
    return current_app.extensions["handoff"]


def signed_in(view: Callable) -> Callable:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        agent = service().agents.active(session.get("agent", ""), session.get("version"))
        if agent is None:  # never signed in, or signed out, disabled or the password changed since
            session.clear()
            return redirect(url_for("inbox.login", next=request.path))
        g.agent = agent
        service().agents.seen(agent.username)
        return view(*args, **kwargs)
    return guarded


def create_inbox(login_limit: Callable[[Callable], Callable]) -> Blueprint:
    inbox = Blueprint("inbox", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/inbox/static")

    @inbox.app_template_filter("clock")
    def clock(at: Optional[float]) -> str:
        return time.strftime("%H:%M", time.localtime(float(at))) if at else ""

    @inbox.app_template_filter("day")
    def day(at: Optional[float]) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(float(at))) if at else ""

    inbox.add_app_template_filter(language_label, "language")

    @inbox.get("/login")
    def login() -> Any:
        return render_template("login.html")

    @inbox.post("/login")
    @login_limit
    def login_submit() -> Any:
        agent = service().agents.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        if agent is None:
            flash("Wrong username or password.", "error")
            return render_template("login.html"), 401
        session.clear()
        session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME, not at Flask's 31 days
        session["agent"] = agent.username
        session["version"] = agent.session_version
        service().set_status(agent, "online")
        target = request.args.get("next", "")
        return redirect(target if target.startswith("/inbox") else url_for("inbox.queue"))

    @inbox.post("/logout")
    @signed_in
    def logout() -> Any:
        service().set_status(g.agent, "offline")
        service().agents.revoke_sessions(g.agent.username)  # a copied cookie dies with the logout
        session.clear()
        return redirect(url_for("inbox.login"))

    @inbox.post("/inbox/status")
    @signed_in
    def set_status() -> Any:
        status = request.form.get("status", "")
        with feedback():
            service().set_status(g.agent, status)
        return redirect(request.form.get("back") or url_for("inbox.queue"))

    @inbox.get("/inbox")
    @signed_in
    def queue() -> Any:
        svc = service()
        agent: Agent = g.agent
        teams = TEAMS if agent.sees_all else agent.teams
        waiting = {team: [chat_json(c, svc.window(c)) for c in svc.chats.chats(svc.chats.queue(team))]
                   for team in teams}
        mine = [chat_json(c, svc.window(c)) for c in svc.chats.chats(svc.chats.agent_chats(agent.username))]
        others = []
        if agent.sees_all:
            others = [chat_json(c, svc.window(c)) for c in svc.chats.chats(svc.chats.open_chats())
                      if c["state"] == "agent" and c.get("agent") != agent.username]
        unread = svc.chats.unread(agent.username, [c["chat_id"] for c in mine + others])
        return render_template("queue.html", agent=agent, waiting=waiting, mine=mine, others=others, unread=unread)

    @inbox.get("/inbox/chats/<chat_id>")
    @signed_in
    def chat(chat_id: str) -> Any:
        svc = service()
        try:
            record = svc.visible_chat(g.agent, chat_id)
        except (NotFound, Forbidden) as exc:
            flash(str(exc), "error")
            return redirect(url_for("inbox.queue"))
        agents = [a for a in svc.agents.all() if a.username != g.agent.username]
        past = svc.customer_history(record)
        svc.viewed(g.agent, chat_id)
        return render_template(
            "chat.html", agent=g.agent, chat=chat_json(record, svc.window(record)),
            messages=svc.chats.messages(chat_id),
            history=past["before"], earlier_chats=past["earlier"], customer=customer_data(record),
            composer=svc.composer(record),
            conversations=svc.conversations(record), consent=svc.consent(record), consent_scopes=SCOPES,
            agents=agents, teams=TEAMS, mine=record["state"] == "agent" and record.get("agent") == g.agent.username,
            client_key=secrets.token_hex(8),  # one per rendered composer: a resubmitted form sends once
        )

    def act(chat_id: str, action: Callable[[], Any], done: str = "") -> Any:
        with feedback():
            action()
            if done:
                flash(done, "ok")
        return redirect(url_for("inbox.chat", chat_id=chat_id))

    @inbox.post("/inbox/chats/<chat_id>/claim")
    @signed_in
    def claim(chat_id: str) -> Any:
        return act(chat_id, lambda: service().claim(g.agent, chat_id))

    @inbox.post("/inbox/chats/<chat_id>/reply")
    @signed_in
    def reply(chat_id: str) -> Any:
        return act(chat_id, lambda: service().reply(g.agent, chat_id, request.form.get("text", ""),
                                                    request.form.get("client_key", "")))

    @inbox.post("/inbox/chats/<chat_id>/template")
    @signed_in
    def template(chat_id: str) -> Any:
        name, language = request.form.get("template", ""), request.form.get("language", "")
        values = {field[6:]: value for field, value in request.form.items() if field.startswith("param:")}
        return act(chat_id, lambda: service().send_template(g.agent, chat_id, name, language, values,
                                                            request.form.get("client_key", "")),
                   f"Template {name} sent.")

    @inbox.post("/inbox/chats/<chat_id>/media")
    @signed_in
    def send_media(chat_id: str) -> Any:
        upload = request.files.get("file")
        if upload is None or not upload.filename:  # a form sent without a file (browsers require one)
            flash("Choose an image or a document to send.", "error")
            return redirect(url_for("inbox.chat", chat_id=chat_id))
        return act(chat_id, lambda: service().send_media(g.agent, chat_id, upload.filename or "", upload.read(),
                                                         request.form.get("caption", ""),
                                                         request.form.get("client_key", "")),
                   f"{upload.filename} sent.")

    @inbox.get("/inbox/chats/<chat_id>/media/<name>")
    @signed_in
    def media_file(chat_id: str, name: str) -> Any:
        try:
            path, media = service().media_file(g.agent, chat_id, name)
        except (NotFound, Forbidden) as exc:
            return str(exc), 404
        # Images open in the page; documents download (never rendered as a page of this site).
        answer = send_file(path, mimetype=media.get("mime_type"), as_attachment=media.get("type") != "image",
                           download_name=media.get("filename") or name, max_age=0)
        answer.headers["X-Content-Type-Options"] = "nosniff"
        answer.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return answer

    @inbox.post("/inbox/chats/<chat_id>/seen")
    @signed_in
    def seen(chat_id: str) -> Any:
        """The open chat page saw a new message arrive (the page's script tells, with the CSRF header)."""
        try:
            service().visible_chat(g.agent, chat_id)
        except (NotFound, Forbidden) as exc:
            return str(exc), 404
        service().viewed(g.agent, chat_id)
        return "", 204

    @inbox.post("/inbox/chats/<chat_id>/consent")
    @signed_in
    def record_opt_in(chat_id: str) -> Any:
        # One choice (a scope or both, required by the form), so the page never loses the wording typed.
        scopes = [scope for value in request.form.getlist("scope") for scope in value.split(",")]
        return act(chat_id, lambda: service().record_opt_in(g.agent, chat_id, scopes, request.form.get("wording", "")),
                   "Opt-in recorded.")

    @inbox.post("/inbox/chats/<chat_id>/note")
    @signed_in
    def note(chat_id: str) -> Any:
        return act(chat_id, lambda: service().note(g.agent, chat_id, request.form.get("text", "")))

    @inbox.post("/inbox/chats/<chat_id>/transfer")
    @signed_in
    def transfer(chat_id: str) -> Any:
        target = request.form.get("target", "")
        kind, _, name = target.partition(":")
        with feedback():
            service().transfer(g.agent, chat_id, name if kind == "agent" else None, name if kind == "team" else None)
            flash(f"Chat transferred to {name}.", "ok")
            return redirect(url_for("inbox.queue"))
        return redirect(url_for("inbox.chat", chat_id=chat_id))

    @inbox.post("/inbox/chats/<chat_id>/resolve")
    @signed_in
    def resolve(chat_id: str) -> Any:
        resolution = request.form.get("resolution", "")
        with feedback():
            service().resolve(g.agent, chat_id, resolution)
            flash("Chat resolved; the customer is back with the bot.", "ok")
            return redirect(url_for("inbox.queue"))
        return redirect(url_for("inbox.chat", chat_id=chat_id))

    @inbox.get("/inbox/stream")
    @signed_in
    def stream() -> Any:
        agent: Agent = g.agent
        hub: FeedHub = current_app.extensions["handoff_feed"]
        service_agents = service().agents
        last_id = request.headers.get("Last-Event-ID") or request.args.get("after") or "$"
        if last_id == "$" or not _EVENT_ID.fullmatch(last_id):
            last_id = hub.newest_id()

        def events() -> Iterator[str]:
            nonlocal last_id
            yield "retry: 1000\n\n"
            ends = time.monotonic() + STREAM_SECONDS
            seen_at = time.monotonic()
            while time.monotonic() < ends:
                try:
                    batch = hub.wait(last_id, STREAM_BLOCK_MS / 1000)
                    if time.monotonic() - seen_at > PRESENCE_EVERY_SECONDS:
                        service_agents.seen(agent.username)  # an open inbox keeps its agent present
                        seen_at = time.monotonic()
                except redis.RedisError:
                    return  # the browser reconnects after `retry` and resumes from the last id
                if not batch:
                    yield ": keep-alive\n\n"
                    continue
                for entry_id, fields in batch:
                    last_id = entry_id
                    if _shown_to(agent, fields):
                        yield f"id: {entry_id}\nevent: change\ndata: {json.dumps(fields)}\n\n"

        return Response(stream_with_context(events()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return inbox


def _shown_to(agent: Agent, event: Dict[str, str]) -> bool:
    return agent.sees_all or event.get("team") in agent.teams or event.get("agent") == agent.username


class feedback:
    """Turns a refused action into a message on the next page instead of an error page."""

    def __enter__(self) -> "feedback":
        return self

    def __exit__(self, kind: Any, exc: Any, _tb: Any) -> bool:
        # UnsupportedMedia is a ValueError: a file WhatsApp would not take
        if isinstance(exc, (Conflict, NotFound, Forbidden, SendBlocked, SendFailed, ValueError)):
            flash(str(exc), "error")
            return True
        return False
