"""The catalogue of event kinds written to the event stream `wa:events` (redis_keys.EVENT_STREAM).

Every writer names its kind with a constant from here (Lua scripts receive it in ARGV), so analytics and
privacy code can rely on this list: each kind says when it is written, its fields, and which field, if
any, holds the customer's WhatsApp id. Every entry also has `kind` and `at` (Unix seconds, as text);
writers through `events.log.entry` leave out empty fields. tests/whatsapp_cloud/test_event_kinds.py checks that every
kind written in the code is here and that every kind here is written.

What this module leaves out: reading the stream, and the other streams (the dead letters, the consent
log, the handoff inbox feed), whose entries have their own shapes.
"""

from dataclasses import dataclass
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class Kind:
    name: str
    when: str  # when it is written
    fields: Tuple[str, ...]  # besides `kind` and `at`
    customer: Optional[str] = None  # the field that holds the customer's WhatsApp id, if one does


CATALOGUE: Dict[str, Kind] = {}


def _kind(name: str, when: str, fields: Tuple[str, ...], customer: Optional[str] = None) -> str:
    assert name not in CATALOGUE, name
    assert customer is None or customer in fields, name
    CATALOGUE[name] = Kind(name, when, fields, customer)
    return name


# --- inbound webhooks (whatsapp_cloud/streams/consumer.py, bot/channels/whatsapp_connector.py) ---
INBOUND = _kind(
    "inbound", "a customer's message is claimed and its turn starts (bot or handoff)",
    ("wamid", "sender", "type", "sent_at", "referral"), "sender")
INBOUND_DUPLICATE = _kind(
    "inbound_duplicate", "a message already claimed or handled arrives again (Meta's retry, a replay)",
    ("wamid", "sender", "reason"), "sender")
INBOUND_FAILED = _kind(
    "inbound_failed", "handling a message failed in a way no retry fixes; its entry goes to the dead letters",
    ("wamid", "sender", "reason"), "sender")
HANDOFF_UNREACHABLE = _kind(
    "handoff_unreachable", "a message for a customer with the handoff service could not be forwarded (retried)",
    ("wamid", "sender", "reason"), "sender")
PAYLOAD_NOT_OFFERED = _kind(
    "payload_not_offered", "a button or list reply carries a payload never offered to the customer (read as text)",
    ("wamid", "sender", "payload"), "sender")
STATUS = _kind(
    "status", "a status webhook (sent, delivered, read, failed) of an outbound message is applied",
    ("wamid", "status", "recipient", "moved", "error_codes", "pricing_category", "pricing_type"), "recipient")
PREFERENCE = _kind(
    "preference", "a customer's marketing preference webhook (user_preferences)",
    ("sender", "category", "value"), "sender")
WEBHOOK_ERROR = _kind("webhook_error", "Meta reports an error in a webhook (`errors[]`)", ("code", "details"))
CHANGE = _kind("change", "a webhook change of a field the platform does not handle", ("field",))
ORDER_GAP = _kind(
    "order_gap", "a customer's message waited too long for an earlier one (lost or stuck) and ran anyway",
    ("entry", "sender", "ticket", "waited"), "sender")
WEBHOOK_MALFORMED = _kind(
    "webhook_malformed", "a signed webhook body that is no webhook (it is dead-lettered)", ("entry", "reason"))
WEBHOOK_ITEM_INVALID = _kind(
    "webhook_item_invalid", "one unreadable item of a webhook is skipped", ("entry", "where", "reason"))
WEBHOOK_DEAD = _kind(
    "webhook_dead", "a webhook stream entry moves to the dead-letter stream `wa:webhooks:dead`",
    ("entry", "dead_letter", "why", "attempts", "reason"))
NLU_RESULT = _kind(
    "nlu_result", "the bot's turn of a customer's message ran: what the NLU read (once per wamid; `fell_back`: "
    "`nlu` for nlu_fallback, `core` for action_default_fallback; `resembles`: the top intent of the ranking "
    "that is no fallback; `ranking`: JSON of the top 3; `kept`=1 when its text went to the designers' review)",
    ("wamid", "sender", "intent", "confidence", "fell_back", "out_of_scope", "resembles", "ranking", "kept"),
    "sender")

# --- outbound messages (whatsapp_cloud/outbound/sender.py, whatsapp_cloud/policy/) ---
OUTBOUND = _kind(
    "outbound", "Meta accepted an outbound message (`fallback`: the template the policy sent in its place)",
    ("wamid", "recipient", "type", "label", "fallback"), "recipient")
