import json

import pytest

from tests.support.helpers import PAYLOADS, payload
from whatsapp_cloud.webhooks import inbound
from whatsapp_cloud.webhooks.inbound import InboundMessage, OtherChange, PreferenceUpdate, StatusUpdate, WebhookError


def first_message(name: str) -> dict:
    return payload(name)["entry"][0]["changes"][0]["value"]["messages"][0]


# fixture -> (message type, what Rasa reads, or None when the message starts no turn)
MESSAGE_FIXTURES = {
    "meta_openapi_webhook_text.json": ("text", "Does it come in another color?"),
    "meta_openapi_webhook_text_context_product_inquiry.json": ("text", None),
    "meta_openapi_webhook_text_ctwa_referral.json": ("text", None),
    "meta_openapi_webhook_button_template_quick_reply.json": ("button", None),
    "meta_openapi_webhook_interactive_button_reply.json": ("interactive", None),
    "meta_openapi_webhook_interactive_list_reply.json": ("interactive", None),
    "meta_openapi_webhook_contacts.json": ("contacts", "/share_contact"),
    "meta_openapi_webhook_image.json": ("image", None),
    "meta_openapi_webhook_location.json": ("location", None),
    "meta_openapi_webhook_order.json": ("order", "/place_order"),
    "meta_openapi_webhook_reaction.json": ("reaction", "no turn"),
    "meta_openapi_webhook_system_user_changed_number.json": ("system", "no turn"),
    "meta_openapi_webhook_unsupported.json": ("unsupported", '/unsupported_message{"wa_type":"unsupported"}'),
    "pywa_webhook_audio_forwarded.json": ("audio", '/media_received{"media_type":"audio"}'),
    "pywa_webhook_audio_voice_note.json": ("audio", '/media_received{"media_type":"audio"}'),
    "pywa_webhook_document.json": ("document", None),
    "pywa_webhook_edit_message.json": ("edit", "Updated image caption"),
    "pywa_webhook_reaction_removed_empty_emoji.json": ("reaction", "no turn"),
    "pywa_webhook_referral_placeholders.json": ("text", None),
    "pywa_webhook_revoke_message.json": ("revoke", "no turn"),
    "pywa_webhook_sticker_animated.json": ("sticker", '/media_received{"media_type":"sticker"}'),
    "pywa_webhook_system_identity_changed.json": ("system", "no turn"),
    "pywa_webhook_text_forwarded.json": ("text", None),
    "pywa_webhook_text_frequently_forwarded.json": ("text", None),
    "pywa_webhook_text_reply_context.json": ("text", None),
    "pywa_webhook_unsupported_with_type.json": ("unsupported", '/unsupported_message{"wa_type":"pool"}'),
    "pywa_webhook_value_level_errors_131000.json": (
        "interactive", '/unsupported_message{"wa_type":"interactive:"}'),
}


def test_every_message_fixture_is_covered() -> None:
    names = {p.name for p in PAYLOADS.glob("*webhook*.json")} - {"pywa_webhook_user_preferences_resume.json"}
    assert names == set(MESSAGE_FIXTURES)


@pytest.mark.parametrize("name", sorted(MESSAGE_FIXTURES))
def test_every_inbound_fixture_becomes_a_typed_message(name: str) -> None:
    kind, expected = MESSAGE_FIXTURES[name]
    [message] = inbound.messages(payload(name))
    source = first_message(name)
    assert isinstance(message, InboundMessage)
    assert (message.type, message.wamid, message.sender) == (kind, source["id"], source["from"])
    assert message.timestamp == int(source["timestamp"])
    if expected == "no turn":
        assert message.text is None and not message.starts_turn
    elif expected is not None:
        assert message.text == expected
    else:
        assert message.text  # checked field by field below
    assert message.metadata()["wa_type"] == kind


def test_text_with_product_inquiry_keeps_the_referred_product() -> None:
    [message] = inbound.messages(payload("meta_openapi_webhook_text_context_product_inquiry.json"))
    assert message.text == first_message("meta_openapi_webhook_text_context_product_inquiry.json")["text"]["body"]
    assert message.context["referred_product"]["product_retailer_id"]
    assert message.metadata()["wa_context"] == message.context


def test_click_to_whatsapp_referral_reaches_the_metadata() -> None:
    [message] = inbound.messages(payload("meta_openapi_webhook_text_ctwa_referral.json"))
    assert message.referral["ctwa_clid"] and message.referral["source_type"] == "ad"
    assert message.metadata()["wa_referral"] == message.referral


def test_forwarded_flags_are_kept() -> None:
    assert inbound.messages(payload("pywa_webhook_text_forwarded.json"))[0].context == {"forwarded": True}
    many = inbound.messages(payload("pywa_webhook_text_frequently_forwarded.json"))[0]
    assert many.context == {"frequently_forwarded": True}


