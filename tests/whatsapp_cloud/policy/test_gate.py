"""The policy on the send path, against a real Redis and the Cloud API stand-in over real HTTP."""

from dataclasses import replace

import pytest

from tests.support.policy_harness import (
    CONFIG,
    CUSTOMER,
    OTHER,
    PHONE_ID,
    REGISTRY,
    H,
    Harness,
    followup,
    message,
    order_update,
    scenario,
    text,
)
from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.policy.consent import SCOPES
from whatsapp_cloud.policy.decision import Action, Until
from whatsapp_cloud.policy.store import SyncPolicyStore
from whatsapp_cloud.webhooks import inbound


def test_reply_inside_the_window_goes_as_it_is(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=1)
        delivery = await h.sender.deliver(text("Your parcel left the warehouse"), fallback=order_update())
        assert delivery.decision.action == Action.SEND_SESSION and delivery.result is not None
        assert [m["type"] for m in h.sent()] == ["text"]
        [event] = await h.events("outbound")
        assert "fallback" not in event  # sent as it was: no template counted for analytics

    scenario(graph, redis_url, work)


def test_reply_after_25_hours_of_silence_goes_as_its_template_never_as_free_text(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=25)
        await h.opted_in()
        delivery = await h.sender.deliver(text("Order 1001 shipped"), fallback=order_update(), label="utter_x")
        assert delivery.replaced_by_template and delivery.result is not None
        [sent] = h.sent()
        assert sent["type"] == "template" and sent["template"]["name"] == "order_update"
        assert h.refusals() == []
        [event] = await h.events("outbound")
        assert (event["type"], event["label"], event["fallback"]) == ("template", "utter_x", "order_update")
        # It reached a customer outside a window: one unique customer against the messaging limit.
        assert (await h.state.snapshot(CUSTOMER)).state.limit == replace(
            (await h.state.snapshot(CUSTOMER)).state.limit, used=1, recipient_counted=True)

    scenario(graph, redis_url, work)


def test_no_fallback_outside_the_window_waits_and_goes_when_the_customer_writes(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=30)
        first = await h.sender.deliver(text("first"), key="wamid.T1:1")
        second = await h.sender.deliver(text("second"), key="wamid.T1:2")
        assert first.decision.action == Action.DEFER and first.decision.until == Until.CUSTOMER_WRITES
        assert second.result is None and h.sent() == []
        # The same turn run again (after a crash) does not queue its replies twice.
        again = await h.sender.deliver(text("first"), key="wamid.T1:1")
        assert again.decision is None and len(await h.state.deferred(CUSTOMER)) == 2
        [deferred_event, _] = await h.events("outbound_deferred")
        assert "no template" in deferred_event["reason"]
        await h.customer_wrote(hours_ago=0)
        assert await h.sender.flush(CUSTOMER) == 2
        assert [m["text"]["body"] for m in h.sent()] == ["first", "second"]
        assert await h.state.deferred(CUSTOMER) == []
        assert h.refusals() == []

    scenario(graph, redis_url, work)


def test_followup_template_reopens_the_chat_and_the_response_follows_the_reply(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=26)
        await h.opted_in()
        delivery = await h.sender.deliver(text("An agent answered: your refund is approved"), fallback=followup())
        assert delivery.replaced_by_template
        assert [m["template"]["name"] for m in h.sent()] == ["conversation_followup"]
        await h.customer_wrote(hours_ago=0)
        await h.sender.flush(CUSTOMER)
        assert h.sent()[-1]["text"]["body"] == "An agent answered: your refund is approved"

    scenario(graph, redis_url, work)


def test_no_template_without_opt_in_and_the_block_is_logged_and_counted(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=40)
        promo = {"recipient_type": "individual", "to": CUSTOMER, "type": "template",
                 "template": REGISTRY.build("weekend_promo", "en_US", {"discount": "20%"})}
        delivery = await h.sender.deliver(promo, label="campaign")
        assert delivery.decision.action == Action.BLOCK and delivery.result is None
        [blocked] = await h.events("outbound_blocked")
        assert blocked["reason"] == "no marketing opt-in for template weekend_promo"
        assert h.sent() == [] and h.refusals() == []

    scenario(graph, redis_url, work)


