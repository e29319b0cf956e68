"""Turn a webhook body in Meta's envelope into typed events.

Every level of the envelope (`entry[]`, `changes[]`, `messages[]`, `statuses[]`, ...) is a
list and is looped over: Meta may batch several updates into one POST. Nothing here talks
to Redis or Rasa; the channel decides what each event means for the conversation.
"""

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union


class MalformedWebhook(ValueError):
    """The body is not a WhatsApp Business Account webhook."""


MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")

# Message types that carry no customer request: recorded, never a bot turn.
RECORD_ONLY_TYPES = ("reaction", "system", "revoke", "request_welcome")


@dataclass(frozen=True)
class InboundMessage:
    wamid: str
    sender: str  # wa_id, or the business-scoped user id when no phone number is present
    timestamp: int  # when the customer sent it (Unix seconds), not when the webhook arrived
    type: str
    text: Optional[str]  # what Rasa reads; None when the message starts no bot turn
    phone_number_id: str
    profile_name: Optional[str] = None
    user_id: Optional[str] = None  # business-scoped user id (BSUID), when Meta sends one
    context: Dict[str, Any] = field(default_factory=dict)  # reply / forwarded / referred product
    referral: Optional[Dict[str, Any]] = None  # Click-to-WhatsApp ad or post
    media: Optional[Dict[str, Any]] = None  # id, mime_type, sha256, caption, filename, voice, ...
    details: Dict[str, Any] = field(default_factory=dict)  # the type's own object (location, order, ...)
    errors: List[Dict[str, Any]] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def starts_turn(self) -> bool:
        return self.text is not None

    def metadata(self) -> Dict[str, Any]:
        """What Rasa actions see in `tracker.latest_message["metadata"]`."""
        data: Dict[str, Any] = {
            "wamid": self.wamid,
            "wa_timestamp": self.timestamp,
            "wa_type": self.type,
            "wa_profile_name": self.profile_name,
            "wa_phone_number_id": self.phone_number_id,
        }
        optional = {
            "wa_user_id": self.user_id,
            "wa_context": self.context or None,
            "wa_referral": self.referral,
            "wa_media": self.media,
            "wa_details": self.details or None,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return data


@dataclass(frozen=True)
class StatusUpdate:
    wamid: str  # the business's message this status is about
    status: str  # sent | delivered | read | played | failed (and whatever Meta adds)
    timestamp: int
    recipient: str
    phone_number_id: str
    pricing: Optional[Dict[str, Any]] = None
    conversation: Optional[Dict[str, Any]] = None
    errors: List[Dict[str, Any]] = field(default_factory=list)
    biz_opaque_callback_data: Optional[str] = None

    @property
    def error_codes(self) -> List[int]:
        return [e["code"] for e in self.errors if isinstance(e.get("code"), int)]


@dataclass(frozen=True)
class PreferenceUpdate:
    """`user_preferences`: a customer stopped or resumed marketing messages."""

    sender: str
    category: str
    value: str  # stop | resume
    timestamp: int
    detail: str = ""


@dataclass(frozen=True)
class WebhookError:
    """A value-level `errors[]` entry: Meta could not deliver something to us."""

    code: Optional[int]
    details: str
    phone_number_id: str
    raw: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class OtherChange:
    """Any other subscribed field (template status, quality, account updates, ...), kept as sent."""

    field: str
    value: Dict[str, Any]
    time: int = 0  # the entry's `time` (Unix seconds): when Meta says it happened, 0 if absent


Event = Union[InboundMessage, StatusUpdate, PreferenceUpdate, WebhookError, OtherChange]


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


def events(payload: Dict[str, Any]) -> List[Event]:
    """Every event in the webhook, in the order Meta listed them. Malformed items are skipped."""
    found: List[Event] = []
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            kind = change.get("field")
            if kind == "messages":
                found.extend(_message_events(value))
            elif kind == "user_preferences":
                found.extend(_preferences(value))
            else:
                found.append(OtherChange(str(kind), value, _int(entry.get("time"))))
    return found


def messages(payload: Dict[str, Any]) -> List[InboundMessage]:
    return [e for e in events(payload) if isinstance(e, InboundMessage)]


def _message_events(value: Dict[str, Any]) -> List[Event]:
    found: List[Event] = []
    phone_number_id = str((value.get("metadata") or {}).get("phone_number_id", ""))
    contacts = _contacts(value)
    for message in _dicts(value.get("messages")):
        parsed = _message(message, phone_number_id, contacts)
        if parsed:
            found.append(parsed)
    for status in _dicts(value.get("statuses")):
        parsed_status = _status(status, phone_number_id)
        if parsed_status:
            found.append(parsed_status)
    for error in _dicts(value.get("errors")):
        found.append(WebhookError(error.get("code"), _error_details(error), phone_number_id, error))
    return found


def _contacts(value: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    by_id: Dict[str, Dict[str, Any]] = {}
    for contact in _dicts(value.get("contacts")):
        for key in (contact.get("wa_id"), contact.get("user_id")):
            if key:
                by_id[key] = contact
    return by_id


def _message(
    message: Dict[str, Any], phone_number_id: str, contacts: Dict[str, Dict[str, Any]]
) -> Optional[InboundMessage]:
    sender = message.get("from") or message.get("from_user_id")
    if not sender or not message.get("id"):
        return None
    contact = contacts.get(sender) or {}
    kind = str(message.get("type") or "unknown")
    media = _media(message, kind)
    return InboundMessage(
        wamid=message["id"],
        sender=str(sender),
        timestamp=_int(message.get("timestamp")),
        type=kind,
        text=text_for_rasa(message, kind, media),
        phone_number_id=phone_number_id,
        profile_name=(contact.get("profile") or {}).get("name"),
        user_id=message.get("from_user_id") or contact.get("user_id"),
        context=message.get("context") if isinstance(message.get("context"), dict) else {},
        referral=message.get("referral") if isinstance(message.get("referral"), dict) else None,
        media=media,
        details=_details(message, kind),
        errors=list(_dicts(message.get("errors"))),
        raw=message,
    )


def text_for_rasa(message: Dict[str, Any], kind: str, media: Optional[Dict[str, Any]]) -> Optional[str]:
    """What the bot reads. Structured messages become `/intent{...}` payloads Rasa parses exactly."""
    if kind == "text":
        body = (message.get("text") or {}).get("body")
        return body if isinstance(body, str) and body.strip() else None
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get(interactive.get("type", "")) or {}
        if reply.get("id") or reply.get("title"):
            # The id carries what we put on the button, e.g. /affirm or /order_status{"order_id":"1001"}.
            return reply.get("id") or reply.get("title")
        return _intent("unsupported_message", {"wa_type": f"interactive:{interactive.get('type', '')}"})
    if kind == "button":
        button = message.get("button") or {}
        return button.get("payload") or button.get("text") or None
    if kind in MEDIA_TYPES:
        caption = (media or {}).get("caption")
        if caption and caption.strip():
            return caption
        return _intent("media_received", {"media_type": kind})
    if kind == "location":
        location = message.get("location") or {}
        return _intent("share_location", {k: location[k] for k in ("latitude", "longitude") if k in location})
    if kind == "contacts":
        return _intent("share_contact", {})
    if kind == "order":
        return _intent("place_order", {})
    if kind == "edit":
        edited = (message.get("edit") or {}).get("message") or {}
        edited_kind = str(edited.get("type") or "")
        # An edit is read as what the message says now.
        return text_for_rasa(edited, edited_kind, _media(edited, edited_kind)) if edited_kind else None
    if kind in RECORD_ONLY_TYPES:
        return None
    return _intent("unsupported_message", {"wa_type": _unsupported_type(message, kind)})


def _media(message: Dict[str, Any], kind: str) -> Optional[Dict[str, Any]]:
    if kind not in MEDIA_TYPES or not isinstance(message.get(kind), dict):
        return None
    return {"type": kind, **message[kind]}


def _details(message: Dict[str, Any], kind: str) -> Dict[str, Any]:
    if kind in MEDIA_TYPES or kind == "text":
        return {}
    body = message.get(kind)
    details: Dict[str, Any] = {kind: body} if body is not None else {}
    if kind == "system" and isinstance(message.get("identity"), dict):
        details["identity"] = message["identity"]
    return details


def _unsupported_type(message: Dict[str, Any], kind: str) -> str:
    unsupported = message.get("unsupported")
    if isinstance(unsupported, dict) and unsupported.get("type"):
        return str(unsupported["type"])
    return kind


def _status(status: Dict[str, Any], phone_number_id: str) -> Optional[StatusUpdate]:
    if not status.get("id") or not status.get("status"):
        return None
    return StatusUpdate(
        wamid=status["id"],
        status=str(status["status"]),
        timestamp=_int(status.get("timestamp")),
        recipient=str(status.get("recipient_id") or status.get("recipient_user_id") or ""),
        phone_number_id=phone_number_id,
        pricing=status.get("pricing") if isinstance(status.get("pricing"), dict) else None,
        conversation=status.get("conversation") if isinstance(status.get("conversation"), dict) else None,
        errors=list(_dicts(status.get("errors"))),
        biz_opaque_callback_data=status.get("biz_opaque_callback_data"),
    )


def _preferences(value: Dict[str, Any]) -> List[Event]:
    found: List[Event] = []
    for preference in _dicts(value.get("user_preferences")):
        sender = preference.get("wa_id") or preference.get("user_id")
        if sender and preference.get("value"):
            found.append(
                PreferenceUpdate(
                    sender=str(sender),
                    category=str(preference.get("category", "")),
                    value=str(preference["value"]),
                    timestamp=_int(preference.get("timestamp")),
                    detail=str(preference.get("detail", "")),
                )
            )
    return found


def _intent(name: str, entities: Dict[str, Any]) -> str:
    return f"/{name}{json.dumps(entities, separators=(',', ':'))}" if entities else f"/{name}"


def _error_details(error: Dict[str, Any]) -> str:
    return str((error.get("error_data") or {}).get("details") or error.get("message") or "")


def _dicts(items: Any) -> List[Dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
