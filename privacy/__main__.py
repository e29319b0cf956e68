"""python -m privacy export <wa_id> | erase <wa_id> [--yes] [--by NAME]

export prints the JSON document of everything held about the customer; erase asks for the number again
(or takes --yes), removes the customer from every store and prints the receipt.
"""

import argparse
import getpass
import json
import sys
from typing import List, Optional

from privacy import requests
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


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privacy", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("export", help="everything held about a customer, as JSON").add_argument("wa_id")
    erase = sub.add_parser("erase", help="remove a customer from every store; prints the receipt")
    erase.add_argument("wa_id")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.add_argument("--by", default=getpass.getuser(), help="who erases (in the receipt)")
    args = parser.parse_args(argv)
    built = stores()
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
