"""Outgoing webhook subscriptions from the command line (the same as /api/webhook-subscriptions).

    python -m tools.webhook_subscriptions add https://crm.example.com/hooks --event chat.escalated \\
        --event ticket.created --description "CRM"        # prints the secret: the only time it is shown
    python -m tools.webhook_subscriptions list
    python -m tools.webhook_subscriptions deliveries <id>
    python -m tools.webhook_subscriptions pause <id> | resume <id> | rotate-secret <id> | remove <id>
    python -m tools.webhook_subscriptions dead-letters
    python -m tools.webhook_subscriptions resend <dead-letter id>
"""

import argparse
import json
import sys
from typing import Any

import redis

from outgoing_webhooks.delivery import Deliverer
from outgoing_webhooks.event_types import TYPES
from outgoing_webhooks.settings import WebhookSettings
from outgoing_webhooks.subscriptions import InvalidSubscription, SubscriptionNotFound, Subscriptions
from stack import components, settings


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="subscribe a URL to event types")
    add.add_argument("url")
    add.add_argument("--event", action="append", required=True, choices=TYPES)
    add.add_argument("--description", default="")
    commands.add_parser("list")
    for name in ("deliveries", "pause", "resume", "rotate-secret", "remove"):
        commands.add_parser(name).add_argument("id")
    commands.add_parser("dead-letters")
    commands.add_parser("resend").add_argument("id", help="the dead letter's id (from dead-letters)")
    args = parser.parse_args(argv)

    store = components.redis_client(settings.resolve(), decode_responses=True)
    subscriptions = Subscriptions(store)
    try:
        if args.command == "add":
            made = subscriptions.create(args.url, args.event, args.description, created_by="command line")
            print(f"subscription {made['id']} for {', '.join(made['events'])} -> {made['url']}")
            print(f"secret (shown only now; it signs X-Hub-Signature-256): {made['secret']}")
        elif args.command == "list":
            for sub in subscriptions.list():
                state = "active" if sub["active"] else "paused"
                print(f"{sub['id']}  {state:6}  {sub['url']}  {','.join(sub['events'])}  {sub['description']}")
        elif args.command == "deliveries":
            for attempt in subscriptions.log(args.id):
                print(json.dumps(attempt))
        elif args.command in ("pause", "resume"):
            subscriptions.update(args.id, active=args.command == "resume")
            print(f"{args.id}: {'active' if args.command == 'resume' else 'paused'}")
        elif args.command == "rotate-secret":
            print(f"new secret (shown only now): {subscriptions.rotate_secret(args.id)['secret']}")
        elif args.command == "remove":
            subscriptions.delete(args.id)
            print(f"{args.id}: removed")
        elif args.command == "dead-letters":
            for dead in Deliverer(store, WebhookSettings(), "command").dead_letters():
                print(f"{dead['id']}  {dead['subscription']}  {dead['type']}  {dead['reason']}")
        elif args.command == "resend":
            if not Deliverer(store, WebhookSettings(), "command").resend(args.id):
                print(f"no dead letter {args.id}", file=sys.stderr)
                return 1
            print(f"{args.id}: queued again")
    except (InvalidSubscription, SubscriptionNotFound) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except redis.RedisError as exc:
        print(f"Redis is unreachable: {exc}", file=sys.stderr)
        sys.exit(1)
