"""The outbound governor against the stand-in over real HTTP, with a real Redis."""

import asyncio
from dataclasses import replace
from typing import Any, Iterator, List, Optional, Tuple

import pytest
import redis
import redis.asyncio as aioredis

from cloud_api_standin.app import create_app
from tests.support.helpers import serve_wsgi
from tests.support.sender_harness import CUSTOMER, FAST, PHONE_ID, inject, sent, text, with_sender
from whatsapp_cloud import redis_keys
from whatsapp_cloud.graph.client import SendResult
from whatsapp_cloud.outbound.sender import OutboundSender, SenderSettings
from whatsapp_cloud.outbound.throttle import TokenBucket


@pytest.fixture()
def graph() -> Iterator[Tuple[str, Any]]:
    app = create_app({
        "WHATSAPP_ACCESS_TOKEN": "tok", "WHATSAPP_APP_SECRET": "sec",
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/",
    })
    app.test_client().post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "hi"})
    with serve_wsgi(app) as url:
        yield url, app


def test_transient_refusals_are_retried_and_the_message_delivered_once(graph: Tuple[str, Any], redis_url: str) -> None:
    url, app = graph
    inject(url, [{"http_status": 500}, {"code": 130429, "http_status": 400}, {"code": 131000, "http_status": 500}])
    result = with_sender(url, redis_url, lambda s: s.send(text("Your parcel is on its way")))
    assert isinstance(result, SendResult)
    assert [m["text"]["body"] for m in sent(app)] == ["Your parcel is on its way"]


def test_the_default_tries_outlast_a_run_of_passing_refusals(graph: Tuple[str, Any], redis_url: str) -> None:
    """Nine refusals in a row that pass (a pair-rate burst of three among 500s and 130429s, as the Graph API
    faults proof draws them) still end in one delivery with the default number of tries (six gave up)."""
    url, app = graph
    burst = [{"code": 131056, "http_status": 400}] * 3
    inject(url, [{"http_status": 500}, *burst, {"code": 130429, "http_status": 400}, *burst, {"http_status": 500}])
    quick = replace(SenderSettings(), backoff_base_seconds=0.001, backoff_max_seconds=0.002)  # the default tries
    result = with_sender(url, redis_url, lambda s: s.send(text("Your parcel is on its way")), settings=quick)
    assert isinstance(result, SendResult)
    assert [m["text"]["body"] for m in sent(app)] == ["Your parcel is on its way"]


def test_permanent_errors_are_not_retried_and_go_to_dead_letters(graph: Tuple[str, Any], redis_url: str) -> None:
    url, app = graph
    inject(url, [{"code": 131026, "http_status": 400, "details": "Message undeliverable"}, {"http_status": 500}])

    async def work(sender: OutboundSender) -> Tuple[Optional[SendResult], list]:
        return await sender.send(text("hello"), label="utter_greet"), await sender.dead_letters.list()

    result, dead = with_sender(url, redis_url, work)
    assert result is None and sent(app) == []
    [letter] = dead
    assert letter["code"] == "131026" and "undeliverable" in letter["reason"] and letter["retryable"] == "0"
    assert letter["label"] == "utter_greet" and letter["recipient"] == CUSTOMER
    # Only one attempt was made: the second injected fault is still waiting.
    assert with_sender(url, redis_url, lambda s: s.send(text("next"))) is not None
    assert [m["text"]["body"] for m in sent(app)] == ["next"]


def test_exhausted_retries_are_dead_lettered_and_can_be_resent(graph: Tuple[str, Any], redis_url: str) -> None:
    url, app = graph
    inject(url, [{"code": 131000, "http_status": 500}] * FAST.max_attempts)

    async def work(sender: OutboundSender) -> Tuple[Optional[SendResult], Optional[SendResult], list]:
        first = await sender.send(text("try hard"), key="wamid.IN:1")
        [letter] = await sender.dead_letters.list()
        assert letter["retryable"] == "1" and letter["code"] == "131000"
        again = await sender.dead_letters.resend(letter["id"], sender)
        return first, again, await sender.dead_letters.list()

    first, again, remaining = with_sender(url, redis_url, work)
    assert first is None and again is not None and remaining == []
    assert [m["text"]["body"] for m in sent(app)] == ["try hard"]


def test_an_idempotency_key_sends_once(graph: Tuple[str, Any], redis_url: str) -> None:
    url, app = graph

    async def work(sender: OutboundSender) -> Tuple[SendResult, SendResult]:
        return await sender.send(text("once"), key="wamid.IN2:1"), await sender.send(text("once"), key="wamid.IN2:1")

    first, second = with_sender(url, redis_url, work)
    assert first.wamid == second.wamid and len(sent(app)) == 1


def redis_fails_once(sender: OutboundSender, step: str) -> None:
    """Redis goes away at `step` of the sender's next delivery (once): what redis-py raises then."""
    real = getattr(sender, step)

    async def failing(*args: Any, **kwargs: Any) -> Any:
        setattr(sender, step, real)
        raise redis.exceptions.ConnectionError("Connection closed by server.")

    setattr(sender, step, failing)


