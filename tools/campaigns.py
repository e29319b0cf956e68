"""Campaigns from the command line: create (from a CSV), plan, show, list recipients, start, pause, resume,
cancel, retry-failed. The campaign worker (`python -m campaigns.worker`, started by `make run`) sends them.

    python -m tools.campaigns create --name "Black Friday" --template weekend_promo --csv customers.csv --draft
    python -m tools.campaigns plan <id>
    python -m tools.campaigns start <id>
    python -m tools.campaigns show <id>
    python -m tools.campaigns recipients <id> --status failed
    python -m tools.campaigns retry-failed <id> --code 131026

The CSV has a `wa_id` column and one column per template parameter, named as in whatsapp_templates.yml.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import redis

from campaigns.planning import InvalidCampaign, rows_from_csv
from campaigns.service import CampaignNotFound, Campaigns, WrongState
from stack import components, settings


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="plan a campaign from a CSV; it starts at once unless --draft")
    create.add_argument("--name", default="")
    create.add_argument("--template", required=True)
    create.add_argument("--language", default="")
    create.add_argument("--csv", required=True, type=Path)
    create.add_argument("--start-at", help="ISO 8601 time with a time zone")
    create.add_argument("--draft", action="store_true")
    commands.add_parser("list", help="the latest campaigns")
    for name in ("show", "plan", "start", "pause", "resume", "cancel"):
        commands.add_parser(name).add_argument("id")
    listing = commands.add_parser("recipients", help="each recipient's status")
    listing.add_argument("id")
    listing.add_argument("--status")
    retry = commands.add_parser("retry-failed", help="queue failed recipients again")
    retry.add_argument("id")
    retry.add_argument("--code", action="append", help="only these error codes (repeatable)")
    args = parser.parse_args(argv)

    env = settings.resolve()
    service = Campaigns(components.redis_client(env, decode_responses=True), env)
    try:
        if args.command == "create":
            answer: Any = service.create(args.name, args.template,
                                         args.language or components.policy_config(env).default_language,
                                         rows_from_csv(args.csv.read_text()), args.start_at, args.draft)
        elif args.command == "list":
            answer = service.list()
        elif args.command == "recipients":
            answer = service.recipients(args.id, limit=service.get(args.id)["total"], status=args.status)
        elif args.command == "retry-failed":
            answer = service.retry_failed(args.id, args.code)
        elif args.command == "show":
            answer = service.get(args.id)
        else:
            answer = getattr(service, args.command)(args.id)
    except (InvalidCampaign, CampaignNotFound, WrongState, OSError) as exc:
        print(f"campaigns: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(answer, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except redis.RedisError as exc:
        print(f"Redis is unreachable: {exc}", file=sys.stderr)
        sys.exit(1)
