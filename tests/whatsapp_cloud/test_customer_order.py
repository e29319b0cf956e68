"""One customer's messages in order across consumer processes, on a real Redis: tickets given with the
stream entry, a consumer that waits for the customer's earlier entry held by another, a dead consumer's
entries and claims taken over within seconds, buried entries and lost ones that do not hold a customer up.

Each consumer here is a `WebhookConsumer` of its own, with its own Redis connection and name, as in a
process of its own; they share one event loop only to keep the test small."""

import asyncio
import random
import time
from typing import Any, Awaitable, Callable, Dict, List, Tuple

import pytest
import redis.asyncio as aioredis

from tests.whatsapp_cloud.harness import events_of, text_webhook
from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.events.log import EventLog
from whatsapp_cloud.outbound.delivery_status import DeliveryStatus
from whatsapp_cloud.streams.consumer import WebhookConsumer
from whatsapp_cloud.streams.consumer_lease import ConsumerLease, lease_alive
from whatsapp_cloud.streams.webhook_stream import MessageClaims, WebhookStream
from whatsapp_cloud.webhooks import inbound

Handled = List[Tuple[str, str]]  # (consumer, wamid)


def consumer(store: aioredis.Redis, name: str, handle: Callable[[inbound.InboundMessage], Awaitable[None]],
             **options: Any) -> WebhookConsumer:
    stream = WebhookStream(store, name)
    alive = options.pop("alive", None)
    return WebhookConsumer(stream, MessageClaims(store, name, alive=alive), DeliveryStatus(store), EventLog(store),
                           handle_message=handle, retry_every=options.pop("retry_every", 0.2), yield_seconds=0,
                           alive=alive, **options)


async def until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.02)


def test_a_customers_later_message_waits_for_the_earlier_one_another_consumer_holds(redis_url):
    assert run_two_consumers(redis_url, with_tickets=True) == ["wamid.ONE", "wamid.TWO"]


def test_without_tickets_the_other_consumer_would_answer_the_later_message_first(redis_url):
    # The same race with entries stored the old way: what the tickets prevent.
    assert run_two_consumers(redis_url, with_tickets=False) == ["wamid.TWO", "wamid.ONE"]


def run_two_consumers(redis_url: str, with_tickets: bool) -> List[str]:
    customer = "15550001111"

    async def scenario() -> List[str]:
        store_a, store_b = redis_connection.asyncio(redis_url), redis_connection.asyncio(redis_url)
        order: List[str] = []

        async def slow(message: inbound.InboundMessage) -> None:
            await asyncio.sleep(0.5)  # consumer A is in the middle of a long turn
            order.append(message.wamid)

        async def fast(message: inbound.InboundMessage) -> None:
            order.append(message.wamid)

        a, b = consumer(store_a, "worker-a", slow), consumer(store_b, "worker-b", fast)
        await a.stream.ensure_group()
        for wamid in ("wamid.ONE", "wamid.TWO"):
            await a.stream.append(text_webhook(wamid, "hi", sender=customer), [customer] if with_tickets else [])
        # Each consumer takes one entry, as two processes reading the group would.
        await a._dispatch_all(await a.stream.new_entries(count=1, block_ms=None))
        await b._dispatch_all(await b.stream.new_entries(count=1, block_ms=None))
        await asyncio.gather(a.drain(), b.drain())
        await store_a.close()
        await store_b.close()
        return order

    return asyncio.run(scenario())


def test_two_consumers_keep_every_customers_order_and_answer_each_message_once(redis_url):
    customers, per_customer = [f"1555000{c:04d}" for c in range(30)], 6
    rng = random.Random(7)
    sent = [(c, n) for n in range(per_customer) for c in customers]  # interleaved, as traffic arrives
    bodies = []
    for c, n in sent:
        body = text_webhook(f"wamid.{c}.{n}", f"message {n}", sender=c)
        bodies.append((c, body))
        if rng.random() < 0.2:
            bodies.append((c, body))  # Meta delivers some twice

    async def scenario() -> Dict[str, List[int]]:
        stores = [redis_connection.asyncio(redis_url) for _ in range(2)]
        seen: Dict[str, List[int]] = {c: [] for c in customers}

        async def handle(message: inbound.InboundMessage) -> None:
            await asyncio.sleep(rng.random() * 0.01)
            seen[message.sender].append(int(message.wamid.rsplit(".", 1)[1]))

        workers = [consumer(store, f"worker-{i}", handle) for i, store in enumerate(stores)]
        await workers[0].stream.ensure_group()
        tasks = [asyncio.create_task(w.run()) for w in workers]
        for c, body in bodies:
            await workers[0].stream.append(body, [c])
        await until(lambda: sum(map(len, seen.values())) >= len(sent), timeout=60)
        await asyncio.sleep(0.3)  # a duplicate answered twice would show up now
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks)
        for w in workers:
            await w.drain()
        for store in stores:
            await store.close()
        return seen

    seen = asyncio.run(scenario())
    assert all(numbers == list(range(per_customer)) for numbers in seen.values()), seen


