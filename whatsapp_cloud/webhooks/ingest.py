"""The steps between Meta's POST and its 200: size limit, signature, shape, durable append.

Web-framework free, so every process that receives webhooks (the Rasa channel today, a separate ingest
process tomorrow) answers Meta the same way. Nothing is acknowledged before it is in the stream: a
webhook that cannot be stored gets a 503 and Meta delivers it again.
"""

import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence

from redis.exceptions import RedisError

from whatsapp_cloud import metrics
from whatsapp_cloud.streams.webhook_stream import WebhookStream
from whatsapp_cloud.webhooks import inbound, signature

logger = logging.getLogger(__name__)

# Meta's payloads are at most 3 MB; anything much larger is not from Meta.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    """What to answer Meta: HTTP status and JSON body."""

    status: int
    body: Dict[str, Any] = field(default_factory=dict)


class WebhookIngest:
    def __init__(self, stream: WebhookStream, app_secrets: Sequence[str], verify_token: str,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 on_accepted: Optional[Callable[[], None]] = None) -> None:
        if not app_secrets:
            raise ValueError("webhook intake needs the app secret to check signatures")
        if not verify_token:
            raise ValueError("webhook intake needs the verify token for Meta's handshake")
        self.stream = stream
        self.app_secrets = tuple(app_secrets)
        self.verify_token = verify_token
        self.max_body_bytes = max_body_bytes
        self.on_accepted = on_accepted  # told of every webhook that passed the checks (turn pacing)

    def handshake(self, mode: Optional[str], token: Optional[str], challenge: Optional[str]) -> Optional[str]:
        """The challenge to echo for Meta's GET subscription check, or None to refuse it (403)."""
        if mode == "subscribe" and secrets.compare_digest((token or "").encode(), self.verify_token.encode()):
            return challenge or ""
        return None

    async def receive(self, raw: bytes, signature_header: Optional[str]) -> Answer:
        started = time.perf_counter()
        if len(raw) > self.max_body_bytes:
            return _refused("too_large", f"body over {self.max_body_bytes} bytes", 413)
        if not signature_header:
            return _refused("missing_signature", f"missing {signature.HEADER} header", 401)
        if not signature.is_valid(raw, signature_header, self.app_secrets):
            logger.warning("rejected a webhook with a bad signature")
            return _refused("bad_signature", "signature does not match", 403)
        try:
            payload = inbound.load(raw)
        except inbound.MalformedWebhook as exc:
            return _refused("malformed", str(exc), 400)
        if self.on_accepted is not None:
            self.on_accepted()
        # Each customer whose messages it carries gets their next ticket with it (customer_order.py).
        customers = [message.sender for message in inbound.messages(payload)]
        try:
            await self.stream.append(raw, customers)
        except RedisError as exc:
            # Not stored, so not acknowledged: Meta delivers it again later.
            logger.error("could not store a webhook: %s", exc)
            return _refused("unavailable", "temporarily unavailable", 503)
        metrics.WEBHOOKS.labels("accepted").inc()
        metrics.WEBHOOK_ACK_SECONDS.observe(time.perf_counter() - started)
        return Answer(200, {"status": "received"})


def _refused(outcome: str, reason: str, status: int) -> Answer:
    metrics.WEBHOOKS.labels(outcome).inc()
    return Answer(status, {"error": reason})
