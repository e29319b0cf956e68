"""The Redis keys of outgoing webhooks (README, Retention: their bounds)."""

SUBSCRIPTIONS = "webhooks:out:subscriptions"  # set of subscription ids; kept until deleted
EVENTS_GROUP = "outgoing-webhooks"  # the consumer group on wa:events (its last id is the fan-out's cursor)
DELIVERIES = "webhooks:out:deliveries"  # stream of deliveries to make; acknowledged entries are deleted
DELIVERIES_GROUP = "senders"
RETRIES = "webhooks:out:retries"  # sorted set: delivery JSON -> when to try it again
DEAD = "webhooks:out:dead"  # stream of deliveries given up (newest DEAD_MAX kept), re-sent by an operator
DEAD_MAX = 10_000
LOG_MAX = 200  # delivery attempts kept per subscription


def subscription(sid: str) -> str:
    """Hash: url, secret, events, description, active, created_at; kept until deleted."""
    return f"webhooks:out:subscription:{sid}"


def log(sid: str) -> str:
    """List of the subscription's latest delivery attempts (JSON, newest first, LOG_MAX kept)."""
    return f"webhooks:out:log:{sid}"
