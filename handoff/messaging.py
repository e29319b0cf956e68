"""The only module of the handoff service that sends to WhatsApp, and the one place for window rules here.

Agent replies go through the platform's one outbound governor (`whatsapp_cloud.sender.OutboundSender`,
async) on an event loop of its own in each worker process. Inside the customer service window an
agent may send free text; outside it only an approved template; a blocked send says why.
"""

import asyncio
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import redis
import redis.asyncio as aioredis
import yaml

from handoff import keys
from whatsapp_cloud.client import GraphApiClient, text_payload
from whatsapp_cloud.config import DEFAULT_API_BASE_URL, DEFAULT_API_VERSION, CloudApiConfig
from whatsapp_cloud.policy.windows import WindowConfig
from whatsapp_cloud.policy.windows import Windows as CustomerWindows
from whatsapp_cloud.sender import OutboundSender

WINDOW_RULES = WindowConfig()
MAX_TEXT = 4096
TEMPLATES_FILE = Path(__file__).resolve().parent.parent / "whatsapp_templates.yml"


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
    """When each customer last wrote (their own timestamp); the window rules are the platform policy's."""

    def __init__(self, store: redis.Redis) -> None:
        self.redis = store

    def customer_wrote(self, wa_id: str, at: float) -> None:
        # Never moves backwards: a late webhook of an older message does not shorten the window.
        self.redis.eval("local v = tonumber(redis.call('GET', KEYS[1]) or '0') "
                        "if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1]) end",
                        1, keys.window(wa_id), repr(at))

    def closes_at(self, wa_id: str) -> Optional[float]:
        last = self.redis.get(keys.window(wa_id))
        return None if last is None else float(last) + WINDOW_RULES.service.total_seconds()

    def decide(self, wa_id: str, now: Optional[float] = None) -> Decision:
        closes = self.closes_at(wa_id)
        windows = CustomerWindows(service_until=None if closes is None else _utc(closes))
        if windows.service_open(_utc(time.time() if now is None else now)):
            return Decision("session")
        return Decision("template", "the customer's 24-hour service window is closed: only an approved "
                                    "template can be sent until they write again")


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, tz=timezone.utc)


def load_templates(path: Path = TEMPLATES_FILE) -> List[Template]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text()) or {}
    entries = data.get("templates", data) if isinstance(data, dict) else data
    templates = []
    for entry in entries or []:
        templates.append(Template(entry["name"], entry.get("language", "en"), entry.get("body", ""),
                                  list(entry.get("params") or []), entry.get("category", "utility")))
    return templates


def template_payload(to: str, template: Template, values: List[str]) -> Dict[str, Any]:
    body: Dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if values:
        body["components"] = [{"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}]
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
        if len(text) > MAX_TEXT:
            raise SendBlocked(f"the message is longer than WhatsApp's {MAX_TEXT:,} characters")
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
