"""Report an order's new state as the shop's systems do; the customer is told once, by the bot.

    python -m tools.order_events 1001 shipped                    # tell the customer (state already recorded)
    python -m tools.order_events 1001 delivered --update-shop    # record it in the order database too
    python -m tools.order_events 1009 refund_approved --update-shop
    make order-event ORDER=1001 STATE=shipped

Calls the handoff service's `POST /api/order-events` with the integration token (HANDOFF_API_TOKEN), the
endpoint the shop's systems call, so the command and the shop take the same path. Events: shipped,
out_for_delivery, delivered, returned, refund_approved, refund_paid, refund_rejected. The same event twice
sends nothing the second time (`--event-id` names a new occurrence, e.g. a second shipment).
"""

import argparse
import sys
from typing import Any, Dict, List

import requests

from stack import settings


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("order_id")
    parser.add_argument("state", help="shipped, out_for_delivery, delivered, returned, refund_approved, ...")
    parser.add_argument("--update-shop", action="store_true", help="record the state in the order database too")
    parser.add_argument("--event-id", default="", help="the shop's id of this occurrence (default: one per state)")
    args = parser.parse_args(argv)
    env = settings.resolve()
    standin = env.get("STANDIN_URL", "") if env.get("USE_STANDIN") == "1" else ""
    seen = _last_seq(standin)
    try:
        answer = requests.post(f"{env['HANDOFF_URL'].rstrip('/')}/api/order-events", timeout=90,
                               headers={"Authorization": f"Bearer {env['HANDOFF_API_TOKEN']}"},
                               json={"order_id": args.order_id, "state": args.state,
                                     "update_shop": args.update_shop, "event_id": args.event_id})
    except requests.RequestException as exc:
        print(f"the handoff service at {env['HANDOFF_URL']} is unreachable ({exc}); is `make run` running?",
              file=sys.stderr)
        return 1
    data = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    if answer.status_code not in (200, 201):
        print(f"not handled ({answer.status_code}): {data.get('error') or answer.text[:300]}", file=sys.stderr)
        return 1
    event = data["event"]
    if event["duplicate"]:
        print(f"order {event['order_id']} {event['state']}: already handled, nothing sent again")
    else:
        moved = f" (was {event['previous']})" if event["previous"] else ""
        print(f"order {event['order_id']} {event['state']}{moved}: the bot is telling the customer "
              f"(free text inside their 24-hour window, the template outside it)")
        for message in _sent(standin, event["wa_id"], seen):
            print(f"  -> {event['wa_id']}: {_shown(message)}")
    return 0


def _last_seq(standin: str) -> int:
    """With the local stand-in, where its outbox stands now (to show what the customer gets)."""
    if not standin:
        return -1
    try:
        return int(requests.get(f"{standin}/_standin/outbox", timeout=5).json()["last_seq"])
    except (requests.RequestException, ValueError, KeyError):
        return -1


def _sent(standin: str, wa_id: str, after: int) -> List[Dict[str, Any]]:
    if after < 0:
        return []
    try:
        found = requests.get(f"{standin}/_standin/outbox", params={"to": wa_id, "after": after, "wait": 15},
                             timeout=20).json()["messages"]
    except (requests.RequestException, ValueError, KeyError):
        return []
    return [record["message"] for record in found]


def _shown(message: Dict[str, Any]) -> str:
    if message.get("type") == "text":
        return message["text"]["body"]
    if message.get("type") == "template":
        template = message["template"]
        values = [p.get("text", "") for c in template.get("components", []) for p in c.get("parameters", [])
                  if p.get("type") == "text"]
        return f"template {template['name']} ({template['language']['code']}): {', '.join(values)}"
    return f"a {message.get('type')} message"


if __name__ == "__main__":
    sys.exit(main())