def test_a_dead_consumers_entries_and_claims_are_taken_over_within_seconds(redis_url):
    customer = "15550002222"

    async def scenario() -> Tuple[Handled, float]:
        dead_store, live_store = redis_connection.asyncio(redis_url), redis_connection.asyncio(redis_url)
        handled: Handled = []

        async def never_finishes(message: inbound.InboundMessage) -> None:
            await asyncio.sleep(3600)

        async def live(message: inbound.InboundMessage) -> None:
            handled.append(("live", message.wamid))

        alive = lambda name, store=live_store: lease_alive(store, name)  # noqa: E731
        dying = consumer(dead_store, "worker-dead", never_finishes, alive=alive)
        lease = ConsumerLease(dead_store, "worker-dead", seconds=1)
        await lease.acquire()
        await dying.stream.ensure_group()
        for n in (1, 2):
            await dying.stream.append(text_webhook(f"wamid.D{n}", "hi", sender=customer), [customer])
        await dying._dispatch_all(await dying.stream.new_entries(count=2, block_ms=None))
        await until(lambda: bool(redis_connection.blocking(redis_url).get("wa:in:wamid.D1")), timeout=5)
        # The process dies: its turn never ends, its lease is never renewed, nothing is acknowledged.
        for task in list(dying._in_flight.values()):
            task.cancel()
        died = time.monotonic()
        taker = consumer(live_store, "worker-live", live, alive=alive)
        taker.stream.dead_idle_ms = 500
        running = asyncio.create_task(taker.run())
        await until(lambda: len(handled) == 2, timeout=30)
        took = time.monotonic() - died
        taker.stop()
        await running
        await taker.drain()
        await dead_store.close()
        await live_store.close()
        return handled, took

    handled, took = asyncio.run(scenario())  # `until` above allows 30 s: the takeover must come sooner
    assert handled == [("live", "wamid.D1"), ("live", "wamid.D2")]


def test_a_dead_consumers_earlier_entry_taken_over_after_a_later_one_runs_first_without_a_deadlock(redis_url):
    """The live consumer reads the customer's second message first (it waits for the first, held by the dead
    consumer), then takes the first over: the first must run at once, not queue behind the second."""
    customer = "15550003333"

    async def scenario() -> Tuple[Handled, float]:
        dead_store, live_store = redis_connection.asyncio(redis_url), redis_connection.asyncio(redis_url)
        handled: Handled = []

        async def never_finishes(message: inbound.InboundMessage) -> None:
            await asyncio.sleep(3600)

        async def live(message: inbound.InboundMessage) -> None:
            handled.append(("live", message.wamid))

        alive = lambda name, store=live_store: lease_alive(store, name)  # noqa: E731
        dying = consumer(dead_store, "worker-dead", never_finishes, alive=alive)
        lease = ConsumerLease(dead_store, "worker-dead", seconds=1)
        await lease.acquire()
        await dying.stream.ensure_group()
        for n in (1, 2):
            await dying.stream.append(text_webhook(f"wamid.L{n}", "hi", sender=customer), [customer])
        await dying._dispatch_all(await dying.stream.new_entries(count=1, block_ms=None))  # the first only
        await until(lambda: bool(redis_connection.blocking(redis_url).get("wa:in:wamid.L1")), timeout=5)
        for task in list(dying._in_flight.values()):
            task.cancel()
        died = time.monotonic()
        taker = consumer(live_store, "worker-live", live, alive=alive, order_wait_seconds=60)
        taker.stream.dead_idle_ms = 500
        running = asyncio.create_task(taker.run())
        try:
            await until(lambda: len(handled) == 2, timeout=20)  # far below the 60 s wait limit
        finally:
            took = time.monotonic() - died
            taker.stop()
            running.cancel()
            for task in list(taker._in_flight.values()):
                task.cancel()
            await dead_store.close()
            await live_store.close()
        return handled, took

    handled, took = asyncio.run(scenario())
    assert handled == [("live", "wamid.L1"), ("live", "wamid.L2")]
    assert took < 20


