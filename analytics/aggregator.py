"""Keeps the daily aggregates up to date from the sources: incremental, restartable, idempotent.

Each `step()` reads the next entries of `wa:events` and `wa:pricing:log` after their cursors, folds them
(analytics/fold.py), closes the conversations idle longer than the gap as of the newest event read, then
adds the CSAT ratings stored up to that time, and writes the aggregates, the working state and the new
cursors in one MULTI/EXEC under WATCH of the cursors: a crash before EXEC leaves everything as it was, and
two aggregators running at once never count a batch twice (the loser's EXEC fails and it reads again).
`rebuild()` deletes every analytics key and reads the sources again from their start: the same figures,
as far back as the streams still reach.
"""

import logging
from itertools import takewhile
from typing import Any, Dict, List, Optional

import redis

from analytics import keys
from analytics.config import AnalyticsConfig
from analytics.fold import Fold
from analytics.ratings import RatingSource, none
from whatsapp_cloud.redis_connection import transaction
from whatsapp_cloud.redis_keys import EVENT_STREAM, PRICING_LOG

logger = logging.getLogger(__name__)

EVENTS, PRICING, CSAT = "events", "pricing", "csat"
CURSORS = {EVENTS: keys.cursor(EVENTS), PRICING: keys.cursor(PRICING), CSAT: keys.cursor(CSAT)}


class Aggregator:
    def __init__(self, store: redis.Redis, config: Optional[AnalyticsConfig] = None,
                 ratings: RatingSource = none) -> None:
        self.store = store
        self.config = config or AnalyticsConfig()
        self.ratings = ratings

    def run(self, max_steps: Optional[int] = None) -> int:
        """Read until the sources are caught up (or `max_steps` batches); the number of entries read."""
        total, steps = 0, 0
        while max_steps is None or steps < max_steps:
            read = self.step()
            total, steps = total + read, steps + 1
            if not read:
                break
        return total

    def step(self) -> int:
        with transaction(self.store, keys.CLOCK) as pipe:  # every key of analytics carries the `{wa}` tag
            while True:
                try:
                    # The clock and the open conversations too: a step that reads nothing may still close some.
                    pipe.watch(*CURSORS.values(), keys.CLOCK, keys.OPEN_SESSIONS)
                    read = self._step(pipe)
                    pipe.execute()
                    return read
                except redis.WatchError:
                    continue  # another aggregator moved a cursor: read from its position

    def _step(self, pipe: Any) -> int:
        cursors = dict(zip(CURSORS, pipe.mget(*CURSORS.values()), strict=True))
        fold = Fold(self.config, pipe.get, float(pipe.get(keys.CLOCK) or 0))
        events = _after(pipe, EVENT_STREAM, cursors[EVENTS], self.config.batch)
        for _id, entry in events:
            fold.event(_text(entry))
        charges = _after(pipe, PRICING_LOG, cursors[PRICING], self.config.batch)
        for _id, entry in charges:
            fold.charge(_text(entry))
        idle = pipe.zrangebyscore(keys.OPEN_SESSIONS, "-inf", f"({fold.clock - self.config.session_gap_seconds}")
        fold.close_idle([_str(wa_id) for wa_id in idle])
        # Ratings only up to the newest event read, so the conversation they belong to has been read; in id
        # order, stopping at the first later one (the cursor must never pass a rating not yet counted).
        stored = self.ratings(int(cursors[CSAT] or 0), self.config.batch)
        ratings = list(takewhile(lambda r: r.at <= fold.clock, stored))
        for rating in ratings:
            fold.rating(rating.wa_id, rating.score, rating.at)
        pipe.multi()
        fold.write(pipe)
        if events:
            pipe.set(CURSORS[EVENTS], events[-1][0])
        if charges:
            pipe.set(CURSORS[PRICING], charges[-1][0])
        if ratings:
            pipe.set(CURSORS[CSAT], ratings[-1].id)
        return len(events) + len(charges) + len(ratings)

    def rebuild(self) -> int:
        """Forget every aggregate and read the sources again from their start (the NLU's records of messages
        are no aggregates: they stay)."""
        for key in self.store.scan_iter(match=keys.PREFIX + "*", count=1000):
            if not _str(key).startswith(keys.NLU_PREFIX):
                self.store.delete(key)
        return self.run()


def _after(pipe: Any, stream: str, cursor: Optional[Any], count: int) -> List[Any]:
    start = f"({_str(cursor)}" if cursor else "-"
    return pipe.xrange(stream, min=start, count=count)


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _text(entry: Dict[Any, Any]) -> Dict[str, str]:
    return {_str(k): _str(v) for k, v in entry.items()}
