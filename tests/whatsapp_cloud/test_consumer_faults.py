"""The webhook consumer under faults, on a real Redis: poison entries, failing turns, dead letters and their
replay, a loop that cannot die, claims that outlive long turns, and an unreachable handoff service."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional

from prometheus_client import REGISTRY
from rasa.core.lock_store import LockError

from bot.channels.handoff_routing import HandoffRouting
from cloud_api_standin.app import create_app
from handoff import keys as handoff_keys
from stack.settings import ROOT
from tests.support.helpers import serve_wsgi
from tests.support.sender_harness import CUSTOMER, PHONE_ID, inject, sent, text
from tests.whatsapp_cloud.harness import events_of, text_webhook
from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.events.log import EventLog
from whatsapp_cloud.graph.client import GraphApiClient
from whatsapp_cloud.graph.config import CloudApiConfig
from whatsapp_cloud.outbound.delivery_status import DeliveryStatus
from whatsapp_cloud.outbound.sender import OutboundSender, SenderSettings
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import PolicyStore
from whatsapp_cloud.streams.consumer import WebhookConsumer
from whatsapp_cloud.streams.webhook_stream import Entry, MessageClaims, WebhookStream
from whatsapp_cloud.webhooks import inbound

Handler = Callable[[inbound.InboundMessage], Awaitable[None]]


def metric(name: str, labels: Optional[Dict[str, str]] = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def consume(redis_url: str, bodies: List[bytes], handle: Handler, until: Callable[[], bool],
                  timeout: float = 15.0, name: str = "rasa-test", stream_cls: type = WebhookStream,
                  **options: Any) -> WebhookConsumer:
    """Append `bodies` to the stream and run a consumer until `until()` holds and nothing is pending."""
    store = redis_connection.asyncio(redis_url)
    stream = stream_cls(store, name)
    await stream.ensure_group()
    for body in bodies:
        await stream.append(body)
    handoff = options.pop("handoff_for_test", None)
    options["divert"] = handoff.divert if handoff is not None else None
    consumer = WebhookConsumer(stream, MessageClaims(store, name, **options.pop("claims", {})),
                               DeliveryStatus(store), EventLog(store), handle_message=handle,
                               retry_every=options.pop("retry_every", 0.1), yield_seconds=0, **options)
    task = asyncio.create_task(consumer.run())
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            pending = (await store.xinfo_groups(stream.stream))[0]["pending"]
            if until() and pending == 0 and not task.done():
                break
            await asyncio.sleep(0.05)
        assert not task.done(), "the consumer loop ended"
        assert until(), "the condition was not met in time"
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 5)
        await consumer.drain()
        await store.close()
    return consumer


def test_the_webhook_from_the_issue_no_longer_stops_the_bot(redis_url: str) -> None:
    # entry[].changes[].value.metadata as a number used to raise in parsing and end the consumer task.
    poison = json.loads(text_webhook("wamid.POISON", "broken"))
    poison["entry"][0]["changes"][0]["value"]["metadata"] = 7
    poison["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = {"not": "a string"}
    answered: List[str] = []

    async def handle(message: inbound.InboundMessage) -> None:
        answered.append(message.wamid)

    asyncio.run(consume(redis_url, [json.dumps(poison).encode(), text_webhook("wamid.AFTER", "hello")],
                        handle, lambda: answered == ["wamid.AFTER"]))
    assert events_of(redis_url, "webhook_item_invalid")[0]["where"] == "entry[0].changes[0].messages[0]"


def test_an_entry_that_is_no_webhook_goes_to_the_dead_letters_at_once(redis_url: str) -> None:
    before = metric("whatsapp_webhooks_dead_total", {"reason": "malformed"})
    answered: List[str] = []

    async def handle(message: inbound.InboundMessage) -> None:
        answered.append(message.wamid)

    asyncio.run(consume(redis_url, [b"\x00 not json", text_webhook("wamid.NEXT", "hi")], handle,
                        lambda: answered == ["wamid.NEXT"]))
    client = redis_connection.blocking(redis_url)
    [(_, dead)] = client.xrange(redis_keys.WEBHOOK_DEAD)
    assert dead[b"body"] == b"\x00 not json" and dead[b"kind"] == b"malformed" and dead[b"attempts"] == b"1"
    assert metric("whatsapp_webhooks_dead_total", {"reason": "malformed"}) == before + 1


def test_a_turn_that_keeps_failing_is_buried_after_max_attempts_and_others_go_on(redis_url: str) -> None:
    before = metric("whatsapp_webhooks_dead_total", {"reason": "exhausted"})
    tries: List[str] = []

    async def handle(message: inbound.InboundMessage) -> None:
        tries.append(message.wamid)
        if message.wamid == "wamid.DOWN":
            raise ConnectionError("the bot's backend is down")

    dead = redis_connection.blocking(redis_url)
    asyncio.run(consume(redis_url, [text_webhook("wamid.DOWN", "hi", "111"), text_webhook("wamid.OK", "hi", "222")],
                        handle, lambda: dead.xlen(redis_keys.WEBHOOK_DEAD) == 1, max_attempts=3))
    assert tries.count("wamid.DOWN") == 3 and tries.count("wamid.OK") == 1
    [(_, letter)] = dead.xrange(redis_keys.WEBHOOK_DEAD)
    assert letter[b"kind"] == b"exhausted" and letter[b"attempts"] == b"3"
    assert b"the bot's backend is down" in letter[b"reason"]
    assert metric("whatsapp_webhooks_dead_total", {"reason": "exhausted"}) == before + 1
    assert dead.hlen(redis_keys.WEBHOOK_ATTEMPTS) == 0


def test_a_failure_no_retry_can_fix_is_recorded_with_its_reason_and_replayed_by_command(redis_url: str) -> None:
    before = metric("whatsapp_inbound_messages_total", {"type": "text", "result": "failed"})
    answered: List[str] = []
    broken = {"yes": True}

    async def handle(message: inbound.InboundMessage) -> None:
        if message.wamid == "wamid.BUG" and broken["yes"]:
            raise ValueError("a bug in an action")
        answered.append(message.wamid)

    batch = json.loads(text_webhook("wamid.BUG", "first", "333"))
    batch["entry"] += json.loads(text_webhook("wamid.FINE", "second", "444"))["entry"]
    client = redis_connection.blocking(redis_url)
    asyncio.run(consume(redis_url, [json.dumps(batch).encode()], handle,
                        lambda: client.xlen(redis_keys.WEBHOOK_DEAD) == 1))
    assert answered == ["wamid.FINE"]  # the other message of the same webhook is answered
    [(dead_id, letter)] = client.xrange(redis_keys.WEBHOOK_DEAD)
    assert letter[b"kind"] == b"failed" and b"ValueError: a bug in an action" in letter[b"reason"]
    [failed] = events_of(redis_url, "inbound_failed")
    assert failed["wamid"] == "wamid.BUG" and "a bug in an action" in failed["reason"]
    assert metric("whatsapp_inbound_messages_total", {"type": "text", "result": "failed"}) == before + 1

    listed = subprocess.run([sys.executable, "-m", "tools.dead_letters", "list"], cwd=ROOT,
                            env={**os.environ, "REDIS_URL": redis_url}, capture_output=True, text=True, timeout=60)
    assert dead_id.decode() in listed.stdout and "a bug in an action" in listed.stdout
    replayed = subprocess.run([sys.executable, "-m", "tools.dead_letters", "replay", "--all"],
                              cwd=ROOT, env={**os.environ, "REDIS_URL": redis_url}, capture_output=True,
                              text=True, timeout=60)
    assert replayed.returncode == 0 and "replayed 1" in replayed.stdout
    broken["yes"] = False  # fixed and deployed
    asyncio.run(consume(redis_url, [], handle, lambda: "wamid.BUG" in answered))
    assert answered == ["wamid.FINE", "wamid.BUG"]  # the message answered before is not answered again
    assert client.xlen(redis_keys.WEBHOOK_DEAD) == 0


def test_rasa_lock_errors_are_tried_again_not_dropped(redis_url: str) -> None:
    answered: List[str] = []

    async def handle(message: inbound.InboundMessage) -> None:
        if not answered:
            answered.append("lock busy")
            raise LockError("Could not acquire lock for conversation_id '16505551234'.")
        answered.append(message.wamid)

    asyncio.run(consume(redis_url, [text_webhook("wamid.LOCK", "hi")], handle,
                        lambda: answered == ["lock busy", "wamid.LOCK"], transient_errors=(LockError,)))
    assert redis_connection.blocking(redis_url).xlen(redis_keys.WEBHOOK_DEAD) == 0


class FlakyStream(WebhookStream):
    """A stream whose first read fails with an error nobody expected."""

    failed = False

    async def new_entries(self, count: int = 100, block_ms: int = 1000) -> List[Entry]:
        if not FlakyStream.failed:
            FlakyStream.failed = True
            raise RuntimeError("something nobody expected")
        return await super().new_entries(count, block_ms)


def test_the_consumer_loop_goes_on_after_an_unexpected_error(redis_url: str) -> None:
    FlakyStream.failed = False  # the test runs once per Redis (single, cluster)
    before = metric("whatsapp_consumer_errors_total")
    answered: List[str] = []

    async def handle(message: inbound.InboundMessage) -> None:
        answered.append(message.wamid)

    asyncio.run(consume(redis_url, [text_webhook("wamid.LATER", "hi")], handle, lambda: answered == ["wamid.LATER"],
                        stream_cls=FlakyStream))
    assert FlakyStream.failed and metric("whatsapp_consumer_errors_total") == before + 1


def test_the_claim_is_renewed_while_a_long_turn_runs(redis_url: str) -> None:
    seen_by_other: List[Any] = []

    async def handle(message: inbound.InboundMessage) -> None:
        other = MessageClaims(redis_connection.asyncio(redis_url), "another-process", claim_seconds=1)
        await asyncio.sleep(2.5)  # e.g. a send held back by the pair rate for minutes
        seen_by_other.append(await other.claim(message.wamid))
        await other.store.close()

    asyncio.run(consume(redis_url, [text_webhook("wamid.LONG", "hi")], handle, lambda: bool(seen_by_other),
                        claims={"claim_seconds": 1}))
    assert seen_by_other == [(False, "in progress at rasa-test")]


def test_an_unreachable_handoff_service_holds_up_only_its_own_customer(redis_url: str) -> None:
    # A handoff service that takes the connection and never answers.
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(16)
    client = redis_connection.blocking(redis_url)
    client.hset(handoff_keys.owner("555"), mapping={"state": "agent"})
    answered: Dict[str, float] = {}
    started = time.monotonic()

    async def handle(message: inbound.InboundMessage) -> None:
        answered[message.sender] = time.monotonic() - started

    async def run() -> WebhookConsumer:
        store = redis_connection.asyncio(redis_url)
        consumer = await consume(
            redis_url, [text_webhook("wamid.AGENT", "for the agent", "555"), text_webhook("wamid.BOT", "hi", "666")],
            handle, lambda: client.xlen(redis_keys.WEBHOOK_DEAD) == 1, timeout=30, max_attempts=2,
            max_concurrent_turns=1, handoff_for_test=HandoffRouting(
                store, f"http://127.0.0.1:{black_hole.getsockname()[1]}", "token", timeout=0.3))
        await store.close()
        return consumer

    try:
        asyncio.run(run())
    finally:
        black_hole.close()
    assert answered["666"] < 2  # the other customer did not wait for the handoff service
    assert "555" not in answered  # the bot never answers over the agent
    [(_, letter)] = client.xrange(redis_keys.WEBHOOK_DEAD)
    assert letter[b"kind"] == b"exhausted" and b"handoff service did not take wamid.AGENT" in letter[b"reason"]
    assert len(events_of(redis_url, "handoff_unreachable")) == 2


def test_a_reply_waiting_out_a_refusal_lends_its_turn_slot_to_another_customer(redis_url: str) -> None:
    """One turn at a time: while a customer's reply waits out Meta's refusal (backoff), another customer's
    turn runs. It used to wait for the whole backoff: two replies in backoff stalled a worker for minutes."""
    app = create_app({"WHATSAPP_ACCESS_TOKEN": "tok", "WHATSAPP_APP_SECRET": "sec",
                      "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/"})
    app.test_client().post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "hi"})
    finished: Dict[str, float] = {}
    began: List[float] = []
    started = time.monotonic()

    async def run(url: str) -> None:
        store = redis_connection.asyncio(redis_url)
        policy = PolicyStore(store, PolicyConfig())
        await policy.record_inbound(CUSTOMER, await policy.now(), from_referral=False)  # window open
        client = GraphApiClient(CloudApiConfig(access_token="tok", phone_number_id=PHONE_ID, api_base_url=url))
        # The first try is refused; the second comes after 2 to 6 s of backoff.
        sender = OutboundSender(client, store, SenderSettings(max_attempts=3, backoff_base_seconds=4))

        async def handle(message: inbound.InboundMessage) -> None:
            if message.sender == CUSTOMER:
                began.append(time.monotonic() - started)
                await WebhookStream(store, "rasa-test").append(text_webhook("wamid.NEXT", "hi"))  # comes meanwhile
                assert await sender.send(text("Your parcel is on its way")) is not None
            finished[message.sender] = time.monotonic() - started

        try:
            await consume(redis_url, [text_webhook("wamid.WAITS", "hi", CUSTOMER)],
                          handle, lambda: len(finished) == 2, timeout=30, max_concurrent_turns=1)
        finally:
            await client.aclose()
            await store.close()

    with serve_wsgi(app) as url:
        inject(url, [{"http_status": 500}])
        asyncio.run(run(url))
    assert [m["text"]["body"] for m in sent(app)] == ["Your parcel is on its way"]
    assert finished[CUSTOMER] - began[0] > 2
    assert finished["16505551234"] < finished[CUSTOMER] - 1  # answered while the other reply waited