@pytest.mark.parametrize("taker_name", ["worker-live", "worker-dead"], ids=["taken-over", "restarted"])
def test_a_turn_saved_by_a_process_that_died_before_marking_it_done_is_not_run_again(redis_url, taker_name):
    """The first message's turn ran to its end (the dialogue saved it) and the process died before its claim
    said done; the second message's turn never ended. Whoever takes the entries up (another consumer, or the
    same one restarted) runs only the second. Before, both ran again and the dialogue held the first twice."""
    customer = "15550005555"

    async def scenario() -> Handled:
        dead_store, live_store = redis_connection.asyncio(redis_url), redis_connection.asyncio(redis_url)
        saved: List[str] = []  # what the dialogue holds
        handled: Handled = []

        async def saves_then_dies(message: inbound.InboundMessage) -> None:
            if message.wamid == "wamid.S1":
                saved.append(message.wamid)
            await asyncio.sleep(3600)  # killed before the claim is marked done

        async def live(message: inbound.InboundMessage) -> None:
            handled.append((taker_name, message.wamid))
            saved.append(message.wamid)

        async def ran_before(message: inbound.InboundMessage) -> bool:
            return message.wamid in saved

        alive = lambda name, store=live_store: lease_alive(store, name)  # noqa: E731
        dying = consumer(dead_store, "worker-dead", saves_then_dies, alive=alive)
        lease = ConsumerLease(dead_store, "worker-dead", seconds=1)
        await lease.acquire()
        await dying.stream.ensure_group()
        await dying.stream.append(text_webhook("wamid.S1", "hi", sender=customer), [customer])
        await dying.stream.append(text_webhook("wamid.S2", "hi", sender="15550006666"), ["15550006666"])
        await dying._dispatch_all(await dying.stream.new_entries(count=2, block_ms=None))
        await until(lambda: saved == ["wamid.S1"] and bool(redis_connection.blocking(redis_url).get(
            "wa:in:wamid.S2")), timeout=5)
        for task in list(dying._in_flight.values()):
            task.cancel()
        taker = consumer(live_store, taker_name, live, alive=alive, ran_before=ran_before)
        taker.stream.dead_idle_ms = 500
        running = asyncio.create_task(taker.run())
        try:
            await until(lambda: len(handled) >= 1 and not taker._in_flight
                        and not redis_connection.blocking(redis_url).xpending(redis_keys.WEBHOOK_STREAM,
                                                                              redis_keys.WEBHOOK_GROUP)["pending"],
                        timeout=30)
        finally:
            taker.stop()
            await running
            await taker.drain()
            await dead_store.close()
            await live_store.close()
        return handled

    assert asyncio.run(scenario()) == [(taker_name, "wamid.S2")]
    [skipped] = [e for e in events_of(redis_url, "inbound_duplicate") if e["wamid"] == "wamid.S1"]
    assert skipped["reason"] == "its turn ran before"
    assert redis_connection.blocking(redis_url).get("wa:in:wamid.S1") == b"done"


def test_a_new_delivery_of_a_message_whose_claim_is_taken_over_asks_whether_its_turn_ran(redis_url):
    """Meta delivers the message again (a new entry) while its claim is held by a process that is gone and had
    saved its turn: the claim is taken over, and the turn is not run again."""

    async def scenario() -> Tuple[List[str], List[str]]:
        store = redis_connection.asyncio(redis_url)
        handled: List[str] = []
        asked: List[str] = []

        async def live(message: inbound.InboundMessage) -> None:
            handled.append(message.wamid)

        async def ran_before(message: inbound.InboundMessage) -> bool:
            asked.append(message.wamid)
            return True  # the dead process saved it

        await store.set(redis_keys.inbound_claim("wamid.R1"), "worker-gone", ex=120)
        taker = consumer(store, "worker-live", live, alive=lambda name: _false(), ran_before=ran_before)
        message = next(e for e in inbound.events(inbound.load(text_webhook("wamid.R1", "hi", sender="15550007777")))
                       if isinstance(e, inbound.InboundMessage))
        await taker._handle(message, again=False)
        await store.close()
        return handled, asked

    assert asyncio.run(scenario()) == ([], ["wamid.R1"])
    assert redis_connection.blocking(redis_url).get("wa:in:wamid.R1") == b"done"


