"""Record a customer's opt-in or opt-out collected outside WhatsApp (website, SMS, IVR, paper, checkout).

    python -m tools.record_consent in 15551230002 --source website \\
        --scope utility --scope marketing --wording "[x] Send me order updates and offers on WhatsApp"
    python -m tools.record_consent show 15551230002

The wording is what the customer was shown; it is kept with the record for audits (wa:consent-log).
"""

import argparse
import sys
from typing import Any

import redis

from stack import components, settings
from whatsapp_cloud.policy.consent import OPT_IN_SOURCES, SCOPES, SOURCES
from whatsapp_cloud.policy.store import SyncPolicyStore


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("in", "out", "show"))
    parser.add_argument("wa_id", help="the customer's WhatsApp number, digits only")
    parser.add_argument("--source", choices=SOURCES, default="website")
    parser.add_argument("--scope", action="append", choices=SCOPES, help="utility and/or marketing (default: both)")
    parser.add_argument("--wording", default="", help="the consent text the customer saw (required for opt-ins)")
    args = parser.parse_args(argv)
    if not args.wa_id.isdigit():
        parser.error(f"{args.wa_id!r} is not a WhatsApp number (digits only, with the country code)")
    env = settings.resolve()
    store = SyncPolicyStore(components.redis_client(env), components.policy_config(env))
    if args.action == "show":
        for scope, record in sorted(store.snapshot(args.wa_id).state.consent.records.items()):
            confirmed = f" [confirmed {record.confirmed_at.isoformat()}]" if record.confirmed_at else ""
            print(f"{scope}: {record.status} since {record.at.isoformat()} ({record.source}) {record.wording}"
                  + confirmed)
        return 0
    if args.action == "in" and (args.source not in OPT_IN_SOURCES or not args.wording.strip()):
        parser.error(f"an opt-in needs --wording and a source among {', '.join(OPT_IN_SOURCES)}")
    changed = store.record_consent(args.wa_id, args.action, tuple(args.scope or SCOPES), args.source, args.wording)
    print(f"{args.wa_id}: opted {args.action} for {', '.join(changed)}" if changed
          else f"{args.wa_id}: nothing changed (already so)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except redis.RedisError as exc:
        print(f"the consent ledger (Redis) is unreachable: {exc}", file=sys.stderr)
        sys.exit(1)
