import json

import pytest

from tests.helpers import PAYLOADS, payload
from whatsapp_cloud import inbound


def test_text_message_is_parsed_with_customer_time_and_profile() -> None:
    [message] = inbound.messages(payload("meta_openapi_webhook_text.json"))
    assert message.sender == "16505551234"
    assert message.wamid.startswith("wamid.")
    assert message.timestamp == 1749416383
    assert message.type == "text"
    assert message.text == "Does it come in another color?"
    assert message.phone_number_id == "106540352242922"
    assert message.profile_name == "Sheena Nelson"
    assert message.metadata()["wamid"] == message.wamid


@pytest.mark.parametrize(
    "name, expected_text",
    [
        ("meta_openapi_webhook_interactive_button_reply.json", "button_reply" ),
        ("meta_openapi_webhook_interactive_list_reply.json", "list_reply"),
        ("meta_openapi_webhook_button_template_quick_reply.json", "button"),
    ],
)
def test_replies_to_buttons_become_their_payload(name: str, expected_text: str) -> None:
    raw = payload(name)
    [message] = inbound.messages(raw)
    source = raw["entry"][0]["changes"][0]["value"]["messages"][0]
    if expected_text == "button":
        assert message.text == source["button"]["payload"]
    else:
        assert message.text == source["interactive"][expected_text]["id"]


def test_every_fixture_parses_without_error() -> None:
    for path in sorted(PAYLOADS.glob("*webhook*.json")) + sorted(PAYLOADS.glob("pywa_status*.json")):
        body = json.loads(path.read_text())
        for message in inbound.messages(body):
            assert message.wamid and message.sender, path.name


def test_status_callbacks_are_not_messages() -> None:
    for name in ("pywa_status_delivered.json", "pywa_status_read.json", "pywa_status_failed_with_errors.json"):
        assert inbound.messages(payload(name)) == []


def test_system_message_without_contacts_has_no_profile_name() -> None:
    [message] = inbound.messages(payload("meta_openapi_webhook_system_user_changed_number.json"))
    assert message.type == "system"
    assert message.profile_name is None
    assert message.text is None


def test_batched_envelope_yields_every_message_in_order() -> None:
    first, second = payload("meta_openapi_webhook_text.json"), payload("pywa_webhook_text_reply_context.json")
    batched = {"object": "whatsapp_business_account", "entry": first["entry"] + second["entry"]}
    messages = inbound.messages(batched)
    assert [m.wamid for m in messages] == [
        first["entry"][0]["changes"][0]["value"]["messages"][0]["id"],
        second["entry"][0]["changes"][0]["value"]["messages"][0]["id"],
    ]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"object": "page", "entry": []}', b'{"object": "whatsapp_business_account"}', b"\xff"],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(inbound.MalformedWebhook):
        inbound.load(body)
