"""Template status and category webhooks apply in the order of Meta's own times; a template paused by
Meta is usable again after APPROVED or REINSTATED."""

import time

from tests.support.policy_harness import Harness, order_update, scenario, text
from whatsapp_cloud.policy.decision import Action
from whatsapp_cloud.webhooks import inbound


def status_event(event: str, at: int) -> inbound.OtherChange:
    return inbound.OtherChange("message_template_status_update", {
        "event": event, "message_template_name": "order_update", "message_template_language": "en_US",
        "reason": "NONE"}, at)


def test_a_paused_template_is_restored_and_late_events_change_nothing(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=30)
        await h.opted_in()
        now = int(time.time())

        async def decision() -> Action:
            return (await h.sender.policy.plan("15551230001", text("Order 1001 shipped"), order_update()))[0].action

        await h.hooks.on_event(status_event("PAUSED", now - 300))
        assert await decision() == Action.DEFER
        await h.hooks.on_event(status_event("REINSTATED", now - 200))
        assert await decision() == Action.SEND_TEMPLATE
        await h.hooks.on_event(status_event("PAUSED", now - 250))  # delivered late: older than REINSTATED
        assert await decision() == Action.SEND_TEMPLATE
        await h.hooks.on_event(status_event("PAUSED", now - 100))
        await h.hooks.on_event(status_event("APPROVED", now - 50))
        assert await decision() == Action.SEND_TEMPLATE

    scenario(graph, redis_url, work)


def test_the_parser_keeps_the_time_meta_gives_a_template_event():
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "time": 1764633600, "changes": [{
        "field": "message_template_status_update",
        "value": {"event": "APPROVED", "message_template_name": "order_update", "message_template_language": "en_US"},
    }]}]}
    [event] = inbound.events(body)
    assert isinstance(event, inbound.OtherChange) and event.time == 1764633600
