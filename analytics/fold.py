"""Folding events into the daily aggregates: the metric definitions, applied one entry at a time.

A `Fold` reads the working state it needs through `load` (a key -> JSON text function), keeps what it
changed in memory, and `write`s everything into one Redis transaction with the sources' new cursors, so a
batch counts exactly once. It depends only on the entries and their order, never on the clock, so reading
the streams again from the start gives the same figures.

Day-hash fields (`keys.day`; those marked * also in `keys.team_day`):
  sessions:customer, sessions:proactive   conversations started (customer-initiated / business-initiated)
  ended:customer, contained               customer-initiated conversations ended, and those without a person
  recontacted                             contained ones followed by a new one within the durable window
  handed:customer, handed:proactive       conversations in which the bot escalated at least once
  handoffs*, resolved*, handoff_reason:{r}*, handoff_intent:{i}*
  delivery:sent|delivered|read|failed, delivery:failed_code:{code}   by the day the message was sent
  delivery:refused                        sends Meta refused (never accepted), their codes in failed_code
  meta_priced:{category}                  messages Meta's statuses priced in that category
  template_fallback:{template}, held:{deferred|blocked}:{reason}
  cost:{category}:messages|charged|micros the cost ledger's charges
  csat:{bot|agent}:asked|ratings|score    questions asked, ratings given and their sum
  csat:{bot|agent}:answered               ratings given in a conversation with a question not yet answered
  nlu:messages, nlu:fell_back, nlu:fell_back:{nlu|core}, nlu:out_of_scope, nlu:low, nlu:intent:{intent}
                                          customer messages the NLU read (`nlu_result`), by the day read
  campaign_reply:{campaign id|notification}, template_reply:{template}   replies quoting such a message
All conversation figures count on the day the conversation started; handoffs on the day of the escalation.
"""

import json
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Callable, DefaultDict, Dict, List, Optional, Tuple

from analytics import keys
from analytics.config import AnalyticsConfig
from whatsapp_cloud.events import kinds

CSAT_QUESTION = "utter_ask_csat"  # the bot's rating question (domain.yml), as the outbound event's label
STAGES = {"sent": 1, "delivered": 2, "read": 3, "played": 3}  # played (voice) counts as read
HELD = {kinds.OUTBOUND_DEFERRED: "deferred", kinds.OUTBOUND_BLOCKED: "blocked"}
REASON_LENGTH = 80  # a policy reason is a sentence; its start groups it


def day_of(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).date().isoformat()


def _number(text: Optional[str]) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0


