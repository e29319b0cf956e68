"""Administration: `python -m handoff.manage create-agent alice --teams orders,general --languages en,es`
(asks the password), `set-languages alice en,es,de`, `seed-demo` (demo accounts for `make run`, password
HANDOFF_DEMO_PASSWORD from var/local.env)."""

import argparse
import getpass
import os
import sys
from typing import List, Optional

import redis

from handoff.agents import AgentDirectory, InvalidAgent
from handoff.keys import canned

DEMO_AGENTS = (
    # username, name, role, teams, capacity, languages
    ("admin", "Admin", "admin", ("orders", "refunds", "payments", "general"), 5, ("en",)),
    ("sam", "Sam (supervisor)", "supervisor", ("orders", "refunds", "payments", "general"), 5, ("en",)),
    ("alice", "Alice", "agent", ("orders", "general"), 3, ("en", "de", "fr")),
    ("bob", "Bob", "agent", ("refunds", "payments", "general"), 3, ("en", "es", "pt")),
)
DEMO_CANNED = {
    "Greeting": "Hi, this is the customer care team. I'm looking at your request now.",
    "One moment": "Thanks for your patience, I'm checking this for you.",
    "Anything else": "Is there anything else I can help you with?",
}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff.manage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-agent", help="create (or --replace) an agent account")
    create.add_argument("username")
    create.add_argument("--name", default="")
    create.add_argument("--role", default="agent", choices=("agent", "supervisor", "admin"))
    create.add_argument("--teams", default="general", help="comma-separated: orders,refunds,payments,general")
    create.add_argument("--capacity", type=int, default=3)
    create.add_argument("--languages", default="en", help="comma-separated ISO 639-1 codes: en,es,de")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    create.add_argument("--replace", action="store_true")
    languages = commands.add_parser("set-languages", help="the languages an agent speaks (routing prefers them)")
    languages.add_argument("username")
    languages.add_argument("languages", help="comma-separated ISO 639-1 codes: en,es,de")
    commands.add_parser("seed-demo", help="demo accounts (admin, sam, alice, bob) if they do not exist")
    args = parser.parse_args(argv)

    store = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    agents = AgentDirectory(store)
    try:
        if args.command == "create-agent":
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\n")
            else:
                password = getpass.getpass(f"password for {args.username}: ")
            agent = agents.create(args.username, password, name=args.name, role=args.role,
                                  teams=tuple(t.strip() for t in args.teams.split(",") if t.strip()),
                                  capacity=args.capacity, replace=args.replace,
                                  languages=tuple(args.languages.split(",")))
            print(f"agent {agent.username} ({agent.role}; teams {', '.join(agent.teams)}; "
                  f"languages {', '.join(agent.languages)}) saved")
        elif args.command == "set-languages":
            agent = agents.set_languages(args.username, tuple(args.languages.split(",")))
            print(f"agent {agent.username} speaks {', '.join(agent.languages)}")
        else:
            seed_demo(agents, store, os.environ.get("HANDOFF_DEMO_PASSWORD", ""))
    except InvalidAgent as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def seed_demo(agents: AgentDirectory, store: redis.Redis, password: str) -> None:
    if not password:
        raise InvalidAgent("HANDOFF_DEMO_PASSWORD is not set (make run generates it into var/local.env)")
    for username, name, role, teams, capacity, languages in DEMO_AGENTS:
        if agents.get(username) is None:
            agents.create(username, password, name=name, role=role, teams=teams, capacity=capacity,
                          languages=languages)
    for team in ("orders", "refunds", "payments", "general"):
        if not store.exists(canned(team)):
            store.hset(canned(team), mapping=DEMO_CANNED)
    print(f"demo agents: {', '.join(a[0] for a in DEMO_AGENTS)}; password: HANDOFF_DEMO_PASSWORD in var/local.env")


if __name__ == "__main__":
    sys.exit(main())
