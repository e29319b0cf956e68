"""What agents, the bot and the WhatsApp channel can do with a handoff; the JSON API and the inbox both call it."""

import logging
import re
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

import redis

from handoff import contract, keys
from handoff.agents import Agent, AgentDirectory
from handoff.assignment import Router
from handoff.messaging import Messenger, SendBlocked, Window
from handoff.rasa_api import RasaApi, RasaRefused, RasaUnavailable
from handoff.settings import HandoffSettings
from handoff.state import ChatStore, Conflict, Escalation, NotFound
from handoff.teams import TEAMS, team_for
from shop.media_files import media_path
from whatsapp_cloud.events import kinds
from whatsapp_cloud.outbound.media_files import MEDIA_TYPES, extension
from whatsapp_cloud.policy.consent import SCOPES
from whatsapp_cloud.pricing.engine import normalize_category
from whatsapp_cloud.redis_connection import transaction
from whatsapp_cloud.redis_keys import EVENT_STREAM

logger = logging.getLogger(__name__)

MEDIA_ACCEPT = ",".join(sorted({f".{ext}" for ext in MEDIA_TYPES} | {t.mime_type for t in MEDIA_TYPES.values()}))
CONSENT_WORDING_MAX = 1000
# In its last minute the window counts as closing: the page switches to templates on its own clock, which may run
# ahead of the policy's by a moment, and a template sent then must not be refused for a window about to close.
WINDOW_CLOSING_SECONDS = 60
CLIENT_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
HANDBACK_RETRY_MAX_SECONDS = 300.0
SERVICE_GAP_SECONDS = 30.0  # background work runs every 2 s; a longer silence means the service was down
HANDBACK_LEASE_SECONDS = 60.0  # longer than Rasa's slowest answer (two calls of at most 10 s)


class Forbidden(Exception):
    pass


