"""Names for the places a customer's data is kept in Redis, by key prefix, for exports and receipts.

The prefixes come from the key functions themselves (`redis_keys`, `handoff_keys`, the campaigns' and the
outgoing webhooks' `keys`), so no key is spelled
twice. Rasa's keys are spelled here: Rasa writes them, with the prefix `endpoints.yml` gives
(`key_prefix: wabot`; RedisTrackerStore adds `tracker:`, RedisLockStore `lock:`).
"""

from typing import List, Tuple

from campaigns import keys as campaign_keys
from outgoing_webhooks import keys as outgoing_keys
from privacy import tickets
from stack import handoff_keys
from whatsapp_cloud import redis_keys

RASA_KEY_PREFIX = "wabot"  # endpoints.yml, tracker_store and lock_store `key_prefix`
TRACKER_PREFIX = f"{RASA_KEY_PREFIX}:tracker:"
LOCK_PREFIX = f"{RASA_KEY_PREFIX}:lock:"
# analytics/keys.py NLU_PREFIX: the texts kept for the designers' page (tests/privacy/test_layout.py checks it).
NLU_RECORDS_PREFIX = f"{redis_keys.SHARED}:analytics:nlu:"

# Longest prefix first where one extends another (wa:pricing:customer: before wa:pricing:).
PREFIXES: List[Tuple[str, str]] = [
    (TRACKER_PREFIX, "rasa tracker"),
    (LOCK_PREFIX, "rasa lock"),
    (redis_keys.consent(""), "consent"),
    (redis_keys.CONSENT_LOG, "consent history"),
    (redis_keys.windows(""), "windows"),
    (redis_keys.open_windows(""), "windows"),
    (redis_keys.outbound_message(""), "delivery records"),
    (redis_keys.send_plan(""), "send plans"),
    (redis_keys.outbound_idempotency(""), "sent messages"),
    (redis_keys.inbound_claim(""), "inbound claims"),
    (redis_keys.status_seen("", "")[:-1], "statuses handled"),
    (redis_keys.offered_payloads(""), "offered buttons"),
    (redis_keys.numbered_choices(""), "offered buttons"),
    (redis_keys.deferred_lock(""), "deferred messages"),
    (redis_keys.deferred(""), "deferred messages"),
    (redis_keys.DEFERRED_SINCE, "deferred messages"),
    (redis_keys.LIMIT_REACHED, "messaging limit"),
    (redis_keys.pricing_customer(""), "cost ledger"),
    (redis_keys.PRICING_LOG, "cost ledger"),
    (redis_keys.PRICING_SPEND, "cost ledger"),
    (redis_keys.number_bucket(""), "send pacing"),
    (outgoing_keys.DELIVERIES, "outgoing webhooks"),
    (outgoing_keys.RETRIES, "outgoing webhooks"),
    (outgoing_keys.DEAD, "outgoing webhooks"),
    (outgoing_keys.log(""), "outgoing webhooks"),
    (redis_keys.WEBHOOK_DEAD, "webhook dead letters"),
    (redis_keys.WEBHOOK_ATTEMPTS, "webhooks"),
    (redis_keys.WEBHOOK_STREAM, "webhooks"),
    (redis_keys.EVENT_STREAM, "events"),
    (redis_keys.DEAD_LETTERS, "outbound dead letters"),
    (NLU_RECORDS_PREFIX, "messages kept for the bot's designers"),
    (handoff_keys.chat(""), "handoff chats"),
    (handoff_keys.messages(""), "handoff messages"),
    (handoff_keys.history(""), "handoff history"),
    (handoff_keys.owner(""), "handoff owner"),
    (handoff_keys.customer_chats(""), "handoff chats"),
    (handoff_keys.window(""), "windows"),
    (handoff_keys.FEED, "handoff feed"),
    (handoff_keys.PREFIX, "handoff"),
    (tickets.ticket_key("", "")[:-2], "privacy requests"),
    (tickets.INDEX, "privacy requests"),
    (campaign_keys.entry_point(""), "campaign entry points"),
    (campaign_keys.origin(""), "campaign replies"),
    (campaign_keys.reply_seen(""), "campaign replies"),
    (campaign_keys.campaign(""), "campaigns"),
]


def store_of(key: str) -> str:
    for prefix, name in PREFIXES:
        if key.startswith(prefix):
            return name
    return "other"
