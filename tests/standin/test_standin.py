"""The Cloud API stand-in answers like Meta's Graph API and delivers customers' messages as signed webhooks."""

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from cloud_api_standin.app import create_app
from tests.standin.harness import AUTH, CUSTOMER, PHONE_ID, SECRET, TOKEN, URL, make_standin, wait_for_statuses
from tests.support.helpers import PAYLOADS, payload
from whatsapp_cloud.webhooks import inbound, signature

# Meta's header/body/quick-reply sample names a placeholder template ("template-name") that is not in
# whatsapp_templates.yml: the stand-in answers 132001 for it, as Meta would (tests/standin/test_policy_standin.py).
PLACEHOLDER_TEMPLATE_SAMPLE = "meta_openapi_send_template_header_body_quickreply_request.json"


def send_samples() -> List[Path]:
    return sorted(p for p in PAYLOADS.glob("meta_openapi_send_*_request.json") if p.name != PLACEHOLDER_TEMPLATE_SAMPLE)


def filled(path: Path) -> Dict[str, Any]:
    text = path.read_text().replace("{{Recipient-Phone-Number}}", CUSTOMER)
    return json.loads(text.replace("<http(s)://document-url>", "https://example.com/invoice.pdf"))


def open_window(standin: Any) -> Dict[str, Any]:
    answer = standin.post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "hi", "name": "Sheena"})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


@pytest.mark.parametrize("sample", send_samples(), ids=lambda p: p.stem)
def test_every_meta_send_example_is_accepted_inside_the_window(standin: Any, sample: Path) -> None:
    open_window(standin)
    answer = standin.post(URL, json=filled(sample), headers=AUTH)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": CUSTOMER, "wa_id": CUSTOMER}]
    assert body["messages"][0]["id"].startswith("wamid.")


def test_answer_has_the_shape_of_metas_example(standin: Any) -> None:
    open_window(standin)
    body = standin.post(URL, json=filled(PAYLOADS / "meta_openapi_send_text_request.json"), headers=AUTH).get_json()
    example = payload("meta_openapi_send_response_example.json")
    assert set(body) == set(example)
    assert set(body["contacts"][0]) == set(example["contacts"][0])


def test_sent_messages_are_recorded_in_order(standin: Any) -> None:
    seq = open_window(standin)["outbox_seq"]
    for text in ("one", "two"):
        standin.post(URL, json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text",
                                "text": {"body": text}}, headers=AUTH)
    records = standin.get(f"/_standin/outbox?after={seq}&to={CUSTOMER}").get_json()["messages"]
    assert [r["message"]["text"]["body"] for r in records] == ["one", "two"]


def test_free_form_outside_the_window_is_refused_like_meta(standin: Any) -> None:
    answer = standin.post(URL, json=filled(PAYLOADS / "meta_openapi_send_text_request.json"), headers=AUTH)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == 131047
    template = filled(PAYLOADS / "meta_openapi_send_template_hello_world_request.json")
    assert standin.post(URL, json=template, headers=AUTH).status_code == 200


def test_stale_customer_message_does_not_open_the_window(standin: Any) -> None:
    old = standin.post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "hi", "timestamp": 1_000_000})
    assert old.status_code == 200
    answer = standin.post(URL, json=filled(PAYLOADS / "meta_openapi_send_text_request.json"), headers=AUTH)
    assert answer.get_json()["error"]["code"] == 131047


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda b: b.pop("messaging_product"), "messaging_product"),
        (lambda b: b.pop("to"), "to"),
        (lambda b: b.update(type="hologram"), "type"),
        (lambda b: b["text"].update(body="x" * 4097), "body"),
        (lambda b: b.pop("text"), "text"),
    ],
)
def test_invalid_requests_get_metas_error_envelope(standin: Any, mutate: Any, where: str) -> None:
    open_window(standin)
    body = filled(PAYLOADS / "meta_openapi_send_text_request.json")
    mutate(body)
    answer = standin.post(URL, json=body, headers=AUTH)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == 100 and error["type"] == "OAuthException" and error["fbtrace_id"]
    assert where in error["error_data"]["details"] or where in error["message"]


def test_interactive_limits_are_enforced(standin: Any) -> None:
    open_window(standin)
    buttons = filled(PAYLOADS / "meta_openapi_send_interactive_reply_buttons_request.json")
    buttons["interactive"]["action"]["buttons"][0]["reply"]["title"] = "a title longer than twenty"
    assert standin.post(URL, json=buttons, headers=AUTH).get_json()["error"]["code"] == 100
    listing = filled(PAYLOADS / "meta_openapi_send_interactive_list_request.json")
    row = listing["interactive"]["action"]["sections"][0]["rows"][0]
    listing["interactive"]["action"]["sections"][0]["rows"] = [dict(row, id=f"r{i}") for i in range(11)]
    answer = standin.post(URL, json=listing, headers=AUTH).get_json()
    assert "10 rows" in answer["error"]["error_data"]["details"]


