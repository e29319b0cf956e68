"""The Redis keys of campaigns, named in one place. A finished campaign's keys expire after
CAMPAIGN_RETENTION_DAYS (README, Retention); the two indexes drop a campaign with its keys.

Every key carries the `{wa}` hash tag: campaigns' scripts and transactions write them with the event
stream, so on Redis Cluster they share its slot (whatsapp_cloud/redis_keys.py).
"""

INDEX = "{wa}:campaigns:index"  # sorted set: campaign id -> created at
SETTLING = "{wa}:campaigns:settling"  # sorted set: id -> until when its delivery statuses and replies are read
DUE = "{wa}:campaigns:due"  # sorted set: id of a scheduled or sending campaign -> when the worker should look at it
LINKS = "{wa}:campaigns:links"  # sorted set: click-to-chat link reference -> created at (kept: one per link made)


def campaign(campaign_id: str) -> str:
    """Hash: name, template, language, category, state, reason, times, who created it."""
    return f"{{wa}}:campaign:{campaign_id}"


def order(campaign_id: str) -> str:
    """List: the recipients' wa_ids in the order they were planned (the order of sending)."""
    return f"{{wa}}:campaign:{campaign_id}:order"


def values(campaign_id: str) -> str:
    """Hash wa_id -> the template parameters frozen at planning (JSON)."""
    return f"{{wa}}:campaign:{campaign_id}:values"


def recipients(campaign_id: str) -> str:
    """Hash wa_id -> the recipient's status record (JSON: status, wamid, code, reason, attempt, at)."""
    return f"{{wa}}:campaign:{campaign_id}:recipients"


def counts(campaign_id: str) -> str:
    """Hash status -> recipients in it, kept with every status change by the same script."""
    return f"{{wa}}:campaign:{campaign_id}:counts"


def codes(campaign_id: str) -> str:
    """Hash Meta error code -> recipients failed with it now (the guardrail reads it)."""
    return f"{{wa}}:campaign:{campaign_id}:codes"


def tracking(campaign_id: str) -> str:
    """Set of wa_ids whose status may still move (sent, delivered, read): the delivery statuses to read."""
    return f"{{wa}}:campaign:{campaign_id}:tracking"


def lease(campaign_id: str) -> str:
    """Held by the one worker sending this campaign; it expires if that worker dies."""
    return f"{{wa}}:campaign:{campaign_id}:lease"


def pace(phone_number_id: str) -> str:
    """Sorted set: campaign sends in flight or finished within the last second, for this business number."""
    return f"{{wa}}:campaigns:pace:{phone_number_id}"


def link(reference: str) -> str:
    """Hash: a click-to-chat link (reference, source, prefilled text, url, who made it, when, arrivals). Kept."""
    return f"{{wa}}:campaigns:link:{reference}"


def entry_point(wa_id: str) -> str:
    """Hash: the link a customer came from (latest and first); expires ENTRY_POINT_RETENTION_DAYS after the
    latest. The number is part of the name, so privacy's export and erasure find it."""
    return f"{{wa}}:campaigns:entry:{wa_id}"


def order_event(order_number: str, state: str, event_id: str = "") -> str:
    """String: an order event from the shop handled ("pending" while the bot is asked, then "sent"); expires
    after 30 days (order_events.KEY_SECONDS), so a repeat of the event in that time sends nothing."""
    return f"{{wa}}:campaigns:order-event:{order_number}:{state}:{event_id}"


def origin(wamid: str) -> str:
    """Hash: the campaign or notification a sent message belongs to (origin: campaign or notification; the
    campaign's id and name, template, language); expires CAMPAIGN_RETENTION_DAYS after the send."""
    return f"{{wa}}:campaigns:origin:{wamid}"


def reply_seen(wamid: str) -> str:
    """String: a customer's reply to a campaign or notification was counted; expires after 8 days."""
    return f"{{wa}}:campaigns:reply-seen:{wamid}"


def all_of(campaign_id: str) -> tuple:
    return (campaign(campaign_id), order(campaign_id), values(campaign_id), recipients(campaign_id),
            counts(campaign_id), codes(campaign_id), tracking(campaign_id))
