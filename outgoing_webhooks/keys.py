"""The Redis keys of outgoing webhooks (README, Retention: their bounds)."""

# `{wa}`, the event stream's hash tag: the fan-out writes deliveries in the transaction that acknowledges its events.
SUBSCRIPTIONS = "{wa}:webhooks:out:subscriptions"  # set of subscription ids; kept until deleted
EVENTS_GROUP = "outgoing-webhooks"  # the consumer group on wa:events (its last id is the fan-out's cursor)
DELIVERIES = "{wa}:webhooks:out:deliveries"  # stream of deliveries to make; acknowledged entries are deleted
DELIVERIES_GROUP = "senders"
RETRIES = "{wa}:webhooks:out:retries"  # sorted set: delivery JSON -> when to try it again
DEAD = "{wa}:webhooks:out:dead"  # stream of deliveries given up (newest DEAD_MAX kept), re-sent by an operator
DEAD_MAX = 10_000
LOG_MAX = 200  # delivery attempts kept per subscription


def subscription(sid: str) -> str:
    """Hash: url, secret, events, description, active, created_at; kept until deleted."""
    return f"{{wa}}:webhooks:out:subscription:{sid}"


def log(sid: str) -> str:
    """List of the subscription's latest delivery attempts (JSON, newest first, LOG_MAX kept)."""
    return f"{{wa}}:webhooks:out:log:{sid}"
