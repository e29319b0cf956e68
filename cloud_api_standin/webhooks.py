"""Customer messages as Meta sends them: the exact webhook envelope, signed with the app secret."""

import base64
import json
import os
import time
from typing import Any, Dict, Optional

import requests

from whatsapp_cloud.webhooks import signature


def new_wamid() -> str:
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18\x12" + os.urandom(24)).decode()


def message_envelope(
    *,
    waba_id: str,
    phone_number_id: str,
    display_phone_number: str,
    wa_id: str,
    profile_name: str,
    message: Dict[str, Any],
) -> Dict[str, Any]:
    """Wrap one inbound `messages[]` item in the envelope of Meta's webhook POST."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_phone_number,
                                "phone_number_id": phone_number_id,
                            },
                            "contacts": [{"profile": {"name": profile_name}, "wa_id": wa_id}],
                            "messages": [message],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def inbound_message(
    wa_id: str, kind: str, body: Any, timestamp: Optional[int] = None, context: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """One `messages[]` item as Meta sends it: `{"from", "id", "timestamp", "type", <type>: body}`."""
    message: Dict[str, Any] = {"context": context} if context else {}
    message.update({
        "from": wa_id,
        "id": new_wamid(),
        "timestamp": str(int(time.time() if timestamp is None else timestamp)),
        "type": kind,
        kind: body,
    })
    return message


def text_message(wa_id: str, body: str, timestamp: Optional[int] = None) -> Dict[str, Any]:
    return inbound_message(wa_id, "text", {"body": body}, timestamp)


def button_reply_message(
    wa_id: str, reply_id: str, title: str, context_wamid: str, timestamp: Optional[int] = None
) -> Dict[str, Any]:
    reply = {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}
    return inbound_message(wa_id, "interactive", reply, timestamp, context={"from": wa_id, "id": context_wamid})


def deliver(url: str, envelope: Dict[str, Any], app_secret: str, timeout: float = 10.0) -> requests.Response:
    """POST the envelope to the bot's webhook, signed over the exact bytes sent."""
    # Meta's wire format escapes non-ASCII characters; json.dumps does the same by default.
    body = json.dumps(envelope).encode()
    headers = {"Content-Type": "application/json", signature.HEADER: signature.sign(body, app_secret)}
    return requests.post(url, data=body, headers=headers, timeout=timeout)
