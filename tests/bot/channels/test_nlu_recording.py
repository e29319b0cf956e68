"""After each customer message's turn the channel records what the NLU read, once per message: the
`nlu_result` event, and the text with the messages around it when the message fell back or scored low.

Rasa's part is played by a handler that saves the turn into Rasa's own RedisTrackerStore, as the message
processor does; the channel reads it back from there as it reads the agent's tracker store in Rasa.
"""

import asyncio
import json
from typing import Any, Dict, List, Tuple

import pytest
import redis
import redis.asyncio as aioredis
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from sanic import Sanic

from analytics import keys
from analytics.nlu_records import NluRecords, review
from bot.channels.nlu_recording import NluRecording
from tests.support import channel_harness as harness
from tests.support.channel_harness import CUSTOMER, make_channel, signed_post, text_webhook
from tests.support.helpers import free_port
from whatsapp_cloud.redis_keys import EVENT_STREAM

pytestmark = pytest.mark.usefixtures("channel_redis")

# What the NLU makes of each text (the FallbackClassifier's threshold is 0.5), and the action the policy runs.
PARSES: Dict[str, Tuple[List[Tuple[str, float]], str]] = {
    "where is my order 1002": ([("order_status", 0.93), ("cancel_order", 0.04)], "action_order_status"),
    "my parcel came wet, call +1 650 555 0199": (
        [("nlu_fallback", 0.5), ("complaint", 0.41), ("delivery_options", 0.3), ("refund_status", 0.1)],
        "utter_ask_rephrase"),
    "the thing with the stuff": ([("faq", 0.62), ("greet", 0.2)], "action_default_fallback"),
    "do you sell insurance": ([("out_of_scope", 0.88), ("faq", 0.05)], "action_out_of_scope"),
    "hm maybe the address": ([("change_shipping_address", 0.55), ("faq", 0.3)], "change_address_form"),
}


def tracker_store(redis_url: str) -> RedisTrackerStore:
    host, port = redis_url.split("//")[1].split("/")[0].rsplit(":", 1)
    return RedisTrackerStore(Domain.empty(), host=host.split("@")[-1], port=int(port), key_prefix="wabot")


async def play_rasa(trackers: RedisTrackerStore, message: UserMessage) -> None:
    ranking, action = PARSES[message.text]
    parse = {"text": message.text, "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
             "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking], "entities": []}
    tracker = await trackers.get_or_create_tracker(message.sender_id)
    for event in (UserUttered(message.text, parse["intent"], [], parse, message_id=message.message_id),
                  ActionExecuted(action), BotUttered(f"answer to {message.text}"), ActionExecuted("action_listen")):
        tracker.update(event)
    await trackers.save(tracker)


def consume(graph_url: str, redis_url: str, bodies: List[bytes], again: str = "") -> None:
    channel = make_channel(graph_url)
    trackers = tracker_store(redis_url)

    async def on_new_message(message: UserMessage) -> None:
        await play_rasa(trackers, message)

    app = Sanic(f"test_nlu_{id(channel)}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/whatsapp")

    async def scenario() -> None:
        channel.nlu.tracker_store = trackers  # what the start-up takes from Rasa's agent
        for body in bodies:
            request = signed_post(body)
            await app.asgi_client.post(request["url"], **request["kwargs"])
        await channel.stop_consumer()
        consumer = channel.start_consumer(on_new_message)
        await harness.wait_until_stream_is_done(channel)
        await consumer.drain()
        await channel.stop_consumer()
        if again:  # the same turn's end seen a second time (a turn run again after a crash before its ack)
            await channel.nlu.after_turn(CUSTOMER, again)
        await channel.client.aclose()
        await channel.store.close()

    asyncio.run(scenario())


def nlu_events(client: redis.Redis) -> List[Dict[str, str]]:
    return [fields for _, fields in client.xrange(EVENT_STREAM) if fields["kind"] == "nlu_result"]


def test_each_message_gets_one_nlu_result_and_doubtful_ones_keep_their_text(graph: Tuple[str, Any],
                                                                            redis_url: str) -> None:
    texts = list(PARSES)
    bodies = [text_webhook(f"wamid.nlu{n}", text, timestamp=1749416383 + n) for n, text in enumerate(texts)]
    consume(graph[0], redis_url, bodies + [bodies[1]], again="wamid.nlu1")  # and Meta sends one again
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    events = {e["wamid"]: e for e in nlu_events(client)}
    assert len(nlu_events(client)) == len(texts) == len(events)  # once each, whatever came twice
    assert events["wamid.nlu0"]["intent"] == "order_status" and "fell_back" not in events["wamid.nlu0"]
    assert events["wamid.nlu0"]["sender"] == CUSTOMER and "kept" not in events["wamid.nlu0"]
    fallback = events["wamid.nlu1"]
    assert (fallback["intent"], fallback["fell_back"], fallback["resembles"], fallback["kept"]) == (
        "nlu_fallback", "nlu", "complaint", "1")
    assert [r["name"] for r in json.loads(fallback["ranking"])] == ["nlu_fallback", "complaint", "delivery_options"]
    assert (events["wamid.nlu2"]["fell_back"], events["wamid.nlu2"]["resembles"]) == ("core", "faq")
    assert events["wamid.nlu3"]["out_of_scope"] == "1" and "fell_back" not in events["wamid.nlu3"]
    assert float(events["wamid.nlu4"]["confidence"]) == 0.55 and events["wamid.nlu4"]["kept"] == "1"  # scored low
    assert all("text" not in e for e in events.values())  # texts never go into the event stream

    kept = review(client, 0, 2e9)
    assert [m["wamid"] for m in kept] == ["wamid.nlu1", "wamid.nlu2", "wamid.nlu4"]
    assert kept[0]["text"] == texts[1] and kept[0]["resembles"] == "complaint"
    assert kept[0]["before"] == [{"who": "customer", "text": texts[0]}, {"who": "bot", "text": f"answer to {texts[0]}"}]
    assert kept[0]["after"] == [{"who": "bot", "text": f"answer to {texts[1]}"}]
    assert [m["text"] for m in kept[2]["before"]] == [texts[2], f"answer to {texts[2]}", texts[3],
                                                      f"answer to {texts[3]}"]  # the 4 messages before it
    assert all(CUSTOMER not in json.dumps(m) for m in kept)  # the page's reading names no customer
    ttl = client.ttl(keys.review_message("wamid.nlu1"))
    assert 29 * 86400 < ttl <= 30 * 86400  # ANALYTICS_REVIEW_TEXT_DAYS
    client.close()


def test_an_unreachable_tracker_store_costs_the_record_not_the_turn(redis_url: str, caplog) -> None:
    recording = NluRecording(NluRecords(aioredis.Redis.from_url(redis_url)))
    recording.tracker_store = RedisTrackerStore(Domain.empty(), host="127.0.0.1", port=free_port())  # nobody there
    asyncio.run(recording.after_turn(CUSTOMER, "wamid.lost"))  # returns: the message's turn stands
    assert "was not recorded" in caplog.text and CUSTOMER not in caplog.text
    assert nlu_events(redis.Redis.from_url(redis_url, decode_responses=True)) == []
