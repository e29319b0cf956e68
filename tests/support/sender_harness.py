"""An outbound sender (no policy gate) on a real Redis, sending to the Cloud API stand-in over real HTTP."""

import asyncio
from typing import Any, List

import requests

from whatsapp_cloud import redis_connection
from whatsapp_cloud.graph.client import GraphApiClient
from whatsapp_cloud.graph.config import CloudApiConfig
from whatsapp_cloud.outbound.sender import OutboundSender, SenderSettings
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import PolicyStore

CUSTOMER = "15551230001"
PHONE_ID = "100000000000001"
FAST = SenderSettings(max_attempts=4, backoff_base_seconds=0.01, backoff_max_seconds=0.05)


def text(body: str) -> dict:
    return {"to": CUSTOMER, "type": "text", "text": {"body": body}}


def with_sender(url: str, redis_url: str, work: Any, settings: SenderSettings = FAST) -> Any:
    async def go() -> Any:
        store = redis_connection.asyncio(redis_url)
        client = GraphApiClient(CloudApiConfig(access_token="tok", phone_number_id=PHONE_ID, api_base_url=url))
        # The customer wrote just now (the fixture's "hi"): their service window is open.
        policy = PolicyStore(store, PolicyConfig())
        await policy.record_inbound(CUSTOMER, await policy.now(), from_referral=False)
        try:
            return await work(OutboundSender(client, store, settings))
        finally:
            await client.aclose()
            await store.close()

    return asyncio.run(go())


def sent(app: Any) -> List[dict]:
    return [r["message"] for r in app.extensions["standin_outbox"].after(0)]


def inject(url: str, faults: List[dict]) -> None:
    """The stand-in refuses the next sends as listed ([{"code": 130429, "http_status": 400}, ...])."""
    assert requests.post(f"{url}/_standin/faults", json=faults, timeout=5).status_code == 200
