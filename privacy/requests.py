"""The two requests a customer may make: a copy of their data (export), and its erasure with a receipt.

Both take their collaborators as values (a Redis client, the order database's engine, the media directory,
the policy's configuration), so the command line and the handoff service's admin API run the same code.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict

import redis
from sqlalchemy.engine import Engine

from privacy import aof, media, tickets
from privacy.identity import Subject
from privacy.redis_records import RedisRecords
from privacy.shop_records import ShopRecords
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import SyncPolicyStore, suppress_program

RECEIPTS = "privacy:erasures"  # stream of erasure receipts (keyed hashes only), kept for accountability


class CustomerWithAgent(Exception):
    """The customer is queued or talking with an agent: erasing now would cut a live chat short."""


@dataclass(frozen=True)
class Stores:
    redis: redis.Redis  # decode_responses=True
    shop: Engine
    media_dir: Path
    policy: PolicyConfig


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def export(stores: Stores, subject: Subject) -> Dict[str, Any]:
    """Everything held about the customer, in one JSON-ready document; closes their request for a copy."""
    found = RedisRecords(stores.redis, subject).find()
    document: Dict[str, Any] = {
        "customer": subject.wa_id,
        "exported_at": now(),
        "redis": RedisRecords(stores.redis, subject).export(found),
        "order_database": ShopRecords(stores.shop, subject).export(),
    }
    document["media"] = media.describe(media.files_named_in(stores.media_dir, json.dumps(document, default=str)))
    tickets.close(stores.redis, tickets.COPY, subject.wa_id)  # the copy the customer asked for is this one
    return document


def erase(stores: Stores, subject: Subject, by: str, rewrite_aof: bool = True) -> Dict[str, Any]:
    """Removes the customer from every store; returns the receipt, which names them by keyed hash only."""
    records = RedisRecords(stores.redis, subject)
    if records.open_chats():
        raise CustomerWithAgent("the customer has an open chat in the inbox: resolve it first")
    policy = SyncPolicyStore(stores.redis, stores.policy)
    consent = policy.snapshot(subject.wa_id).state.consent
    opted_out = sorted(scope for scope, record in consent.records.items() if record.status == "out")
    if opted_out:  # first, so that an erasure cut short still leaves them suppressed
        policy.run(suppress_program(subject.wa_id, opted_out, datetime.now(timezone.utc), stores.policy))
    found = records.find()
    files = media.files_named_in(stores.media_dir, "\n".join(found.texts()))
    redis_counts = records.erase(found)
    shop_counts = ShopRecords(stores.shop, subject).erase()
    for path in files:
        path.unlink(missing_ok=True)
    receipt: Dict[str, Any] = {
        "customer": subject.keyed_hash,
        "erased_at": now(),
        "by": by,
        "redis": redis_counts,
        "order_database": shop_counts,
        "media": {"files deleted": len(files)},
        "suppression_list": {"scopes": opted_out} if opted_out else "not opted out: not listed",
    }
    stores.redis.xadd(RECEIPTS, {"receipt": json.dumps(receipt)})
    receipt["append_only_file"] = aof.rewrite(stores.redis) if rewrite_aof else {"status": "not rewritten"}
    return receipt
