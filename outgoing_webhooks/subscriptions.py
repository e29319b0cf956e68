"""Subscriptions: where a business's system wants which events, and the secret that signs them.

The secret is generated here and shown once, when the subscription is made (or its secret rotated); every
other answer leaves it out. Kept in Redis until deleted; the delivery log and dead letters name them by id.
"""

import json
import secrets
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence

import redis

from outgoing_webhooks import keys
from outgoing_webhooks.event_types import TYPES
from outgoing_webhooks.targets import check_url
from whatsapp_cloud.redis_connection import transaction
from whatsapp_cloud.redis_values import as_text as _text


class InvalidSubscription(ValueError):
    """The request cannot make a usable subscription; the message says why."""


class SubscriptionNotFound(KeyError):
    def __str__(self) -> str:
        return f"no webhook subscription {self.args[0]}"


def _events(events: Any) -> List[str]:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise InvalidSubscription(f"'events' must be a non-empty list of event types: {', '.join(TYPES)}")
    unknown = sorted(set(events) - set(TYPES))
    if unknown:
        raise InvalidSubscription(f"unknown event types {', '.join(unknown)}; known: {', '.join(TYPES)}")
    return sorted(set(events), key=TYPES.index)


def _url(url: Any) -> str:
    try:
        return check_url(url)
    except ValueError as exc:
        raise InvalidSubscription(str(exc)) from None


def public(fields: Dict[str, str]) -> Dict[str, Any]:
    """A subscription as the API and the command show it: never its secret."""
    return {"id": fields["id"], "url": fields["url"], "events": json.loads(fields["events"]),
            "description": fields.get("description", ""), "active": fields.get("active") == "1",
            "created_at": float(fields["created_at"]), "created_by": fields.get("created_by", "")}


class Subscriptions:
    def __init__(self, store: redis.Redis) -> None:
        self.store = store

    def create(self, url: str, events: Sequence[str], description: str = "", created_by: str = "") -> Dict[str, Any]:
        """The new subscription with its secret (the only time the secret is given out)."""
        sid = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        fields = {"id": sid, "url": _url(url), "events": json.dumps(_events(list(events))),
                  "description": str(description or "")[:200], "active": "1", "created_at": repr(time.time()),
                  "created_by": created_by, "secret": secret}
        with transaction(self.store, keys.SUBSCRIPTIONS) as pipe:
            pipe.hset(keys.subscription(sid), mapping=fields)
            pipe.sadd(keys.SUBSCRIPTIONS, sid)
            pipe.execute()
        return {**public(fields), "secret": secret}

    def get(self, sid: str) -> Dict[str, Any]:
        return public(self._fields(sid))

    def secret(self, sid: str) -> Optional[str]:
        """The signing secret, for the delivery worker only; None for a deleted subscription."""
        value = self.store.hget(keys.subscription(sid), "secret")
        return _text(value) if value is not None else None

    def list(self) -> List[Dict[str, Any]]:
        return sorted((public(f) for f in self._all()), key=lambda s: s["created_at"])

    def subscribed(self, event_type: str) -> List[str]:
        """Ids of the active subscriptions that chose this event type."""
        return [f["id"] for f in self._all() if f.get("active") == "1" and event_type in json.loads(f["events"])]

    def update(self, sid: str, url: Any = None, events: Any = None, description: Any = None,
               active: Optional[bool] = None) -> Dict[str, Any]:
        self._fields(sid)
        changes: Dict[str, str] = {}
        if url is not None:
            changes["url"] = _url(url)
        if events is not None:
            changes["events"] = json.dumps(_events(events))
        if description is not None:
            changes["description"] = str(description)[:200]
        if active is not None:
            changes["active"] = "1" if active else "0"
        if changes:
            self.store.hset(keys.subscription(sid), mapping=changes)
        return self.get(sid)

    def rotate_secret(self, sid: str) -> Dict[str, Any]:
        self._fields(sid)
        secret = secrets.token_urlsafe(32)
        self.store.hset(keys.subscription(sid), "secret", secret)
        return {**self.get(sid), "secret": secret}

    def delete(self, sid: str) -> None:
        self._fields(sid)
        with transaction(self.store, keys.SUBSCRIPTIONS) as pipe:
            pipe.delete(keys.subscription(sid), keys.log(sid))
            pipe.srem(keys.SUBSCRIPTIONS, sid)
            pipe.execute()

    def log(self, sid: str, count: int = 50) -> List[Dict[str, Any]]:
        """The subscription's latest delivery attempts, newest first."""
        self._fields(sid)
        return [json.loads(_text(item)) for item in self.store.lrange(keys.log(sid), 0, max(0, count - 1))]

    def _fields(self, sid: str) -> Dict[str, str]:
        fields = {_text(k): _text(v) for k, v in self.store.hgetall(keys.subscription(sid)).items()}
        if not fields:
            raise SubscriptionNotFound(sid)
        return fields

    def _all(self) -> Iterable[Dict[str, str]]:
        ids = sorted(_text(i) for i in self.store.smembers(keys.SUBSCRIPTIONS))
        with self.store.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hgetall(keys.subscription(sid))
            found = pipe.execute()
        return [{_text(k): _text(v) for k, v in f.items()} for f in found if f]
