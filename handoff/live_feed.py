"""One reader of the inbox feed per worker process, shared by every open tab.

Each tab waiting on Redis itself would cost a Redis connection and a read per tab for every change;
here one thread (a greenlet under gevent) reads `handoff:feed` and keeps the latest events in memory,
and tabs wait on a condition for anything newer than what they have shown.
"""

import logging
import threading
import time
from collections import deque
from typing import Deque, Dict, List, Optional, Tuple

import redis

from handoff import keys

BUFFER = 2000  # events kept in memory; a tab further behind catches up from Redis
BLOCK_MS = 3_000  # below the Redis client's socket timeout
IDLE_SECONDS = 60.0  # with no tab waiting for this long the reader stops (the next tab starts it again)
logger = logging.getLogger(__name__)

Event = Tuple[str, Dict[str, str]]


def _order(entry_id: str) -> Tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


class FeedHub:
    def __init__(self, store: redis.Redis) -> None:
        self.redis = store
        self.events: Deque[Event] = deque(maxlen=BUFFER)
        self.changed = threading.Condition()
        self.last_id: Optional[str] = None
        self.floor: Optional[str] = None  # every event newer than this one is in memory
        self._thread: Optional[threading.Thread] = None
        self._start_lock = threading.Lock()
        self._waited_at = time.monotonic()

    def newest_id(self) -> str:
        newest = self.redis.xrevrange(keys.FEED, count=1)
        return newest[0][0] if newest else "0-0"

    def wait(self, after: str, timeout: float) -> List[Event]:
        """Events newer than `after`, waiting up to `timeout` seconds for one."""
        self._waited_at = time.monotonic()
        self._ensure_reader()
        with self.changed:
            events = self._after(after)
            if events == []:
                self.changed.wait(timeout)
                events = self._after(after)
        if events is None:  # older than what memory holds: catch up from Redis
            return list(self.redis.xrange(keys.FEED, min=f"({after}", count=100))
        return events

    def _after(self, after: str) -> Optional[List[Event]]:
        if self.floor is None or _order(after) < _order(self.floor):
            return None
        mark = _order(after)
        newer = []
        for event in reversed(self.events):  # tabs are nearly up to date: only the newest few are read
            if _order(event[0]) <= mark:
                break
            newer.append(event)
        newer.reverse()
        return newer

    def _ensure_reader(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._read, name="handoff-feed", daemon=True)
                self._thread.start()

    def _read(self) -> None:
        failing = False
        while time.monotonic() - self._waited_at < IDLE_SECONDS:
            try:
                if self.last_id is None:
                    self.last_id = self.newest_id()
                    with self.changed:
                        self.floor = self.last_id
                answer = self.redis.xread({keys.FEED: self.last_id}, block=BLOCK_MS, count=500)
            except redis.RedisError as exc:
                if not failing:  # once per outage, not once a second
                    logger.warning("inbox feed unreadable (%s); retrying every second", exc)
                failing = True
                time.sleep(1)
                continue
            if failing:
                logger.warning("inbox feed readable again")
                failing = False
            with self.changed:
                for entry_id, fields in (answer[0][1] if answer else []):
                    if len(self.events) == BUFFER:
                        self.floor = self.events[0][0]  # about to be dropped from memory
                    self.events.append((entry_id, fields))
                    self.last_id = entry_id
                self.changed.notify_all()
