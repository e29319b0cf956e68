"""Campaign tests: the stand-in over real HTTP, a real Redis, and the platform's delivery records kept from
the stand-in's status webhooks (as the WhatsApp channel keeps them)."""

import asyncio
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import pytest
import redis
import redis.asyncio as aioredis
from flask import Flask, request

from campaigns.sending import CampaignSender
from campaigns.service import Campaigns
from campaigns.settings import CampaignSettings
from campaigns.worker import Worker
from cloud_api_standin.app import create_app as create_standin
from stack import components
from tests.support import channel_harness
from tests.support.helpers import serve_wsgi
from whatsapp_cloud.graph.client import GraphApiClient
from whatsapp_cloud.outbound.delivery_status import DeliveryStatus
from whatsapp_cloud.outbound.sender import SenderSettings
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import SyncPolicyStore
from whatsapp_cloud.webhooks import inbound

PHONE_ID = "100000000000001"
WA_TOKEN = "standin-token"
FAST = SenderSettings(max_attempts=3, backoff_base_seconds=0.01, backoff_max_seconds=0.05)


def status_sink(redis_url: str) -> Flask:
    """Receives the stand-in's webhooks and records statuses with the platform's DeliveryStatus."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    statuses = asyncio.run_coroutine_threadsafe(_statuses(redis_url), loop).result()
    sink = Flask("sink")

    @sink.post("/webhook")
    def webhook() -> Any:
        for event in inbound.events(request.get_json(silent=True) or {}):
            if isinstance(event, inbound.StatusUpdate):
                asyncio.run_coroutine_threadsafe(statuses.apply(event), loop).result(10)
        return "", 200

    return sink


async def _statuses(redis_url: str) -> DeliveryStatus:
    return DeliveryStatus(aioredis.Redis.from_url(redis_url))


@dataclass
class Setup:
    env: Dict[str, str]
    standin_url: str
    standin: Flask
    redis_url: str

    @property
    def campaigns(self) -> Campaigns:
        return Campaigns(redis.Redis.from_url(self.redis_url, decode_responses=True), self.env)

    @property
    def policy(self) -> SyncPolicyStore:
        return SyncPolicyStore(redis.Redis.from_url(self.redis_url), components.policy_config(self.env))

    def outbox(self) -> List[Dict[str, Any]]:
        return self.standin.extensions["standin_outbox"].after(0)

    def consent(self, wa_id: str, status: str, scopes: Sequence[str], source: str = "website") -> None:
        self.policy.record_consent(wa_id, status, tuple(scopes), source, "Send me offers on WhatsApp")

    def stop_marketing_at_meta(self, wa_id: str) -> None:
        self.standin.test_client().post(f"/_standin/customers/{wa_id}/preferences", json={"marketing": "stop"})

    def faults(self, faults: List[Dict[str, Any]]) -> None:
        self.standin.test_client().post("/_standin/faults", json=faults)

    def work(self, until: Any, rounds: int = 200) -> None:
        """Run the worker's rounds in this process until `until(campaigns)` holds (bounded by rounds)."""
        async def go() -> None:
            store = aioredis.Redis.from_url(self.redis_url)
            client = GraphApiClient(components.cloud_api_config(self.env))
            sender = components.outbound_sender(client, store, self.env, settings=FAST)
            settings = CampaignSettings.from_env(self.env)
            worker = Worker(CampaignSender(sender, store, settings), store, settings)
            try:
                for _ in range(rounds):
                    await worker.tick()
                    if until(self.campaigns):
                        return
                    await asyncio.sleep(0.05)
                raise AssertionError("the worker did not get there")
            finally:
                await client.aclose()
                await store.close()

        asyncio.run(go())


def env_for(redis_url: str, standin_url: str, **overrides: str) -> Dict[str, str]:
    return {"REDIS_URL": redis_url, "WHATSAPP_ACCESS_TOKEN": WA_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
            "WHATSAPP_API_BASE_URL": standin_url, "WHATSAPP_MESSAGING_LIMIT_TIER": "unlimited", **overrides}


@contextmanager
def running(redis_url: str, statuses: bool = True, **overrides: str) -> Iterator[Setup]:
    with ExitStack() as stack:
        sink = stack.enter_context(serve_wsgi(status_sink(redis_url)))
        standin = create_standin({
            "WHATSAPP_ACCESS_TOKEN": WA_TOKEN, "WHATSAPP_APP_SECRET": "secret", "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
            "STANDIN_WEBHOOK_URL": sink + "/webhook", "STANDIN_STATUSES": "on" if statuses else "off",
            "STANDIN_STATUS_DELAY": "0", "STANDIN_THROUGHPUT": "1000",
        })
        url = stack.enter_context(serve_wsgi(standin))
        yield Setup(env_for(redis_url, url, **overrides), url, standin, redis_url)


def numbers(prefix: str, count: int) -> List[str]:
    return [f"{prefix}{i:05d}" for i in range(count)]


def rows(wa_ids: Sequence[str], **values: str) -> List[Dict[str, Any]]:
    return [{"wa_id": w, "values": dict(values)} for w in wa_ids]


def state_is(cid: str, *states: str) -> Any:
    return lambda campaigns: campaigns.get(cid)["state"] in states


def by_status(campaigns: Campaigns, cid: str) -> Dict[str, List[Dict[str, Any]]]:
    found: Dict[str, List[Dict[str, Any]]] = {}
    for record in campaigns.recipients(cid, limit=100_000):
        found.setdefault(record["status"], []).append(record)
    return found


def pairs(records: Sequence[Dict[str, Any]], field: str) -> List[Tuple[str, str]]:
    return sorted((r["wa_id"], r.get(field, "")) for r in records)


@pytest.fixture()
def channel_graph(redis_url: str) -> Iterator[str]:
    """The WhatsApp channel of `tests.support.channel_harness` on the test's Redis, sending to a stand-in; the
    customer wrote just now and opted in, so the channel answers as it would."""
    channel_harness.REDIS_URL = redis_url
    store = SyncPolicyStore(redis.Redis.from_url(redis_url), PolicyConfig())
    store.record_inbound(channel_harness.CUSTOMER, store.now(), from_referral=False)
    store.record_consent(channel_harness.CUSTOMER, "in", ("utility", "marketing"), "checkout_page", "Updates")
    app = create_standin({"WHATSAPP_ACCESS_TOKEN": "tok", "WHATSAPP_APP_SECRET": channel_harness.SECRET,
                          "WHATSAPP_PHONE_NUMBER_ID": channel_harness.PHONE_ID,
                          "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/"})
    app.test_client().post(f"/_standin/customers/{channel_harness.CUSTOMER}/messages", json={"text": "hello"})
    with serve_wsgi(app) as url:
        yield url
