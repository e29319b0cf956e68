"""The only module of the handoff service that sends to WhatsApp.

Agent messages go through the platform's one outbound governor (`whatsapp_cloud.outbound.sender.OutboundSender`,
async, on an event loop of its own in each worker process), which applies the messaging policy
(`whatsapp_cloud/policy/`): free text only inside the customer service window, approved templates with
the customer's opt-in outside it. The composer asks the same policy what it may offer; a refused send
says why. Agent sends are decided at once: nothing an agent sends is silently queued for later.
"""

import asyncio
import concurrent.futures
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

import redis

from stack import components
from whatsapp_cloud.graph.client import GraphApiClient, text_payload
from whatsapp_cloud.graph.errors import GraphApiError
from whatsapp_cloud.outbound.media_files import CAPTION_MAX, MediaType, media_payload, media_type
from whatsapp_cloud.outbound.sender import Delivery, OutboundSender
from whatsapp_cloud.policy.decision import Action, Outbound, decide
from whatsapp_cloud.policy.store import SyncPolicyStore
from whatsapp_cloud.policy.templates import TemplateError, TemplateRegistry
from whatsapp_cloud.pricing.cost_ledger import SyncCostLedger

MAX_TEXT = 4096
SEND_TIMEOUT_SECONDS = 120
# The sender stops retrying this long before the agent's request gives up waiting, so a send the agent
# was told failed never goes out afterwards (and their retry, under the same key, sends it once).
DEADLINE_MARGIN_SECONDS = 10


class SendBlocked(Exception):
    """The message may not be sent now; the message says why and what to do instead."""


class SendFailed(Exception):
    """WhatsApp did not take the message (it is in the dead letters with the reason)."""


@dataclass(frozen=True)
class Window:
    """The customer's service window as the policy sees it, and what the composer may offer."""

    closes_at: Optional[float]
    seconds_left: int
    mode: str  # session (free text) | template
    reason: str


