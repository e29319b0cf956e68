"""Rename the keys of a release before the `{wa}` hash tag to their tagged names, on a single Redis.

    python -m tools.tag_redis_keys [--dry-run]

Run it once, with the stack stopped, before starting this release on existing data (README, "Redis:
single, Cluster, Sentinel, managed"). RENAME keeps each value whole, the webhook stream's consumer group
and pending entries included, and its expiry. Keys already under their new name are left alone, so a
second run renames nothing. Move the data to a cluster after this, with its keys renamed.
"""

import argparse
import sys
from typing import Iterator, List, Optional, Tuple

import redis

from analytics import keys as analytics_keys
from campaigns import keys as campaign_keys
from stack import components, handoff_keys
from whatsapp_cloud import redis_keys

TAG = redis_keys.SHARED + ":"


def _library(new_prefix: str) -> Tuple[str, str]:
    """The WhatsApp library's keys were `wa:...`: `{wa}:webhooks` was `wa:webhooks`."""
    return "wa:" + new_prefix[len(TAG):], new_prefix


def _application(new_prefix: str) -> Tuple[str, str]:
    """The applications' keys had no `wa:`: `{wa}:handoff:chat:1` was `handoff:chat:1`."""
    return new_prefix[len(TAG):], new_prefix


# (old prefix, new prefix), from the key modules themselves.
RENAMES: List[Tuple[str, str]] = [
    _library(redis_keys.WEBHOOK_STREAM),  # and its :dead, :attempts
    _library(redis_keys.EVENT_STREAM),
    _library(redis_keys.customer_order("")),
    _library(redis_keys.PRICING_LOG.rsplit(":", 1)[0] + ":"),  # the whole cost ledger
    _library(redis_keys.consent("")[:-1]),  # consent ledgers and the consent log
    _library(redis_keys.SUPPRESSED),
    _library(redis_keys.LIMIT_REACHED),
    _library(redis_keys.deferred("")),  # queues and their indexes (not wa:deferred-lock:, untagged)
    _library(redis_keys.TEMPLATE_STATUS.rsplit(":", 1)[0] + ":"),
    _library(redis_keys.TEST_CLOCK_OFFSET),
    _application(handoff_keys.PREFIX),
    _application(campaign_keys.campaign("")),
    _application(campaign_keys.INDEX.rsplit(":", 1)[0] + ":"),
    _application(analytics_keys.PREFIX),
]


def pending(client: "redis.Redis[str]") -> Iterator[Tuple[str, str]]:
    """(old name, new name) of every key still under an old name."""
    for old_prefix, new_prefix in RENAMES:
        for key in client.scan_iter(match=old_prefix + "*", count=1000):
            yield key, new_prefix + key[len(old_prefix):]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.tag_redis_keys", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="list the renames, change nothing")
    parser.add_argument("--redis-url", default=components.environment().get("REDIS_URL", ""))
    args = parser.parse_args(argv)
    if not args.redis_url:
        parser.error("set REDIS_URL or pass --redis-url")
    client = components.redis_client(url=args.redis_url, decode_responses=True)
    if not isinstance(client, redis.Redis):
        parser.error("run this on the single server the old release used, before moving to a cluster")
    renamed = kept = 0
    for old, new in list(pending(client)):
        if args.dry_run:
            print(f"{old} -> {new}")
            renamed += 1
        elif client.renamenx(old, new):
            renamed += 1
        else:
            kept += 1
            print(f"kept {old}: {new} exists already", file=sys.stderr)
    print(f"{'would rename' if args.dry_run else 'renamed'} {renamed} key(s)"
          + (f"; {kept} left under the old name" if kept else ""))
    return 1 if kept else 0


if __name__ == "__main__":
    sys.exit(main())
