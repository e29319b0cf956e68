"""Rasa input and output channel for WhatsApp's Cloud API.

Inbound: the webhook at /webhooks/whatsapp/webhook answers Meta's GET handshake, checks
every POST's signature over the raw body, acknowledges at once and runs the dialogue turn
in the background (Meta retries slow answers, which would duplicate turns).
Outbound: every Rasa response goes out through the shared Graph API client.
"""

import asyncio
import logging
import secrets
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from whatsapp_cloud import inbound, signature
from whatsapp_cloud.client import GraphApiClient
from whatsapp_cloud.config import DEFAULT_API_BASE_URL, DEFAULT_API_VERSION, CloudApiConfig
from whatsapp_cloud.errors import GraphApiError

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096
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
    """Sends Rasa responses as WhatsApp messages."""

    def __init__(self, client: GraphApiClient) -> None:
        self.client = client

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    async def _send(self, recipient_id: Text, payload: Dict[str, Any]) -> None:
        try:
            await self.client.send({"recipient_type": "individual", "to": recipient_id, **payload})
        except GraphApiError as exc:
            logger.error("whatsapp send to %s failed: %s", recipient_id, exc)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for piece in split_text(text):
            await self._send(recipient_id, {"type": "text", "text": {"body": piece}})

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        fits = len(buttons) <= MAX_REPLY_BUTTONS and all(
            len(b.get("title", "")) <= BUTTON_TITLE_LIMIT for b in buttons
        )
        if not fits:
            numbered = "\n".join(f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, 1))
            await self.send_text_message(recipient_id, f"{text}\n\n{numbered}")
            return
        await self._send(
            recipient_id,
            {
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": text},
                    "action": {
                        "buttons": [
                            {
                                "type": "reply",
                                "reply": {"id": b.get("payload") or b["title"], "title": b["title"]},
                            }
                            for b in buttons
                        ]
                    },
                },
            },
        )

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, {"type": "image", "image": {"link": image}})

    async def send_attachment(self, recipient_id: Text, attachment: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, {"type": "document", "document": {"link": attachment}})

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        # A `custom:` response is a Cloud API message body (template, location, CTA URL, ...).
        await self._send(recipient_id, dict(json_message))


class WhatsAppInput(InputChannel):
    """Receives WhatsApp webhooks and feeds them to Rasa."""

    def __init__(self, config: CloudApiConfig, mark_read: bool = True) -> None:
        if not config.app_secrets:
            raise ValueError("the WhatsApp channel needs app_secret to check webhook signatures")
        if not config.verify_token:
            raise ValueError("the WhatsApp channel needs verify_token for Meta's handshake")
        self.config = config
        self.mark_read = mark_read
        self._client: Optional[GraphApiClient] = None
        self._turns: Set[asyncio.Task] = set()

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "InputChannel":
        if not credentials:
            cls.raise_missing_credentials_exception()
        secrets_ = (credentials.get("app_secret"), credentials.get("app_secret_previous"))
        config = CloudApiConfig(
            access_token=str(credentials.get("access_token") or ""),
            phone_number_id=str(credentials.get("phone_number_id") or ""),
            api_base_url=credentials.get("api_base_url") or DEFAULT_API_BASE_URL,
            api_version=credentials.get("api_version") or DEFAULT_API_VERSION,
            verify_token=str(credentials.get("verify_token") or ""),
            app_secrets=tuple(str(s) for s in secrets_ if s),
        )
        mark_read = str(credentials.get("mark_read", True)).lower() not in ("false", "0", "no")
        return cls(config, mark_read=mark_read)

    @property
    def client(self) -> GraphApiClient:
        # Created on first use, inside Sanic's event loop, and reused for every send.
        if self._client is None:
            self._client = GraphApiClient(self.config)
        return self._client

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WhatsAppOutput(self.client)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        hook = Blueprint("whatsapp_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "channel": self.name()})

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            mode = request.args.get("hub.mode")
            token = request.args.get("hub.verify_token") or ""
            challenge = request.args.get("hub.challenge") or ""
            if mode == "subscribe" and secrets.compare_digest(token, self.config.verify_token):
                return response.text(challenge)
            return response.text("Forbidden", status=403)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            raw = request.body or b""
            header = request.headers.get(signature.HEADER)
            if not header:
                return response.json({"error": f"missing {signature.HEADER} header"}, status=401)
            if not signature.is_valid(raw, header, self.config.app_secrets):
                logger.warning("rejected a webhook with a bad signature")
                return response.json({"error": "signature does not match"}, status=403)
            try:
                payload = inbound.load(raw)
            except inbound.MalformedWebhook as exc:
                return response.json({"error": str(exc)}, status=400)
            for message in inbound.messages(payload):
                self._start_turn(on_new_message, message)
            return response.json({"status": "received"})

        return hook

    def _start_turn(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: inbound.InboundMessage
    ) -> None:
        task = asyncio.create_task(self._run_turn(on_new_message, message))
        # Keep a reference until done: the event loop holds tasks only weakly.
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)

    async def _run_turn(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: inbound.InboundMessage
    ) -> None:
        if self.mark_read:
            try:
                await self.client.mark_read(message.wamid, typing_indicator=message.text is not None)
            except GraphApiError as exc:
                logger.warning("could not mark %s as read: %s", message.wamid, exc)
        if message.text is None:
            logger.info("no text in %s message %s; not handled yet", message.type, message.wamid)
            return
        try:
            await on_new_message(
                UserMessage(
                    text=message.text,
                    output_channel=WhatsAppOutput(self.client),
                    sender_id=message.sender,
                    input_channel=self.name(),
                    message_id=message.wamid,
                    metadata=message.metadata(),
                )
            )
        except Exception:  # one failed turn must not take the webhook down
            logger.exception("dialogue turn for %s failed", message.wamid)