def test_unknown_or_badly_filled_templates_never_reach_meta(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=1)
        await h.opted_in()
        unknown = {"to": CUSTOMER, "type": "template", "template": {"name": "nope", "language": {"code": "en_US"}}}
        short = {"to": CUSTOMER, "type": "template", "template": {
            "name": "order_update", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "1001",
                                                            "parameter_name": "order_id"}]}]}}
        for payload, code in ((unknown, "132001"), (short, "132000")):
            delivery = await h.sender.deliver(payload)
            assert delivery.decision.action == Action.BLOCK and code in delivery.decision.reason
        assert h.sent() == [] and h.refusals() == []

    scenario(graph, redis_url, work)


def test_messaging_limit_defers_new_customers_until_capacity_frees(graph, redis_url):
    config = replace(CONFIG, tier=1, test_clock=True)

    async def work(h: Harness) -> None:
        for customer in (CUSTOMER, OTHER):
            await h.customer_wrote(hours_ago=30, to=customer)
            await h.opted_in(customer)
        first = await h.sender.deliver(text("a", CUSTOMER), fallback=order_update())
        second = await h.sender.deliver(text("b", OTHER), fallback=order_update("1002"))
        assert first.replaced_by_template
        assert second.decision.action == Action.DEFER and second.decision.until == Until.CAPACITY
        assert await h.sender.flush_waiting_for_capacity() == 0  # still within the same 24 hours
        SyncPolicyStore(redis_connection.blocking(redis_url), config).set_clock_offset(25 * 3600)  # a day later
        assert await h.sender.flush_waiting_for_capacity() == 1
        [sent] = h.sent(OTHER)
        assert sent["template"]["components"][0]["parameters"][0]["text"] == "1002"
        assert await h.state.waiting_for_capacity() == []

    scenario(graph, redis_url, work, config)


