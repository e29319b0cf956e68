"""A customer's reply to a campaign message reaches the bot with the campaign and the template in the message
metadata, is recorded once in `wa:events`, and counts in analytics: the campaign sent by the worker through the
stand-in over HTTP, the reply through the WhatsApp channel's real code path (signed webhook, durable stream,
the consumer's inbound hook), on a real Redis."""

import asyncio
import json
from datetime import datetime, timezone

import redis
import redis.asyncio as aioredis

from analytics.aggregator import Aggregator
from analytics.figures import compute, read_range
from campaigns import keys
from campaigns.replies import CampaignReplies
from tests.campaigns.conftest import rows, running, state_is
from tests.support.channel_harness import CUSTOMER, run, signed_post, text_webhook
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.webhooks import inbound

DAY = 86400


def quoting(wamid: str, text: str, quoted: str, timestamp: int) -> bytes:
    """A customer's text message that quotes (replies to) the business's message `quoted`."""
    body = json.loads(text_webhook(wamid, text, timestamp=timestamp))
    body["entry"][0]["changes"][0]["value"]["messages"][0]["context"] = {"from": "15550100000", "id": quoted}
    return json.dumps(body).encode()


def reply_events(client: redis.Redis) -> list:
    return [e for _, e in client.xrange(redis_keys.EVENT_STREAM) if e["kind"] == kinds.CAMPAIGN_REPLY]


def test_a_reply_to_a_campaign_message_reaches_the_bot_with_the_campaign_and_its_template(redis_url, channel_graph):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with running(redis_url, statuses=False) as s:
        s.consent(CUSTOMER, "in", ("utility", "marketing"))
        cid = s.campaigns.create("spring weekend", "weekend_promo", "en_US", rows([CUSTOMER], discount="20%"))["id"]
        s.work(until=state_is(cid, "completed"))
        [sent] = s.campaigns.recipients(cid)
    assert client.hgetall(keys.origin(sent["wamid"])) == {"origin": "campaign", "campaign": cid,
                                                          "campaign_name": "spring weekend",
                                                          "template": "weekend_promo", "language": "en_US"}
    assert 89 * DAY < client.ttl(keys.origin(sent["wamid"])) <= 90 * DAY  # CAMPAIGN_RETENTION_DAYS

    reply = quoting("wamid.REPLY1", "Does the 20% include the oak table?", sent["wamid"], 1_800_000_000)
    elsewhere = quoting("wamid.REPLY2", "and my order?", "wamid.SOMETHING_ELSE", 1_800_000_010)
    plain = text_webhook("wamid.PLAIN", "hello again", timestamp=1_800_000_020)
    answers, received = run(channel_graph, [signed_post(b) for b in (reply, elsewhere, plain, reply)])
    assert [a.status for a in answers] == [200] * 4
    assert [m.message_id for m in received] == ["wamid.REPLY1", "wamid.REPLY2", "wamid.PLAIN"]
    assert received[0].metadata["wa_campaign"] == {"kind": "campaign", "id": cid, "name": "spring weekend"}
    assert received[0].metadata["wa_template"] == {"name": "weekend_promo", "language": "en_US"}
    assert received[0].metadata["wa_context"]["id"] == sent["wamid"]
    for other in received[1:]:
        assert "wa_campaign" not in other.metadata and "wa_template" not in other.metadata

    [event] = reply_events(client)  # Meta delivered the reply twice: counted once
    assert {k: event[k] for k in ("wamid", "sender", "origin", "campaign", "template")} == {
        "wamid": "wamid.REPLY1", "sender": CUSTOMER, "origin": "campaign", "campaign": cid,
        "template": "weekend_promo"}
    Aggregator(client).run()
    day = datetime.fromtimestamp(float(event["at"]), timezone.utc).date()
    found = compute(read_range(client, day, day))
    assert found["replies_by_campaign"] == {cid: 1} and found["replies_by_template"] == {"weekend_promo": 1}


def test_a_reply_handled_again_is_recorded_once(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.hset(keys.origin("wamid.SENT"), mapping={"origin": "notification", "campaign": "", "campaign_name": "",
                                                    "template": "delivery_update", "language": "en_US"})
    message = inbound.InboundMessage(wamid="wamid.R", sender="15550001111", timestamp=1_800_000_000, type="text",
                                     text="ok", phone_number_id="1", context={"id": "wamid.SENT"})

    async def twice() -> list:
        store = aioredis.Redis.from_url(redis_url)
        replies = CampaignReplies(store, events_max=1000)
        try:
            return [await replies.record(message), await replies.record(message), await replies.origin_of(message)]
        finally:
            await store.close()

    first, again, origin = asyncio.run(twice())
    assert first == again == origin and origin["template"] == "delivery_update" and origin["origin"] == "notification"
    assert len(reply_events(client)) == 1
