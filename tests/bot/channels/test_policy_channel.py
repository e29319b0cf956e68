"""The policy inside the Rasa channel: the NLG's template fallback, the output channel, the consumer's hooks."""

import asyncio
import json
import time
from datetime import timedelta
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import redis
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.whatsapp_output import FALLBACK_KEY
from bot.channels.window_aware_nlg import WindowAwareNLG
from cloud_api_standin.app import create_app
from stack import settings
from tests.support import channel_harness as harness
from tests.support.channel_harness import CUSTOMER, PHONE_ID, SECRET, make_channel, run, signed_post, text_webhook
from tests.support.helpers import serve_wsgi
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import SyncPolicyStore

ROOT_DOMAIN = Domain.load("domain.yml")
LATE_CUSTOMER = "15559990001"


@pytest.fixture()
def graph() -> Iterator[Tuple[str, Any]]:
    app = create_app({"WHATSAPP_ACCESS_TOKEN": "tok", "WHATSAPP_APP_SECRET": SECRET,
                      "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/"})
    with serve_wsgi(app) as url:
        yield url, app


@pytest.fixture(autouse=True)
def _redis(redis_url: str) -> None:
    harness.REDIS_URL = redis_url  # the channels of the harness use it


def policy_store(redis_url: str) -> SyncPolicyStore:
    return SyncPolicyStore(redis.Redis.from_url(redis_url), PolicyConfig(phone_number_id=PHONE_ID))


def test_nlg_renders_as_rasa_does_and_attaches_the_filled_template():
    nlg = WindowAwareNLG(domain=ROOT_DOMAIN)
    tracker = order_update_tracker(CUSTOMER)
    message = asyncio.run(nlg.generate("utter_order_update", tracker, "whatsapp"))
    assert "1001" in message["text"] and "shipped" in message["text"]
    fallback = message[FALLBACK_KEY]
    assert fallback["template"]["name"] == "order_update"
    assert [p["text"] for p in fallback["template"]["components"][0]["parameters"]] == ["1001", "shipped"]
    # Other channels get Rasa's response untouched; so do responses without a mapping.
    assert FALLBACK_KEY not in asyncio.run(nlg.generate("utter_order_update", tracker, "rest"))
    assert FALLBACK_KEY not in asyncio.run(nlg.generate("utter_goodbye", tracker, "whatsapp"))


def order_update_tracker(wa_id: str) -> DialogueStateTracker:
    events = [SlotSet("order_id", "1001"), SlotSet("order_state", "shipped"), SlotSet("order_eta", "Friday")]
    return DialogueStateTracker.from_events(wa_id, events, slots=ROOT_DOMAIN.slots)


def test_endpoints_configure_the_window_aware_nlg(monkeypatch):
    from rasa.core.nlg import NaturalLanguageGenerator
    from rasa.utils.endpoints import read_endpoint_config

    for name, value in settings.resolve({"VAR_DIR": "/tmp/policy-endpoints-test", "ENV_FILE": "/none"}).items():
        monkeypatch.setenv(name, value)  # endpoints.yml takes its values from the resolved settings
    config = read_endpoint_config("endpoints.yml", "nlg")
    assert isinstance(NaturalLanguageGenerator.create(config, ROOT_DOMAIN), WindowAwareNLG)


def send(graph_url: str, recipient: str, responses: List[Dict[str, Any]]) -> None:
    channel = make_channel(graph_url)

    async def go() -> None:
        out = channel.get_output_channel()
        for response in responses:
            await out.send_response(recipient, dict(response))
        await channel.client.aclose()
        await channel.store.close()

    asyncio.run(go())


