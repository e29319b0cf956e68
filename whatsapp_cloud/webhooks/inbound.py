"""Turn a webhook body in Meta's envelope into typed events.

Every level of the envelope (`entry[]`, `changes[]`, `messages[]`, `statuses[]`, ...) is a
list and is looped over: Meta may batch several updates into one POST. Nothing here talks
to Redis or Rasa; the channel decides what each event means for the conversation.

Parsing is total: `events()` never raises, whatever JSON it gets. Every field is read with a
type check (Meta adds fields and shapes every few months, and a signed body can still be
anything); an item that cannot be read becomes an `ItemError` next to the valid events, so one
bad item never costs the others their answer.
"""

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union


class MalformedWebhook(ValueError):
    """The body is not a WhatsApp Business Account webhook."""


# What Rasa reads of a typed message: WhatsApp texts can be far longer than any request.
MAX_TEXT_CHARS = 4096
MAX_TIMESTAMP = 253402300799  # 9999-12-31, the last second a datetime holds
INTENT_PREFIX = "/"  # Rasa's prefix for a message that names its intent ("/affirm")

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
class ItemError:
    """An item of the envelope that could not be read: where it was and why, for the record."""

    where: str  # e.g. "entry[0].changes[1].messages[2]"
    reason: str


@dataclass(frozen=True)
class OtherChange:
    """Any other subscribed field (template status, quality, account updates, ...), kept as sent."""

    field: str
    value: Dict[str, Any]
    time: int = 0  # the entry's `time` (Unix seconds): when Meta says it happened, 0 if absent


Event = Union[InboundMessage, StatusUpdate, PreferenceUpdate, WebhookError, OtherChange, ItemError]


def load(body: bytes) -> Dict[str, Any]:
    """The webhook as a dict; MalformedWebhook when it is not JSON or not a WhatsApp Business webhook."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedWebhook(f"body is not JSON: {exc}") from exc
    except RecursionError as exc:  # nesting deeper than Python's stack: no webhook looks like that
        raise MalformedWebhook("body is nested too deeply") from exc
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise MalformedWebhook('body is not a webhook with object "whatsapp_business_account"')
    if not isinstance(payload.get("entry"), list):
        raise MalformedWebhook("webhook has no entry[] list")
    return _without_lone_surrogates(payload)


def events(payload: Any) -> List[Event]:
    """Every event in the webhook, in the order Meta listed them; unreadable items as ItemError. Never raises."""
    found: List[Event] = []
    entries = payload.get("entry") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        return [ItemError("entry", "no entry[] list")]
    for e, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            found.append(ItemError(f"entry[{e}]", "not an object with a changes[] list"))
            continue
        for c, change in enumerate(changes):
            where = f"entry[{e}].changes[{c}]"
            try:
                found.extend(_change(change, where, _int(entry.get("time"))))
            except Exception as exc:  # noqa: BLE001 - the last guard: one item never stops the others
                found.append(ItemError(where, f"{exc.__class__.__name__}: {exc}"))
    return found


def messages(payload: Any) -> List[InboundMessage]:
    return [e for e in events(payload) if isinstance(e, InboundMessage)]


def _change(change: Any, where: str, time: int = 0) -> List[Event]:
    if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
        return [ItemError(where, "not an object with a value object")]
    value, kind = change["value"], _str(change.get("field"))
    if kind == "messages":
        return _message_events(value, where)
    if kind == "user_preferences":
        return _preferences(value, where)
    if kind is None:
        return [ItemError(where, "field is not a string")]
    return [OtherChange(kind, value, time)]


def _message_events(value: Dict[str, Any], where: str) -> List[Event]:
    found: List[Event] = []
    phone_number_id = _str(_dict(value.get("metadata")).get("phone_number_id")) or ""
    contacts = _contacts(value)
    for index, item in _items(value, "messages"):
        found.append(_guarded(f"{where}.messages[{index}]",
                              lambda item=item: _message(item, phone_number_id, contacts)))
    for index, item in _items(value, "statuses"):
        found.append(_guarded(f"{where}.statuses[{index}]", lambda item=item: _status(item, phone_number_id)))
    for index, item in _items(value, "errors"):
        found.append(_guarded(f"{where}.errors[{index}]", lambda item=item: _webhook_error(item, phone_number_id)))
    return found


def _guarded(where: str, parse: Callable[[], Union[Event, str]]) -> Event:
    """The item's event, or an ItemError saying why it could not be read (`parse` returns the reason)."""
    try:
        parsed = parse()
    except Exception as exc:  # noqa: BLE001 - recorded as the item's error
        return ItemError(where, f"{exc.__class__.__name__}: {exc}")
    return ItemError(where, parsed) if isinstance(parsed, str) else parsed


