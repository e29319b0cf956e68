"""A customer's data in Redis: found by what names them, then exported or erased.

Found without a list of keys to keep up to date, so keys added later are found too:
- keys with the customer's number, one of their chats or one of their messages (wamid) as a `:`-separated
  part of the name (`wa:consent:{number}:{wa_id}`, `handoff:chat:{id}`, `wa:out:{wamid}`,
  `wabot:tracker:{wa_id}`, ...), or whose value is one of them (a string, a hash field: the delivery
  record's `recipient`, the chat's `customer`), or a string that mentions the number;
- in every other set, sorted set, hash and list, the members (hash fields) that are such an identifier or
  mention the number (`wa:pricing:spend`, `handoff:open`, `handoff:queue:*`, `wa:webhooks:attempts`, ...);
- in every stream, the entries with a field that is such an identifier or mentions the number (webhook
  bodies, events, dead letters, the consent and pricing logs, the inbox feed).
Chats come from the handoff's records of the customer and the events that name them; wamids from
everything found; the search repeats until nothing new turns up. Every key is read (SCAN): one pass over
the database per round, which suits an operator's request, not a hot path.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Set

import redis

from privacy.identity import Subject
from privacy.stores import store_of
from stack import handoff_keys
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds

WAMID = re.compile(r"wamid\.[A-Za-z0-9+/=_-]+")
MAX_ROUNDS = 5


@dataclass
class Found:
    keys: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # key -> {type, value}
    members: List[Dict[str, Any]] = field(default_factory=list)  # {key, type, member, value}
    entries: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)  # stream -> [{id, fields}]

    def texts(self) -> Iterable[str]:
        yield json.dumps(self.keys, default=str)
        yield json.dumps(self.members, default=str)
        yield json.dumps(self.entries, default=str)


class RedisRecords:
    def __init__(self, client: redis.Redis, subject: Subject) -> None:
        self.redis = client  # decode_responses=True
        self.subject = subject

    # --- finding ---

    def find(self) -> Found:
        ids = set(self.subject.forms) | self._chats()
        found = Found()
        for _ in range(MAX_ROUNDS):
            found = self._scan(ids)
            more = self._identifiers(found) - ids
            if not more:
                break
            ids |= more
        return found

    def open_chats(self) -> List[str]:
        """The customer's chats that are queued or with an agent now."""
        return [c for c in self._chats() if self.redis.zscore(handoff_keys.ALL_OPEN, c) is not None]

    def _chats(self) -> Set[str]:
        wa = self.subject.wa_id
        chats = set(self.redis.lrange(handoff_keys.customer_chats(wa), 0, -1))
        current = self.redis.hget(handoff_keys.owner(wa), "chat_id")
        return chats | ({current} if current else set())

    def _names(self, text: str, ids: Set[str]) -> bool:
        return text in ids or any(part in ids for part in text.split(":")) or self.subject.named_in(text)

    def _scan(self, ids: Set[str]) -> Found:
        found = Found()
        for key in self.redis.scan_iter(count=1000):
            kind = self.redis.type(key)
            if kind == "stream":
                entries = [{"id": i, "fields": f} for i, f in self.redis.xrange(key)
                           if self._entry_names(key, f, ids)]
                if entries:
                    found.entries[key] = entries
                continue
            owned_by_name = any(part in ids for part in key.split(":"))
            value = self._read(key, kind)
            if owned_by_name or self._value_names(kind, value, ids):
                found.keys[key] = {"type": kind, "value": value}
                continue
            found.members += [{"key": key, "type": kind, "member": m, "value": v}
                              for m, v in self._members(kind, value) if self._names(str(m), ids)
                              or (kind == "hash" and self.subject.named_in(str(v)))]
        return found

    def _entry_names(self, stream: str, fields: Dict[str, str], ids: Set[str]) -> bool:
        if stream == redis_keys.EVENT_STREAM:
            kind = kinds.CATALOGUE.get(fields.get("kind", ""))
            if kind and kind.customer and fields.get(kind.customer, "").lstrip("+") == self.subject.wa_id:
                return True
        return any(v in ids or self.subject.named_in(v) for v in fields.values())

    def _value_names(self, kind: str, value: Any, ids: Set[str]) -> bool:
        if kind == "string":
            return value in ids or self.subject.named_in(value)
        if kind == "hash":
            return any(v in ids for v in value.values())
        return False

    def _read(self, key: str, kind: str) -> Any:
        if kind == "string":
            return self.redis.get(key)
        if kind == "hash":
            return self.redis.hgetall(key)
        if kind == "list":
            return self.redis.lrange(key, 0, -1)
        if kind == "set":
            return sorted(self.redis.smembers(key))
        if kind == "zset":
            return self.redis.zrange(key, 0, -1, withscores=True)
        return None

    @staticmethod
    def _members(kind: str, value: Any) -> List[Any]:
        if kind == "hash":
            return list(value.items())
        if kind == "zset":
            return list(value)
        if kind in ("list", "set"):
            return [(m, None) for m in value]
        return []

    def _identifiers(self, found: Found) -> Set[str]:
        """Chats and messages of the customer that the records found so far name."""
        more: Set[str] = set()
        for text in found.texts():
            more.update(WAMID.findall(text))
        for entries in found.entries.values():
            more.update(e["fields"]["chat_id"] for e in entries if e["fields"].get("chat_id"))
        for key, record in found.keys.items():
            if record["type"] == "hash" and record["value"].get("chat_id"):
                more.add(record["value"]["chat_id"])
            if key == handoff_keys.customer_chats(self.subject.wa_id):
                more.update(record["value"])
        more.update(e["id"] for e in found.entries.get(redis_keys.WEBHOOK_STREAM, []))  # wa:webhooks:attempts
        return more

    # --- exporting and erasing ---

    def export(self, found: Found) -> Dict[str, Any]:
        return {
            "keys": [{"key": k, "store": store_of(k), "type": r["type"], "value": _decoded(r["value"])}
                     for k, r in sorted(found.keys.items())],
            "members": [{**m, "store": store_of(m["key"]), "value": _decoded(m["value"])} for m in found.members],
            "stream_entries": [{"stream": s, "store": store_of(s), "id": e["id"],
                                "fields": {n: _decoded(v) for n, v in e["fields"].items()}}
                               for s, entries in sorted(found.entries.items()) for e in entries],
        }

    def erase(self, found: Found) -> Dict[str, Dict[str, int]]:
        """Removes what `find` found; counts per store."""
        counts: Dict[str, Dict[str, int]] = {}

        def count(key: str, what: str, n: int) -> None:
            store = counts.setdefault(store_of(key), {})
            store[what] = store.get(what, 0) + n

        for key in found.keys:
            count(key, "keys", self.redis.delete(key))
        for member in found.members:
            key, kind, name = member["key"], member["type"], member["member"]
            removed = {"hash": self.redis.hdel, "zset": self.redis.zrem, "set": self.redis.srem}.get(kind)
            n = removed(key, name) if removed else self.redis.lrem(key, 0, name)
            count(key, "members", n)
        for stream, entries in found.entries.items():
            ids = [e["id"] for e in entries]
            for group in self.redis.xinfo_groups(stream):
                self.redis.xack(stream, group["name"], *ids)  # a deleted entry is never delivered again
            count(stream, "stream entries", self.redis.xdel(stream, *ids))
        return counts


def _decoded(value: Any) -> Any:
    """Stored JSON (trackers, chat messages, history) as structure, for a readable export."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items()}
    return value
