"""The WhatsApp input channel on a Sanic app: handshake, signatures, turns, and sends to the stand-in."""

import asyncio
import json
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY
from rasa.core.lock_store import LockError

from bot.channels.whatsapp_connector import DEGRADED_ANSWER, WhatsAppInput, split_text
from tests.support import channel_harness as harness
from tests.support.channel_harness import (
    CUSTOMER,
    OLD_SECRET,
    SECRET,
    VERIFY,
    make_channel,
    run,
    send_responses,
    signed_post,
    text_webhook,
)
from tests.support.helpers import PAYLOADS, free_port, payload
from whatsapp_cloud.outbound.delivery_status import DeliveryStatus
from whatsapp_cloud.streams.webhook_stream import WebhookStream

pytestmark = pytest.mark.usefixtures("channel_redis")


def test_handshake_echoes_the_challenge_only_for_the_right_token(graph: Tuple[str, Any]) -> None:
    url = "/webhooks/whatsapp/webhook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token="
    (good, bad, wrong_mode), _ = run(graph[0], [
        {"method": "get", "url": url + VERIFY},
        {"method": "get", "url": url + "guess"},
        {"method": "get", "url": url.replace("subscribe", "unsubscribe") + VERIFY},
    ])
    assert good.status == 200 and good.text == "1158201444"
    assert bad.status == 403 and wrong_mode.status == 403


def test_health_endpoint(graph: Tuple[str, Any]) -> None:
    (answer,), _ = run(graph[0], [{"method": "get", "url": "/webhooks/whatsapp/"}])
    assert answer.status == 200 and answer.json["status"] == "ok"


def test_generated_files_are_served_by_name_and_nothing_else_is(graph: Tuple[str, Any], tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "Xq3_invoice-token-0001.pdf").write_bytes(b"%PDF-1.4 invoice")
    (tmp_path / "secret.pdf").write_bytes(b"not served")
    (found, missing, outside, odd), _ = run(graph[0], [
        {"method": "get", "url": "/webhooks/whatsapp/media/Xq3_invoice-token-0001.pdf"},
        {"method": "get", "url": "/webhooks/whatsapp/media/Xq3_invoice-token-0002.pdf"},
        {"method": "get", "url": "/webhooks/whatsapp/media/..%2Fsecret.pdf"},
        {"method": "get", "url": "/webhooks/whatsapp/media/credentials.yml"},
    ], media_dir=str(media))
    assert found.status == 200 and found.body == b"%PDF-1.4 invoice"
    assert found.headers["content-type"] == "application/pdf"
    assert [r.status for r in (missing, outside, odd)] == [404, 404, 404]


def test_signed_text_message_becomes_a_rasa_turn_and_the_reply_reaches_whatsapp(graph: Tuple[str, Any]) -> None:
    url, standin = graph
    body = json.dumps(payload("meta_openapi_webhook_text.json")).encode()
    (answer,), received = run(url, [signed_post(body)])
    assert answer.status == 200
    [message] = received
    assert message.sender_id == CUSTOMER and message.text == "Does it come in another color?"
    assert message.input_channel == "whatsapp"
    assert message.message_id == message.metadata["wamid"]
    assert message.metadata["wa_timestamp"] == 1749416383
    assert message.metadata["wa_profile_name"] == "Sheena Nelson"
    [reply] = standin.extensions["standin_outbox"].after(0)
    assert reply["to"] == CUSTOMER and reply["message"]["text"]["body"] == "echo: Does it come in another color?"


def test_a_turn_that_sends_nothing_gets_the_degraded_answer_once(graph: Tuple[str, Any]) -> None:
    """Rasa logs a failed custom action (the action server down) and answers nothing: the customer gets the
    degraded answer instead of silence, once, even when the webhook comes twice."""
    url, standin = graph
    body = text_webhook("wamid.DEGRADED1", "where is my order 1001")
    before = REGISTRY.get_sample_value("whatsapp_unanswered_turns_total") or 0
    (first, second), received = run(url, [signed_post(body), signed_post(body)], reply=False)
    assert first.status == 200 and second.status == 200 and len(received) == 1
    [sent] = standin.extensions["standin_outbox"].after(0)
    assert sent["to"] == CUSTOMER and sent["message"]["text"]["body"] == DEGRADED_ANSWER
    assert REGISTRY.get_sample_value("whatsapp_unanswered_turns_total") == before + 1


