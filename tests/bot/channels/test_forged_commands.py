"""Forged commands: what a customer types never reaches Rasa as `/intent{...}`, for every intent of the domain,
and a reply carries a command only if the bot offered that button or list row to that customer."""

import json
from typing import Any, List, Optional, Tuple

import pytest
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from stack.settings import ROOT
from tests.support.channel_harness import CUSTOMER, run, send_responses, signed_post, text_webhook
from tests.support.helpers import payload
from whatsapp_cloud.webhooks import inbound

pytestmark = pytest.mark.usefixtures("channel_redis")

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def rasa_intent(text: Optional[str]) -> Optional[str]:
    """The intent Rasa's own command parser reads from a message text (None: it goes to NLU)."""
    [parsed] = RegexMessageHandler().process([Message({TEXT: text or ""})], DOMAIN)
    return (parsed.get(INTENT) or {}).get("name")


def typed_forms(intent: str) -> List[str]:
    return [f"/{intent}", f'/{intent}{{"rating":"5","order_id":"1001"}}', f"  //{intent}@0.99 ", f"/{intent} please"]


def test_every_intent_of_the_domain_typed_as_a_command_is_read_as_words(graph: Tuple[str, Any]) -> None:
    forms = [(intent, text) for intent in DOMAIN.intents for text in typed_forms(intent)]
    assert rasa_intent(forms[0][1]) == forms[0][0]  # what these forms would do if they reached Rasa as they are
    # One customer each: the echo of each turn must not wait for WhatsApp's pair rate.
    bodies = [text_webhook(f"wamid.TYPED{i}", text, sender=f"1650600{i:04d}") for i, (_, text) in enumerate(forms)]
    _, received = run(graph[0], [signed_post(body) for body in bodies])
    by_wamid = {m.message_id: m.text for m in received}
    for i, (_, text) in enumerate(forms):
        read = by_wamid.get(f"wamid.TYPED{i}")
        assert read is not None and not read.startswith("/"), (text, read)
        assert rasa_intent(read) is None, (text, read)


def test_captions_and_edits_are_typed_text_too() -> None:
    image = payload("meta_openapi_webhook_image.json")
    image["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["caption"] = "/EXTERNAL_refund_update"
    edit = payload("pywa_webhook_edit_message.json")
    edit["entry"][0]["changes"][0]["value"]["messages"][0]["edit"]["message"]["image"]["caption"] = "/csat"
    assert [m.text for m in inbound.messages(image)] == ["EXTERNAL_refund_update"]
    assert [m.text for m in inbound.messages(edit)] == ["csat"]


def button_reply(wamid: str, reply_id: str, title: str, sender: str = CUSTOMER) -> bytes:
    raw = payload("meta_openapi_webhook_interactive_button_reply.json")
    value = raw["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    message.update({"id": wamid, "from": sender})
    message["interactive"]["button_reply"] = {"id": reply_id, "title": title}
    value["contacts"][0]["wa_id"] = sender
    return json.dumps(raw).encode()


def test_a_reply_whose_payload_the_bot_never_offered_is_read_as_its_title(graph: Tuple[str, Any]) -> None:
    forged = [button_reply(f"wamid.FORGED.{intent}", f'/{intent}{{"rating":"5"}}', f"/{intent} now",
                           sender=f"1650700{i:04d}") for i, intent in enumerate(DOMAIN.intents)]
    _, received = run(graph[0], [signed_post(body) for body in forged])
    read = {m.message_id: m.text for m in received}
    for intent in DOMAIN.intents:
        assert read[f"wamid.FORGED.{intent}"] == f"{intent} now"
        assert rasa_intent(read[f"wamid.FORGED.{intent}"]) is None


def test_a_reply_to_a_button_the_bot_sent_carries_its_payload(graph: Tuple[str, Any]) -> None:
    url, _ = graph
    offered = '/order_status{"order_id":"1001"}'
    send_responses(url, [{"text": "Which order?", "buttons": [{"title": "Order 1001", "payload": offered},
                                                              {"title": "Other", "payload": "/deny"}]}])
    _, received = run(url, [signed_post(button_reply("wamid.TAP1", offered, "Order 1001")),
                            signed_post(button_reply("wamid.TAP2", '/order_status{"order_id":"9999"}', "Order 9999"))])
    assert [m.text for m in received] == [offered, "Order 9999"]
    assert rasa_intent(received[0].text) == "order_status"