def _items(value: Dict[str, Any], name: str) -> List[Tuple[int, Any]]:
    items = value.get(name)
    return list(enumerate(items)) if isinstance(items, list) else []


def _contacts(value: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    by_id: Dict[str, Dict[str, Any]] = {}
    for contact in _dicts(value.get("contacts")):
        for key in (_str(contact.get("wa_id")), _str(contact.get("user_id"))):
            if key:
                by_id[key] = contact
    return by_id


def _message(message: Any, phone_number_id: str, contacts: Dict[str, Dict[str, Any]]) -> Union[InboundMessage, str]:
    if not isinstance(message, dict):
        return "message is not an object"
    sender = _str(message.get("from")) or _str(message.get("from_user_id"))
    wamid = _str(message.get("id"))
    if not sender or not wamid:
        return "message without a sender or an id"
    contact = contacts.get(sender) or {}
    kind = _str(message.get("type")) or "unknown"
    media = _media(message, kind)
    return InboundMessage(
        wamid=wamid,
        sender=sender,
        timestamp=_timestamp(message.get("timestamp")),
        type=kind,
        text=text_for_rasa(message, kind, media),
        phone_number_id=phone_number_id,
        profile_name=_str(_dict(contact.get("profile")).get("name")),
        user_id=_str(message.get("from_user_id")) or _str(contact.get("user_id")),
        context=_dict(message.get("context")),
        referral=message.get("referral") if isinstance(message.get("referral"), dict) else None,
        media=media,
        details=_details(message, kind),
        errors=_dicts(message.get("errors")),
        raw=message,
    )


def text_for_rasa(message: Dict[str, Any], kind: str, media: Optional[Dict[str, Any]]) -> Optional[str]:
    """What the bot reads. Structured messages become `/intent{...}` payloads Rasa parses exactly;
    what the customer typed never does (see `typed`)."""
    if kind == "text":
        return typed(_dict(message.get("text")).get("body"))
    if kind == "interactive":
        interactive = _dict(message.get("interactive"))
        reply = _dict(interactive.get(_str(interactive.get("type")) or ""))
        payload = _str(reply.get("id")) or _str(reply.get("title"))
        if payload:
            # The id carries what we put on the button, e.g. /affirm or /order_status{"order_id":"1001"};
            # the channel lets it through only if the bot offered it (bot/channels/offered_payloads.py).
            return payload
        return _intent("unsupported_message", {"wa_type": f"interactive:{_str(interactive.get('type')) or ''}"})
    if kind == "button":
        button = _dict(message.get("button"))
        return _str(button.get("payload")) or _str(button.get("text")) or None
    if kind in MEDIA_TYPES:
        caption = typed((media or {}).get("caption"))
        return caption if caption else _intent("media_received", {"media_type": kind})
    if kind == "location":
        location = _dict(message.get("location"))
        return _intent("share_location", {k: location[k] for k in ("latitude", "longitude")
                                          if isinstance(location.get(k), (int, float, str))})
    if kind == "contacts":
        return _intent("share_contact", {})
    if kind == "order":
        return _intent("place_order", {})
    if kind == "edit":
        edited = _dict(_dict(message.get("edit")).get("message"))
        edited_kind = _str(edited.get("type")) or ""
        # An edit is read as what the message says now (never an edit of an edit: bounded recursion).
        if not edited_kind or edited_kind == "edit":
            return None
        return text_for_rasa(edited, edited_kind, _media(edited, edited_kind))
    if kind in RECORD_ONLY_TYPES:
        return None
    return _intent("unsupported_message", {"wa_type": _unsupported_type(message, kind)})


def typed(value: Any) -> Optional[str]:
    """What the customer typed, as Rasa may read it: never a command. Rasa takes text starting with "/" as
    an intent with entities (`/EXTERNAL_handoff_resolved`, `/csat{"rating":5}`), so the leading slashes go;
    long texts are cut to MAX_TEXT_CHARS. None when nothing is left."""
    if not isinstance(value, str):
        return None
    text = value.strip().lstrip(INTENT_PREFIX).strip()
    return text[:MAX_TEXT_CHARS] or None


def tapped_payload(message: InboundMessage) -> Optional[str]:
    """The id of the button or list row the customer tapped (what the business put on it), if any."""
    if message.type == "interactive":
        interactive = _dict(message.details.get("interactive"))
        reply = _dict(interactive.get(_str(interactive.get("type")) or ""))
        return _str(reply.get("id")) or _str(reply.get("title"))
    if message.type == "button":
        button = _dict(message.details.get("button"))
        return _str(button.get("payload")) or _str(button.get("text"))
    return None


def reply_title(message: InboundMessage) -> Optional[str]:
    """The title of the button or list row the customer tapped, as typed text."""
    if message.type == "interactive":
        interactive = _dict(message.details.get("interactive"))
        return typed(_dict(interactive.get(_str(interactive.get("type")) or "")).get("title"))
    if message.type == "button":
        return typed(_dict(message.details.get("button")).get("text"))
    return None


def _media(message: Dict[str, Any], kind: str) -> Optional[Dict[str, Any]]:
    if kind not in MEDIA_TYPES or not isinstance(message.get(kind), dict):
        return None
    return {**message[kind], "type": kind}


def _details(message: Dict[str, Any], kind: str) -> Dict[str, Any]:
    if kind in MEDIA_TYPES or kind == "text":
        return {}
    body = message.get(kind)
    details: Dict[str, Any] = {kind: body} if body is not None else {}
    if kind == "system" and isinstance(message.get("identity"), dict):
        details["identity"] = message["identity"]
    return details


def _unsupported_type(message: Dict[str, Any], kind: str) -> str:
    return _str(_dict(message.get("unsupported")).get("type")) or kind


def _status(status: Any, phone_number_id: str) -> Union[StatusUpdate, str]:
    if not isinstance(status, dict):
        return "status is not an object"
    wamid, state = _str(status.get("id")), _str(status.get("status"))
    if not wamid or not state:
        return "status without an id or a status"
    return StatusUpdate(
        wamid=wamid,
        status=state,
        timestamp=_timestamp(status.get("timestamp")),
        recipient=_str(status.get("recipient_id")) or _str(status.get("recipient_user_id")) or "",
        phone_number_id=phone_number_id,
        pricing=status.get("pricing") if isinstance(status.get("pricing"), dict) else None,
        conversation=status.get("conversation") if isinstance(status.get("conversation"), dict) else None,
        errors=_dicts(status.get("errors")),
        biz_opaque_callback_data=_str(status.get("biz_opaque_callback_data")),
    )


def _webhook_error(error: Any, phone_number_id: str) -> Union[WebhookError, str]:
    if not isinstance(error, dict):
        return "error is not an object"
    code = error.get("code")
    details = _str(_dict(error.get("error_data")).get("details")) or _str(error.get("message")) or ""
    return WebhookError(code if isinstance(code, int) and not isinstance(code, bool) else None,
                        details, phone_number_id, error)


def _preferences(value: Dict[str, Any], where: str) -> List[Event]:
    found: List[Event] = []
    for index, preference in _items(value, "user_preferences"):
        found.append(_guarded(f"{where}.user_preferences[{index}]", lambda p=preference: _preference(p)))
    return found


def _preference(preference: Any) -> Union[PreferenceUpdate, str]:
    if not isinstance(preference, dict):
        return "preference is not an object"
    sender = _str(preference.get("wa_id")) or _str(preference.get("user_id"))
    value = _str(preference.get("value"))
    if not sender or not value:
        return "preference without a customer or a value"
    return PreferenceUpdate(
        sender=sender,
        category=_str(preference.get("category")) or "",
        value=value,
        timestamp=_timestamp(preference.get("timestamp")),
        detail=_str(preference.get("detail")) or "",
    )


def _intent(name: str, entities: Dict[str, Any]) -> str:
    return f"/{name}{json.dumps(entities, separators=(',', ':'))}" if entities else f"/{name}"


def _str(value: Any) -> Optional[str]:
    """A string field as a non-empty string (numbers are accepted as Meta's ids sometimes are), else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(items: Any) -> List[Dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0
    try:
        return int(value)
    except (ValueError, OverflowError):  # "abc", NaN, infinity
        return 0


def _timestamp(value: Any) -> int:
    """Unix seconds, or 0 (unknown) outside what a date can hold: the channel then uses its own clock."""
    seconds = _int(value)
    return seconds if 0 <= seconds <= MAX_TIMESTAMP else 0


def _without_lone_surrogates(payload: Dict[str, Any]) -> Dict[str, Any]:
    """JSON may escape half of a UTF-16 pair ("\\ud800"); such a string cannot be encoded for Redis or Rasa,
    so it is replaced (U+FFFD). The common case, a clean body, costs one encode."""
    try:
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return payload
    except UnicodeEncodeError:
        repaired = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")
        return json.loads(repaired.decode("utf-8", "replace"))