def test_a_turn_silent_by_design_stays_silent_while_the_action_server_answers(
        graph: Tuple[str, Any], healthy_actions: str) -> None:
    """A second STOP is answered by nothing on purpose: with the action server healthy, no degraded answer."""
    url, standin = graph
    (answer,), received = run(url, [signed_post(text_webhook("wamid.SILENT1", "stop"))], reply=False)
    assert answer.status == 200 and len(received) == 1
    assert standin.extensions["standin_outbox"].after(0) == []


def test_previous_secret_is_accepted_during_rotation(graph: Tuple[str, Any]) -> None:
    body = json.dumps(payload("meta_openapi_webhook_text.json")).encode()
    (answer,), received = run(graph[0], [signed_post(body, OLD_SECRET)])
    assert answer.status == 200 and len(received) == 1


def test_unsigned_and_badly_signed_posts_are_refused_and_processed_not(graph: Tuple[str, Any]) -> None:
    url, standin = graph
    body = json.dumps(payload("meta_openapi_webhook_text.json")).encode()
    unsigned = {"method": "post", "url": "/webhooks/whatsapp/webhook", "kwargs": {"content": body}}
    (missing, wrong), received = run(url, [unsigned, signed_post(body, "attacker")])
    assert missing.status == 401 and wrong.status == 403
    assert received == [] and standin.extensions["standin_outbox"].after(0) == []


def test_signed_garbage_is_a_400_with_a_reason(graph: Tuple[str, Any]) -> None:
    (answer,), received = run(graph[0], [signed_post(b'{"object": "page"}')])
    assert answer.status == 400 and "whatsapp_business_account" in answer.json["error"]
    assert received == []


def test_status_callbacks_start_no_turn(graph: Tuple[str, Any]) -> None:
    body = json.dumps(payload("pywa_status_delivered.json")).encode()
    (answer,), received = run(graph[0], [signed_post(body)])
    assert answer.status == 200 and received == []


