"""WhatsApp's messaging rules end to end: the whole stack (as `make run`), a test clock shared through Redis.

The stack starts with WHATSAPP_TEST_CLOCK=true, so the policy and the stand-in both read the clock
offset the tests set in Redis: "25 hours later" is the same moment for the bot and for "Meta".
"""

import time
from typing import Any, Dict, Iterator, List

import pytest
import redis
import requests

from stack.background import BackgroundStack
from whatsapp_cloud import redis_keys
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.consent import SCOPES
from whatsapp_cloud.policy.store import SyncPolicyStore

pytestmark = pytest.mark.e2e
START_TIMEOUT = 300
POLICY_CAUSED = {131047, 131050, 132000, 132001, 132008, 132015, 132016}


class PolicyStack(BackgroundStack):
    @property
    def urls(self) -> Dict[str, str]:
        return self.resolved()

    @property
    def store(self) -> SyncPolicyStore:
        return SyncPolicyStore(redis.Redis.from_url(self.urls["REDIS_URL"]),
                               PolicyConfig(test_clock=True, phone_number_id=self.urls["WHATSAPP_PHONE_NUMBER_ID"]))

    def customer_writes(self, wa_id: str, text: str, **extra: Any) -> int:
        """The customer's message goes to the bot; the outbox position before any reply."""
        answer = requests.post(f"{self.urls['STANDIN_URL']}/_standin/customers/{wa_id}/messages",
                               json={"text": text, "name": "Policy Test", **extra}, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["outbox_seq"]

    def replies(self, wa_id: str, after: int, wait: float = 30, quiet: float = 3) -> List[Dict[str, Any]]:
        """What the business sent `wa_id` after `after`, once nothing more came for `quiet` seconds."""
        found: List[Dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            batch = requests.get(f"{self.urls['STANDIN_URL']}/_standin/outbox", timeout=wait + 5, params={
                "to": wa_id, "after": found[-1]["seq"] if found else after,
                "wait": quiet if found else max(0.1, deadline - time.monotonic())}).json()["messages"]
            if not batch and found:
                break
            found += batch
        return [r["message"] for r in found]

    def trigger(self, wa_id: str, intent: str, entities: Dict[str, str]) -> None:
        """Make the bot speak without the customer writing (Rasa's HTTP API, as reminders and agents do)."""
        answer = requests.post(
            f"{self.urls['RASA_URL']}/conversations/{wa_id}/trigger_intent",
            params={"output_channel": "whatsapp", "token": self.urls["RASA_API_TOKEN"]},
            json={"name": intent, "entities": entities}, timeout=60)
        assert answer.status_code == 200, answer.text

    def last_seq(self) -> int:
        return requests.get(f"{self.urls['STANDIN_URL']}/_standin/outbox", timeout=10).json()["last_seq"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PolicyStack]:
    running = PolicyStack(tmp_path_factory.mktemp("var"), WHATSAPP_TEST_CLOCK="true")
    running.start(timeout=START_TIMEOUT)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def real_time_again(stack: PolicyStack) -> Iterator[None]:
    yield
    stack.store.set_clock_offset(0)


def test_the_demo_customer_is_opted_in_at_the_checkout_page(stack: PolicyStack) -> None:
    consent = stack.store.snapshot("15551230001").state.consent
    assert consent.opted_in("utility") and consent.records["utility"].source == "checkout_page"


def test_a_reply_after_25_hours_of_silence_goes_out_as_the_mapped_template(stack: PolicyStack) -> None:
    ana = "15551230002"  # a demo customer; her order 1004 is packed
    stack.store.record_consent(ana, "in", SCOPES, "website", "Order updates by WhatsApp: yes")
    assert stack.replies(ana, stack.customer_writes(ana, "hi"))[0]["type"] == "text"
    stack.store.set_clock_offset(25 * 3600)
    seq = stack.last_seq()
    stack.trigger(ana, "EXTERNAL_order_update", {"order_id": "1004"})  # the shop reports a change
    [update] = stack.replies(ana, seq)
    assert update["type"] == "template" and update["template"]["name"] == "order_update"
    assert update["template"]["components"][0]["parameters"][0]["text"] == "1004"


def test_a_webhook_delivered_30_hours_late_is_answered_by_template(stack: PolicyStack) -> None:
    omar = "15551230003"  # a demo customer; his order 1005 is placed
    stack.store.record_consent(omar, "in", SCOPES, "sms", "Reply YES for order updates on WhatsApp: YES")
    seq = stack.customer_writes(omar, "where is my order 1005", timestamp=int(time.time()) - 30 * 3600)
    [reopen] = stack.replies(omar, seq)
    assert reopen["type"] == "template" and reopen["template"]["name"] == "conversation_followup"
    # The customer replies: the answer that waited goes first, then the answer to the new message.
    after_reply = stack.replies(omar, stack.customer_writes(omar, "ok"))
    assert after_reply[0]["type"] == "text" and "1005" in after_reply[0]["text"]["body"]


def test_an_opted_out_customer_receives_nothing_but_the_confirmation(stack: PolicyStack) -> None:
    wa_id = "15550101003"
    stack.store.record_consent(wa_id, "in", SCOPES, "checkout_page", "Send me order updates")
    stack.replies(wa_id, stack.customer_writes(wa_id, "hi"))
    seq = stack.customer_writes(wa_id, "STOP")
    [confirmation] = stack.replies(wa_id, seq)  # one message, in the chat: the confirmation
    assert confirmation["type"] == "text" and confirmation["text"]["body"].startswith("Done: we won't send you")
    consent = stack.store.snapshot(wa_id).state.consent
    assert consent.opted_out("utility") and consent.opted_out("marketing")
    seq = stack.customer_writes(wa_id, "stop")  # said again: no second confirmation
    assert stack.replies(wa_id, seq, wait=8) == []
    stack.store.set_clock_offset(25 * 3600)
    seq = stack.last_seq()
    stack.trigger(wa_id, "EXTERNAL_order_update", {"order_id": "1001"})  # business-initiated, a day later
    assert stack.replies(wa_id, seq, wait=8) == []
    [waiting] = stack.store.deferred(wa_id)
    assert "opted out" in waiting["reason"]
    events = redis.Redis.from_url(stack.urls["REDIS_URL"], decode_responses=True).xrange(redis_keys.EVENT_STREAM)
    assert any(e["kind"] == "outbound_deferred" and e.get("recipient") == wa_id for _, e in events)


def test_start_opts_the_customer_in_again(stack: PolicyStack) -> None:
    wa_id = "15550101004"
    stack.replies(wa_id, stack.customer_writes(wa_id, "STOP"))
    [welcome] = stack.replies(wa_id, stack.customer_writes(wa_id, "start"))
    assert welcome["text"]["body"].startswith("Welcome back")
    assert stack.store.snapshot(wa_id).state.consent.opted_in("marketing")


def order_event(stack: PolicyStack, **event: Any) -> Dict[str, Any]:
    """The shop's systems report an order's new state (the handoff service's API, the integration token)."""
    answer = requests.post(f"{stack.urls['HANDOFF_URL']}/api/order-events", json=event, timeout=60,
                           headers={"Authorization": f"Bearer {stack.urls['HANDOFF_API_TOKEN']}"})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["event"]


def test_order_events_reach_the_customer_once_by_template_outside_the_window_and_as_text_inside(
        stack: PolicyStack) -> None:
    sam = "15551230001"  # the demo customer: opted in at checkout, has not written; A-10023 is out for delivery
    seq = stack.last_seq()
    assert order_event(stack, order_id="A-10023", state="delivered", update_shop=True)["previous"] == "out_for_delivery"
    [update] = stack.replies(sam, seq, quiet=1)
    assert update["type"] == "template" and update["template"]["name"] == "order_update"
    assert [p["text"] for p in update["template"]["components"][0]["parameters"]] == ["A-10023", "delivered"]

    omar = "15551230003"  # writes now, so the update is a reply inside his window; his refund for 1009 is requested
    stack.store.record_consent(omar, "in", SCOPES, "website", "Order updates by WhatsApp: yes")
    stack.replies(omar, stack.customer_writes(omar, "hi"), quiet=1)
    seq = stack.last_seq()
    order_event(stack, order_id="1009", state="refund_approved", update_shop=True)
    [told] = stack.replies(omar, seq, quiet=1)
    assert told["type"] == "text" and "1009" in told["text"]["body"] and "approved" in told["text"]["body"].lower()

    seq = stack.last_seq()  # the shop's system sends both events again: nothing goes out twice
    assert order_event(stack, order_id="A-10023", state="delivered", update_shop=True)["duplicate"] is True
    assert order_event(stack, order_id="1009", state="refund_approved")["duplicate"] is True
    time.sleep(2)
    assert requests.get(f"{stack.urls['STANDIN_URL']}/_standin/outbox", params={"after": seq},
                        timeout=10).json()["messages"] == []


def test_the_stand_in_never_reported_an_error_the_bot_caused(stack: PolicyStack) -> None:
    refusals = requests.get(f"{stack.urls['STANDIN_URL']}/_standin/refusals", timeout=10).json()["refusals"]
    assert [r for r in refusals if r["code"] in POLICY_CAUSED] == []
