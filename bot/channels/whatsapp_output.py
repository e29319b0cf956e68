"""Rasa's output channel for WhatsApp: every Rasa response type as a Cloud API message.

Text is split above 4,096 characters; up to 3 buttons become reply buttons, 4-10 a list
message, more numbered text (a customer's bare number then picks that option); images and
attachments go by link or media id; `custom` responses are Cloud API bodies, sent as they are.
Everything goes through the outbound governor (messaging policy, pacing, retries, idempotency, dead
letters). A response's template fallback (attached by bot/channels/window_aware_nlg.py) goes with it:
outside the customer service window the policy sends that template instead, once for the whole response.
"""

import json
from typing import Any, Dict, Iterable, List, Optional, Text, Tuple

import redis.asyncio as aioredis
from rasa.core.channels.channel import OutputChannel

from whatsapp_cloud import redis_keys
from whatsapp_cloud.outbound.sender import OutboundSender

FALLBACK_KEY = "wa_template_fallback"  # set by WindowAwareNLG on a response's message dict

TEXT_LIMIT = 4096
BODY_LIMIT = 1024  # interactive message body
MAX_LIST_ROWS = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
ROW_ID_LIMIT = 200
BUTTON_TITLE_LIMIT = 20
MAX_REPLY_BUTTONS = 3


def split_text(text: str, limit: int = TEXT_LIMIT) -> List[str]:
    """Cut `text` into WhatsApp-sized pieces, preferring paragraph, line and word breaks."""
    pieces = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


class WhatsAppOutput(OutputChannel):
    """Sends Rasa responses as WhatsApp messages, through the outbound governor."""

    def __init__(
        self, sender: OutboundSender, turn_key: Optional[str] = None,
        default_fallback: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.sender = sender
        # The template that re-opens the chat for messages without a template of their own.
        self.default_fallback = default_fallback
        # Replies of one turn are numbered under the inbound wamid, so a turn that runs again
        # (after a crash) does not send what already went out.
        self.turn_key = turn_key
        self._sent_in_turn = 0
        self.choices = NumberedChoices(sender.store)
        self._fallback: Optional[Dict[str, Any]] = None
        self._replaced = False  # the current response went out as its template

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        """One response, maybe in several WhatsApp messages; the policy decides once for all its parts."""
        self._fallback = message.pop(FALLBACK_KEY, None) or self.default_fallback
        self._replaced = False
        try:
            await super().send_response(recipient_id, message)
        finally:
            self._fallback, self._replaced = None, False

    @property
    def answered(self) -> bool:
        """Whether the turn gave the customer anything (sent, deferred or refused by the policy)."""
        return self._sent_in_turn > 0

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    async def _send(self, recipient_id: Text, payload: Dict[str, Any], **kwargs: Any) -> None:
        key = None
        if self.turn_key:
            self._sent_in_turn += 1
            key = f"{self.turn_key}:{self._sent_in_turn}"
        label = str(kwargs.get("utter_action") or "")
        if self._replaced and not (self._fallback or {}).get("keep_original"):
            return  # the template already stands for this whole response
        delivery = await self.sender.deliver(
            {"recipient_type": "individual", "to": recipient_id, **payload}, key=key, label=label,
            fallback=None if self._replaced else self._fallback,
        )
        self._replaced = self._replaced or (delivery.replaced_by_template and payload.get("type") != "template")

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for piece in split_text(text):
            await self._send(recipient_id, {"type": "text", "text": {"body": piece}}, **kwargs)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        choices = [(str(b.get("payload") or b.get("title", "")), str(b.get("title", ""))) for b in buttons]
        if len(text) > BODY_LIMIT:  # interactive bodies are short: the text goes first on its own
            await self.send_text_message(recipient_id, text, **kwargs)
            text = "Please choose:"
        if len(choices) <= MAX_REPLY_BUTTONS and all(len(t) <= BUTTON_TITLE_LIMIT for _, t in choices):
            interactive = reply_buttons(text, choices)
        elif len(choices) <= MAX_LIST_ROWS:
            interactive = list_message(text, choices)
        else:
            # Too many for WhatsApp's widgets: numbered text, and the customer's "3" means option 3.
            await self.choices.remember(recipient_id, [payload for payload, _ in choices])
            numbered = "\n".join(f"{i}. {title}" for i, (_, title) in enumerate(choices, 1))
            await self.send_text_message(recipient_id, f"{text}\n\n{numbered}\n\nReply with a number.", **kwargs)
            return
        await self.choices.forget(recipient_id)
        await self._send(recipient_id, {"type": "interactive", "interactive": interactive}, **kwargs)

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, {"type": "image", "image": media_reference(image)}, **kwargs)

    async def send_attachment(self, recipient_id: Text, attachment: Any, **kwargs: Any) -> None:
        if isinstance(attachment, dict):  # {"type": "document", "link"/"id": ..., "filename": ...}
            kind = attachment.get("type", "document")
            body = {k: v for k, v in attachment.items() if k != "type"}
        else:
            kind, body = "document", media_reference(str(attachment))
        await self._send(recipient_id, {"type": kind, kind: body}, **kwargs)

    async def send_elements(self, recipient_id: Text, elements: Iterable[Dict[Text, Any]], **kwargs: Any) -> None:
        for element in elements:
            lines = [element.get("title", ""), element.get("subtitle", "")]
            await self.send_text_with_buttons(
                recipient_id, "\n".join(line for line in lines if line), element.get("buttons", []), **kwargs
            )

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        # A `custom:` response is a Cloud API message body (template, location, CTA URL, ...).
        await self._send(recipient_id, dict(json_message), **kwargs)


class NumberedChoices:
    """Options sent as numbered text, so a bare number from the customer can become its payload."""

    KEEP_SECONDS = 24 * 3600

    def __init__(self, store: aioredis.Redis) -> None:
        self.store = store

    async def remember(self, recipient: str, payloads: List[str]) -> None:
        await self.store.set(redis_keys.numbered_choices(recipient), json.dumps(payloads), ex=self.KEEP_SECONDS)

    async def forget(self, recipient: str) -> None:
        await self.store.delete(redis_keys.numbered_choices(recipient))

    async def resolve(self, recipient: str, text: str) -> str:
        """The payload of option `text` if it is a number we offered, else `text` unchanged."""
        number = text.strip().rstrip(".")
        if not number.isdigit():
            return text
        stored = await self.store.get(redis_keys.numbered_choices(recipient))
        payloads = json.loads(stored) if stored else []
        index = int(number) - 1
        if 0 <= index < len(payloads):
            await self.forget(recipient)
            return payloads[index]
        return text


def reply_buttons(text: str, choices: List[Tuple[str, str]]) -> Dict[str, Any]:
    return {
        "type": "button",
        "body": {"text": text},
        "action": {"buttons": [{"type": "reply", "reply": {"id": p, "title": t}} for p, t in choices]},
    }


def list_message(text: str, choices: List[Tuple[str, str]]) -> Dict[str, Any]:
    rows = []
    for payload, title in choices:
        row = {"id": payload[:ROW_ID_LIMIT], "title": _shorten(title, ROW_TITLE_LIMIT)}
        if len(title) > ROW_TITLE_LIMIT:
            row["description"] = _shorten(title, ROW_DESCRIPTION_LIMIT)
        rows.append(row)
    return {
        "type": "list",
        "body": {"text": text},
        "action": {"button": "Choose", "sections": [{"rows": rows}]},
    }


def media_reference(value: str) -> Dict[str, str]:
    """A link when it looks like one, else an uploaded media id."""
    return {"link": value} if value.startswith(("http://", "https://")) else {"id": value}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
