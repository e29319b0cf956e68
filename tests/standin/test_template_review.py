"""The stand-in reviews new templates like Meta: refuses bad requests at once, then approves or rejects the obvious
policy faults, and says so in a signed `message_template_status_update` webhook."""

import json
import time
from typing import Any, Dict, List

import pytest

from tests.standin.harness import AUTH, SECRET, WebhookReceiver, make_standin
from whatsapp_cloud.policy.template_drafts import TemplateDraft
from whatsapp_cloud.webhooks import inbound, signature

WABA = "100000000000002"
CREATE = f"/v26.0/{WABA}/message_templates"


def draft(**changes: Any) -> Dict[str, Any]:
    fields = {"name": "back_in_stock", "language": "en_US", "category": "UTILITY",
              "header": "About {{product}}", "body": "Hi {{first_name}}, the item you asked about is back in stock. "
              "Reply to this message to reserve it.", "footer": "Harbour Home Goods", "buttons": ["Reserve it"],
              "parameters": {"product": "the oak table", "first_name": "Ana"}, **changes}
    return TemplateDraft.from_mapping(fields).request()


def reviews(hook: WebhookReceiver, count: int, timeout: float = 5.0) -> List[Dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = []
        for delivery in hook.received:
            assert signature.is_valid(delivery["body"], delivery["headers"][signature.HEADER], [SECRET])
            found += [e.value for e in inbound.events(json.loads(delivery["body"]))
                      if isinstance(e, inbound.OtherChange) and e.field == "message_template_status_update"]
        if len(found) >= count:
            return found
        time.sleep(0.02)
    raise AssertionError(f"expected {count} template reviews, got {len(hook.received)} webhooks")


@pytest.fixture()
def reviewing(receiver: tuple) -> Any:
    return make_standin(receiver[1], STANDIN_STATUSES="off", STANDIN_TEMPLATE_REVIEW_DELAY="0")


def test_a_fair_utility_template_is_approved_and_then_listed_and_sendable(reviewing, receiver):
    answer = reviewing.post(CREATE, json=draft(), headers=AUTH)
    assert answer.status_code == 200, answer.get_json()
    created = answer.get_json()
    assert created["status"] == "PENDING" and created["category"] == "UTILITY" and created["id"].isdigit()
    (value,) = reviews(receiver[0], 1)
    assert value == {"event": "APPROVED", "message_template_id": int(created["id"]),
                     "message_template_name": "back_in_stock", "message_template_language": "en_US", "reason": "NONE"}
    listed = [t for t in reviewing.get(CREATE, headers=AUTH).get_json()["data"] if t["name"] == "back_in_stock"]
    assert [(t["status"], t["id"]) for t in listed] == [("APPROVED", created["id"])]
    send = {"messaging_product": "whatsapp", "to": "16505550000", "type": "template", "template": {
        "name": "back_in_stock", "language": {"code": "en_US"}, "components": [
            {"type": "header", "parameters": [{"type": "text", "parameter_name": "product", "text": "the lamp"}]},
            {"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Bo"}]}]}}
    sent = reviewing.post("/v26.0/106540352242922/messages", json=send, headers=AUTH)
    assert sent.status_code == 200, sent.get_json()


@pytest.mark.parametrize("changes, reason", [
    ({"body": "Hi {{first_name}}, get 20% off everything this weekend with code SPRING. Reply STOP to opt out.",
      "header": "", "parameters": {"first_name": "Ana"}}, "INCORRECT_CATEGORY"),
    ({"body": "Great deal on your next order, {{first_name}}! Reply to hear more.", "category": "AUTHENTICATION",
      "header": "", "parameters": {"first_name": "Ana"}}, "INCORRECT_CATEGORY"),
    ({"body": "{{message}}", "header": "", "parameters": {"message": "Your order shipped"}}, "INVALID_FORMAT"),
    ({"body": "{{first_name}}, your order shipped.", "header": "", "parameters": {"first_name": "Ana"}},
     "INVALID_FORMAT"),
    ({"body": "Your order shipped, {{first_name}}", "header": "", "parameters": {"first_name": "Ana"}},
     "INVALID_FORMAT"),
])
def test_obvious_policy_faults_are_rejected_with_the_reason(reviewing, receiver, changes, reason):
    answer = reviewing.post(CREATE, json=draft(**changes), headers=AUTH)
    assert answer.status_code == 200 and answer.get_json()["status"] == "PENDING"
    (value,) = reviews(receiver[0], 1)
    assert (value["event"], value["reason"]) == ("REJECTED", reason)
    assert value["other_info"]["description"]
    data = reviewing.get(CREATE, headers=AUTH).get_json()["data"]
    listed = [t["status"] for t in data if t["name"] == "back_in_stock"]
    assert listed == ["REJECTED"]


def test_the_same_offer_filed_as_marketing_is_approved(reviewing, receiver):
    body = draft(category="MARKETING", header="", parameters={"first_name": "Ana"},
                 body="Hi {{first_name}}, get 20% off everything this weekend. Reply STOP to opt out.")
    assert reviewing.post(CREATE, json=body, headers=AUTH).status_code == 200
    assert reviews(receiver[0], 1)[0]["event"] == "APPROVED"


@pytest.mark.parametrize("body, problem", [
    ({**draft(), "name": "Back In Stock"}, "name"),
    ({**draft(), "components": [{"type": "BODY", "text": "Hi {{first_name}}, it is back. Reply to reserve."}]},
     "first_name needs an example"),
    ({**draft(), "category": "PROMOTIONAL"}, "category"),
    ({**draft(), "name": "order_update"}, "already exists"),
])
def test_what_meta_refuses_at_creation_is_an_error_and_no_review(reviewing, receiver, body, problem):
    answer = reviewing.post(CREATE, json=body, headers=AUTH)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == 100 and problem in answer.get_json()["error"]["error_data"]["details"]
    time.sleep(0.2)
    assert receiver[0].received == []


def test_creating_needs_the_token_and_the_waba(reviewing):
    assert reviewing.post(CREATE, json=draft()).status_code == 401
    assert reviewing.post("/v26.0/999/message_templates", json=draft(), headers=AUTH).status_code == 400
