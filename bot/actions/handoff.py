"""Passing the customer to a person through the handoff service."""

import json
import logging
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import events
from bot.actions.common import customer_id, profile_name, wamid
from bot.actions.handoff_service import Escalation, HandoffUnavailable, escalate
from bot.actions.messages import say
from handoff.contract import AGENT, CUSTOMER_REQUEST, REASONS
from shop.db import ShopUnavailable
from stack import components
from whatsapp_cloud.events import kinds

logger = logging.getLogger(__name__)

# Intents that only steer the conversation: they say nothing about what the customer needs.
STEERING_INTENTS = {"human_handoff", "affirm", "deny", "nlu_fallback", "greet", "thank_you", "csat", "other_language"}
SUMMARY_MESSAGES = 4


def escalation_request(tracker: Tracker, reason: str, language: Optional[str] = None) -> Dict[str, Any]:
    """What the handoff service gets: who, why, the topic, what the bot collected, the last messages."""
    request = {
        "customer": customer_id(tracker),
        "profile_name": profile_name(tracker),
        "reason": reason,
        "intent": topic_intent(tracker),
        "slots": serializable_slots(tracker),
        "summary": conversation_summary(tracker),
    }
    if language:  # routing prefers an agent who speaks it
        request["language"] = language
    return request


def ticket_for(tracker: Tracker, request: Dict[str, Any], label: str) -> Optional[Any]:
    """The service is down: the request kept as a ticket for the team; None when the database is down too."""
    try:
        ticket = components.shop().open_ticket(
            request["customer"], "handoff", f"[{label}] {request['summary']}", wamid(tracker),
            order_number=tracker.get_slot("order_id"),
        )
    except ShopUnavailable as exc:
        logger.error("no ticket either for %s: %s", components.customer_ref(request["customer"]), exc)
        return None
    if ticket.created:
        events.record(kinds.TICKET_OPENED, ticket=ticket.id, customer=request["customer"], ticket_kind=ticket.kind,
                      order=ticket.order_number)
    return ticket


def conversation_summary(tracker: Tracker, limit: int = SUMMARY_MESSAGES) -> str:
    """The customer's last few messages, oldest first, as one short line for the agent."""
    texts = [
        str(e.get("text") or "").strip()
        for e in tracker.events
        if e.get("event") == "user" and e.get("text") and not str(e.get("text")).startswith("/")
    ]
    summary = " | ".join(t for t in texts[-limit:] if t)
    return summary[:500]


def topic_intent(tracker: Tracker) -> Optional[str]:
    """The latest intent that says what the customer needs (not 'agent', 'yes', ...)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name and name not in STEERING_INTENTS and not name.startswith("EXTERNAL_"):
                return name
    return None


def customer_language(tracker: Tracker) -> Optional[str]:
    """The language of the customer's latest message whose language was clear (NLU `language`)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            code = ((event.get("parse_data") or {}).get("language") or {}).get("code")
            if code:
                return str(code)
    return None


def handoff_reason(tracker: Tracker) -> str:
    """From the button that offered a person (`/human_handoff{"handoff_reason": ...}`), else the own ask."""
    reason = next(tracker.get_latest_entity_values("handoff_reason"), None) or CUSTOMER_REQUEST
    return reason if reason in REASONS else CUSTOMER_REQUEST


def serializable_slots(tracker: Tracker) -> Dict[str, Any]:
    slots = {}
    for name, value in tracker.current_slot_values().items():
        if value is None or name in ("requested_slot",):
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        slots[name] = value
    return slots


def wait_text(seconds: Optional[int]) -> str:
    if seconds is None:
        return "a few minutes"
    minutes = max(1, round(seconds / 60))
    return "about a minute" if minutes == 1 else f"about {minutes} minutes"


def opening_text(opens_at: Optional[str]) -> str:
    if not opens_at:
        return "as soon as they are back"
    try:
        moment = datetime.fromisoformat(opens_at.replace("Z", "+00:00"))
    except ValueError:
        return "as soon as they are back"
    zone = moment.tzname() or ""
    return f"{moment:%a %d %b at %H:%M} {zone}".strip()


class ActionHumanHandoff(Action):
    def name(self) -> Text:
        return "action_human_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        request = escalation_request(tracker, handoff_reason(tracker), customer_language(tracker))
        try:
            escalation = await escalate(request)
        except HandoffUnavailable as exc:
            logger.error("handoff service unavailable for %s: %s", components.customer_ref(request["customer"]), exc)
            return self._fallback_ticket(dispatcher, tracker, request)
        self._tell(dispatcher, escalation)
        return [SlotSet("handoff_chat_id", escalation.chat_id), SlotSet("handoff_reason", None)]

    @staticmethod
    def _tell(dispatcher: CollectingDispatcher, escalation: Escalation) -> None:
        if not escalation.office_open:
            say(dispatcher, "handoff_after_hours",
                opens_at=opening_text(escalation.opens_at),
                ticket=escalation.chat_id,
            )
        elif escalation.state == AGENT:
            say(dispatcher, "handoff_agent")
        else:
            say(dispatcher, "handoff_queued",
                position=str(escalation.position or 1),
                wait=wait_text(escalation.expected_wait_seconds),
            )

    @staticmethod
    def _fallback_ticket(
        dispatcher: CollectingDispatcher, tracker: Tracker, request: Dict[str, Any]
    ) -> List[Dict[Text, Any]]:
        """The service is down: the request is kept as a ticket for the team, and the customer is told."""
        ticket = ticket_for(tracker, request, request["reason"])
        if ticket is None:
            say(dispatcher, "handoff_unavailable")
            return [SlotSet("handoff_reason", None)]
        say(dispatcher, "handoff_ticket", ticket=str(ticket.id))
        return [SlotSet("handoff_reason", None)]
