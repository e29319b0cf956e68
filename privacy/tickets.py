"""What customers asked for in the WhatsApp chat about their data (an erasure, a copy), kept in Redis as tickets
until it is done: administrators list them (`python -m privacy requests`, `GET /api/privacy-requests`, the
inbox's privacy requests page), and the queued erasures (`PRIVACY_ERASE_ON_REQUEST`) are carried out by
`privacy/queued_erasures.py`.

A ticket's key and its index member carry the customer's number as a part, so the erasure of that customer
finds and removes the ticket with everything else; an export closes the customer's open copy request.
Tickets have no expiry: every request must be answered (GDPR gives a month), and the erasure or the export
is what ends it.
"""

import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional

import redis

from privacy.identity import Subject
from whatsapp_cloud.redis_connection import transaction
from whatsapp_cloud.redis_keys import SHARED

ERASE, COPY = "erase", "copy"
KINDS = (ERASE, COPY)
OPEN, QUEUED = "open", "queued"  # open: waits for an administrator; queued: carried out automatically
# `{wa}`: a ticket and the index change in one transaction, so on Redis Cluster they share a slot.
INDEX = f"{SHARED}:privacy:requests"  # sorted set: "{kind}:{wa_id}" by the time the customer asked


def ticket_key(kind: str, wa_id: str) -> str:
    """Hash of one request: kind, wa_id, customer (keyed hash), requested_at, state, due_at, note."""
    return f"{SHARED}:privacy:request:{kind}:{wa_id}"


@dataclass(frozen=True)
class Ticket:
    kind: str
    wa_id: str
    customer: str  # keyed hash of the number: what receipts and logs name
    requested_at: float
    state: str
    due_at: float = 0.0  # a queued erasure is carried out from then on (after the bot's last reply)
    note: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_hash(cls, fields: Dict[str, str]) -> "Ticket":
        return cls(kind=fields["kind"], wa_id=fields["wa_id"], customer=fields.get("customer", ""),
                   requested_at=float(fields["requested_at"]), state=fields.get("state", OPEN),
                   due_at=float(fields.get("due_at") or 0), note=fields.get("note", ""))


def record(client: redis.Redis, subject: Subject, kind: str, due_at: Optional[float] = None,
           now: Optional[float] = None) -> Ticket:
    """Records the customer's request (one per kind: asking again keeps the first time asked). With `due_at`
    the request is queued to be carried out from then on, without an administrator."""
    if kind not in KINDS:
        raise ValueError(f"unknown privacy request {kind!r}: one of {', '.join(KINDS)}")
    now = time.time() if now is None else now
    key = ticket_key(kind, subject.wa_id)
    with transaction(client, INDEX) as pipe:
        pipe.hsetnx(key, "requested_at", repr(now))
        pipe.hset(key, mapping={"kind": kind, "wa_id": subject.wa_id, "customer": subject.keyed_hash,
                                "state": QUEUED if due_at is not None else OPEN,
                                "due_at": repr(due_at or 0.0), "note": ""})
        pipe.zadd(INDEX, {f"{kind}:{subject.wa_id}": now}, nx=True)
        pipe.hgetall(key)
        fields = pipe.execute()[-1]
    return Ticket.from_hash(_text(fields))


def listed(client: redis.Redis) -> List[Ticket]:
    """Every ticket, oldest request first."""
    tickets = []
    for member in client.zrange(INDEX, 0, -1):
        kind, _, wa_id = _str(member).partition(":")
        fields = _text(client.hgetall(ticket_key(kind, wa_id)))
        if fields:
            tickets.append(Ticket.from_hash(fields))
        else:  # removed since (erased, closed): the index entry goes too
            client.zrem(INDEX, member)
    return tickets


def set_state(client: redis.Redis, ticket: Ticket, state: str, note: str = "") -> None:
    key = ticket_key(ticket.kind, ticket.wa_id)
    if client.exists(key):
        client.hset(key, mapping={"state": state, "note": note})


def close(client: redis.Redis, kind: str, wa_id: str) -> bool:
    """The request was carried out: its ticket goes. True if there was one."""
    with transaction(client, INDEX) as pipe:
        pipe.delete(ticket_key(kind, wa_id))
        pipe.zrem(INDEX, f"{kind}:{wa_id}")
        return bool(pipe.execute()[0])


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _text(fields: Dict[Any, Any]) -> Dict[str, str]:
    """The same for clients with and without decode_responses."""
    return {_str(k): _str(v) for k, v in fields.items()}