OUTBOUND_DUPLICATE_SKIPPED = _kind(
    "outbound_duplicate_skipped", "a send whose idempotency key was already used is skipped",
    ("key", "recipient"), "recipient")
OUTBOUND_DEAD = _kind(
    "outbound_dead", "an outbound message could not be sent and went to the dead letters `wa:dead-letters`",
    ("recipient", "code", "label"), "recipient")
OUTBOUND_DEFERRED = _kind(
    "outbound_deferred", "the policy holds a message until the customer writes or capacity frees",
    ("recipient", "reason", "until", "label"), "recipient")
OUTBOUND_BLOCKED = _kind(
    "outbound_blocked", "the policy refuses a message (opt-out, closed window without a template, ...)",
    ("recipient", "reason", "label"), "recipient")
OUTBOUND_EXPIRED = _kind(
    "outbound_expired", "a deferred message waited longer than its maximum age and went to the dead letters",
    ("recipient", "label"), "recipient")
OUTBOUND_REPLANNED = _kind(
    "outbound_replanned", "a message Meta failed (131047) is sent again by its plan (a template fallback)",
    ("wamid", "recipient", "decision"), "recipient")
CONSENT = _kind(
    "consent", "a customer's opt-in or opt-out is recorded (keyword, button, preference webhook, the opt-in "
    "page), or their confirmation of an opt-in (status `confirmed`)",
    ("recipient", "status", "source", "scopes"), "recipient")
TEMPLATE_STATUS = _kind(
    "template_status", "Meta changes a template's status (paused, disabled, reinstated, ...)",
    ("template", "language", "status", "reason"))
TEMPLATE_CATEGORY_UPDATE = _kind(
    "template_category_update", "Meta recategorises a template",
    ("template", "language", "previous_category", "new_category"))

# --- campaigns (campaigns/) ---
CAMPAIGN_STATE = _kind(
    "campaign_state", "a campaign is created or changes state (scheduled, sending, paused with the guardrail's "
    "reason, completed, cancelled)", ("campaign", "previous", "to", "reason"))
ENTRY_POINT = _kind(
    "entry_point", "a customer's message carries the reference of a click-to-chat link (campaigns/entry_points.py)",
    ("wamid", "sender", "ref", "source"), "sender")
CAMPAIGN_REPLY = _kind(
    "campaign_reply", "a customer replies (context.id) to a campaign's or a notification's message "
    "(campaigns/replies.py); origin is campaign or notification", ("wamid", "sender", "origin", "campaign",
                                                                    "template", "language"), "sender")

# --- pricing (whatsapp_cloud/pricing/cost_ledger.py) ---
PRICING_MISMATCH = _kind(
    "pricing_mismatch", "Meta's pricing of a message disagrees with the ledger's (JSON `ours` and `meta`)",
    ("wamid", "recipient", "fields", "ours", "meta"), "recipient")

# --- the handoff service (handoff/state.py, handoff/service.py) ---
# --- the bot's actions (bot/actions/events.py) ---
TICKET_OPENED = _kind(
    "ticket_opened", "the bot opens a ticket in the order database (a complaint; a handoff while the service is "
    "down)", ("ticket", "customer", "ticket_kind", "order"), "customer")
CSAT = _kind("csat", "a customer's satisfaction rating (1-5) is stored", ("customer", "score", "topic"), "customer")

HANDOFF_TRANSITION = _kind(
    "handoff_transition", "a customer's conversation changes owner (bot, queued, agent), in the state's Lua scripts",
    ("customer", "from", "to", "chat_id", "agent", "why", "team", "reason", "intent"), "customer")
# `team` is the chat's team after the move; `reason` and `intent` (the bot's escalation) only when why=escalated.
HANDOFF_AGENT_REPLY = _kind(
    "handoff_agent_reply", "an agent's message to the customer is added to a chat (`first`=1 on the chat's first)",
    ("chat_id", "customer", "agent", "team", "first"), "customer")
HANDOFF_SLA_BREACHED = _kind(
    "handoff_sla_breached", "a chat's first or next response was not given in time",
    ("chat_id", "sla", "team", "agent"))
HANDOFF_HANDBACK_REFUSED = _kind(
    "handoff_handback_refused", "Rasa refused to take a resolved chat's customer back (the bot's closing message)",
    ("chat_id", "error"))
HANDOFF_HANDBACK_DROPPED = _kind(
    "handoff_handback_dropped", "a pending hand back is given up (superseded by a newer chat, or too old)",
    ("chat_id", "error"))
