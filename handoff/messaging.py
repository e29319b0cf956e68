"""The only module of the handoff service that sends to WhatsApp, and the one place for window rules here.

Agent replies go through the platform's one outbound governor (`whatsapp_cloud.sender.OutboundSender`,
async) on an event loop of its own in each worker process. Inside the customer service window an
agent may send free text; outside it only an approved template; a blocked send says why.
"""

import asyncio
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import redis
import redis.asyncio as aioredis

from whatsapp_cloud.client import GraphApiClient, text_payload
from whatsapp_cloud.config import DEFAULT_API_BASE_URL, DEFAULT_API_VERSION, CloudApiConfig
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import SyncPolicyStore
from whatsapp_cloud.policy.templates import TemplateError, TemplateRegistry
from whatsapp_cloud.sender import OutboundSender

TEMPLATES_FILE = Path(__file__).resolve().parent.parent / "whatsapp_templates.yml"
DEFAULT_LANGUAGE = "en_US"


class SendBlocked(Exception):
    """The message may not be sent now; the message says why and what to do instead."""


class SendFailed(Exception):
    """WhatsApp did not take the message (it is in the dead letters with the reason)."""


@dataclass(frozen=True)
class Decision:
    kind: str  # session | template | block
    reason: str = ""


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    body: str
    params: List[str]
    category: str = "utility"


class Windows:
    """Each customer's service window, as the platform's messaging policy records it (whatsapp_cloud/policy/):
    the channel refreshes it from every customer message's own timestamp, whoever answers it."""

    def __init__(self, store: redis.Redis) -> None:
        self.policy = SyncPolicyStore(store, PolicyConfig.from_env())

    def customer_wrote(self, wa_id: str, at: float) -> None:
        # Never moves backwards: a late webhook of an older message does not shorten the window.
        self.policy.record_inbound(wa_id, _utc(at), from_referral=False)

    def closes_at(self, wa_id: str) -> Optional[float]:
        until = self.policy.snapshot(wa_id).state.windows.service_until
        return None if until is None else until.timestamp()

    def decide(self, wa_id: str, now: Optional[float] = None) -> Decision:
        snapshot = self.policy.snapshot(wa_id)
        if snapshot.state.windows.service_open(snapshot.now if now is None else _utc(now)):
            return Decision("session")
        return Decision("template", "the customer's 24-hour service window is closed: only an approved "
                                    "template can be sent until they write again")


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, tz=timezone.utc)


def load_templates(path: Path = TEMPLATES_FILE, language: str = DEFAULT_LANGUAGE) -> List[Template]:
    """The approved templates of the registry (whatsapp_cloud/policy/templates.py), one per name, in
    `language` when the template has it; placeholders numbered {{1}}, {{2}}, ... in parameter order."""
    if not path.exists():
        return []
    chosen: Dict[str, Any] = {}
    for template in _registry(path):
        if template.usable and (template.name not in chosen or template.language == language):
            chosen[template.name] = template
    templates = []
    for template in chosen.values():
        params = [p.name for c in ("header", "body") for p in template.expected(c)]
        body = "\n".join(part for part in (template.header, template.body) if part)
        for number, name in enumerate(params, start=1):
            body = body.replace("{{%s}}" % name, "{{%d}}" % number)
        templates.append(Template(template.name, template.language, body, params, template.category.lower()))
    return templates


@lru_cache(maxsize=4)
def _registry(path: Path) -> TemplateRegistry:
    return TemplateRegistry.from_file(path)


def template_payload(to: str, template: Template, values: List[str]) -> Dict[str, Any]:
    # The registry fills the parameters as Meta expects them (named or positional, buttons included).
    try:
        body = _registry(TEMPLATES_FILE).build(template.name, template.language,
                                               dict(zip(template.params, values, strict=True)))
    except (TemplateError, ValueError) as exc:
        raise SendBlocked(f"template {template.name}: {exc}") from exc
    return {"recipient_type": "individual", "to": to, "type": "template", "template": body}


class Messenger:
    """Sends agent messages through the outbound governor, on a private event loop per process."""

    def __init__(self, env: Mapping[str, str], store: redis.Redis) -> None:
        self.windows = Windows(store)
        self.templates = {t.name: t for t in load_templates()}
        self._config = CloudApiConfig(
            access_token=env.get("WHATSAPP_ACCESS_TOKEN", ""),
            phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
            api_base_url=env.get("WHATSAPP_API_BASE_URL") or DEFAULT_API_BASE_URL,
            api_version=env.get("WHATSAPP_API_VERSION") or DEFAULT_API_VERSION,
        )
        self._redis_url = env["REDIS_URL"]
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._sender: Optional[OutboundSender] = None
        self._lock = threading.Lock()

    def send_text(self, wa_id: str, text: str, key: str) -> str:
        decision = self.windows.decide(wa_id)
        if decision.kind != "session":
            raise SendBlocked(decision.reason)
        if not text.strip():
            raise SendBlocked("the message is empty")
        return self._send(text_payload(wa_id, text), key, "agent_reply")

    def send_template(self, wa_id: str, name: str, values: List[str], key: str) -> tuple[str, str]:
        """(wamid, the text the customer sees)."""
        template = self.templates.get(name)
        if template is None:
            raise SendBlocked(f"{name!r} is not an approved template")
        if len(values) != len(template.params) or any(not v.strip() for v in values):
            raise SendBlocked(f"template {name} needs {len(template.params)} values: {', '.join(template.params)}")
        shown = template.body
        for number, value in enumerate(values, start=1):
            shown = shown.replace("{{%d}}" % number, value)
        return self._send(template_payload(wa_id, template, values), key, "agent_template"), shown

    def _send(self, payload: Dict[str, Any], key: str, label: str) -> str:
        if not self._config.access_token or not self._config.phone_number_id:
            raise SendFailed("WhatsApp is not configured (WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID)")
        future = asyncio.run_coroutine_threadsafe(self._sender_on_loop().send(payload, key=key, label=label),
                                                  self._event_loop())
        result = future.result(timeout=120)
        if result is None:
            raise SendFailed("WhatsApp refused the message; it is in the dead letters with the reason")
        return result.wamid

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="handoff-sender", daemon=True).start()
                self._loop = loop
            return self._loop

    def _sender_on_loop(self) -> OutboundSender:
        # Built once, used only on the sender loop (redis.asyncio and httpx pools belong to it).
        with self._lock:
            if self._sender is None:
                client = GraphApiClient(self._config)
                self._sender = OutboundSender(client, aioredis.Redis.from_url(self._redis_url))
            return self._sender
