"""Play a customer: send one WhatsApp message to the bot through the stand-in, print the replies.

    make say MSG="where is my order 1001"
    python -m cloud_api_standin.say --from 15551230001 --name Ana "hi"

A message that is the payload of a button or list row the bot sent this customer (shown after `->`)
taps it; anything else is typed text (the bot never takes typed text for a command).
"""

import argparse
import os
import sys
import time
from typing import Any, Dict, List, Optional

import requests

from stack import settings

DEFAULT_CUSTOMER = "15551230001"


def render(message: Dict[str, Any]) -> str:
    """A WhatsApp message as a person would see it, in plain text."""
    kind = message.get("type")
    if kind == "text":
        return message["text"]["body"]
    if kind == "interactive":
        interactive = message["interactive"]
        lines = [interactive.get("body", {}).get("text", "")]
        action = interactive.get("action", {})
        for button in action.get("buttons", []):
            lines.append(f"  [ {button['reply']['title']} ]  -> {button['reply']['id']}")
        for section in action.get("sections", []):
            if section.get("title"):
                lines.append(f"  {section['title']}:")
            for row in section.get("rows", []):
                lines.append(f"  - {row['title']}  -> {row['id']}")
        if "parameters" in action:
            lines.append(f"  [ {action['parameters'].get('display_text')} ] {action['parameters'].get('url')}")
        return "\n".join(line for line in lines if line)
    if kind == "template":
        template = message["template"]
        return f"[template {template['name']} ({template['language']['code']})]"
    if kind in ("image", "video", "audio", "document", "sticker"):
        media = message[kind]
        return f"[{kind} {media.get('link') or media.get('id')}] {media.get('caption', '')}".rstrip()
    return f"[{kind}]"


def converse(
    standin_url: str, wa_id: str, text: str, name: str, timeout: float = 30.0, quiet: float = 2.0,
    button: Optional[Dict[str, str]] = None,
) -> List[Dict[str, Any]]:
    """Send `text` (or tap `button`, {"id": payload, "title": ...}) as customer `wa_id`; a `text` that is
    the payload of a button or list row the bot sent is tapped. Returns the bot's replies once it has
    been quiet for `quiet` s."""
    tap = button or offered_button(standin_url, wa_id, text)
    answer = requests.post(
        f"{standin_url}/_standin/customers/{wa_id}/messages",
        json={"button_reply": tap, "name": name} if tap else {"text": text, "name": name},
        timeout=timeout,
    )
    body = answer.json()
    if answer.status_code != 200:
        raise RuntimeError(body.get("error") or f"the bot refused the webhook: {body}")
    seq = body["outbox_seq"]
    replies: List[Dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wait = quiet if replies else min(deadline - time.monotonic(), 10.0)
        found = requests.get(
            f"{standin_url}/_standin/outbox",
            params={"after": seq, "to": wa_id, "wait": max(wait, 0.1)},
            timeout=wait + 10,
        ).json()["messages"]
        if not found and replies:
            break
        replies.extend(found)
        if found:
            seq = found[-1]["seq"]
    return replies


def offered_button(standin_url: str, wa_id: str, payload: str) -> Optional[Dict[str, str]]:
    """The latest button or list row sent to `wa_id` whose payload is `payload`, as a reply to it."""
    if not payload.startswith("/"):
        return None
    sent = requests.get(f"{standin_url}/_standin/outbox", params={"to": wa_id, "after": 0}, timeout=10)
    for record in reversed(sent.json()["messages"]):
        action = (record["message"].get("interactive") or {}).get("action") or {}
        options = [b.get("reply", {}) for b in action.get("buttons", [])]
        options += [row for section in action.get("sections", []) for row in section.get("rows", [])]
        for option in options:
            if option.get("id") == payload:
                return {"id": payload, "title": option.get("title", payload)}
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", nargs="?", default=os.environ.get("MSG"))
    parser.add_argument("--from", dest="wa_id", default=os.environ.get("FROM") or DEFAULT_CUSTOMER)
    parser.add_argument("--name", default=os.environ.get("NAME") or "Sam Customer")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    if not args.text:
        parser.error('say what? e.g. make say MSG="hi"')

    env = settings.resolve()
    if env["USE_STANDIN"] != "1":
        print("say: WHATSAPP_ACCESS_TOKEN is set, so the system talks to a real Cloud API; "
              "write to the business number from WhatsApp instead", file=sys.stderr)
        return 2
    print(f"you ({args.wa_id}): {args.text}")
    try:
        replies = converse(env["STANDIN_URL"], args.wa_id, args.text, args.name, args.timeout)
    except requests.ConnectionError:
        print(f"say: nothing answers at {env['STANDIN_URL']}: start the system with `make run` first",
              file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"say: {exc}", file=sys.stderr)
        return 1
    if not replies:
        print(f"say: no reply within {args.timeout:.0f}s (see the `make run` terminal)", file=sys.stderr)
        return 1
    for reply in replies:
        print("bot: " + render(reply["message"]).replace("\n", "\n     "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