class Messenger:
    def __init__(self, env: Mapping[str, str], store: redis.Redis) -> None:
        self._env = env
        self.policy_config = components.policy_config(env)
        self.policy = SyncPolicyStore(store, self.policy_config)
        self.registry = TemplateRegistry.from_file(self.policy_config.templates_file)
        self.cost_ledger = SyncCostLedger(store, *components.pricing(env), retention=self.policy_config.retention)
        self._config = components.cloud_api_config(env)
        self._redis_url = env["REDIS_URL"]
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._sender: Optional[OutboundSender] = None
        self._client: Optional[GraphApiClient] = None
        self._lock = threading.Lock()

    # -- what the composer may offer -------------------------------------------------------

    def window(self, wa_id: str) -> Window:
        snapshot = self.policy.snapshot(wa_id)
        until = snapshot.state.windows.service_until
        decision = decide(snapshot.state, Outbound(), snapshot.now, self.policy_config.rules)
        left = int((until - snapshot.now).total_seconds()) if until else 0
        mode = "session" if decision.action == Action.SEND_SESSION else "template"
        return Window(until.timestamp() if until else None, max(0, left), mode,
                      "" if mode == "session" else "the customer's 24-hour service window is closed: only an "
                      "approved template can be sent until they write again")

    def conversations(self, wa_id: str) -> Dict[str, Any]:
        """Open windows and conversations with their end times, and what the customer has cost so far.

        The windows are the policy's, the ones the composer follows: the panel never tells another story."""
        snapshot = self.policy.snapshot(wa_id)
        return self.cost_ledger.summary(wa_id, at=snapshot.now, windows=snapshot.state.windows).as_dict()

    def templates(self) -> List[Dict[str, Any]]:
        """Approved templates with their parameters, for the template picker."""
        return [{"name": t.name, "language": t.language, "category": t.category, "body": t.body,
                 "parameters": [{"component": component, "name": p.name, "example": p.example,
                                 "max_length": p.max_length}
                                for component in ("header", "body") for p in t.expected(component)]}
                for t in sorted(self.registry, key=lambda t: (t.name, t.language)) if t.usable]

    # -- sending ---------------------------------------------------------------------------

    def send_text(self, wa_id: str, text: str, key: str) -> str:
        if not text.strip():
            raise SendBlocked("the message is empty")
        if len(text) > MAX_TEXT:
            raise SendBlocked(f"the message is longer than WhatsApp's {MAX_TEXT:,} characters")
        window = self.window(wa_id)
        if window.mode != "session":
            raise SendBlocked(window.reason)
        return self._deliver(text_payload(wa_id, text), key, "agent_reply")

    def send_template(self, wa_id: str, name: str, language: str, values: Mapping[str, str],
                      key: str, label: str = "agent_template") -> tuple[str, str]:
        """(wamid, the text the customer reads)."""
        try:
            template = self.registry.build(name, language, values)
        except TemplateError as exc:
            raise SendBlocked(exc.message) from exc
        payload = {"recipient_type": "individual", "to": wa_id, "type": "template", "template": template}
        return self._deliver(payload, key, label), self.registry.render(template)

    def send_media(self, wa_id: str, filename: str, content: bytes, caption: str,
                   key: str) -> tuple[str, str, MediaType]:
        """Upload an image or document to WhatsApp, then send it: (wamid, media id, its type).

        A free-form message: only inside the service window, checked before anything is uploaded.
        A file WhatsApp would not take raises UnsupportedMedia (nothing uploaded)."""
        kind = media_type(filename, content)
        if len(caption) > CAPTION_MAX:
            raise SendBlocked(f"the caption is longer than WhatsApp's {CAPTION_MAX:,} characters")
        window = self.window(wa_id)
        if window.mode != "session":
            raise SendBlocked(window.reason)
        media_id = self._upload(content, kind.mime_type, filename)
        wamid = self._deliver(media_payload(wa_id, kind.kind, media_id, caption, filename), key, "agent_media")
        return wamid, media_id, kind

    def _upload(self, content: bytes, mime_type: str, filename: str) -> str:
        if not self._config.access_token or not self._config.phone_number_id:
            raise SendFailed("WhatsApp is not configured (WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID)")
        self._sender_on_loop()
        assert self._client is not None
        work = self._client.upload_media(content, mime_type, filename)
        try:
            return asyncio.run_coroutine_threadsafe(work, self._event_loop()).result(SEND_TIMEOUT_SECONDS)
        except GraphApiError as exc:
            raise SendFailed(f"WhatsApp did not take the file: {exc}") from exc
        except concurrent.futures.TimeoutError:
            raise SendFailed(f"WhatsApp did not answer the upload within {SEND_TIMEOUT_SECONDS} s") from None

    def _deliver(self, payload: Dict[str, Any], key: str, label: str) -> str:
        if not self._config.access_token or not self._config.phone_number_id:
            raise SendFailed("WhatsApp is not configured (WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID)")
        # may_queue=False: a message the policy would hold back is refused now, never queued behind the agent's
        # back (nor later, when a 131047 re-plans it).
        deadline = time.monotonic() + SEND_TIMEOUT_SECONDS - DEADLINE_MARGIN_SECONDS
        work = self._sender_on_loop().deliver(payload, key=key, label=label, may_queue=False, deadline=deadline)
        delivery: Delivery = asyncio.run_coroutine_threadsafe(work, self._event_loop()).result(SEND_TIMEOUT_SECONDS)
        if delivery.result is not None:
            return delivery.result.wamid
        if delivery.decision is not None and not delivery.decision.sends:
            raise SendBlocked(delivery.decision.reason)
        raise SendFailed("WhatsApp refused the message; it is in the dead letters with the reason")

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="handoff-sender", daemon=True).start()
                self._loop = loop
            return self._loop

    def _sender_on_loop(self) -> OutboundSender:
        # Built once; its redis.asyncio and httpx pools are only used on the sender loop.
        with self._lock:
            if self._sender is None:
                store = components.async_redis_client(self._env, url=self._redis_url)
                self._client = GraphApiClient(self._config)
                self._sender = components.outbound_sender(self._client, store, self._env,
                                                          registry=self.registry, config=self.policy_config)
            return self._sender
