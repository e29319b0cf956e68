"""The public event types a subscription may choose, and how an entry of `wa:events` becomes one.

Each payload carries only what a receiving system needs to act: ids, states, and the customer's WhatsApp id
(`wa_id`), which a CRM or ticketing system needs to find the customer; never message texts, names, the
wording of a consent or anything secret.
"""

from typing import Any, Dict, Mapping, Optional, Tuple

from whatsapp_cloud.events import kinds

TICKET_CREATED = "ticket.created"  # the bot opened a ticket in the order database
CHAT_ESCALATED = "chat.escalated"  # the bot handed a chat to the team
CHAT_RESOLVED = "chat.resolved"
OPTED_IN = "consent.opted_in"
OPTED_OUT = "consent.opted_out"
CAMPAIGN_FINISHED = "campaign.finished"
CSAT_RECEIVED = "csat.received"
TYPES = (TICKET_CREATED, CHAT_ESCALATED, CHAT_RESOLVED, OPTED_IN, OPTED_OUT, CAMPAIGN_FINISHED, CSAT_RECEIVED)
FINISHED_CAMPAIGN_STATES = ("completed", "cancelled")


def public_events(fields: Mapping[str, str]) -> Tuple[Tuple[str, Dict[str, Any]], ...]:
    """(type, data) of each public event one `wa:events` entry makes; none for an internal one."""
    kind = fields.get("kind", "")
    if kind == kinds.HANDOFF_TRANSITION:
        return _handoff(fields)
    if kind == kinds.CONSENT and fields.get("status") in ("in", "out"):
        return ((OPTED_IN if fields["status"] == "in" else OPTED_OUT,
                 {"wa_id": fields.get("recipient", ""), "source": fields.get("source", ""),
                  "scopes": _listed(fields.get("scopes"))}),)
    if kind == kinds.CAMPAIGN_STATE and fields.get("to") in FINISHED_CAMPAIGN_STATES:
        return ((CAMPAIGN_FINISHED, {"campaign_id": fields.get("campaign", ""), "state": fields["to"]}),)
    if kind == kinds.TICKET_OPENED:
        return ((TICKET_CREATED, {"ticket_id": _number(fields.get("ticket")), "wa_id": fields.get("customer", ""),
                                  "kind": fields.get("ticket_kind", ""), "order": fields.get("order", "")}),)
    if kind == kinds.CSAT:
        return ((CSAT_RECEIVED, {"wa_id": fields.get("customer", ""), "score": _number(fields.get("score")),
                                 "topic": fields.get("topic", "")}),)
    return ()


def _handoff(fields: Mapping[str, str]) -> Tuple[Tuple[str, Dict[str, Any]], ...]:
    chat = {"chat_id": fields.get("chat_id", ""), "wa_id": fields.get("customer", ""), "team": fields.get("team", "")}
    why = fields.get("why", "")
    if why == "escalated":
        return ((CHAT_ESCALATED, {**chat, "reason": fields.get("reason", ""), "intent": fields.get("intent", "")}),)
    if why == "resolved":
        return ((CHAT_RESOLVED, {**chat, "agent": fields.get("agent", "")}),)
    return ()


def _listed(raw: Optional[str]) -> list:
    return [part for part in (raw or "").split(",") if part]


def _number(raw: Optional[str]) -> Optional[int]:
    try:
        return int(str(raw))
    except ValueError:
        return None
