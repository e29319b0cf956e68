"""The retention sweep: removes what is older than its limit (stack/age_limits.py) from each store that grows
with every conversation: Rasa's trackers, resolved handoff chats and the inbox feed, the event stream,
delivery records, and the files of the media directory (invoice PDFs).

Expiries and stream lengths already bound most of these; the sweep holds the limits by age whatever those
allow: for records written under a longer setting (a TTL is fixed when it is set), or without an expiry.
Open handoff chats, consent records, the order database's rows and the analytics aggregates are never swept.

`sweep()` takes `now`, so a test moves the clock past each limit; `Sweeper` runs it at most once per
interval across every process that calls it (a lease in Redis).
"""

import json
import logging
import time
from pathlib import Path
from typing import Callable, Dict, Optional

import redis

from privacy.stores import TRACKER_PREFIX
from stack import handoff_keys
from stack.age_limits import AgeLimits
from whatsapp_cloud import redis_keys
from whatsapp_cloud.redis_connection import transaction

logger = logging.getLogger(__name__)

LEASE = "privacy:sweep:lease"  # who swept last; expires after the interval, so the next sweep may start
SCAN_COUNT = 500


def sweep(client: redis.Redis, media_dir: Path, limits: AgeLimits, now: float) -> Dict[str, int]:
    """One pass over every store; returns how many records each lost. `client` decodes responses."""
    return {
        "rasa trackers": _delete_where(client, TRACKER_PREFIX + "*", _tracker_last_at, now - limits.trackers),
        "handoff chats": _resolved_chats(client, now - limits.transcripts),
        "handoff feed entries": _trim(client, handoff_keys.FEED, now - limits.transcripts),
        "events": _trim(client, redis_keys.EVENT_STREAM, now - limits.events),
        "delivery records": _delete_where(client, redis_keys.outbound_message("*"), _delivery_last_at,
                                          now - limits.delivery_records),
        "media files": _old_files(media_dir, now - limits.media),
    }


def _delete_where(client: redis.Redis, pattern: str, last_at: Callable[[redis.Redis, str], Optional[float]],
                  cutoff: float) -> int:
    """Deletes each key whose latest activity is before `cutoff`, unless it was written meanwhile (WATCH):
    a conversation that goes on while it is looked at is never cut short."""
    deleted = 0
    for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
        with transaction(client, key) as pipe:
            try:
                pipe.watch(key)
                at = last_at(pipe, key)
                if at is None or at >= cutoff:
                    continue
                pipe.multi()
                pipe.delete(key)
                deleted += sum(pipe.execute())
            except redis.WatchError:
                continue
    return deleted


def _tracker_last_at(client: redis.Redis, key: str) -> Optional[float]:
    """The time of the tracker's last event (Rasa's RedisTrackerStore keeps the dialogue as JSON)."""
    raw = client.get(key)
    try:
        events = json.loads(raw or "{}").get("events") or []
        return max(float(e["timestamp"]) for e in events if isinstance(e, dict) and "timestamp" in e)
    except (ValueError, TypeError, AttributeError):
        return None  # unreadable or no events: not ours to judge; its expiry still applies


def _delivery_last_at(client: redis.Redis, key: str) -> Optional[float]:
    """The latest time on a delivery record (`accepted_at`, `sent_at`, `delivered_at`, ... `status_at`)."""
    times = []
    for name, value in client.hgetall(key).items():
        if name.endswith("_at") and name != "conversation_expires_at":
            try:
                times.append(float(value))
            except ValueError:
                continue
    return max(times) if times else None


def _resolved_chats(client: redis.Redis, cutoff: float) -> int:
    """Resolved chats and their messages, resolved before `cutoff`; open chats stay whatever their age."""
    deleted = 0
    for key in client.scan_iter(match=handoff_keys.chat("*"), count=SCAN_COUNT):
        chat_id = key[len(handoff_keys.chat("")):]
        with transaction(client, key) as pipe:
            try:
                pipe.watch(key)
                state, resolved_at = pipe.hmget(key, "state", "resolved_at")
                if state != "resolved" or not resolved_at or float(resolved_at) >= cutoff:
                    continue
                pipe.multi()
                pipe.delete(key, handoff_keys.messages(chat_id))
                pipe.execute()
                deleted += 1
            except redis.WatchError:
                continue
    return deleted


def _trim(client: redis.Redis, stream: str, cutoff: float) -> int:
    """Stream entries added before `cutoff` (their ids are the milliseconds they were added at)."""
    return int(client.xtrim(stream, minid=f"{int(cutoff * 1000)}-0", approximate=False))


def _old_files(directory: Path, cutoff: float) -> int:
    if not directory.is_dir():
        return 0
    deleted = 0
    for path in directory.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


class Sweeper:
    """Runs the sweep at most once per `limits.sweep_every` among all the processes that call `run_if_due`."""

    def __init__(self, client: redis.Redis, media_dir: Path, limits: AgeLimits) -> None:
        self.client, self.media_dir, self.limits = client, media_dir, limits

    def run_if_due(self, now: Optional[float] = None) -> Optional[Dict[str, int]]:
        now = time.time() if now is None else now
        if not self.client.set(LEASE, repr(now), nx=True, ex=self.limits.sweep_every):
            return None  # another worker or process swept within the interval
        counts = sweep(self.client, self.media_dir, self.limits, now)
        logger.info("retention sweep: %s", ", ".join(f"{n} {store}" for store, n in counts.items()))
        return counts
