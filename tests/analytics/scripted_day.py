"""A scripted day of traffic on Monday 2026-11-02 (UTC), written by the real writers where they exist (the
handoff's ChatStore for escalations, claims, agents' replies and resolves; the cost ledger for charges; the
shop database for ratings) and as the channel and the sender write them elsewhere. `EXPECTED` holds the
figures computed by hand from the script below.

  A  09:00 writes from the poster's click-to-chat link (again at 09:01), bot answers and asks for a rating,
     A gives 5 at 09:02: contained; writes again on 11-04 (within 7 days), so not durably contained
  B  10:00 writes from the flyer's link, escalated 10:00:30 (customer_request, order_status, team orders),
     alice claims 10:02:30, replies 10:05:30 and 10:06, resolves 10:20:30; the bot asks for a rating, B gives 4
     at 10:21
  C  11:00 writes, quoting campaign c-spring's weekend_promo message; escalated 11:00:10 (fallback,
     nlu_fallback, team general), bob claims 11:10:10, replies 11:20:10, resolves 12:00:10; no rating
  D  12:00 the shop's order update goes as its template `order_update` (marketing), delivered and read
  E  13:00 writes, quoting a delivery_update notification; the first answer fails (131026), the second is read
     without a delivered status
  F  14:00 a marketing message is blocked (opt-out); G 14:05 a reply is deferred (window closed)
What the NLU read (`nlu_result`): A's greeting (greet 0.98), A's question (faq 0.64: low confidence), B's first
message (faq 0.81, but the dialogue policy fell back), C's (nlu_fallback, most like complaint), E's (out_of_scope
0.9); A's on 11-04 (greet 0.99).
"""

import json
from datetime import datetime, timezone
from typing import Any, Dict, Optional

import redis
from sqlalchemy.engine import Engine

from handoff.state import ChatStore, Escalation
from shop.db import session_scope
from shop.models import CsatRating
from whatsapp_cloud.events import kinds
from whatsapp_cloud.pricing.cost_ledger import SyncCostLedger
from whatsapp_cloud.redis_keys import EVENT_STREAM
from whatsapp_cloud.webhooks.inbound import StatusUpdate

A, B, C, D, E, F, G = (f"1555000000{n}" for n in range(1, 8))
PHONE = "100000000000001"


def at(day: int, clock: str) -> float:
    hours, minutes, *seconds = (int(part) for part in clock.split(":"))
    return datetime(2026, 11, day, hours, minutes, seconds[0] if seconds else 0, tzinfo=timezone.utc).timestamp()


class Script:
    def __init__(self, store: redis.Redis, shop: Engine) -> None:
        self.store, self.shop = store, shop
        self.chats = ChatStore(store)
        self.ledger = SyncCostLedger(store)
        self.sent = 0

    def event(self, kind: str, when: float, **fields: Any) -> None:
        self.store.xadd(EVENT_STREAM, {"kind": kind, "at": repr(when), **{k: v for k, v in fields.items() if v}})

    def inbound(self, customer: str, when: float) -> None:
        self.event(kinds.INBOUND, when, wamid=f"in-{customer}-{when}", sender=customer, type="text")

    def nlu(self, customer: str, when: float, intent: str, confidence: float, fell_back: str = "",
            resembles: str = "") -> None:
        ranking = [{"name": intent, "confidence": confidence}] + (
            [{"name": resembles, "confidence": 0.4}] if resembles else [])
        self.event(kinds.NLU_RESULT, when, wamid=f"in-{customer}-{when}", sender=customer, intent=intent,
                   confidence=repr(confidence), fell_back=fell_back,
                   out_of_scope="1" if intent == "out_of_scope" else "",
                   resembles=resembles or intent, ranking=json.dumps(ranking))

    def outbound(self, customer: str, when: float, label: str = "", kind: str = "text", fallback: str = "",
                 category: Optional[str] = None) -> str:
        self.sent += 1
        wamid = f"out-{self.sent}"
        self.event(kinds.OUTBOUND, when, wamid=wamid, recipient=customer, type=kind, label=label, fallback=fallback)
        self.ledger.record_outbound(customer, wamid, "template" if kind == "template" else "free_form", category,
                                    PHONE, at=datetime.fromtimestamp(when, timezone.utc))
        return wamid

    def status(self, customer: str, wamid: str, status: str, when: float, codes: str = "",
               pricing: Optional[Dict[str, Any]] = None) -> None:
        self.event(kinds.STATUS, when, wamid=wamid, status=status, recipient=customer, moved="1", error_codes=codes,
                   pricing_category=(pricing or {}).get("category", ""))
        errors = [{"code": int(code)} for code in codes.split(",") if code]
        self.ledger.record_status(StatusUpdate(wamid, status, int(when), customer, PHONE, pricing, None, errors))

    def rating(self, customer: str, score: int, when: float) -> None:
        with session_scope(self.shop) as session:
            session.add(CsatRating(wa_id=customer, score=score, topic="test", source_wamid=f"csat-{customer}-{when}",
                                   created_at=datetime.fromtimestamp(when, timezone.utc).replace(tzinfo=None)))

    def handoff(self, customer: str, reason: str, intent: str, team: str, agent: str, escalated: float,
                claimed: float, replies: tuple, resolved: float) -> None:
        chat_id, _ = self.chats.escalate(Escalation(customer, "Ana", reason, intent, {}, "summary"), team,
                                         escalated + 86400, now=escalated)
        self.chats.claim(chat_id, agent, capacity=5, now=claimed)
        for reply in replies:
            self.chats.add_message(chat_id, {"kind": "agent", "text": "hello", "agent": agent}, agent=agent, now=reply)
            self.outbound(customer, reply, label="agent")
        self.chats.resolve(chat_id, agent, "done", now=resolved)