async def _false() -> bool:
    return False


def test_a_buried_entry_does_not_hold_its_customer_up(redis_url):
    customer = "15550003333"

    async def scenario() -> List[str]:
        store = redis_connection.asyncio(redis_url)
        handled: List[str] = []

        async def handle(message: inbound.InboundMessage) -> None:
            if message.wamid == "wamid.BAD":
                raise ValueError("a bug in this one message")
            handled.append(message.wamid)

        worker = consumer(store, "worker-x", handle)
        await worker.stream.ensure_group()
        for wamid in ("wamid.BAD", "wamid.NEXT"):
            await worker.stream.append(text_webhook(wamid, "hi", sender=customer), [customer])
        task = asyncio.create_task(worker.run())
        await until(lambda: handled == ["wamid.NEXT"], timeout=15)
        worker.stop()
        await task
        await worker.drain()
        await store.close()
        return handled

    assert asyncio.run(scenario()) == ["wamid.NEXT"]
    assert redis_connection.blocking(redis_url).xlen(redis_keys.WEBHOOK_DEAD) == 1


def test_a_lost_earlier_entry_holds_the_customer_up_only_until_the_wait_limit(redis_url):
    customer = "15550004444"

    async def scenario() -> List[str]:
        store = redis_connection.asyncio(redis_url)
        handled: List[str] = []

        async def handle(message: inbound.InboundMessage) -> None:
            handled.append(message.wamid)

        worker = consumer(store, "worker-y", handle, order_wait_seconds=1.0)
        await worker.stream.ensure_group()
        lost = await worker.stream.append(text_webhook("wamid.LOST", "hi", sender=customer), [customer])
        await store.xdel(redis_keys.WEBHOOK_STREAM, lost)  # e.g. trimmed from a stream that overflowed
        await worker.stream.append(text_webhook("wamid.LATER", "hi", sender=customer), [customer])
        task = asyncio.create_task(worker.run())
        await until(lambda: handled == ["wamid.LATER"], timeout=15)
        worker.stop()
        await task
        await worker.drain()
        await store.close()
        return handled

    assert asyncio.run(scenario()) == ["wamid.LATER"]
    [gap] = events_of(redis_url, "order_gap")
    assert gap["sender"] == customer and gap["ticket"] == "2"


def test_two_consumers_share_a_backlog(redis_url):
    """A backlog stored before either consumer reads is worked off by both: each reads only what it can
    start soon. Reading 100 entries at a time, up to 500 held, the first consumer took them all."""
    customers = [f"1555100{c:04d}" for c in range(120)]

    async def scenario() -> Dict[str, int]:
        stores = [redis_connection.asyncio(redis_url) for _ in range(2)]
        handled: Dict[str, int] = {}

        def handler(name: str) -> Callable[[inbound.InboundMessage], Awaitable[None]]:
            async def handle(message: inbound.InboundMessage) -> None:
                await asyncio.sleep(0.02)  # a turn
                handled[name] = handled.get(name, 0) + 1
            return handle

        workers = [consumer(store, f"worker-{i}", handler(f"worker-{i}"), max_concurrent_turns=1)
                   for i, store in enumerate(stores)]
        await workers[0].stream.ensure_group()
        for c in customers:
            await workers[0].stream.append(text_webhook(f"wamid.{c}", "hi", sender=c), [c])
        tasks = [asyncio.create_task(workers[0].run())]
        await asyncio.sleep(0.05)  # the first consumer reads before the second one starts
        tasks.append(asyncio.create_task(workers[1].run()))
        await until(lambda: sum(handled.values()) >= len(customers), timeout=60)
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks)
        for store in stores:
            await store.close()
        return handled

    handled = asyncio.run(scenario())
    assert sum(handled.values()) == 120
    assert min(handled.get("worker-0", 0), handled.get("worker-1", 0)) >= 30, handled
