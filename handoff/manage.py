"""Administration: `python -m handoff.manage create-agent alice --teams orders,general --languages en,es`
(asks the password), `set-languages alice en,es,de`, `set-password`, `disable-agent`, `enable-agent`,
`delete-agent`, and `seed-demo` (demo accounts for `make run` with the local stand-in only, password
HANDOFF_DEMO_PASSWORD from var/local.env)."""

import argparse
import getpass
import sys
from typing import List, Mapping, Optional

import redis

from handoff.agents import AgentDirectory, InvalidAgent
from handoff.assignment import Router
from handoff.keys import canned
from handoff.state import ChatStore
from stack import components
from stack.setting_values import flag

DEMO_AGENTS = (
    # username, name, role, teams, capacity, languages
    ("admin", "Admin", "admin", ("orders", "refunds", "payments", "general"), 5, ("en",)),
    ("sam", "Sam", "supervisor", ("orders", "refunds", "payments", "general"), 5, ("en",)),
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
    password = commands.add_parser("set-password", help="a new password; the agent's sessions and tokens end")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for name, what in (("disable-agent", "no sign-in; sessions and tokens end; open chats go back to the queue"),
                       ("enable-agent", "allow signing in again"),
                       ("delete-agent", "remove the account; open chats go back to the queue")):
        commands.add_parser(name, help=what).add_argument("username")
    commands.add_parser("seed-demo", help="demo accounts (admin, sam, alice, bob) with the local stand-in only")
    args = parser.parse_args(argv)

    store = components.redis_client(decode_responses=True)
    agents = AgentDirectory(store)
    try:
        if args.command == "create-agent":
            agent = agents.create(args.username, _password(args), name=args.name, role=args.role,
                                  teams=tuple(t.strip() for t in args.teams.split(",") if t.strip()),
                                  capacity=args.capacity, replace=args.replace,
                                  languages=tuple(args.languages.split(",")))
            print(f"agent {agent.username} ({agent.role}; teams {', '.join(agent.teams)}; "
                  f"languages {', '.join(agent.languages)}) saved")
        elif args.command == "set-languages":
            agent = agents.set_languages(args.username, tuple(args.languages.split(",")))
            print(f"agent {agent.username} speaks {', '.join(agent.languages)}")
        elif args.command == "set-password":
            agents.set_password(args.username, _password(args))
            print(f"password of {args.username} changed; their sessions and tokens are revoked")
        elif args.command in ("disable-agent", "delete-agent"):
            (agents.disable if args.command == "disable-agent" else agents.delete)(args.username)
            moved = Router(ChatStore(store), agents, 300.0).agent_left(args.username)
            done = "disabled" if args.command == "disable-agent" else "deleted"
            print(f"agent {args.username} {done}; {len(moved)} open chat(s) back in the queue")
        elif args.command == "enable-agent":
            agents.enable(args.username)
            print(f"agent {args.username} may sign in again")
        elif demo_wanted(components.environment()):
            seed_demo(agents, store, components.environment().get("HANDOFF_DEMO_PASSWORD", ""))
        else:
            print("no demo accounts: connected to the Cloud API (HANDOFF_DEMO=true creates them anyway); "
                  "create the first administrator with `python -m handoff.manage create-agent NAME --role admin`")
    except InvalidAgent as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(f"password for {args.username}: ")


def demo_wanted(env: Mapping[str, str]) -> bool:
    """Demo accounts share one password and include an administrator: only with the local stand-in."""
    return flag(env.get("HANDOFF_DEMO"), env.get("USE_STANDIN") == "1", "HANDOFF_DEMO")


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
