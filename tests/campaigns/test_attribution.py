"""A customer's first message from a click-to-chat link is attributed to it: through the WhatsApp channel's real
code path (signed webhooks, the durable stream, the consumer's inbound hook), on a real Redis; and the record is
found by privacy's export and removed by its erasure."""

import asyncio
import json
from pathlib import Path

import redis
import redis.asyncio as aioredis

from campaigns import keys
from campaigns.entry_points import Attribution, EntryLinks, entry_point_of
from privacy import requests as privacy_requests
from privacy.identity import Subject
from shop.db import engine_for
from tests.support.channel_harness import CUSTOMER, run, signed_post, text_webhook
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.webhooks.inbound import InboundMessage

DAY = 86400


def entry_events(client: redis.Redis) -> list:
    return [fields for _, fields in client.xrange(redis_keys.EVENT_STREAM) if fields["kind"] == kinds.ENTRY_POINT]


def test_the_first_message_from_a_link_is_attributed_through_the_channel(redis_url, channel_graph):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    links = EntryLinks(client, "12025550100")
    poster = links.create("poster in the shop", "Hi! Tell me about the sale")
    flyer = links.create("flyer", "Hello")
    edited = poster["prefilled"].replace("Tell me about the sale", "what's on sale?").lower()  # edited, lower case
    webhooks = [text_webhook("wamid.LINK1", edited, timestamp=1_800_000_000),
                text_webhook("wamid.PLAIN", "and where is my order 1001?", timestamp=1_800_000_010),
                text_webhook("wamid.UNKNOWN", "Hi (ref ZZZZZZ)", timestamp=1_800_000_020),
                text_webhook("wamid.LINK1", edited, timestamp=1_800_000_000)]  # Meta delivers it again
    answers, received = run(channel_graph, [signed_post(body) for body in webhooks])
    assert [a.status for a in answers] == [200] * 4
    assert [m.message_id for m in received] == ["wamid.LINK1", "wamid.PLAIN", "wamid.UNKNOWN"]
    assert received[0].metadata["wa_entry_point"] == {"ref": poster["ref"], "source": "poster in the shop"}
    assert "wa_entry_point" not in received[1].metadata and "wa_entry_point" not in received[2].metadata

    record = entry_point_of(client, CUSTOMER)
    assert record == {"ref": poster["ref"], "source": "poster in the shop", "at": "1800000000",
                      "wamid": "wamid.LINK1", "first_ref": poster["ref"], "first_source": "poster in the shop",
                      "first_at": "1800000000"}
    assert 89 * DAY < client.ttl(keys.entry_point(CUSTOMER)) <= 90 * DAY
    (event,) = entry_events(client)
    assert {k: event[k] for k in ("wamid", "sender", "ref", "source")} == {
        "wamid": "wamid.LINK1", "sender": CUSTOMER, "ref": poster["ref"], "source": "poster in the shop"}
    assert [link["arrivals"] for link in links.list()] == [0, 1]  # flyer (newest), poster

    # Later the customer comes through another link: the latest changes, the first stays.
    run(channel_graph, [signed_post(text_webhook("wamid.LINK2", flyer["prefilled"], timestamp=1_800_100_000))])
    record = entry_point_of(client, CUSTOMER)
    assert (record["ref"], record["source"], record["first_source"]) == (flyer["ref"], "flyer", "poster in the shop")
    assert [e["source"] for e in entry_events(client)] == ["poster in the shop", "flyer"]


def test_a_message_attributed_again_changes_nothing_and_the_expiry_follows_the_setting(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    link = EntryLinks(client, "12025550100").create("web", "Hi")
    message = InboundMessage(wamid="wamid.A", sender="15550001111", timestamp=1_800_000_000, type="text",
                             text=link["prefilled"], phone_number_id="1")

    async def twice() -> list:
        store = aioredis.Redis.from_url(redis_url)
        attribution = Attribution(store, retention_seconds=3 * DAY, events_max=1000)
        try:
            return [await attribution.attribute(message), await attribution.attribute(message),
                    await attribution.recorded_for(message)]
        finally:
            await store.close()

    first, again, recorded = asyncio.run(twice())
    assert first == again == recorded == {"ref": link["ref"], "source": "web"}
    assert len(entry_events(client)) == 1 and EntryLinks(client, "1").get(link["ref"])["arrivals"] == 1
    assert 2 * DAY < client.ttl(keys.entry_point("15550001111")) <= 3 * DAY


def test_privacy_exports_and_erases_the_link_a_customer_came_from(redis_url, channel_graph, tmp_path: Path):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    links = EntryLinks(client, "12025550100")
    link = links.create("poster in the shop", "Hi!")
    run(channel_graph, [signed_post(text_webhook("wamid.LINK1", link["prefilled"]))])
    assert entry_point_of(client, CUSTOMER)["ref"] == link["ref"]

    stores = privacy_requests.Stores(redis=client, shop=engine_for(f"sqlite:///{tmp_path / 'app.db'}", seed=False),
                                     media_dir=tmp_path / "media", policy=PolicyConfig(hash_key="k" * 32))
    subject = Subject.of(CUSTOMER, "k" * 32)
    exported = json.dumps(privacy_requests.export(stores, subject))
    assert keys.entry_point(CUSTOMER) in exported and '"kind": "entry_point"' in exported
    privacy_requests.erase(stores, subject, by="admin", rewrite_aof=False)
    assert entry_point_of(client, CUSTOMER) == {} and entry_events(client) == []
    assert links.get(link["ref"])["arrivals"] == 1  # the link's count names nobody and stays