class HandoffService:
    def __init__(self, settings: HandoffSettings, store: redis.Redis, messenger: Messenger, rasa: RasaApi) -> None:
        self.settings = settings
        self.redis = store
        self.chats = ChatStore(store, settings.event_stream_max)
        self.agents = AgentDirectory(store)
        self.router = Router(self.chats, self.agents, settings.handle_seconds)
        self.messenger = messenger
        self.rasa = rasa

    # -- the bot escalates ------------------------------------------------------------------

    def escalate(self, escalation: Escalation) -> tuple[Dict[str, Any], bool]:
        now = time.time()
        team = team_for(escalation.intent)
        # Queue priority: the window closing soonest first (a closed or unknown window: now).
        closes_at = self.messenger.window(escalation.customer).closes_at or now
        chat_id, created = self.chats.escalate(escalation, team, closes_at, now)
        if created:
            self.chats.set_sla("first", chat_id, now + self.settings.first_response_seconds)
            self.router.assign_waiting(team)
        return self.placement(chat_id), created

    def placement(self, chat_id: str) -> Dict[str, Any]:
        chat = self.chats.chat(chat_id)
        now = datetime.now(timezone.utc)
        position = self.chats.position(chat_id, chat["team"]) if chat["state"] == contract.QUEUED else None
        hours = self.settings.office_hours
        opens_at = hours.opens_at(now)
        wait = self.router.expected_wait(chat["team"], position) if chat["state"] == contract.QUEUED else None
        if opens_at is not None and chat["state"] == contract.QUEUED:
            wait = int((opens_at - now).total_seconds()) + (wait or 0)
        return {
            "chat_id": chat_id, "state": chat["state"], "position": position, "expected_wait_seconds": wait,
            "team": chat["team"],
            "office_hours": {"open": opens_at is None, "opens_at": opens_at.isoformat() if opens_at else None},
        }

    # -- the WhatsApp channel routes a customer's message ------------------------------------

    def customer_message(self, wa_id: str, wamid: str, text: str, sent_at: Optional[float],
                         message_type: str = "text") -> tuple[str, str]:
        # The channel has already recorded the message in the policy's windows (whoever answers it).
        now = time.time()
        message = {"id": wamid, "kind": "customer", "text": text, "type": message_type, "at": sent_at or now}
        return self.chats.customer_message(wa_id, wamid, message, next_due=now + self.settings.next_response_seconds,
                                           now=now)

    # -- agents ----------------------------------------------------------------------------

    def visible_chat(self, agent: Agent, chat_id: str) -> Dict[str, str]:
        chat = self.chats.chat(chat_id)
        if not agent.can_see(chat):
            raise Forbidden(f"chat {chat_id} belongs to the {chat['team']} team")
        return chat

    def claim(self, agent: Agent, chat_id: str) -> None:
        self.visible_chat(agent, chat_id)
        self.chats.claim(chat_id, agent.username, agent.capacity)

    def _acting(self, agent: Agent, chat_id: str) -> tuple[Dict[str, str], str]:
        """The chat and the `by` for a state change: a supervisor may act on anyone's chat."""
        chat = self.visible_chat(agent, chat_id)
        by = "" if agent.sees_all and chat.get("agent") != agent.username else agent.username
        return chat, by

    def reply(self, agent: Agent, chat_id: str, text: str, client_key: str = "") -> Dict[str, Any]:
        """Send an agent's text. `client_key`, chosen by the inbox or API client once per message, makes a
        retry of the same send (after a timeout, a double click) send and record it once."""
        chat = self._owned(agent, chat_id)
        message_id = _message_id(client_key)
        earlier = self._already_sent(chat_id, message_id)
        if earlier is not None:
            return earlier
        wamid = self.messenger.send_text(chat["customer"], text, key=f"handoff:{chat_id}:{message_id}")
        return self._record_agent(agent, chat_id, {"id": message_id, "kind": "agent", "text": text, "wamid": wamid})

    def send_template(self, agent: Agent, chat_id: str, name: str, language: str,
                      values: Dict[str, str], client_key: str = "") -> Dict[str, Any]:
        chat = self._owned(agent, chat_id)
        message_id = _message_id(client_key)
        earlier = self._already_sent(chat_id, message_id)
        if earlier is not None:
            return earlier
        window = self.window(chat)
        if not self.settings.templates_in_window and window.mode == "session" \
                and window.seconds_left > WINDOW_CLOSING_SECONDS:
            raise SendBlocked("the customer's service window is open: reply with free text (templates inside the "
                              "window need the administrator's setting HANDOFF_TEMPLATES_IN_WINDOW)")
        wamid, shown = self.messenger.send_template(chat["customer"], name, language, values,
                                                    key=f"handoff:{chat_id}:{message_id}")
        return self._record_agent(agent, chat_id, {"id": message_id, "kind": "agent", "text": shown,
                                                    "template": f"{name} ({language})", "wamid": wamid})

    def viewed(self, agent: Agent, chat_id: str) -> None:
        """The agent has the chat open: its messages so far are read (their unread count starts again)."""
        self.chats.mark_seen(agent.username, chat_id, self.settings.retention_seconds)

    def send_media(self, agent: Agent, chat_id: str, filename: str, content: bytes, caption: str = "",
                   client_key: str = "") -> Dict[str, Any]:
        """Upload an image or document to WhatsApp and send it; a copy is kept in the media directory, where
        the retention sweep ages it out and an erasure finds it (its name is in the chat's messages)."""
        chat = self._owned(agent, chat_id)
        message_id = _message_id(client_key)
        earlier = self._already_sent(chat_id, message_id)
        if earlier is not None:
            return earlier
        filename = shown_filename(filename)
        caption = caption.strip()
        wamid, media_id, kind = self.messenger.send_media(chat["customer"], filename, content, caption,
                                                          key=f"handoff:{chat_id}:{message_id}")
        media = {"type": kind.kind, "filename": filename, "mime_type": kind.mime_type, "media_id": media_id,
                 "bytes": len(content), "caption": caption, "file": self._keep_file(filename, content)}
        text = caption or f"[{kind.kind}] {filename}"
        return self._record_agent(agent, chat_id, {"id": message_id, "kind": "agent", "text": text, "media": media,
                                                    "wamid": wamid})

    def _keep_file(self, filename: str, content: bytes) -> str:
        """The sent file's copy under a random name ("" when it could not be written: the message went out)."""
        name = f"{secrets.token_urlsafe(24)}.{extension(filename)}"
        try:
            self.settings.media_dir.mkdir(parents=True, exist_ok=True)
            (self.settings.media_dir / name).write_bytes(content)
        except OSError:
            logger.exception("the copy of a sent file could not be kept in %s", self.settings.media_dir)
            return ""
        return name

    def media_file(self, agent: Agent, chat_id: str, name: str) -> tuple[Path, Dict[str, Any]]:
        """A file sent in a chat the agent may see: its path and its message's media record."""
        self.visible_chat(agent, chat_id)
        for message in self.chats.messages(chat_id):
            media = message.get("media")
            if isinstance(media, dict) and media.get("file") == name:
                path = media_path(self.settings.media_dir, name)
                if path is None:
                    raise NotFound(f"the file {media.get('filename')} is no longer kept")
                return path, media
        raise NotFound(f"no file {name} in chat {chat_id}")

    def record_opt_in(self, agent: Agent, chat_id: str, scopes: List[str], wording: str) -> Dict[str, Any]:
        """An opt-in the customer gave the agent in the chat, into the consent ledger (source `agent`, the
        agent's username, the exact wording the customer was shown). Answers the scopes it changed."""
        chat = self.visible_chat(agent, chat_id)
        scopes = [scope for scope in SCOPES if scope in scopes]
        if not scopes:
            raise ValueError(f"choose the scope the customer agreed to: {' or '.join(SCOPES)}")
        wording = wording.strip()
        if not wording:
            raise ValueError("give the exact wording the customer was shown and agreed to")
        if len(wording) > CONSENT_WORDING_MAX:
            raise ValueError(f"the wording is longer than {CONSENT_WORDING_MAX} characters")
        changed = self.messenger.policy.record_consent(chat["customer"], "in", tuple(scopes), "agent", wording,
                                                       recorded_by=agent.username)
        what = ", ".join(changed) if changed else "nothing new (already opted in)"
        self.chats.add_message(chat_id, {"id": secrets.token_hex(8), "kind": "system", "at": time.time(),
                                         "text": f"{agent.username} recorded an opt-in ({what}): “{wording}”"})
        return {"changed": list(changed), "consent": self.consent(chat)}

    def consent(self, chat: Dict[str, str]) -> List[Dict[str, Any]]:
        """The customer's consent per scope, as the ledger has it (the panel and the API show it)."""
        records = self.messenger.policy.snapshot(chat["customer"]).state.consent.records
        return [{"scope": scope, "status": r.status, "source": r.source, "at": r.at.isoformat(timespec="seconds"),
                 "wording": r.wording, "recorded_by": r.recorded_by or None}
                for scope, r in sorted(records.items())]

    def note(self, agent: Agent, chat_id: str, text: str) -> Dict[str, Any]:
        self.visible_chat(agent, chat_id)
        if not text.strip():
            raise SendBlocked("the note is empty")
        message = {"id": secrets.token_hex(8), "kind": "note", "text": text, "agent": agent.username,
                   "at": time.time()}
        self.chats.add_message(chat_id, message, agent.username)
        return message

    def _owned(self, agent: Agent, chat_id: str) -> Dict[str, str]:
        chat = self.visible_chat(agent, chat_id)
        if chat["state"] != contract.AGENT or chat["agent"] != agent.username:
            raise Conflict("not_owner" if chat["state"] == contract.AGENT else "not_assigned",
                           chat["agent"] if chat["state"] == contract.AGENT else chat["state"])
        return chat

    def _already_sent(self, chat_id: str, message_id: str) -> Optional[Dict[str, Any]]:
        return next((m for m in self.chats.messages(chat_id) if m.get("id") == message_id), None)

    def _record_agent(self, agent: Agent, chat_id: str, message: Dict[str, Any]) -> Dict[str, Any]:
        message.update(agent=agent.username, at=time.time())
        self.chats.add_message(chat_id, message, agent.username)
        customer = self.chats.chat(chat_id)["customer"]
        try:
            self.rasa.record_agent_message(customer, message["text"], agent.username, message["wamid"])
        except (RasaUnavailable, RasaRefused) as exc:  # the message is sent and in the chat; Rasa's copy is extra
            logger.warning("agent message of %s not recorded in Rasa's tracker: %s", chat_id, exc)
        return message

    def transfer(self, agent: Agent, chat_id: str, to_agent: Optional[str], to_team: Optional[str]) -> Dict[str, str]:
        _chat, by = self._acting(agent, chat_id)
        if to_agent:
            target = self.agents.get(to_agent)
            if target is None or target.disabled:
                raise NotFound(f"no agent {to_agent}")
            if not target.can_see(_chat):
                raise Conflict("not_in_team", to_agent)
            if target.status != "online":  # an offline agent would hold the customer for hours
                raise Conflict("offline", to_agent)
            self.chats.transfer_to_agent(chat_id, by, to_agent, target.capacity)
        elif to_team:
            if to_team not in TEAMS:
                raise NotFound(f"no team {to_team}")
            self.chats.requeue(chat_id, by=by, team=to_team, why=f"transferred to team {to_team} by {agent.username}")
            self.router.assign_waiting(to_team)
        else:
            raise ValueError("give to_agent or to_team")
        self.chats.add_message(chat_id, {"id": secrets.token_hex(8), "kind": "system", "at": time.time(),
                                         "text": f"{agent.username} transferred the chat to {to_agent or to_team}"})
        return self.chats.chat(chat_id)

    def resolve(self, agent: Agent, chat_id: str, resolution: str) -> Dict[str, str]:
        chat, by = self._acting(agent, chat_id)
        self.chats.resolve(chat_id, by, resolution.strip() or "resolved")
        self.chats.expire_closed(chat, self.settings.retention_seconds)
        self.router.record_handling(chat)
        self.hand_back(chat_id)
        self.router.assign_waiting(chat["team"])
        return self.chats.chat(chat_id)

    def set_status(self, agent: Agent, status: str) -> None:
        self.agents.set_status(agent.username, status)
        if status == "online":
            for team in agent.teams:
                self.router.assign_waiting(team)
        else:
            self.router.agent_left(agent.username)

    def customer_history(self, chat: Dict[str, str]) -> Dict[str, Any]:
        """What came before this chat: `before`, the bot conversation since the customer's previous chat ended
        (from Rasa's tracker), and `earlier`, their earlier chats, oldest first, each with its messages and the
        bot conversation that led to it. One read of the tracker for both."""
        lines, problem = self._bot_transcript(chat["customer"])
        earlier = [c for c in self.chats.chats(self.chats.customer_chat_ids(chat["customer"]))
                   if c["id"] != chat["id"] and float(c["created_at"]) < float(chat["created_at"])]
        earlier.sort(key=lambda c: float(c["created_at"]))
        shown: List[Dict[str, Any]] = []
        since = float("-inf")
        for past in earlier:
            created = float(past["created_at"])
            shown.append({
                "chat_id": past["id"], "created_at": created, "resolved_at": _number(past.get("resolved_at")),
                "state": past["state"], "team": past["team"], "agent": past.get("agent") or None,
                "reason": past.get("reason"), "intent": past.get("intent") or None,
                "resolution": past.get("resolution") or None, "messages": self.chats.messages(past["id"]),
                "bot_transcript": problem or _between(lines, since, created),
            })
            since = float(past.get("resolved_at") or created)
        return {"before": problem or _between(lines, since, float(chat["created_at"])), "earlier": shown}

    def _bot_transcript(self, wa_id: str) -> tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        """(the tracker's lines, []) or ([], a line saying why there are none)."""
        if self.rasa.unavailable():  # a page must not wait for a Rasa that just failed to answer
            return [], [{"kind": "system", "text": "bot transcript unavailable: Rasa is not answering", "at": None}]
        try:
            return self.rasa.transcript(wa_id), []
        except (RasaUnavailable, RasaRefused) as exc:
            return [], [{"kind": "system", "text": f"bot transcript unavailable: {exc}", "at": None}]

    def window(self, chat: Dict[str, str]) -> Window:
        return self.messenger.window(chat["customer"])

    def conversations(self, chat: Dict[str, str]) -> Dict[str, Any]:
        return self.messenger.conversations(chat["customer"])

    def composer(self, chat: Dict[str, str]) -> Dict[str, Any]:
        """What the agent may send now: free text inside the window, templates outside it."""
        window = self.window(chat)
        costs = self.conversations(chat)
        quotes, currency = costs["next_message"], costs["currency"]
        templates = [{**t, "cost": _template_cost(quotes.get(normalize_category(t["category"])), currency)}
                     for t in self.messenger.templates()]
        return {"mode": window.mode, "reason": window.reason, "templates": templates,
                "templates_in_window": self.settings.templates_in_window,
                "canned": self.canned(chat["team"]), "media_accept": MEDIA_ACCEPT}

    def canned(self, team: str) -> Dict[str, str]:
        return self.redis.hgetall(keys.canned(team))

    def set_canned(self, team: str, replies: Dict[str, str]) -> None:
        pipe = transaction(self.redis, keys.canned(team))
        pipe.delete(keys.canned(team))
        if replies:
            pipe.hset(keys.canned(team), mapping=replies)
        pipe.execute()

    def pending_handbacks(self) -> List[Dict[str, Any]]:
        pending = self.redis.zrange(keys.HANDBACK_PENDING, 0, -1, withscores=True)
        return [{"chat_id": chat_id, "next_attempt_at": at,
                 "attempts": int(self.redis.hget(keys.chat(chat_id), "handback_attempts") or 0),
                 "error": self.redis.hget(keys.chat(chat_id), "handback_error")} for chat_id, at in pending]

    # -- hand back to the bot (retried until Rasa takes it) ----------------------------------

    def hand_back(self, chat_id: str, now: Optional[float] = None) -> bool:
        """Hand the customer back once: only whoever takes the pending hand back runs it."""
        now = time.time() if now is None else now
        if not self.chats.claim_handback(chat_id, lease_until=now + HANDBACK_LEASE_SECONDS, now=now):
            return False  # another worker's tick (or request) has it
        return self._hand_back_taken(chat_id, now)

    def _hand_back_taken(self, chat_id: str, now: float) -> bool:
        try:
            chat = self.chats.chat(chat_id)
        except NotFound:
            self.redis.zrem(keys.HANDBACK_PENDING, chat_id)
            return False
        customer = chat["customer"]
        owner = self.chats.owner(customer)
        if owner.get("state", contract.BOT) != contract.BOT or owner.get("chat_id", chat_id) != chat_id:
            # The customer wrote again and is with the team in a newer chat: a goodbye now would land in it.
            return self._drop_handback(chat_id, "superseded: the customer is back with the team", now)
        resolved_at = float(chat.get("resolved_at") or now)
        if now - resolved_at > self.settings.handback_max_age:
            return self._drop_handback(chat_id, f"expired: not handed back within "
                                                f"{self.settings.handback_max_age:.0f} s of the resolve", now)
        try:
            # A retry after a timeout: Rasa may have run the first try after all; never say goodbye twice.
            if int(chat.get("handback_attempts") or 0) and self.rasa.handed_back_since(customer, resolved_at - 1):
                self.chats.handed_back(chat_id)
                return True
            self.rasa.hand_back(customer, chat.get("resolution") or "resolved")
        except RasaUnavailable as exc:
            attempts = self.redis.hincrby(keys.chat(chat_id), "handback_attempts", 1)
            delay = min(HANDBACK_RETRY_MAX_SECONDS, 2.0 ** attempts)
            self.redis.zadd(keys.HANDBACK_PENDING, {chat_id: now + delay})
            self.redis.hset(keys.chat(chat_id), "handback_error", str(exc))
            logger.warning("hand back of %s failed (%s); retrying in %.0f s", chat_id, exc, delay)
            return False
        except RasaRefused as exc:
            # The customer is with the bot again (ownership is in Redis); only the bot's closing
            # message is missing. Kept on the chat and in the event stream for the operators.
            logger.error("Rasa refused the hand back of %s: %s", chat_id, exc)
            return self._drop_handback(chat_id, str(exc), now, kind=kinds.HANDOFF_HANDBACK_REFUSED)
        self.chats.handed_back(chat_id)
        return True

    def _drop_handback(self, chat_id: str, why: str, now: float, kind: str = kinds.HANDOFF_HANDBACK_DROPPED) -> bool:
        self.redis.zrem(keys.HANDBACK_PENDING, chat_id)
        self.redis.hset(keys.chat(chat_id), "handback_error", why)
        self.redis.xadd(EVENT_STREAM, {"kind": kind, "at": repr(now), "chat_id": chat_id, "error": why},
                        maxlen=self.settings.event_stream_max, approximate=True)
        logger.warning("hand back of %s not sent: %s", chat_id, why)
        return False

    # -- background work (a thread in each worker; every step is safe to run concurrently) ---

    def tick(self, now: Optional[float] = None) -> None:
        now = time.time() if now is None else now
        self.tick_routing(now)
        self.tick_handbacks(now)

    def tick_routing(self, now: Optional[float] = None) -> None:
        """Presence, assignment and SLA timers: Redis only, never waits for Rasa."""
        now = time.time() if now is None else now
        if self._present_long_enough(now):
            for username in self.agents.absent_since(now - self.settings.presence_seconds):
                logger.warning("agent %s has not been seen for %.0f s: away, chats back in the queue",
                               username, self.settings.presence_seconds)
                self.agents.set_status(username, "away")
                self.router.agent_left(username)
        self.router.assign_waiting()
        for timer in self.chats.take_due_sla(now):
            which, _, chat_id = timer.partition(":")
            self._breach(chat_id, which, now)

    def tick_handbacks(self, now: Optional[float] = None) -> None:
        """Due hand backs; the first that finds Rasa unavailable ends the round (a hung Rasa costs one
        timeout per round, not one per pending hand back)."""
        now = time.time() if now is None else now
        for chat_id in self.chats.take_due_handbacks(retry_at=now + HANDBACK_LEASE_SECONDS, now=now):
            if not self._hand_back_taken(chat_id, now) and self.rasa.unavailable():
                break  # the rest stay leased and come due again when the lease ends

    def _present_long_enough(self, now: float) -> bool:
        """Whether agents have had a full presence period to show up since the service was last unavailable.

        When no worker ran (Redis down, a deploy) nobody's page could report them present; they must not
        all go away, with every chat re-queued, because the server, not the agent, was gone."""
        last = self.redis.getset(keys.SERVICE_SEEN, repr(now))
        if last is not None and now - float(last) > SERVICE_GAP_SECONDS:
            self.redis.set(keys.SERVICE_BACK, repr(now))
        back = float(self.redis.get(keys.SERVICE_BACK) or 0)
        return now - back >= self.settings.presence_seconds

    def _breach(self, chat_id: str, which: str, now: float) -> None:
        chat = self.redis.hgetall(keys.chat(chat_id))
        if not chat or chat.get("state") not in contract.WITH_HANDOFF:
            return
        self.redis.zadd(keys.SLA_BREACHED, {chat_id: now})
        self.redis.hset(keys.chat(chat_id), mapping={"sla_breached": which, "sla_breached_at": repr(now)})
        what = "first response" if which == "first" else "next response"
        self.chats.add_message(chat_id, {"id": secrets.token_hex(8), "kind": "system", "at": now,
                                         "text": f"{what} SLA breached: escalated to the supervisors"})
        self.redis.xadd(EVENT_STREAM, {"kind": kinds.HANDOFF_SLA_BREACHED, "at": repr(now), "chat_id": chat_id,
                                      "sla": which, "team": chat["team"], "agent": chat.get("agent", "")},
                        maxlen=self.settings.event_stream_max, approximate=True)
        logger.warning("chat %s breached its %s SLA", chat_id, what)


def _template_cost(quote: Optional[Dict[str, Any]], currency: str) -> Dict[str, Any]:
    """What a template of its category costs if sent now, from the pricing engine's quote for the chat."""
    if quote is None:
        return {"amount": None, "currency": currency, "text": "price unknown (category not on the rate card)"}
    free = quote["free_within_monthly_allowance"]
    text = f"{quote['amount']} {currency}" + (" (within the free monthly allowance)" if free else "")
    return {"amount": quote["amount"], "currency": currency, "text": text}


def _number(value: Optional[str]) -> Optional[float]:
    return float(value) if value else None


def _between(lines: List[Dict[str, Any]], after: float, until: float) -> List[Dict[str, Any]]:
    return [line for line in lines if after < (line["at"] or 0) <= until]


def shown_filename(filename: str) -> str:
    """The name the customer sees on a document: no folders, at most 200 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "file"
    return name if len(name) <= 200 else name[:190] + "." + extension(name)[:8]


def _message_id(client_key: str) -> str:
    """The client's key for one agent message when it is a usable one, else a fresh id."""
    return client_key if CLIENT_KEY.fullmatch(client_key or "") else secrets.token_hex(8)
