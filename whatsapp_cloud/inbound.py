"""Turn a webhook body in Meta's envelope into typed inbound messages.

Every level of the envelope (`entry[]`, `changes[]`, `messages[]`) is a list and is looped
over: Meta may batch several updates into one POST.
"""

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


class MalformedWebhook(ValueError):
    """The body is not a WhatsApp Business Account webhook."""


@dataclass(frozen=True)
class InboundMessage:
    wamid: str
    sender: str  # wa_id, or the business-scoped user id when no phone number is present
    timestamp: int  # when the customer sent it (Unix seconds), not when the webhook arrived
    type: str
    text: Optional[str]  # what the bot should read; None when the type carries no text
    phone_number_id: str
    profile_name: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def metadata(self) -> Dict[str, Any]:
        """What Rasa actions see in `tracker.latest_message["metadata"]`."""
        return {
            "wamid": self.wamid,
            "wa_timestamp": self.timestamp,
            "wa_type": self.type,
            "wa_profile_name": self.profile_name,
            "wa_phone_number_id": self.phone_number_id,
        }


def load(body: bytes) -> Dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedWebhook(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise MalformedWebhook('body is not a webhook with object "whatsapp_business_account"')
    if not isinstance(payload.get("entry"), list):
        raise MalformedWebhook("webhook has no entry[] list")
    return payload


def messages(payload: Dict[str, Any]) -> List[InboundMessage]:
    found = []
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            if change.get("field") != "messages":
                continue
            value = change.get("value") or {}
            names = _profile_names(value)
            phone_number_id = (value.get("metadata") or {}).get("phone_number_id", "")
            for message in value.get("messages") or []:
                sender = message.get("from") or message.get("from_user_id")
                if not sender or not message.get("id"):
                    continue
                found.append(
                    InboundMessage(
                        wamid=message["id"],
                        sender=sender,
                        timestamp=int(message.get("timestamp") or 0),
                        type=message.get("type", "unknown"),
                        text=_text_of(message),
                        phone_number_id=phone_number_id,
                        profile_name=names.get(sender),
                        raw=message,
                    )
                )
    return found


def _profile_names(value: Dict[str, Any]) -> Dict[str, str]:
    names = {}
    for contact in value.get("contacts") or []:
        name = (contact.get("profile") or {}).get("name")
        for key in (contact.get("wa_id"), contact.get("user_id")):
            if key and name:
                names[key] = name
    return names


def _text_of(message: Dict[str, Any]) -> Optional[str]:
    kind = message.get("type")
    if kind == "text":
        return (message.get("text") or {}).get("body")
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get(interactive.get("type", "")) or {}
        # The reply id carries the payload we put on the button, e.g. /affirm or /intent{"k":"v"}.
        return reply.get("id") or reply.get("title")
    if kind == "button":
        button = message.get("button") or {}
        return button.get("payload") or button.get("text")
    return None