def test_button_reply_payload_is_what_rasa_reads(graph: Tuple[str, Any]) -> None:
    raw = payload("meta_openapi_webhook_interactive_button_reply.json")
    expected = raw["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]["button_reply"]["id"]
    (_,), received = run(graph[0], [signed_post(json.dumps(raw).encode())])
    assert [m.text for m in received] == [expected]


def test_output_channel_maps_buttons_lists_and_long_text(graph: Tuple[str, Any]) -> None:
    url, standin = graph
    send_responses(url, [
        {"text": "Cancel it?", "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
         "utter_action": "utter_ask_cancel"},
        {"text": "Which order?", "buttons": [
            {"title": f"Order 100{i} - shipped yesterday", "payload": f'/order_status{{"order_id":"100{i}"}}'}
            for i in range(5)]},
        {"text": "Pick one", "buttons": [{"title": f"Option {i}", "payload": f"/choose{i}"} for i in range(12)]},
        {"text": "word " * 1000},
    ])
    sent = [r["message"] for r in standin.extensions["standin_outbox"].after(0)]
    buttons = sent[0]["interactive"]["action"]["buttons"]
    assert [(b["reply"]["id"], b["reply"]["title"]) for b in buttons] == [("/affirm", "Yes"), ("/deny", "No")]
    rows = sent[1]["interactive"]["action"]["sections"][0]["rows"]
    assert sent[1]["interactive"]["type"] == "list" and len(rows) == 5
    assert rows[0]["id"] == '/order_status{"order_id":"1000"}' and len(rows[0]["title"]) <= 24
    assert rows[0]["description"] == "Order 1000 - shipped yesterday"
    assert sent[2]["type"] == "text" and "12. Option 11" in sent[2]["text"]["body"]
    long_parts = [m["text"]["body"] for m in sent[3:]]
    assert len(long_parts) == 2 and all(len(p) <= 4096 for p in long_parts)
    assert " ".join(long_parts).split() == ["word"] * 1000


def test_output_channel_sends_media_and_custom_payloads(graph: Tuple[str, Any]) -> None:
    url, standin = graph
    location = payload("meta_openapi_send_location_request.json")
    location.pop("to"), location.pop("messaging_product")
    send_responses(url, [
        {"image": "https://example.com/parcel.jpg"},
        {"attachment": "1234567890"},
        {"attachment": {"type": "document", "link": "https://example.com/invoice.pdf", "filename": "invoice.pdf"}},
        {"custom": location},
    ])
    sent = [r["message"] for r in standin.extensions["standin_outbox"].after(0)]
    assert sent[0]["image"] == {"link": "https://example.com/parcel.jpg"}
    assert sent[1]["document"] == {"id": "1234567890"}
    assert sent[2]["document"]["filename"] == "invoice.pdf"
    assert sent[3]["type"] == "location" and sent[3]["location"] == location["location"]


def test_split_text_keeps_short_text_whole_and_cuts_unbroken_text() -> None:
    assert split_text("hello") == ["hello"]
    assert [len(p) for p in split_text("x" * 5000)] == [4096, 904]


def test_channel_refuses_to_start_without_secret_verify_token_or_redis(monkeypatch: Any) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    base = {"access_token": "t", "phone_number_id": "1", "redis_url": harness.REDIS_URL}
    with pytest.raises(ValueError, match="app_secret"):
        WhatsAppInput.from_credentials({**base, "verify_token": VERIFY})
    with pytest.raises(ValueError, match="verify_token"):
        WhatsAppInput.from_credentials({**base, "app_secret": SECRET})
    with pytest.raises(ValueError, match="redis_url"):
        WhatsAppInput.from_credentials({**base, "app_secret": SECRET, "verify_token": VERIFY, "redis_url": ""})


def test_duplicate_webhooks_start_one_turn(graph: Tuple[str, Any]) -> None:
    body = text_webhook("wamid.DUP1", "where is my order")
    answers, received = run(graph[0], [signed_post(body), signed_post(body)])
    assert [a.status for a in answers] == [200, 200]
    assert [m.message_id for m in received] == ["wamid.DUP1"]
    # Meta retrying days later, to another process: still no second turn.
    (late,), again = run(graph[0], [signed_post(body)])
    assert late.status == 200 and again == []
    assert len(graph[1].extensions["standin_outbox"].after(0)) == 1


def test_a_message_acknowledged_before_a_crash_is_answered_after_restart(graph: Tuple[str, Any]) -> None:
    body = text_webhook("wamid.CRASH1", "hello?")
    (answer,), received = run(graph[0], [signed_post(body)], consume=False)  # 200, then the process "dies"
    assert answer.status == 200 and received == []
    _, after_restart = run(graph[0], [])
    assert [m.message_id for m in after_restart] == ["wamid.CRASH1"]
    _, once_more = run(graph[0], [])
    assert once_more == []


def test_entries_abandoned_by_another_consumer_are_taken_over(graph: Tuple[str, Any], redis_url: str) -> None:
    async def abandon() -> None:
        store = aioredis.Redis.from_url(redis_url)
        stream = WebhookStream(store, "rasa-crashed")
        await stream.ensure_group()
        await stream.append(text_webhook("wamid.ORPHAN", "anyone?"))
        assert len(await stream.new_entries(block_ms=10)) == 1  # taken, never acknowledged
        await store.close()

    asyncio.run(abandon())
    _, received = run(graph[0], [], consumer_name="rasa-2", reclaim_idle_ms=0)
    assert [m.message_id for m in received] == ["wamid.ORPHAN"]


def test_one_customers_messages_are_handled_in_order(graph: Tuple[str, Any]) -> None:
    first = text_webhook("wamid.ORD1", "first", timestamp=100)
    second = text_webhook("wamid.ORD2", "second", timestamp=101)
    _, received = run(graph[0], [signed_post(first), signed_post(second)], turn_delay=0.5)
    assert [m.text for m in received] == ["first", "second"]
    sent = [r["message"]["text"]["body"] for r in graph[1].extensions["standin_outbox"].after(0)]
    assert sent == ["echo: first", "echo: second"]


def test_a_batch_with_a_broken_item_keeps_the_valid_message(graph: Tuple[str, Any]) -> None:
    raw = json.loads(text_webhook("wamid.BATCH", "still here"))
    value = raw["entry"][0]["changes"][0]["value"]
    value["messages"].insert(0, {"type": "text"})
    raw["entry"].append({"changes": [{"field": "messages", "value": "garbage"}]})
    (answer,), received = run(graph[0], [signed_post(json.dumps(raw).encode())])
    assert answer.status == 200 and [m.message_id for m in received] == ["wamid.BATCH"]


def test_oversized_bodies_are_refused_before_anything_else(graph: Tuple[str, Any]) -> None:
    body = text_webhook("wamid.BIG", "x" * 2000)
    (answer,), received = run(graph[0], [signed_post(body)], max_body_bytes=1024)
    assert answer.status == 413 and received == []


def test_three_megabyte_payloads_are_accepted(graph: Tuple[str, Any]) -> None:
    raw = json.loads(text_webhook("wamid.HUGE", "big batch"))
    raw["entry"][0]["changes"][0]["value"]["padding"] = "x" * (3 * 1024 * 1024 - 2000)
    (answer,), received = run(graph[0], [signed_post(json.dumps(raw).encode())])
    assert answer.status == 200 and [m.message_id for m in received] == ["wamid.HUGE"]


def test_content_type_does_not_matter_only_the_signed_body(graph: Tuple[str, Any]) -> None:
    post = signed_post(text_webhook("wamid.CT", "hi"))
    post["kwargs"]["headers"]["Content-Type"] = "text/plain"
    (answer,), received = run(graph[0], [post])
    assert answer.status == 200 and len(received) == 1


def test_webhook_is_refused_with_503_when_redis_is_down(graph: Tuple[str, Any]) -> None:
    body = text_webhook("wamid.NOREDIS", "hi")
    (answer,), received = run(graph[0], [signed_post(body)], consume=False,
                              redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert answer.status == 503  # not stored, so not acknowledged: Meta will deliver it again


def test_non_text_messages_become_intents_or_records(graph: Tuple[str, Any]) -> None:
    bodies = [json.dumps(payload(name)).encode() for name in (
        "meta_openapi_webhook_location.json", "pywa_webhook_unsupported_with_type.json",
        "meta_openapi_webhook_reaction.json")]
    _, received = run(graph[0], [signed_post(b) for b in bodies])
    # Different customers, so handled side by side: in no particular order.
    texts = {m.metadata["wa_type"]: m.text for m in received}
    assert texts["location"].startswith("/share_location{")
    assert texts["unsupported"] == '/unsupported_message{"wa_type":"pool"}'
    assert len(received) == 2  # the reaction is recorded, not answered


def delivery_record(redis_url: str, wamid: str) -> Dict[str, str]:
    async def read() -> Dict[str, str]:
        store = aioredis.Redis.from_url(redis_url)
        try:
            return await DeliveryStatus(store).get(wamid)
        finally:
            await store.close()

    return asyncio.run(read())


def test_status_callbacks_move_delivery_state_forward_only(graph: Tuple[str, Any], redis_url: str) -> None:
    def status(name: str, state: str, ts: int) -> bytes:
        raw = payload(name)
        item = raw["entry"][0]["changes"][0]["value"]["statuses"][0]
        item.update(id="wamid.OUT1", status=state, timestamp=str(ts))
        return json.dumps(raw).encode()

    sent = status("pywa_status_sent_cbp_with_conversation_pricing.json", "sent", 10)
    read = status("pywa_status_read.json", "read", 12)
    late_delivered = status("pywa_status_delivered.json", "delivered", 11)
    answers, received = run(graph[0], [signed_post(b) for b in (sent, read, late_delivered, read)])
    assert all(a.status == 200 for a in answers) and received == []
    record = delivery_record(redis_url, "wamid.OUT1")
    assert record["status"] == "read" and record["status_at"] == "12"
    assert record["delivered_at"] == "11" and record["sent_at"] == "10"
    assert record["pricing_category"] and record["conversation_id"]


def test_failed_status_records_the_error(graph: Tuple[str, Any], redis_url: str) -> None:
    run(graph[0], [signed_post(json.dumps(payload("pywa_status_failed_with_errors.json")).encode())])
    record = delivery_record(redis_url, "wamid.xyzxyz")
    assert record["status"] == "failed" and record["error_code"] == "130472"
    assert "experiment" in record["error_details"]


def test_a_number_answers_options_sent_as_numbered_text(graph: Tuple[str, Any]) -> None:
    url, _ = graph
    send_responses(url, [{"text": "Pick one", "buttons": [
        {"title": f"Option {i}", "payload": f'/choose{{"n":{i}}}'} for i in range(12)]}])
    _, received = run(url, [signed_post(text_webhook("wamid.NUM1", "3")), signed_post(text_webhook("wamid.NUM2", "3"))])
    # The first "3" picks option 3; the choice is then used up, so the second "3" is just text.
    assert [m.text for m in received] == ['/choose{"n":2}', "3"]


def test_refused_webhooks_are_counted_in_metrics(graph: Tuple[str, Any]) -> None:
    def count(outcome: str) -> float:
        return REGISTRY.get_sample_value("whatsapp_webhooks_total", {"outcome": outcome}) or 0.0

    before = {o: count(o) for o in ("bad_signature", "missing_signature", "accepted")}
    body = text_webhook("wamid.METRICS", "hi")
    unsigned = {"method": "post", "url": "/webhooks/whatsapp/webhook", "kwargs": {"content": body}}
    answers, _ = run(graph[0], [signed_post(body, "attacker"), unsigned, signed_post(body),
                                {"method": "get", "url": "/webhooks/whatsapp/metrics"}])
    assert count("bad_signature") == before["bad_signature"] + 1
    assert count("missing_signature") == before["missing_signature"] + 1
    assert count("accepted") == before["accepted"] + 1
    assert 'whatsapp_webhooks_total{outcome="bad_signature"}' in answers[3].text


# Meta's header/body/quick-reply example names a placeholder template ("template-name") that no registry
# holds: the messaging policy blocks it before Meta would answer 132001 (tests/whatsapp_cloud/policy/test_gate.py).
@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("meta_openapi_send_*_request.json")
                                        if "template_header_body_quickreply" not in p.name))
