"""Webhook entries that could not be handled (whatsapp_cloud/streams/dead_letters.py): list and replay them.

    python -m tools.dead_letters list [--count 20]
    python -m tools.dead_letters replay <id> [<id> ...] | --all
"""

import argparse
import asyncio
import sys
from typing import List, Optional

from stack import components
from whatsapp_cloud.streams.dead_letters import WebhookDeadLetters


async def _main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dead_letters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default=components.environment().get("REDIS_URL", ""))
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="show dead webhooks, oldest first")
    listing.add_argument("--count", type=int, default=20)
    replay = commands.add_parser("replay", help="deliver dead webhooks to the consumers again")
    replay.add_argument("ids", nargs="*")
    replay.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    if not args.redis_url:
        parser.error("set REDIS_URL or pass --redis-url")
    store = components.async_redis_client(url=args.redis_url)
    try:
        letters = WebhookDeadLetters(store)
        if args.command == "list":
            for letter in await letters.list(args.count):
                print(f"{letter['id']}  entry {letter.get('entry', '')}  {letter.get('kind', '')}  "
                      f"attempts {letter.get('attempts', '')}  {letter.get('reason', '')}")
            return 0
        if not args.ids and not args.all:
            parser.error("name the dead letters to replay, or --all")
        replayed = await letters.replay_all() if args.all else [await letters.replay(i) for i in args.ids]
        print(f"replayed {len(replayed)} webhook(s)")
        return 0
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    finally:
        await store.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
