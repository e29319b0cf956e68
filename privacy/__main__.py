"""python -m privacy export <wa_id> | erase <wa_id> [--yes] [--by NAME] | requests

export prints the JSON document of everything held about the customer (and closes their request for a
copy); erase asks for the number again (or takes --yes), removes the customer from every store and prints
the receipt; requests lists what customers asked for in the WhatsApp chat, oldest first.
"""

import argparse
import getpass
import json
import sys
from datetime import datetime, timezone
from typing import List, Optional

from privacy import requests, tickets
from privacy.identity import Subject
from stack import components
from stack.settings import resolve


def stores() -> requests.Stores:
    env = resolve()
    return requests.Stores(
        redis=components.redis_client(env, decode_responses=True),
        shop=components.shop(env).engine,
        media_dir=components.media_dir(env),
        policy=components.policy_config(env),
    )


def print_requests(listed: List[tickets.Ticket]) -> None:
    if not listed:
        print("no privacy requests")
    for ticket in listed:
        asked = datetime.fromtimestamp(ticket.requested_at, timezone.utc).isoformat(timespec="seconds")
        print(f"{asked}  {ticket.kind:<5}  {ticket.wa_id}  {ticket.state}  {ticket.note}".rstrip())


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privacy", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("export", help="everything held about a customer, as JSON").add_argument("wa_id")
    erase = sub.add_parser("erase", help="remove a customer from every store; prints the receipt")
    erase.add_argument("wa_id")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.add_argument("--by", default=getpass.getuser(), help="who erases (in the receipt)")
    sub.add_parser("requests", help="customers' requests from the chat (erasure, copy), oldest first")
    args = parser.parse_args(argv)
    built = stores()
    if args.command == "requests":
        print_requests(tickets.listed(built.redis))
        return 0
    try:
        subject = Subject.of(args.wa_id, built.policy.hash_key)
    except ValueError as exc:
        parser.error(str(exc))
    if args.command == "export":
        json.dump(requests.export(built, subject), sys.stdout, indent=2, default=str)
        print()
        return 0
    if not args.yes:
        typed = input(f"Erase everything held about {args.wa_id} in every store? This cannot be undone.\n"
                      "Type the number again to confirm: ")
        if typed.strip().lstrip("+") != subject.wa_id:
            print("not confirmed: nothing erased", file=sys.stderr)
            return 1
    try:
        receipt = requests.erase(built, subject, by=args.by)
    except requests.CustomerWithAgent as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    json.dump(receipt, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