def write_day(store: redis.Redis, shop: Engine) -> None:
    s = Script(store, shop)
    s.inbound(A, at(2, "09:00"))
    s.nlu(A, at(2, "09:00:01"), "greet", 0.98)
    s.event(kinds.ENTRY_POINT, at(2, "09:00"), wamid="in-A", sender=A, ref="K7Q2MX", source="poster")
    s.status(A, s.outbound(A, at(2, "09:00:05"), "utter_greet"), "delivered", at(2, "09:00:06"))
    s.inbound(A, at(2, "09:01"))
    s.nlu(A, at(2, "09:01:01"), "faq", 0.64)
    s.event(kinds.ENTRY_POINT, at(2, "09:01"), wamid="in-A2", sender=A, ref="K7Q2MX", source="poster")  # same one
    s.status(A, s.outbound(A, at(2, "09:01:05"), "utter_ask_csat"), "read", at(2, "09:01:30"))
    s.rating(A, 5, at(2, "09:02"))

    s.inbound(B, at(2, "10:00"))
    s.nlu(B, at(2, "10:00:01"), "faq", 0.81, fell_back="core")
    s.event(kinds.ENTRY_POINT, at(2, "10:00"), wamid="in-B", sender=B, ref="AB3DEF", source="flyer")
    s.handoff(B, "customer_request", "order_status", "orders", "alice", at(2, "10:00:30"), at(2, "10:02:30"),
              (at(2, "10:05:30"), at(2, "10:06")), at(2, "10:20:30"))
    s.outbound(B, at(2, "10:20:35"), "utter_ask_csat")
    s.rating(B, 4, at(2, "10:21"))

    s.inbound(C, at(2, "11:00"))
    s.nlu(C, at(2, "11:00:01"), "nlu_fallback", 0.5, fell_back="nlu", resembles="complaint")
    s.event(kinds.CAMPAIGN_REPLY, at(2, "11:00"), wamid="in-C", sender=C, origin="campaign", campaign="c-spring",
            template="weekend_promo", language="en_US")
    s.handoff(C, "fallback", "nlu_fallback", "general", "bob", at(2, "11:00:10"), at(2, "11:10:10"),
              (at(2, "11:20:10"),), at(2, "12:00:10"))

    order_update = s.outbound(D, at(2, "12:00"), "utter_order_update", kind="template", fallback="order_update",
                              category="marketing")
    pricing = {"billable": True, "pricing_model": "PMP", "category": "marketing", "type": "regular"}
    s.status(D, order_update, "delivered", at(2, "12:00:05"), pricing=pricing)
    s.status(D, order_update, "read", at(2, "12:01"), pricing=pricing)

    s.inbound(E, at(2, "13:00"))
    s.nlu(E, at(2, "13:00:01"), "out_of_scope", 0.9)
    s.event(kinds.CAMPAIGN_REPLY, at(2, "13:00"), wamid="in-E", sender=E, origin="notification", campaign="",
            template="delivery_update", language="en_US")
    s.status(E, s.outbound(E, at(2, "13:00:05")), "failed", at(2, "13:00:07"), codes="131026")
    s.status(E, s.outbound(E, at(2, "13:00:06")), "read", at(2, "13:00:30"))

    s.event(kinds.OUTBOUND_BLOCKED, at(2, "14:00"), recipient=F, reason="customer opted out of marketing messages",
            label="utter_promo")
    s.event(kinds.OUTBOUND_DEFERRED, at(2, "14:05"), recipient=G,
            reason="customer service window closed and no template replaces this message", label="utter_late")

    s.inbound(A, at(4, "10:00"))  # two days later: A's contact after a contained conversation
    s.nlu(A, at(4, "10:00:01"), "greet", 0.99)


