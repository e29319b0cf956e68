"""What the actions add to the event stream `wa:events` (kinds in whatsapp_cloud/events/kinds.py): the
tickets they open and the ratings they store, which analytics and outgoing webhooks read. Bookkeeping: a
Redis that cannot take it is logged, and the customer's conversation goes on."""

import logging
from typing import Any

import redis

from stack import components
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events.log import entry

logger = logging.getLogger(__name__)


def record(kind: str, **fields: Any) -> None:
    url = components.environment().get("REDIS_URL")
    if not url:
        logger.error("no REDIS_URL: %s not recorded", kind)
        return
    connection = components.redis_client(url=url, socket_timeout=5)
    try:
        connection.xadd(redis_keys.EVENT_STREAM, entry(kind, **fields),
                        maxlen=components.retention().event_stream_max, approximate=True)
    except redis.RedisError as exc:
        logger.error("%s not recorded: %s", kind, exc)
    finally:
        connection.close()