def test_every_meta_send_example_goes_out_unchanged_as_a_custom_response(graph: Tuple[str, Any], name: str) -> None:
    url, standin = graph
    example = json.loads((PAYLOADS / name).read_text().replace("{{Recipient-Phone-Number}}", CUSTOMER)
                         .replace("<http(s)://document-url>", "https://example.com/doc.pdf"))
    custom = {k: v for k, v in example.items() if k not in ("to", "messaging_product")}
    send_responses(url, [{"custom": custom}])
    [record] = standin.extensions["standin_outbox"].after(0)
    expected = {**example, "recipient_type": example.get("recipient_type", "individual")}
    assert record["message"] == expected


def test_turn_settings_come_from_credentials(graph: Tuple[str, Any]) -> None:
    channel = make_channel(graph[0], max_concurrent_turns=3, turn_yield_seconds=0.5,
                           outbound={"max_attempts": 2, "pair_burst": 10})
    assert (channel.max_concurrent_turns, channel.turn_yield_seconds) == (3, 0.5)
    assert (channel.sender_settings.max_attempts, channel.sender_settings.pair_burst) == (2, 10.0)


def test_the_channels_consumer_tries_rasas_lock_timeouts_again(graph: Tuple[str, Any]) -> None:
    # The consumer knows nothing of Rasa; the channel tells it that a busy conversation lock passes.
    channel = make_channel(graph[0])

    async def scenario() -> None:
        consumer = channel.start_consumer(lambda message: asyncio.sleep(0))
        try:
            assert issubclass(LockError, consumer.transient_errors)
        finally:
            await channel.stop_consumer()
            await channel.client.aclose()
            await channel.store.close()

    asyncio.run(scenario())


def test_a_turn_whose_custom_action_failed_gets_the_degraded_answer_while_the_action_server_answers(
        graph: Tuple[str, Any], healthy_actions: str) -> None:
    """The action server is up but one call failed (a timeout on a busy machine): Rasa logs it and sends nothing;
    the health check alone would take the silence for the bot's choice."""
    url, standin = graph
    (answer,), received = run(url, [signed_post(text_webhook("wamid.FAILED1", "hi"))], reply=False,
                              failed_action=True)
    assert answer.status == 200 and len(received) == 1
    [sent] = standin.extensions["standin_outbox"].after(0)
    assert sent["message"]["text"]["body"] == DEGRADED_ANSWER