def test_a_multi_part_response_outside_the_window_goes_as_one_template(graph, redis_url):
    url, standin = graph
    store = policy_store(redis_url)
    store.record_inbound(LATE_CUSTOMER, store.now() - timedelta(hours=26), from_referral=False)
    store.record_consent(LATE_CUSTOMER, "in", ("utility",), "website", "Order updates by WhatsApp")
    nlg = WindowAwareNLG(domain=ROOT_DOMAIN)
    message = asyncio.run(nlg.generate("utter_order_update", order_update_tracker(LATE_CUSTOMER), "whatsapp"))
    message["text"] = "x" * 5000  # two WhatsApp messages if it went as text
    message["image"] = "https://example.com/parcel.jpg"
    send(url, LATE_CUSTOMER, [{**message, "utter_action": "utter_order_update"}])
    sent = [r["message"] for r in standin.extensions["standin_outbox"].after(0, to=LATE_CUSTOMER)]
    assert [m["type"] for m in sent] == ["template"] and sent[0]["template"]["name"] == "order_update"
    assert standin.extensions["standin_refusals"] == []


def test_a_message_without_its_own_template_reopens_the_chat_and_follows_the_reply(graph, redis_url):
    url, standin = graph
    store = policy_store(redis_url)
    store.record_inbound(LATE_CUSTOMER, store.now() - timedelta(hours=30), from_referral=False)
    store.record_consent(LATE_CUSTOMER, "in", ("utility",), "website", "Order updates by WhatsApp")
    send(url, LATE_CUSTOMER, [{"text": "Your order 1001 is on its way."}, {"text": "Anything else?"}])
    sent = [r["message"] for r in standin.extensions["standin_outbox"].after(0, to=LATE_CUSTOMER)]
    assert [m["template"]["name"] for m in sent] == ["conversation_followup"]  # one request to reply is enough
    waiting = [item["payload"]["text"]["body"] for item in store.deferred(LATE_CUSTOMER)]
    assert waiting == ["Your order 1001 is on its way.", "Anything else?"]


def test_consent_keyword_through_the_channel_reaches_rasa_as_its_intent(graph, redis_url):
    _, received = run(graph[0], [signed_post(text_webhook("wamid.STOP1", "Stop", timestamp=int(time.time())))])
    [message] = received
    assert message.text == "/opt_out"
    assert message.metadata["wa_consent_changed"] == ["utility", "marketing"]
    assert message.metadata["wa_consent_text"] == "Stop"
    assert policy_store(redis_url).snapshot(CUSTOMER).state.consent.opted_out("marketing")


def test_a_webhook_30_hours_late_opens_no_window_and_the_free_text_reply_waits(graph, redis_url):
    url, standin = graph
    late = int(time.time()) - 30 * 3600
    _, received = run(url, [signed_post(text_webhook("wamid.LATE1", "hello?", sender=LATE_CUSTOMER,
                                                     timestamp=late))])
    assert [m.text for m in received] == ["hello?"]  # the bot ran the turn
    assert standin.extensions["standin_outbox"].after(0, to=LATE_CUSTOMER) == []  # its text reply waits
    [waiting] = policy_store(redis_url).deferred(LATE_CUSTOMER)
    assert waiting["payload"]["text"]["body"] == "echo: hello?"
    # The customer writes again (on time): what waited goes first, then the new answer.
    standin.test_client().post(f"/_standin/customers/{LATE_CUSTOMER}/messages", json={"text": "anyone?"})
    run(url, [signed_post(text_webhook("wamid.LATE2", "anyone?", sender=LATE_CUSTOMER,
                                       timestamp=int(time.time())))])
    sent = [r["message"]["text"]["body"] for r in standin.extensions["standin_outbox"].after(0, to=LATE_CUSTOMER)]
    assert sent == ["echo: hello?", "echo: anyone?"]
    assert standin.extensions["standin_refusals"] == []


def test_get_metadata_returns_the_webhooks_message_metadata(graph):
    channel = make_channel(graph[0])

    class Request:
        body = text_webhook("wamid.META1", "hi", timestamp=1795000000)

    metadata = channel.get_metadata(Request())
    assert (metadata["wamid"], metadata["wa_timestamp"], metadata["wa_type"]) == ("wamid.META1", 1795000000, "text")
    assert metadata["wa_profile_name"] == "Sheena Nelson"

    class Garbage:
        body = b"not json"

    assert channel.get_metadata(Garbage()) is None
    assert json.loads(Request.body)["entry"]  # the body itself is untouched