class Fold:
    def __init__(self, config: AnalyticsConfig, load: Callable[[str], Optional[str]], clock: float = 0.0) -> None:
        self.config = config
        self._load = load
        self.clock = clock  # the newest event time read so far
        self.states: Dict[str, Optional[Dict[str, Any]]] = {}  # key -> state (None: delete)
        self.ttl: Dict[str, int] = {}
        self.counters: DefaultDict[Tuple[str, str], int] = defaultdict(int)
        self.records: DefaultDict[str, List[str]] = defaultdict(list)
        self.open_sessions: Dict[str, Optional[float]] = {}  # customer -> last activity (None: closed)
        self.meta: Dict[str, str] = {}

    # -- working state -------------------------------------------------------------------

    def state(self, key: str) -> Optional[Dict[str, Any]]:
        if key not in self.states:
            raw = self._load(key)
            self.states[key] = json.loads(raw) if raw else None
        return self.states[key]

    def keep(self, key: str, value: Optional[Dict[str, Any]], ttl: int = 0) -> None:
        self.states[key] = value
        self.ttl[key] = ttl

    def count(self, date: str, name: str, by: int = 1, team: str = "") -> None:
        self.counters[(keys.day(date), name)] += by
        if team:
            self.counters[(keys.team_day(date, team), name)] += by

    # -- wa:events -----------------------------------------------------------------------

    def event(self, entry: Dict[str, str]) -> None:
        kind = entry.get("kind", "")
        try:
            at = float(entry.get("at") or 0)
        except ValueError:
            return
        self.clock = max(self.clock, at)
        if kind == kinds.INBOUND and entry.get("sender"):
            self.activity(entry["sender"], at, by_customer=True)
        elif kind == kinds.OUTBOUND and entry.get("recipient"):
            self.outbound(entry, at)
        elif kind == kinds.STATUS and entry.get("wamid"):
            self.status(entry, at)
        elif kind == kinds.OUTBOUND_DEAD:
            self.refused(entry.get("code") or "unknown", day_of(at))
        elif kind in HELD:
            reason = (entry.get("reason") or "unknown")[:REASON_LENGTH]
            self.count(day_of(at), f"held:{HELD[kind]}:{reason}")
        elif kind == kinds.NLU_RESULT:
            self.nlu_result(entry, at)
        elif kind == kinds.ENTRY_POINT and entry.get("sender") and entry.get("source"):
            self.entry_point(entry["sender"], entry["source"][:REASON_LENGTH], at)
        elif kind == kinds.CAMPAIGN_REPLY and entry.get("template"):
            self.count(day_of(at), f"campaign_reply:{entry.get('campaign') or 'notification'}")
            self.count(day_of(at), f"template_reply:{entry['template']}")
        elif kind == kinds.HANDOFF_TRANSITION and entry.get("customer") and entry.get("chat_id"):
            self.transition(entry, at)
        elif kind == kinds.HANDOFF_AGENT_REPLY and entry.get("first") == "1" and entry.get("chat_id"):
            chat = self.state(keys.chat(entry["chat_id"]))
            if chat is not None and "first_reply_at" not in chat:
                chat.update(first_reply_at=at, first_agent=entry.get("agent", ""))
                self.keep(keys.chat(entry["chat_id"]), chat, keys.CHAT_SECONDS)

    def activity(self, wa_id: str, at: float, by_customer: bool) -> Dict[str, Any]:
        """A message either way: it continues the customer's open conversation or starts one."""
        key = keys.customer(wa_id)
        state = self.state(key) or {}
        session = state.get("session")
        if session and self._idle(session, at):
            self.close(wa_id, state)
            session = None
        if not session:
            kind = "customer" if by_customer else "proactive"
            session = {"start": at, "last": at, "day": day_of(at), "kind": kind, "handed": False, "with_handoff": False}
            self.count(session["day"], f"sessions:{kind}")
            contained = state.get("contained")
            if by_customer and contained and at - contained["end"] <= self.config.durable_seconds:
                self.count(contained["day"], "recontacted")
                state["contained"] = None  # one recontact per contained conversation
            state["session"] = session
        session["last"] = max(session["last"], at)
        self._save(wa_id, state)
        self.open_sessions[wa_id] = session["last"]
        return session

    def nlu_result(self, entry: Dict[str, str], at: float) -> None:
        """A message fell back (nlu or core fallback) or, understood, scored below ANALYTICS_LOW_CONFIDENCE."""
        date, fell_back = day_of(at), entry.get("fell_back", "")
        self.count(date, "nlu:messages")
        self.count(date, f"nlu:intent:{(entry.get('intent') or 'unknown')[:REASON_LENGTH]}")
        if fell_back:
            self.count(date, "nlu:fell_back")
            self.count(date, f"nlu:fell_back:{fell_back[:REASON_LENGTH]}")
        elif _number(entry.get("confidence")) < self.config.low_confidence:
            self.count(date, "nlu:low")
        if entry.get("out_of_scope"):
            self.count(date, "nlu:out_of_scope")

    def entry_point(self, wa_id: str, source: str, at: float) -> None:
        """A conversation counts once, for the first click-to-chat link a message in it came through."""
        session = self.activity(wa_id, at, by_customer=True)
        if "source" not in session:
            session["source"] = source
            self.count(session["day"], f"entry_point:{source}")
            self._save(wa_id, self.state(keys.customer(wa_id)) or {"session": session})

    def _idle(self, session: Dict[str, Any], at: float) -> bool:
        return not session["with_handoff"] and at - session["last"] > self.config.session_gap_seconds

    def close(self, wa_id: str, state: Dict[str, Any]) -> None:
        session = state["session"]
        if session["kind"] == "customer":
            self.count(session["day"], "ended:customer")
            if not session["handed"]:
                self.count(session["day"], "contained")
                state["contained"] = {"end": session["last"], "day": session["day"]}
        state["previous"] = {"start": session["start"], "handed": session["handed"],
                             "csat_asked": session.get("csat_asked", 0),
                             "csat_answered": session.get("csat_answered", 0)}
        state["session"] = None
        self._save(wa_id, state)
        self.open_sessions[wa_id] = None

    def close_idle(self, candidates: List[str]) -> None:
        """Conversations whose last message is older than the gap, as of the newest event read."""
        for wa_id in candidates:
            state = self.state(keys.customer(wa_id))
            session = (state or {}).get("session")
            if session and self._idle(session, self.clock):
                self.close(wa_id, state)
            elif not session:
                self.open_sessions[wa_id] = None

    def _save(self, wa_id: str, state: Dict[str, Any]) -> None:
        # Kept until the durable window after the customer's last message has passed, and a day more.
        self.keep(keys.customer(wa_id), state, self.config.durable_seconds + self.config.session_gap_seconds + 86400)

    def outbound(self, entry: Dict[str, str], at: float) -> None:
        session = self.activity(entry["recipient"], at, by_customer=False)
        if entry.get("label") == CSAT_QUESTION:
            self.count(session["day"], f"csat:{'agent' if session['handed'] else 'bot'}:asked")
            session["csat_asked"] = session.get("csat_asked", 0) + 1
        if entry.get("fallback"):
            self.count(day_of(at), f"template_fallback:{entry['fallback']}")
        if entry.get("wamid"):
            key = keys.message(entry["wamid"])
            message = self.state(key) or {"day": day_of(at), "stage": 0}
            if not message.get("accepted"):
                message.update(accepted=True, stage=max(message["stage"], 1))
                self.count(message["day"], "delivery:sent")
            self.keep(key, message, keys.MESSAGE_SECONDS)

    def status(self, entry: Dict[str, str], at: float) -> None:
        key = keys.message(entry["wamid"])
        message = self.state(key) or {"day": day_of(at), "stage": 0}  # sent before analytics read its acceptance
        status = entry.get("status", "")
        if status == "failed" and not message.get("failed"):
            message["failed"] = True
            self.count(message["day"], "delivery:failed")
            for code in filter(None, (entry.get("error_codes") or "").split(",")):
                self.count(message["day"], f"delivery:failed_code:{code}")
            if not entry.get("error_codes"):
                self.count(message["day"], "delivery:failed_code:unknown")
        stage = STAGES.get(status, 0)
        if stage > message["stage"]:
            # A read without a delivered status was delivered all the same.
            for name, value in (("delivered", 2), ("read", 3)):
                if message["stage"] < value <= stage:
                    self.count(message["day"], f"delivery:{name}")
            message["stage"] = stage
        if entry.get("pricing_category") and not message.get("meta_priced"):
            message["meta_priced"] = True
            self.count(message["day"], f"meta_priced:{entry['pricing_category']}")
        self.keep(key, message, keys.MESSAGE_SECONDS)

    def refused(self, code: str, date: str) -> None:
        """A send that went to the dead letters: Meta refused it with a permanent error (or every retry failed).
        Never accepted, so not among the sent; a failure all the same, by its code."""
        self.count(date, "delivery:refused")
        self.count(date, f"delivery:failed_code:{code}")

    def transition(self, entry: Dict[str, str], at: float) -> None:
        wa_id, chat_key, to = entry["customer"], keys.chat(entry["chat_id"]), entry.get("to")
        if to == "queued" and entry.get("why") == "escalated":
            session = self.activity(wa_id, at, by_customer=True)
            if not session["handed"]:
                self.count(session["day"], f"handed:{session['kind']}")
            session.update(handed=True, with_handoff=True)
            team, date = entry.get("team", ""), day_of(at)
            self.count(date, "handoffs", team=team)
            self.count(date, f"handoff_reason:{entry.get('reason') or 'unknown'}", team=team)
            self.count(date, f"handoff_intent:{entry.get('intent') or 'unknown'}", team=team)
            self.keep(chat_key, {"team": team, "reason": entry.get("reason", ""), "intent": entry.get("intent", ""),
                                 "day": date, "queued_at": at}, keys.CHAT_SECONDS)
            return
        chat = self.state(chat_key)
        if chat is None:
            return  # escalated before analytics read the stream
        if to == "agent":
            chat.setdefault("claimed_at", at)
            chat["agent"] = entry.get("agent", "")
            self.keep(chat_key, chat, keys.CHAT_SECONDS)
        elif to == "bot":
            chat["resolved_at"] = at
            self.count(chat["day"], "resolved", team=chat["team"])
            self.records[keys.handoffs(chat["day"])].append(json.dumps(chat, sort_keys=True))
            self.keep(chat_key, None)
            state = self.state(keys.customer(wa_id)) or {}
            if state.get("session"):
                state["session"].update(with_handoff=False, last=max(state["session"]["last"], at))
                self._save(wa_id, state)
                self.open_sessions[wa_id] = state["session"]["last"]

    # -- wa:pricing:log ------------------------------------------------------------------

    def charge(self, entry: Dict[str, str]) -> None:
        if not entry.get("charge"):
            return
        charge = json.loads(entry["charge"])
        date = datetime.fromisoformat(charge["at"]).astimezone(timezone.utc).date().isoformat()
        category, micros = charge["category"], int(charge["amount_micros"])
        self.count(date, f"cost:{category}:messages")
        self.count(date, f"cost:{category}:charged", int(micros > 0))
        self.count(date, f"cost:{category}:micros", micros)
        self.meta["currency"] = charge.get("currency", "")

    # -- CSAT ratings (shop database) ----------------------------------------------------

    def rating(self, wa_id: str, score: int, at: float) -> None:
        """Bot- or agent-settled by the conversation the rating was given in (the current or the one before).

        A rating answers a question when its conversation has one not yet answered: only those count in the
        response rate (a customer who rates unasked would push it above 100%); every rating counts in the average."""
        state = self.state(keys.customer(wa_id)) or {}
        session, previous = state.get("session"), state.get("previous")
        given_in = session if session and at >= session["start"] else previous
        who = "agent" if given_in and given_in["handed"] else "bot"
        self.count(day_of(at), f"csat:{who}:ratings")
        self.count(day_of(at), f"csat:{who}:score", score)
        if given_in and given_in.get("csat_answered", 0) < given_in.get("csat_asked", 0):
            given_in["csat_answered"] = given_in.get("csat_answered", 0) + 1
            self.count(day_of(at), f"csat:{who}:answered")
            self._save(wa_id, state)

    # -- the transaction -----------------------------------------------------------------

    def write(self, pipe: Any) -> None:
        for key, value in self.states.items():
            if key not in self.ttl:
                continue  # only read
            if value is None:
                pipe.delete(key)
            else:
                pipe.set(key, json.dumps(value, sort_keys=True), ex=self.ttl[key] or None)
        touched = set()
        for (key, field), by in self.counters.items():
            pipe.hincrby(key, field, by)
            touched.add(key)
        for key, records in self.records.items():
            pipe.rpush(key, *records)
            touched.add(key)
        for key in touched:
            pipe.expire(key, self.config.retention_seconds)
        closed = [wa_id for wa_id, last in self.open_sessions.items() if last is None]
        still_open = {wa_id: last for wa_id, last in self.open_sessions.items() if last is not None}
        if closed:
            pipe.zrem(keys.OPEN_SESSIONS, *closed)
        if still_open:
            pipe.zadd(keys.OPEN_SESSIONS, still_open)
        if self.meta:
            pipe.hset(keys.META, mapping=self.meta)
        pipe.set(keys.CLOCK, repr(self.clock))
