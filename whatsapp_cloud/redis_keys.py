"""Every Redis key the platform writes, named in one place.

Redis Cluster runs a Lua script or a MULTI transaction only when all its keys are in one hash slot. The keys
that such operations combine (the webhook stream with the customers' tickets, consent with its log, the
deferred queues with their indexes, the cost ledger with the event stream) carry the hash tag `{wa}`: Redis
hashes only the tag, so they share one slot. Keys only ever touched one at a time (claims, delivery records,
windows, buckets, ...) have no tag and spread over the cluster. README, "Redis: single, Cluster, Sentinel,
managed"; tests/whatsapp_cloud/test_redis_slots.py checks every multi-key operation.
"""

SHARED = "{wa}"  # the hash tag of the keys combined in one operation: one slot on Redis Cluster

WEBHOOK_STREAM = SHARED + ":webhooks"  # raw signed webhook bodies, acknowledged to Meta, not yet processed
WEBHOOK_GROUP = "rasa"  # consumer group of the Rasa processes
WEBHOOK_DEAD = SHARED + ":webhooks:dead"  # stream entries that could not be handled, with the reason (replayable)
WEBHOOK_ATTEMPTS = SHARED + ":webhooks:attempts"  # hash entry id -> failed tries so far, while it is pending
EVENT_STREAM = SHARED + ":events"  # what happened, for analytics and audits


def inbound_claim(wamid: str) -> str:
    """Who is handling an inbound message, then "done": the exactly-once guard."""
    return f"wa:in:{wamid}"


def customer_order(wa_id: str) -> str:
    """Hash `issued`/`done`: the tickets that keep one customer's messages in order across consumers."""
    return f"{SHARED}:order:{wa_id}"


def consumer_lease(name: str) -> str:
    """Held by the live process that consumes under this name: two processes never share one."""
    return f"wa:consumer:{name}"


def status_seen(wamid: str, status: str) -> str:
    return f"wa:status-seen:{wamid}:{status}"


def outbound_message(wamid: str) -> str:
    """Hash with an outbound message's delivery state and pricing."""
    return f"wa:out:{wamid}"

DEAD_LETTERS = "wa:dead-letters"  # outbound messages that could not be sent, with the reason


def number_bucket(phone_number_id: str) -> str:
    return f"wa:bucket:{phone_number_id}"


def pair_bucket(phone_number_id: str, recipient: str) -> str:
    return f"wa:bucket:{phone_number_id}:{recipient}"


def outbound_idempotency(key: str) -> str:
    """The wamid a logical outbound message got, so a retried turn never sends it twice."""
    return f"wa:sent:{key}"


def offered_payloads(recipient: str) -> str:
    """Sorted set: payloads of buttons and list rows sent to a customer (by time), the only ones a reply may carry."""
    return f"wa:offered:{recipient}"


def numbered_choices(recipient: str) -> str:
    """Payloads of the options last sent to a customer as numbered text ("reply with 1-12")."""
    return f"wa:choices:{recipient}"


# Cost ledger (whatsapp_cloud/pricing/cost_ledger.py)
PRICING_LOG = SHARED + ":pricing:log"  # every pricing event and its charge, in order: replaying it rebuilds the totals
PRICING_TOTALS = SHARED + ":pricing:totals"  # all-time totals per category
PRICING_SPEND = SHARED + ":pricing:spend"  # sorted set: wa_id by total charged (micros)


def pricing_customer(wa_id: str) -> str:
    """A customer's pricing state: windows, conversations, undelivered messages, totals (JSON)."""
    return f"{SHARED}:pricing:customer:{wa_id}"


def pricing_month_totals(month: str) -> str:
    return f"{SHARED}:pricing:totals:{month}"


def service_allowance(phone_number_id: str, month: str) -> str:
    """Service messages (CBP: conversations) of a business number in a month, counted against its free allowance."""
    return f"{SHARED}:pricing:allowance:{phone_number_id}:{month}"


# --- messaging policy (whatsapp_cloud/policy/) ---
def windows(recipient: str, number: str = "") -> str:
    """Hash: when the customer's service window, referral reply deadline and free entry window end.

    Per business number (`phone_number_id`) and customer; without a number, the key of releases that
    kept one per customer (still read, so their state counts).
    """
    return f"wa:windows:{number}:{recipient}" if number else f"wa:windows:{recipient}"


def open_windows(number: str) -> str:
    """Sorted set customer -> when their service window with a business number ends: the windows open now,
    counted without reading every customer's hash. Members whose window ended are dropped at each write and read."""
    return f"wa:open-windows:{number}"


def consent(recipient: str, number: str = "") -> str:
    """Hash scope -> the latest consent record (opt-in or opt-out) for that scope, per business number."""
    return f"{SHARED}:consent:{number}:{recipient}" if number else f"{SHARED}:consent:{recipient}"


# Hash keyed hash of a number (pseudonyms.keyed_hash) -> JSON {"at", "scopes"}: customers erased while
# opted out, so no business-initiated message reaches them again unless they opt in anew. Kept for good.
SUPPRESSED = SHARED + ":suppressed"
CONSENT_LOG = SHARED + ":consent-log"  # every consent record ever made, append-only (audits)
LIMIT_REACHED = SHARED + ":limit:reached"  # sorted set: customer -> last business-initiated send outside a window


def deferred(recipient: str) -> str:
    """List of outbound messages waiting for the customer to write (or for messaging-limit capacity)."""
    return f"{SHARED}:deferred:{recipient}"


def deferred_lock(recipient: str) -> str:
    """Held while one process sends a customer's deferred messages, so no other sends them twice."""
    return f"wa:deferred-lock:{recipient}"


DEFERRED_FOR_CAPACITY = SHARED + ":deferred:capacity"  # set of customers with messages waiting for capacity
DEFERRED_SINCE = SHARED + ":deferred:since"  # sorted set: customer -> when their oldest waiting message was deferred


def send_plan(wamid: str) -> str:
    """How an accepted outbound message can be re-planned (its template fallback) if Meta fails it later."""
    return f"wa:plan:{wamid}"


TEMPLATE_STATUS = SHARED + ":templates:status"  # hash name:language -> status from Meta's webhooks (PAUSED, ...)
TEMPLATE_CATEGORY = SHARED + ":templates:category"  # hash name:language -> category after a recategorisation
TEMPLATE_STATUS_AT = SHARED + ":templates:status-at"  # hash name:language -> Meta's time of the status applied
TEMPLATE_CATEGORY_AT = SHARED + ":templates:category-at"  # hash name:language -> Meta's time of the category applied
TEMPLATE_SUBMISSIONS = SHARED + ":templates:submitted"  # sorted set name:language -> when it was submitted from the app


def template_submission(key: str) -> str:
    """Hash: a template submitted from the app (its request, Meta's id, status, rejection reason, who, when).
    Kept while the template exists: one per template language an administrator made."""
    return f"{SHARED}:templates:submitted:{key}"


TEST_CLOCK_OFFSET = SHARED + ":test:clock-offset"  # seconds added to real time, read only with WHATSAPP_TEST_CLOCK
