"""Parsing is total: any JSON gives typed events or per-item errors, never an exception."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.helpers import payload
from whatsapp_cloud.webhooks import inbound

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)
KEYS = st.sampled_from(["entry", "changes", "field", "value", "messages", "statuses", "errors", "metadata",
                        "contacts", "from", "id", "type", "text", "body", "interactive", "timestamp",
                        "user_preferences"])
SHAPED = st.recursive(
    JSON, lambda children: st.dictionaries(KEYS, children, max_size=5) | st.lists(children, max_size=3),
    max_leaves=30)
ENVELOPE = st.fixed_dictionaries({"object": st.just("whatsapp_business_account"), "entry": SHAPED})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON, SHAPED, ENVELOPE))
def test_any_json_gives_events_and_never_raises(document: object) -> None:
    found = inbound.events(document)
    assert all(isinstance(e, (inbound.InboundMessage, inbound.StatusUpdate, inbound.PreferenceUpdate,
                              inbound.WebhookError, inbound.OtherChange, inbound.ItemError)) for e in found)
    for message in (e for e in found if isinstance(e, inbound.InboundMessage)):
        assert isinstance(message.wamid, str) and isinstance(message.sender, str)
        assert message.text is None or isinstance(message.text, str)
        message.metadata()


def text_message() -> dict:
    return payload("meta_openapi_webhook_text.json")


def test_metadata_that_is_a_number_costs_nothing_but_the_business_number() -> None:
    raw = text_message()
    raw["entry"][0]["changes"][0]["value"]["metadata"] = 7
    [message] = inbound.events(raw)
    assert isinstance(message, inbound.InboundMessage) and message.phone_number_id == ""


def test_an_unreadable_item_is_an_item_error_next_to_the_valid_ones() -> None:
    raw = text_message()
    messages = raw["entry"][0]["changes"][0]["value"]["messages"]
    messages.insert(0, {"id": {"not": "text"}, "from": "1", "type": "text"})
    raw["entry"].append(7)
    found = inbound.events(raw)
    assert [type(e).__name__ for e in found] == ["ItemError", "InboundMessage", "ItemError"]
    assert found[0].where == "entry[0].changes[0].messages[0]" and found[2].where == "entry[1]"


@pytest.mark.parametrize("value, expected", [("1749416383", 1749416383), (1e400, 0), ("1e400", 0), (10**30, 0),
                                             (-5, 0), ("soon", 0), (True, 0), ([1], 0)])
def test_timestamps_outside_a_date_are_unknown(value: object, expected: int) -> None:
    raw = text_message()
    raw["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = value
    assert inbound.messages(raw)[0].timestamp == expected


def test_lone_surrogates_are_replaced_so_the_text_can_be_stored() -> None:
    raw = text_message()
    raw["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "hi \ud800 there"
    [message] = inbound.messages(inbound.load(json.dumps(raw).encode()))
    message.text.encode("utf-8")
    assert message.text.startswith("hi ") and message.text.endswith(" there")


def test_nesting_deeper_than_python_can_read_is_a_malformed_webhook() -> None:
    deep = '{"object": "whatsapp_business_account", "entry": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(inbound.MalformedWebhook, match="nested too deeply"):
        inbound.load(deep.encode())


def test_long_texts_are_cut_for_rasa() -> None:
    raw = text_message()
    raw["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "word " * 100_000
    assert len(inbound.messages(raw)[0].text) == inbound.MAX_TEXT_CHARS