def test_media_with_caption_is_read_and_its_id_kept_for_download() -> None:
    [image] = inbound.messages(payload("meta_openapi_webhook_image.json"))
    source = first_message("meta_openapi_webhook_image.json")["image"]
    assert image.text == source["caption"]
    assert image.media["id"] == source["id"] and image.media["mime_type"] == source["mime_type"]
    [document] = inbound.messages(payload("pywa_webhook_document.json"))
    assert document.media["filename"]
    [voice] = inbound.messages(payload("pywa_webhook_audio_voice_note.json"))
    assert voice.media["voice"] is True


def test_location_becomes_an_intent_with_coordinates() -> None:
    [message] = inbound.messages(payload("meta_openapi_webhook_location.json"))
    location = first_message("meta_openapi_webhook_location.json")["location"]
    assert message.text == (
        '/share_location{"latitude":' + json.dumps(location["latitude"]) + ',"longitude":'
        + json.dumps(location["longitude"]) + "}")
    assert message.details["location"] == location


def test_reaction_and_its_removal_are_recorded_not_answered() -> None:
    [added] = inbound.messages(payload("meta_openapi_webhook_reaction.json"))
    assert added.details["reaction"]["emoji"]
    [removed] = inbound.messages(payload("pywa_webhook_reaction_removed_empty_emoji.json"))
    assert removed.details["reaction"]["emoji"] == ""


def test_identity_change_keeps_the_identity_object() -> None:
    [message] = inbound.messages(payload("pywa_webhook_system_identity_changed.json"))
    assert message.details["system"]["type"] == "customer_identity_changed"
    assert message.details["identity"]["hash"] == "xyzxyz"


def test_business_scoped_user_id_is_kept_and_used_without_a_phone_number() -> None:
    raw = payload("meta_openapi_webhook_text.json")
    value = raw["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    del message["from"]
    message["from_user_id"] = "US.13491208655302741918"
    value["contacts"] = [{"profile": {"name": "Ana"}, "user_id": "US.13491208655302741918"}]
    [parsed] = inbound.messages(raw)
    assert parsed.sender == parsed.user_id == "US.13491208655302741918"
    assert parsed.profile_name == "Ana"


@pytest.mark.parametrize(
    "name",
    ["pywa_status_delivered.json", "pywa_status_read.json", "pywa_status_failed_with_errors.json",
     "pywa_status_sent_biz_opaque_callback_data.json", "pywa_status_sent_cbp_with_conversation_pricing.json",
     "gupshup_docs_status_sent_pmp_v3.json"],
)
def test_every_status_fixture_becomes_a_status_update(name: str) -> None:
    [update] = inbound.events(payload(name))
    source = payload(name)["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert isinstance(update, StatusUpdate)
    assert (update.wamid, update.status, update.recipient) == (source["id"], source["status"], source["recipient_id"])
    assert update.pricing == source.get("pricing") and update.conversation == source.get("conversation")
    assert update.biz_opaque_callback_data == source.get("biz_opaque_callback_data")


def test_failed_status_exposes_its_error_codes() -> None:
    [update] = inbound.events(payload("pywa_status_failed_with_errors.json"))
    assert update.error_codes == [130472]


def test_marketing_preference_webhook() -> None:
    [update] = inbound.events(payload("pywa_webhook_user_preferences_resume.json"))
    assert update == PreferenceUpdate(sender="16505551234", category="marketing_messages", value="resume",
                                      timestamp=1731705721, detail="User requested to resume marketing messages")


def test_value_level_errors_are_events_next_to_the_message() -> None:
    found = inbound.events(payload("pywa_webhook_value_level_errors_131000.json"))
    assert [type(e) for e in found] == [InboundMessage, WebhookError]
    assert found[1].code == 131000 and found[1].details == "Unsupported webhook payload"


def test_other_fields_are_kept_as_they_came() -> None:
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "message_template_status_update", "value": {"event": "PAUSED", "message_template_name": "x"}}]}]}
    assert inbound.events(body) == [OtherChange("message_template_status_update",
                                                {"event": "PAUSED", "message_template_name": "x"})]


def test_broken_items_are_skipped_and_the_valid_ones_kept() -> None:
    raw = payload("meta_openapi_webhook_text.json")
    value = raw["entry"][0]["changes"][0]["value"]
    value["messages"] = ["junk", {"id": "wamid.no-sender"}, value["messages"][0], {"from": "1"}]
    value["statuses"] = [{"id": "x"}, 7]
    raw["entry"].insert(0, {"changes": "not a list"})
    raw["entry"].append({"changes": [{"field": "messages", "value": None}]})
    assert [m.text for m in inbound.messages(raw)] == ["Does it come in another color?"]


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
        ("meta_openapi_webhook_interactive_button_reply.json", "button_reply"),
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