# Hand-computed from the script (the README's "Analytics" defines each figure).
EXPECTED: Dict[str, Any] = {
    "conversations": {"customer_initiated": 4, "proactive": 1, "ended": 4},  # A, B, C, E; D
    "containment_rate": 0.5,  # A and E of 4
    "durable_containment_rate": 0.25,  # A came back within 7 days
    "handoff_rate": 0.5,  # B and C
    "handoffs": 2,
    "handoff_reasons": {"customer_request": 1, "fallback": 1},
    "queue_wait_seconds": {"p50": 120.0, "p90": 600.0, "count": 2},
    "agent_first_response_seconds": {"p50": 300.0, "p90": 1200.0, "count": 2},
    "resolution_seconds": {"p50": 1200.0, "p90": 3600.0, "count": 2},
    "csat": {"bot": {"asked": 1, "ratings": 1, "answered": 1, "response_rate": 1.0, "average": 5.0},
             "agent": {"asked": 1, "ratings": 1, "answered": 1, "response_rate": 1.0, "average": 4.0}},
    # 9 accepted: A 2, B 2 agent + 1 rating question, C 1 agent, D 1, E 2. Delivered: A's first, D, and the two
    # read without delivered (A's second, E's second); read: A's second, D, E's second; failed: E's first.
    "delivery": {"sent": 9, "delivered": 4, "read": 3, "failed": 1, "refused": 0, "failed_by_code": {"131026": 1}},
    "conversations_by_entry_point": {"poster": 1, "flyer": 1},  # A (two messages from the link), B
    "replies_by_campaign": {"c-spring": 1, "notification": 1},  # C quoted the campaign, E the notification
    "replies_by_template": {"weekend_promo": 1, "delivery_update": 1},
    "template_fallbacks": {"order_update": 1},
    # A's of 11-04: the newest event read is A's message that started it; every window of these days has ended.
    "open_now": {"conversations": 1, "windows": 0},
    "fallback_rate": 0.4,  # B (core) and C (nlu) of A, A, B, C, E
    "nlu": {"messages": 5, "fell_back": 2, "fell_back_by": {"nlu": 1, "core": 1}, "out_of_scope": 1,
            "low_confidence": 1, "low_confidence_rate": 0.2, "low_confidence_threshold": 0.7,  # A's faq at 0.64
            "top_intents": [{"intent": "faq", "messages": 2}, {"intent": "greet", "messages": 1},
                            {"intent": "nlu_fallback", "messages": 1}, {"intent": "out_of_scope", "messages": 1}]},
    "policy_holds": {"deferred": {"customer service window closed and no template replaces this message": 1},
                     "blocked": {"customer opted out of marketing messages": 1}},
}
# D's marketing template to +1 at the rate card's 0.0250 USD; every other message is a free service reply.
EXPECTED_COST = {"currency": "USD", "total": 0.025, "per_contained": 0.0125, "per_resolved": 0.00625,
                 "marketing": {"messages": 1, "charged": 1, "amount": 0.025},
                 "service": {"messages": 3, "charged": 0, "amount": 0.0}}  # A 2, E 1 priced on delivery


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