def test_wrong_token_and_unknown_number_are_refused(standin: Any) -> None:
    body = filled(PAYLOADS / "meta_openapi_send_text_request.json")
    bad_token = standin.post(URL, json=body, headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401 and bad_token.get_json()["error"]["code"] == 190
    other_number = standin.post("/v26.0/999/messages", json=body, headers=AUTH)
    assert other_number.status_code == 400 and other_number.get_json()["error"]["code"] == 100


def test_mark_as_read_with_typing_indicator(standin: Any) -> None:
    request_body = payload("meta_openapi_mark_read_typing_indicator_request.json")
    answer = standin.post(URL, json=request_body, headers=AUTH)
    assert answer.get_json() == payload("meta_openapi_mark_read_typing_indicator_response.json")
    request_body["typing_indicator"] = {"type": "video"}
    assert standin.post(URL, json=request_body, headers=AUTH).status_code == 400


def test_customer_message_arrives_as_a_signed_webhook_in_metas_envelope(standin: Any, receiver: tuple) -> None:
    hook, _ = receiver
    sent = open_window(standin)
    [delivery] = hook.received
    raw = delivery["body"]
    assert signature.is_valid(raw, delivery["headers"][signature.HEADER], [SECRET])
    envelope = json.loads(raw)
    example = payload("meta_openapi_webhook_text.json")
    assert envelope.keys() == example.keys()
    assert envelope["entry"][0]["changes"][0].keys() == example["entry"][0]["changes"][0].keys()
    value, example_value = envelope["entry"][0]["changes"][0]["value"], example["entry"][0]["changes"][0]["value"]
    assert value.keys() == example_value.keys()
    assert value["messages"][0].keys() == example_value["messages"][0].keys()
    [message] = inbound.messages(envelope)
    assert (message.wamid, message.sender, message.text, message.profile_name) == (
        sent["wamid"], CUSTOMER, "hi", "Sheena")


def test_customer_message_to_an_unreachable_bot_says_so(receiver: tuple) -> None:
    app = create_app({
        "WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/webhook",
    }).test_client()
    answer = app.post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "hi"})
    assert answer.status_code == 502 and "unreachable" in answer.get_json()["error"]


def send_text(client: Any, body: str = "hello", to: str = CUSTOMER) -> Any:
    return client.post(URL, json={"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}},
                       headers=AUTH)


@pytest.mark.parametrize("mode, expected", [
    ("normal", ["sent", "delivered", "read"]),
    ("read_without_delivered", ["sent", "read"]),
    ("out_of_order", ["sent", "read", "delivered"]),
    ("duplicated", ["sent", "sent", "delivered", "delivered", "read", "read"]),
])
def test_status_webhooks_follow_each_sent_message(receiver: tuple, mode: str, expected: List[str]) -> None:
    hook, url = receiver
    client = make_standin(url)
    open_window(client)
    client.post("/_standin/modes", json={"statuses": mode})
    wamid = send_text(client).get_json()["messages"][0]["id"]
    statuses = wait_for_statuses(hook, len(expected))
    assert [s.status for s in statuses] == expected and {s.wamid for s in statuses} == {wamid}
    assert statuses[0].pricing == {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                                   "category": "service"}


def test_async_window_mode_accepts_then_reports_131047(receiver: tuple) -> None:
    hook, url = receiver
    client = make_standin(url, STANDIN_WINDOW_MODE="async")
    answer = send_text(client, "nobody wrote to us")
    assert answer.status_code == 200
    [failed] = wait_for_statuses(hook, 1)
    assert failed.status == "failed" and failed.error_codes == [131047]
    assert failed.wamid == answer.get_json()["messages"][0]["id"]


def test_throughput_and_pair_rate_limits(receiver: tuple) -> None:
    _, url = receiver
    client = make_standin(url, STANDIN_STATUSES="off", STANDIN_PAIR_BURST="2", STANDIN_THROUGHPUT="1000")
    for wa_id in (CUSTOMER, "15550009999"):
        client.post(f"/_standin/customers/{wa_id}/messages", json={"text": "hi"})
    assert [send_text(client).status_code for _ in range(2)] == [200, 200]
    assert send_text(client).get_json()["error"]["code"] == 131056
    assert send_text(client, to="15550009999").status_code == 200
    busy = make_standin(url, STANDIN_STATUSES="off", STANDIN_THROUGHPUT="2")
    open_window(busy)
    codes = [send_text(busy).get_json().get("error", {}).get("code") for _ in range(3)]
    assert codes == [None, None, 130429]


def test_any_fixture_can_be_replayed_signed(standin: Any, receiver: tuple) -> None:
    hook, _ = receiver
    body = payload("pywa_webhook_user_preferences_resume.json")
    answer = standin.post("/_standin/replay", json=body)
    assert answer.status_code == 200 and answer.get_json()["webhook_status"] == 200
    [delivery] = hook.received
    assert json.loads(delivery["body"]) == body
    assert signature.is_valid(delivery["body"], delivery["headers"][signature.HEADER], [SECRET])


def test_injected_faults_are_served_first(standin: Any) -> None:
    open_window(standin)
    standin.post("/_standin/faults", json=[{"http_status": 500}, {"code": 130429}])
    assert send_text(standin).status_code == 500
    assert send_text(standin).get_json()["error"]["code"] == 130429
    assert send_text(standin).status_code == 200