def test_a_reply_whose_send_failed_before_its_request_is_sent_when_the_turn_is_tried_again(
        graph: Tuple[str, Any], redis_url: str) -> None:
    """Redis went away after the reply's key was reserved and before the request went out. The retried turn
    sends it, once: before, it took its own reservation for a send under way and the reply never went out."""
    url, app = graph

    async def work(sender: OutboundSender) -> Tuple[str, Optional[SendResult], Optional[SendResult]]:
        redis_fails_once(sender, "_pace")
        try:
            await sender.send(text("Your order 1002 has shipped"), key="wamid.IN7:1")
            outcome = "sent"
        except redis.exceptions.ConnectionError:
            outcome = "failed"
        return outcome, await sender.send(text("Your order 1002 has shipped"), key="wamid.IN7:1"), \
            await sender.send(text("Your order 1002 has shipped"), key="wamid.IN7:1")

    outcome, retried, again = with_sender(url, redis_url, work)
    assert outcome == "failed" and isinstance(retried, SendResult) and again.wamid == retried.wamid
    assert [m["text"]["body"] for m in sent(app)] == ["Your order 1002 has shipped"]


def test_a_reply_whose_request_went_out_is_not_sent_again_when_its_bookkeeping_failed(
        graph: Tuple[str, Any], redis_url: str) -> None:
    """Redis went away after the request (the wamid was never written): Meta may have it, so the retried turn
    must not send it again, even from the same process."""
    url, app = graph

    async def work(sender: OutboundSender) -> Optional[SendResult]:
        redis_fails_once(sender.policy.state, "save_plan")
        with pytest.raises(redis.exceptions.ConnectionError):
            await sender.send(text("Your refund is on its way"), key="wamid.IN8:1")
        return await sender.send(text("Your refund is on its way"), key="wamid.IN8:1")

    assert with_sender(url, redis_url, work) is None
    assert [m["text"]["body"] for m in sent(app)] == ["Your refund is on its way"]


def test_two_runs_of_the_same_reply_at_once_send_it_once(graph: Tuple[str, Any], redis_url: str) -> None:
    """The second run finds the first's reservation, waits for it, and gets the same wamid."""
    url, app = graph

    async def work(sender: OutboundSender) -> List[Optional[SendResult]]:
        return list(await asyncio.gather(*(sender.send(text("Hello!"), key="wamid.IN9:1") for _ in range(2))))

    first, second = with_sender(url, redis_url, work)
    assert first.wamid == second.wamid
    assert [m["text"]["body"] for m in sent(app)] == ["Hello!"]


def test_a_reply_reserved_by_a_run_that_died_before_its_request_is_sent_once_the_reservation_lapses(
        graph: Tuple[str, Any], redis_url: str) -> None:
    """A worker killed while its reply waited for the pair rate leaves the reply reserved; the run that takes
    the turn over sends it. Before, the reservation was read as a send under way and the reply never went."""
    url, app = graph
    redis.Redis.from_url(redis_url).set(redis_keys.outbound_idempotency("wamid.IN10:1"), "reserved:dead-host:1:2",
                                        ex=1)

    async def work(sender: OutboundSender) -> Tuple[Optional[SendResult], Optional[SendResult]]:
        return (await sender.send(text("Your order 1003 is late"), key="wamid.IN10:1"),
                await sender.send(text("Your order 1003 is late"), key="wamid.IN10:1"))

    first, again = with_sender(url, redis_url, work)
    assert isinstance(first, SendResult) and again.wamid == first.wamid
    assert [m["text"]["body"] for m in sent(app)] == ["Your order 1003 is late"]


def test_a_run_whose_reservation_lapsed_and_was_taken_by_another_run_does_not_send(
        graph: Tuple[str, Any], redis_url: str) -> None:
    """While this run waited for the pair rate its reservation lapsed and another run of the same reply took
    the key: only that other run sends."""
    url, app = graph

    async def work(sender: OutboundSender) -> Optional[SendResult]:
        real_pace = sender._pace

        async def slow_pace(*args: Any, **kwargs: Any) -> None:
            await sender.store.set(redis_keys.outbound_idempotency("wamid.IN11:1"), "reserved:other-host:1:2")
            await real_pace(*args, **kwargs)

        sender._pace = slow_pace
        return await sender.send(text("Hello again"), key="wamid.IN11:1")

    assert with_sender(url, redis_url, work) is None and sent(app) == []


def test_sent_messages_are_recorded_for_their_status_webhooks(graph: Tuple[str, Any], redis_url: str) -> None:
    url, _ = graph

    async def work(sender: OutboundSender) -> dict:
        result = await sender.send(text("tracked"), label="utter_order_status")
        return await sender.statuses.get(result.wamid)

    record = with_sender(url, redis_url, work)
    assert record["recipient"] == CUSTOMER and record["label"] == "utter_order_status" and record["type"] == "text"


def test_token_bucket_allows_the_burst_then_asks_to_wait(redis_url: str) -> None:
    async def go() -> List[float]:
        store = aioredis.Redis.from_url(redis_url)
        bucket = TokenBucket(store, "wa:bucket:test", capacity=3, per_second=1 / 6)
        try:
            return [await bucket.take() for _ in range(4)]
        finally:
            await store.close()

    waits = asyncio.run(go())
    assert waits[:3] == [0, 0, 0]
    assert 5.0 < waits[3] <= 6.0  # the fourth message waits for the next token, about 6 s away
