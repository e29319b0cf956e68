"""Writing each customer message's NLU result once, and keeping the texts the designers' page needs.

`NluRecords.record` (the bot, after a message's turn) writes the `nlu_result` event and, for a message that
fell back or scored low, its text with the messages around it, in one MULTI/EXEC under WATCH of the message's
`recorded` mark: a turn run again (a retried entry, a replayed dead letter) never writes a second event.
Texts live in their own keys, bounded by `ANALYTICS_REVIEW_TEXT_DAYS`; they hold the customer's number, so an
erasure (privacy/) finds and removes them with everything else of the customer. `review` reads them back
for the designers' page, which never shows the number.
"""

import json
import time
from typing import Any, Dict, Iterable, List, Optional

import redis
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from analytics import keys
from analytics.config import AnalyticsConfig
from analytics.nlu_results import NluResult
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import MAX_LENGTH, entry
from whatsapp_cloud.redis_connection import async_transaction
from whatsapp_cloud.redis_keys import EVENT_STREAM

LIST_LIMIT = 1000  # messages one page of the designers' page reads at most


class NluRecords:
    def __init__(self, store: aioredis.Redis, config: Optional[AnalyticsConfig] = None,
                 event_max: Optional[int] = None) -> None:
        self.store = store
        self.config = config or AnalyticsConfig()
        self.event_max = event_max or MAX_LENGTH

    async def record(self, sender: str, result: NluResult, now: Optional[float] = None) -> bool:
        """False when this message's result was written before."""
        now = time.time() if now is None else now
        kept = result.for_review(self.config.low_confidence)
        mark, ttl = keys.nlu_recorded(result.wamid), self.config.review_text_seconds
        async with await async_transaction(self.store, mark) as pipe:
            while True:
                try:
                    await pipe.watch(mark)
                    if await pipe.exists(mark):
                        return False
                    pipe.multi()
                    pipe.set(mark, "1", ex=keys.RECORDED_SECONDS)
                    pipe.xadd(EVENT_STREAM, entry(kinds.NLU_RESULT, wamid=result.wamid, sender=sender,
                                                  **result.event_fields(kept)),
                              maxlen=self.event_max, approximate=True)
                    if kept:
                        message = keys.review_message(result.wamid)
                        pipe.hset(message, mapping=_stored(sender, result, now))
                        pipe.expire(message, ttl)
                        pipe.zadd(keys.REVIEW, {result.wamid: now})
                        pipe.zremrangebyscore(keys.REVIEW, "-inf", f"({now - ttl}")
                        pipe.expire(keys.REVIEW, ttl)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue  # written meanwhile: the check above now says so


def _stored(sender: str, result: NluResult, now: float) -> Dict[str, str]:
    return {"wamid": result.wamid, "sender": sender, "at": repr(now), "text": result.text,
            "intent": result.intent, "confidence": repr(round(result.confidence, 4)), "fell_back": result.fell_back,
            "resembles": result.resembles, "ranking": json.dumps(result.ranking),
            "before": json.dumps(result.before), "after": json.dumps(result.after)}


def review(store: redis.Redis, start: float, end: float, limit: int = LIST_LIMIT) -> List[Dict[str, Any]]:
    """The kept messages of [start, end) (Unix seconds), the newest `limit` of them, oldest first, without the
    customer's number."""
    wamids = store.zrevrangebyscore(keys.REVIEW, f"({end}", start, start=0, num=limit)
    return messages(store, wamids[::-1])


def messages(store: redis.Redis, wamids: Iterable[Any]) -> List[Dict[str, Any]]:
    """The kept messages of these wamids that are still kept, without the customer's number."""
    pipe = store.pipeline(transaction=False)
    for wamid in wamids:
        pipe.hgetall(keys.review_message(_str(wamid)))
    found = []
    for raw in pipe.execute():
        if not raw:
            continue  # past its retention, or erased
        record = {_str(k): _str(v) for k, v in raw.items()}
        found.append({
            "wamid": record["wamid"], "at": float(record["at"]), "text": record["text"],
            "intent": record["intent"], "confidence": float(record["confidence"]),
            "fell_back": record["fell_back"], "resembles": record["resembles"],
            "ranking": json.loads(record["ranking"]), "before": json.loads(record["before"]),
            "after": json.loads(record["after"]),
        })
    return found


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