def test_131047_reported_later_replans_the_message_as_its_template(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.opted_in()
        # Our record says the customer wrote an hour ago; Meta disagrees and fails the text later.
        await h.state.record_inbound(CUSTOMER, await h.state.now() - H, from_referral=False)
        h.app.test_client().post("/_standin/modes", json={"window": "async"})
        delivery = await h.sender.deliver(text("Order 1001 shipped"), fallback=order_update())
        assert delivery.decision.action == Action.SEND_SESSION
        failed = inbound.StatusUpdate(delivery.result.wamid, "failed", 0, CUSTOMER, PHONE_ID,
                                      errors=[{"code": 131047, "title": "Re-engagement message"}])
        await h.hooks.on_status(failed)
        [sent] = h.sent()
        assert sent["template"]["name"] == "order_update"
        await h.hooks.on_status(failed)  # the same failure again (Meta retries): nothing more
        assert len(h.sent()) == 1

    scenario(graph, redis_url, work)


def test_131047_without_a_template_defers_the_message_for_the_customers_next_message(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.state.record_inbound(CUSTOMER, await h.state.now() - H, from_referral=False)
        h.app.test_client().post("/_standin/modes", json={"window": "async"})
        delivery = await h.sender.deliver(text("Thanks for waiting"))
        await h.hooks.on_status(inbound.StatusUpdate(delivery.result.wamid, "failed", 0, CUSTOMER, PHONE_ID,
                                                     errors=[{"code": 131047}]))
        [waiting] = await h.state.deferred(CUSTOMER)
        assert waiting["payload"]["text"]["body"] == "Thanks for waiting"

    scenario(graph, redis_url, work)


def test_paused_template_is_not_used_and_a_category_change_is_recorded_and_reported(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=30)
        await h.opted_in()
        await h.hooks.on_event(inbound.OtherChange("message_template_status_update", {
            "event": "PAUSED", "message_template_name": "order_update", "message_template_language": "en_US",
            "reason": "LOW_QUALITY"}))
        delivery = await h.sender.deliver(text("Order 1001 shipped"), fallback=order_update())
        assert delivery.decision.action == Action.DEFER and "paused" in delivery.decision.reason
        await h.hooks.on_event(inbound.OtherChange("template_category_update", {
            "message_template_name": "conversation_followup", "message_template_language": "en_US",
            "previous_category": "UTILITY", "new_category": "MARKETING"}))
        [changed] = await h.events("template_category_update")
        assert (changed["template"], changed["new_category"]) == ("conversation_followup", "MARKETING")
        # Now marketing: a customer who stopped marketing no longer gets it.
        await h.customer_wrote(hours_ago=30, to=OTHER)
        await h.opted_in(OTHER)
        await h.state.record_consent(OTHER, "out", ("marketing",), "user_preferences", "stop")
        blocked = await h.sender.deliver(text("hello again", OTHER), fallback=followup())
        assert blocked.decision.action == Action.DEFER and "opted out of marketing" in blocked.decision.reason
        assert h.sent() == [] and h.sent(OTHER) == []

    scenario(graph, redis_url, work)


def test_marketing_stop_from_whatsapp_and_131050_are_opt_outs_and_resume_is_an_opt_in(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.opted_in()
        t = int((await h.state.now()).timestamp())
        await h.hooks.on_event(inbound.PreferenceUpdate(CUSTOMER, "marketing_messages", "stop", t + 10))
        assert (await h.state.consent(CUSTOMER)).opted_out("marketing")
        await h.hooks.on_event(inbound.PreferenceUpdate(CUSTOMER, "marketing_messages", "resume", t + 100))
        assert (await h.state.consent(CUSTOMER)).opted_in("marketing")
        # A late "stop" webhook (older than the resume) changes nothing.
        await h.hooks.on_event(inbound.PreferenceUpdate(CUSTOMER, "marketing_messages", "stop", t + 50))
        assert (await h.state.consent(CUSTOMER)).opted_in("marketing")
        await h.hooks.on_status(inbound.StatusUpdate("wamid.X", "failed", t + 200, CUSTOMER, PHONE_ID,
                                                     errors=[{"code": 131050}]))
        consent = await h.state.consent(CUSTOMER)
        assert consent.opted_out("marketing") and consent.records["marketing"].source == "error_131050"
        assert consent.opted_in("utility")

    scenario(graph, redis_url, work)


@pytest.mark.parametrize("said, intent, status", [
    ("STOP", "/opt_out", "out"), ("baja", "/opt_out", "out"), (" Arrêt! ", "/opt_out", "out"),
    ("Unsubscribe.", "/opt_out", "out"), ("START", "/opt_in", "in"),
])
def test_exact_keywords_become_consent_intents_and_are_recorded_at_once(graph, redis_url, said, intent, status):
    async def work(h: Harness) -> None:
        now = (await h.state.now()).timestamp()
        stop = message(said, now=now)
        await h.hooks.on_inbound(stop)
        text_, metadata = h.hooks.turn_text(stop)
        assert text_ == intent and metadata["wa_consent_changed"] == ["utility", "marketing"]
        consent = await h.state.consent(CUSTOMER)
        assert all(consent.records[s].status == status and consent.records[s].source == "keyword" for s in SCOPES)
        # The same keyword again changes nothing: the bot will not confirm twice.
        repeated = message(said, now=now + 1)
        await h.hooks.on_inbound(repeated)
        assert h.hooks.turn_text(repeated)[1]["wa_consent_changed"] == []
        log = await h.sender.store.xrange(redis_keys.CONSENT_LOG)
        assert len(log) == 1 and said in log[0][1][b"wording"].decode()

    scenario(graph, redis_url, work)


def test_ordinary_messages_and_the_opt_out_button(graph, redis_url):
    async def work(h: Harness) -> None:
        now = (await h.state.now()).timestamp()
        ordinary = message("please stop sending the wrong size", now=now)
        await h.hooks.on_inbound(ordinary)
        assert h.hooks.turn_text(ordinary) == ("please stop sending the wrong size", {})
        assert (await h.state.consent(CUSTOMER)).records == {}
        button = message("STOP_PROMOTIONS", kind="button", now=now)
        await h.hooks.on_inbound(button)
        text_, metadata = h.hooks.turn_text(button)
        assert text_ == "/opt_out" and metadata["wa_consent_changed"] == ["marketing"]

    scenario(graph, redis_url, work)


def test_a_webhook_delivered_30_hours_late_is_answered_by_template(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.opted_in()
        now = (await h.state.now()).timestamp()
        await h.hooks.on_inbound(message("where is order 1001", hours_ago=30, now=now))
        assert not (await h.state.snapshot(CUSTOMER)).state.windows.service_open(await h.state.now())
        delivery = await h.sender.deliver(text("Order 1001 shipped"), fallback=order_update())
        assert delivery.replaced_by_template and h.refusals() == []

    scenario(graph, redis_url, work)


def test_referral_reply_opens_the_free_entry_window_and_metas_expiration_wins(graph, redis_url):
    async def work(h: Harness) -> None:
        now = await h.state.now()
        h.app.test_client().post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "ad"})
        await h.hooks.on_inbound(message("I saw your ad", referral=True, now=now.timestamp()))
        await h.sender.deliver(text("Welcome! How can I help?"))
        windows = (await h.state.snapshot(CUSTOMER)).state.windows
        assert windows.free_entry_until is not None and windows.free_entry_until > now + 71 * H
        expires = int((now + 7 * 24 * H).timestamp())
        await h.hooks.on_status(inbound.StatusUpdate(
            "wamid.Y", "sent", int(now.timestamp()), CUSTOMER, PHONE_ID,
            pricing={"type": "free_entry_point", "category": "referral_conversion"},
            conversation={"id": "c1", "expiration_timestamp": str(expires), "origin": {"type": "referral_conversion"}}))
        assert (await h.state.snapshot(CUSTOMER)).state.windows.free_entry_until.timestamp() == expires

    scenario(graph, redis_url, work)


def test_only_one_process_at_a_time_sends_a_customers_deferred_messages(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=30)
        await h.sender.deliver(text("waiting"))
        await h.customer_wrote(hours_ago=0)
        assert await h.state.lock_deferred(CUSTOMER, "another-process")
        assert await h.sender.flush(CUSTOMER) == 0 and h.sent() == []  # the other process is at it
        await h.state.unlock_deferred(CUSTOMER, "another-process")
        assert await h.sender.flush(CUSTOMER) == 1

    scenario(graph, redis_url, work)


def test_what_goes_out_is_priced_when_meta_reports_it_delivered(graph, redis_url):
    async def delivered(h: Harness, wamid: str) -> None:
        now = int((await h.state.now()).timestamp())
        await h.hooks.on_status(inbound.StatusUpdate(wamid, "delivered", now, CUSTOMER, PHONE_ID))

    async def customer_writes(h: Harness, wamid: str, at: int) -> None:
        h.app.test_client().post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "hi", "timestamp": at})
        await h.hooks.on_inbound(inbound.InboundMessage(wamid, CUSTOMER, at, "text", "hi", PHONE_ID))

    async def work(h: Harness) -> None:
        await customer_writes(h, "wamid.in1", int((await h.state.now() - 25 * H).timestamp()))
        await h.opted_in()
        template = await h.sender.deliver(text("Order 1001 shipped"), fallback=order_update())
        await delivered(h, template.result.wamid)
        totals = await h.sender.costs.totals()
        assert sum(t.charged for t in totals.values()) == 1 and sum(t.micros for t in totals.values()) > 0
        utility = totals["utility"]
        assert (utility.messages, utility.charged) == (1, 1)

        # The customer writes again: the reply inside the new window is a free service message.
        await customer_writes(h, "wamid.in2", int((await h.state.now()).timestamp()))
        reply = await h.sender.deliver(text("You're welcome"))
        await delivered(h, reply.result.wamid)
        after = await h.sender.costs.totals()
        assert sum(t.charged for t in after.values()) == 1 and after["utility"] == utility
        assert (await h.sender.costs.summary(CUSTOMER)).service_window_until is not None

    scenario(graph, redis_url, work)
