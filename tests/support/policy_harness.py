"""The send path against the Cloud API stand-in over real HTTP: an outbound sender with the policy gate and
its hooks on a real Redis (`scenario`), what the tests send, and what customers and Meta send back."""

import asyncio
import time
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Tuple

from cloud_api_standin.app import create_app
from tests.support.helpers import serve_wsgi
from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.graph.client import GraphApiClient
from whatsapp_cloud.graph.config import CloudApiConfig
from whatsapp_cloud.outbound.sender import OutboundSender, SenderSettings
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.consent import SCOPES
from whatsapp_cloud.policy.gate import PolicyGate
from whatsapp_cloud.policy.hooks import PolicyHooks
from whatsapp_cloud.policy.templates import TemplateRegistry
from whatsapp_cloud.webhooks import inbound

CUSTOMER = "15551230001"
OTHER = "15551230002"
PHONE_ID = "100000000000001"
FAST = SenderSettings(max_attempts=2, backoff_base_seconds=0.01, backoff_max_seconds=0.02)
CONFIG = PolicyConfig()
REGISTRY = TemplateRegistry.from_file(CONFIG.templates_file)
H = timedelta(hours=1)


@contextmanager
def standin() -> Iterator[Tuple[str, Any]]:
    """The Cloud API stand-in over real HTTP, without status webhooks."""
    app = create_app({
        "WHATSAPP_ACCESS_TOKEN": "tok", "WHATSAPP_APP_SECRET": "sec", "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/", "STANDIN_STATUSES": "off",
    })
    with serve_wsgi(app) as url:
        yield url, app


def text(body: str, to: str = CUSTOMER) -> Dict[str, Any]:
    return {"recipient_type": "individual", "to": to, "type": "text", "text": {"body": body}}


def order_update(order_id: str = "1001") -> Dict[str, Any]:
    return {"template": REGISTRY.build("order_update", "en_US", {"order_id": order_id, "status": "shipped"}),
            "keep_original": False}


def followup() -> Dict[str, Any]:
    return {"template": REGISTRY.build("conversation_followup", "en_US", {}), "keep_original": True}


class Harness:
    def __init__(self, sender: OutboundSender, app: Any) -> None:
        self.sender = sender
        self.state = sender.policy.state
        self.hooks = PolicyHooks(sender, "Harbour Home Goods")
        self.app = app

    def sent(self, to: str = CUSTOMER) -> List[Dict[str, Any]]:
        return [r["message"] for r in self.app.extensions["standin_outbox"].after(0, to=to)]

    def refusals(self) -> List[Dict[str, Any]]:
        return list(self.app.extensions["standin_refusals"])

    async def customer_wrote(self, hours_ago: float, to: str = CUSTOMER, referral: bool = False) -> None:
        """The customer wrote `hours_ago` (the stand-in sees it too, as Meta would)."""
        at = await self.state.now() - hours_ago * H
        self.app.test_client().post(f"/_standin/customers/{to}/messages",
                                    json={"text": "hi", "timestamp": int(at.timestamp())})
        await self.state.record_inbound(to, at, from_referral=referral)

    async def opted_in(self, to: str = CUSTOMER, scopes: Tuple[str, ...] = SCOPES) -> None:
        await self.state.record_consent(to, "in", scopes, "checkout_page", "Send me updates on WhatsApp")

    async def events(self, kind: str) -> List[Dict[str, str]]:
        entries = await self.sender.store.xrange(redis_keys.EVENT_STREAM)
        found = [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]
        return [e for e in found if e["kind"] == kind]


def scenario(graph: Tuple[str, Any], redis_url: str, work: Callable[[Harness], Awaitable[Any]],
             config: PolicyConfig = CONFIG) -> Any:
    url, app = graph

    async def go() -> Any:
        store = redis_connection.asyncio(redis_url)
        client = GraphApiClient(CloudApiConfig(access_token="tok", phone_number_id=PHONE_ID, api_base_url=url))
        sender = OutboundSender(client, store, FAST, policy=PolicyGate(store, config))
        try:
            return await work(Harness(sender, app))
        finally:
            await client.aclose()
            await store.close()

    return asyncio.run(go())


def message(text_: str, hours_ago: float = 0, kind: str = "text", referral: bool = False,
            now: float = 0) -> inbound.InboundMessage:
    return inbound.InboundMessage(
        wamid=f"wamid.{text_}-{hours_ago}", sender=CUSTOMER, timestamp=int(now - hours_ago * 3600), type=kind,
        text=text_, phone_number_id=PHONE_ID, referral={"source_type": "ad"} if referral else None)


def customer_message(h: Harness, body: str, wamid: str, to: str = CUSTOMER) -> inbound.InboundMessage:
    """The customer writes now: the stand-in sees it (as Meta would) and the channel gets its event."""
    h.app.test_client().post(f"/_standin/customers/{to}/messages", json={"text": body})
    return inbound.InboundMessage(wamid, to, int(time.time()), "text", body, PHONE_ID)


def failed_status(wamid: str, code: int, to: str = CUSTOMER) -> inbound.StatusUpdate:
    return inbound.StatusUpdate(wamid, "failed", int(time.time()), to, PHONE_ID,
                                errors=[{"code": code, "title": "failed"}])
