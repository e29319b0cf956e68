"""A status webhook is marked done only after its effects are stored: a failure leaves it to be handled
again with its stream entry, and Meta's duplicates of a handled status are still dropped."""

import asyncio

import pytest
from redis.exceptions import ResponseError

from tests.support.policy_harness import CUSTOMER, PHONE_ID, Harness, failed_status, scenario
from whatsapp_cloud import redis_keys
from whatsapp_cloud.streams.consumer import WebhookConsumer
from whatsapp_cloud.streams.webhook_stream import MessageClaims, WebhookStream
from whatsapp_cloud.webhooks import inbound


def consumer_for(h: Harness) -> WebhookConsumer:
    store = h.sender.store

    async def no_turns(message: inbound.InboundMessage) -> None:
        raise AssertionError("no customer message in these tests")

    return WebhookConsumer(WebhookStream(store, "test-1"), MessageClaims(store, "test-1"), h.sender.statuses,
                           h.sender.events, no_turns, on_status=h.hooks.on_status)


def test_an_opt_out_from_a_failed_status_is_not_lost_when_its_first_handling_fails(graph, redis_url):
    async def work(h: Harness) -> None:
        consumer = consumer_for(h)
        update = failed_status("wamid.promo", 131050)
        broken = [redis_keys.consent(CUSTOMER, PHONE_ID), redis_keys.consent(CUSTOMER)]
        for key in broken:  # the consent ledger cannot be written (e.g. a Redis fault mid-way)
            await h.sender.store.set(key, "not a hash")
        with pytest.raises(ResponseError):
            await consumer._status(update)
        await h.sender.store.delete(*broken)
        await consumer._status(update)  # the stream entry stayed pending: its retry handles the status again
        assert (await h.state.snapshot(CUSTOMER)).state.consent.opted_out("marketing")
        await consumer._status(update)  # Meta delivers it once more: dropped
        assert len(await h.events("status")) == 2  # the failed try and the one that stored its effects

    scenario(graph, redis_url, work)


def test_the_same_status_handled_at_once_by_two_processes_runs_once(graph, redis_url):
    async def work(h: Harness) -> None:
        first, second = consumer_for(h), consumer_for(h)
        update = failed_status("wamid.promo2", 131050)
        await asyncio.gather(first._status(update), second._status(update))
        assert len(await h.events("status")) == 1

    scenario(graph, redis_url, work)
