"""Messages that must not be sent, or lost, or sent twice: the deferred queue, re-plans, dead letters,
agents' sends. Real Redis, the Cloud API stand-in over real HTTP, the channel's policy hooks."""

import asyncio
import json
import time
from datetime import timedelta
from typing import Any, Dict

from tests.support.policy_harness import (
    CUSTOMER,
    FAST,
    OTHER,
    PHONE_ID,
    H,
    Harness,
    customer_message,
    failed_status,
    followup,
    order_update,
    scenario,
    text,
)
from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.graph.client import GraphApiClient
from whatsapp_cloud.graph.config import CloudApiConfig
from whatsapp_cloud.graph.errors import GraphApiError
from whatsapp_cloud.outbound.sender import OutboundSender, SenderSettings
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.decision import Action, Until
from whatsapp_cloud.policy.gate import PolicyGate
from whatsapp_cloud.retention import Retention
from whatsapp_cloud.webhooks import inbound

BSUID = "US.13491208655302741918"


def test_a_stop_releases_nothing_that_waited_only_its_confirmation_follows(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=30)
        await h.opted_in()
        await h.sender.deliver(text("Your refund was approved"))  # window closed, no template: it waits
        assert len(await h.state.deferred(CUSTOMER)) == 1
        await h.hooks.on_inbound(customer_message(h, "STOP", "wamid.stop"))
        assert h.sent() == [] and h.refusals() == []  # nothing went out as the answer to STOP
        snapshot = await h.state.snapshot(CUSTOMER)
        assert snapshot.state.consent.opted_out("marketing") and snapshot.state.consent.opted_out("utility")
        assert len(await h.state.deferred(CUSTOMER)) == 1  # kept: it goes when the customer writes again
        await h.hooks.on_inbound(customer_message(h, "where is my refund?", "wamid.next"))
        assert [m["text"]["body"] for m in h.sent()] == ["Your refund was approved"]

    scenario(graph, redis_url, work)


def test_a_message_waiting_for_capacity_with_a_reply_request_goes_when_capacity_frees(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.opted_in(OTHER)
        await h.customer_wrote(hours_ago=30, to=OTHER)
        assert (await h.sender.deliver(text("Order shipped", to=OTHER), fallback=order_update())).result
        await h.customer_wrote(hours_ago=30)
        await h.opted_in()
        held = await h.sender.deliver(text("Your invoice is ready"), fallback=followup())
        assert held.decision.action == Action.DEFER and held.decision.until == Until.CAPACITY
        # 24 hours later the other customer no longer counts against the tier.
        day_ago = (await h.state.now() - 25 * H).timestamp()
        await h.sender.store.zadd(redis_keys.LIMIT_REACHED, {OTHER: day_ago})
        await h.sender.flush_waiting_for_capacity()
        [asked] = h.sent()
        assert asked["type"] == "template" and asked["template"]["name"] == "conversation_followup"
        [waiting] = await h.state.deferred(CUSTOMER)  # the message itself follows the customer's reply
        assert waiting["payload"]["text"]["body"] == "Your invoice is ready"
        assert waiting["until"] == Until.CUSTOMER_WRITES.value
        assert await h.sender.flush_waiting_for_capacity() == 0 and len(h.sent()) == 1  # asked once only
        await h.hooks.on_inbound(customer_message(h, "yes?", "wamid.reply"))
        assert [m.get("text", {}).get("body") for m in h.sent()][1:] == ["Your invoice is ready"]

    scenario(graph, redis_url, work, PolicyConfig(tier=1))


def test_the_deferred_lock_is_released_only_by_its_holder(graph, redis_url):
    async def work(h: Harness) -> None:
        assert await h.state.lock_deferred(CUSTOMER, "first", 1)
        await asyncio.sleep(1.2)  # the first holder was too slow: its lock lapsed
        assert await h.state.lock_deferred(CUSTOMER, "second", 60)
        await h.state.unlock_deferred(CUSTOMER, "first")  # the slow one finishes: not its lock any more
        assert not await h.state.lock_deferred(CUSTOMER, "third", 60)
        assert not await h.state.extend_deferred_lock(CUSTOMER, "first")
        await h.state.unlock_deferred(CUSTOMER, "second")
        assert await h.state.lock_deferred(CUSTOMER, "third", 60)

    scenario(graph, redis_url, work)


class OtherProcessMeanwhile(GraphApiClient):
    """While this process sends the first waiting message, another one already sent and removed it, and
    the bot deferred a new message for the customer (what a second process does during a slow send)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meanwhile: Any = None

    async def send(self, payload: Dict[str, Any]) -> Any:
        result = await super().send(payload)
        if self.meanwhile is not None:
            work, self.meanwhile = self.meanwhile, None
            await work()
        return result


def test_a_flush_removes_exactly_the_message_it_sent(graph, redis_url):
    url, app = graph

    async def go() -> None:
        store = redis_connection.asyncio(redis_url)
        client = OtherProcessMeanwhile(CloudApiConfig(access_token="tok", phone_number_id=PHONE_ID, api_base_url=url))
        sender = OutboundSender(client, store, FAST, policy=PolicyGate(store, PolicyConfig()))
        h = Harness(sender, app)
        try:
            await h.customer_wrote(hours_ago=30)
            await sender.deliver(text("first"))
            [(stored, _)] = await h.state.deferred_entries(CUSTOMER)

            async def other_process() -> None:
                await store.lrem(redis_keys.deferred(CUSTOMER), 1, stored)
                await h.state.defer(CUSTOMER, {"payload": text("appended meanwhile"), "key": "k2"}, False)

            client.meanwhile = other_process
            await h.customer_wrote(hours_ago=0)
            await sender.flush(CUSTOMER)
            assert [m["payload"]["text"]["body"] for m in await h.state.deferred(CUSTOMER)] == ["appended meanwhile"]
        finally:
            await client.aclose()
            await store.close()

    asyncio.run(go())


def test_deferred_messages_past_the_maximum_age_go_to_dead_letters_as_expired(graph, redis_url):
    config = PolicyConfig(retention=Retention(deferred_max_age_seconds=72 * 3600))

    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=30)
        await h.sender.deliver(text("Answer from three weeks ago"))
        await h.sender.deliver(text("Answer from yesterday"))
        stored, item = (await h.state.deferred_entries(CUSTOMER))[0]
        old = {**item, "ts": (await h.state.now() - timedelta(weeks=3)).timestamp()}
        await h.sender.store.lset(redis_keys.deferred(CUSTOMER), 0, json.dumps(old))
        await h.sender.store.zadd(redis_keys.DEFERRED_SINCE, {CUSTOMER: old["ts"]})
        await h.sender.expire_deferred()  # the periodic sweep, without the customer writing
        [dead] = await h.sender.dead_letters.list()
        assert dead["code"] == "expired" and "Answer from three weeks ago" in dead["payload"]
        assert [m["payload"]["text"]["body"] for m in await h.state.deferred(CUSTOMER)] == ["Answer from yesterday"]
        await h.hooks.on_inbound(customer_message(h, "hello again", "wamid.back"))
        assert [m["text"]["body"] for m in h.sent()] == ["Answer from yesterday"]

    scenario(graph, redis_url, work, config)


def test_a_131047_replan_of_an_agents_message_never_queues_it(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=1)
        sent = await h.sender.deliver(text("Hi, Anna from support"), key="handoff:1:a", may_queue=False)
        await h.hooks.on_status(failed_status(sent.result.wamid, 131047))
        assert await h.state.deferred(CUSTOMER) == []  # not sent later behind the agent's back
        assert [e["decision"] for e in await h.events("outbound_replanned")] == ["defer"]
        # A bot message re-planned the same way waits for the customer, as before.
        bot = await h.sender.deliver(text("Your order left the warehouse"))
        await h.hooks.on_status(failed_status(bot.result.wamid, 131047))
        assert [m["payload"]["text"]["body"] for m in await h.state.deferred(CUSTOMER)] == [
            "Your order left the warehouse"]

    scenario(graph, redis_url, work)


def test_the_send_plan_is_stored_before_anything_else_is_recorded(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=1)
        await h.sender.store.set(redis_keys.EVENT_STREAM, "not a stream")  # recording the send fails
        try:
            await h.sender.deliver(text("Your parcel is at the door"))
        except Exception:  # noqa: BLE001 - the recording error itself is not what this test is about
            pass
        [sent] = h.app.extensions["standin_outbox"].after(0, to=CUSTOMER)
        assert await h.state.plan(sent["wamid"]) is not None  # a fast `failed` status finds it

    scenario(graph, redis_url, work)


def test_a_replan_is_repeated_by_a_retry_but_never_sends_twice(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.opted_in()
        await h.customer_wrote(hours_ago=1)
        sent = await h.sender.deliver(text("Your order 1001 shipped"), fallback=order_update())
        await h.hooks.on_status(failed_status(sent.result.wamid, 131047))
        await h.hooks.on_status(failed_status(sent.result.wamid, 131047))  # handled again after a failure
        templates = [m for m in h.sent() if m["type"] == "template"]
        assert [t["template"]["name"] for t in templates] == ["order_update"]

    scenario(graph, redis_url, work)


def test_resending_a_dead_letter_keeps_it_until_something_else_holds_the_message(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=1)
        h.app.test_client().post("/_standin/faults", json=[{"code": 131026}])  # undeliverable, permanent
        assert (await h.sender.deliver(text("Here is your invoice"), key="k1")).result is None
        [dead] = await h.sender.dead_letters.list()
        # The customer opts out before the operator re-sends: a template now is blocked, the letter stays.
        template = {"recipient_type": "individual", "to": CUSTOMER, "type": "template",
                    "template": order_update()["template"]}
        await h.sender.dead_letters.add(template, GraphApiError("template failed", code=131026), "k2", "update")
        await h.state.record_consent(CUSTOMER, "out", ("utility", "marketing"), "keyword", "STOP")
        [_, blocked] = await h.sender.dead_letters.list()
        assert await h.sender.dead_letters.resend(blocked["id"], h.sender) is None
        assert [d["id"] for d in await h.sender.dead_letters.list()] == [dead["id"], blocked["id"]]
        result = await h.sender.dead_letters.resend(dead["id"], h.sender)  # free text inside the window
        assert result is not None and [d["id"] for d in await h.sender.dead_letters.list()] == [blocked["id"]]

    scenario(graph, redis_url, work)


def test_a_customer_known_only_by_a_business_scoped_id_is_sent_to_as_recipient(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.state.record_inbound(BSUID, await h.state.now(), from_referral=False)
        h.app.test_client().post(f"/_standin/customers/{BSUID}/messages", json={"text": "hi"})
        assert (await h.sender.deliver(text("Hello!", to=BSUID))).result is not None
        [body] = [r["message"] for r in h.app.extensions["standin_outbox"].after(0)]
        assert body["recipient"] == BSUID and "to" not in body

    scenario(graph, redis_url, work)


def test_an_agents_send_gives_up_retrying_at_the_callers_deadline(graph, redis_url):
    patient = SenderSettings(max_attempts=8, backoff_base_seconds=0.4, backoff_max_seconds=5)
    quick = SenderSettings(max_attempts=3, backoff_base_seconds=0.01, backoff_max_seconds=0.02)
    url, app = graph

    async def go() -> None:
        store = redis_connection.asyncio(redis_url)
        client = GraphApiClient(CloudApiConfig(access_token="tok", phone_number_id=PHONE_ID, api_base_url=url))
        sender = OutboundSender(client, store, patient, policy=PolicyGate(store, PolicyConfig()))
        h = Harness(sender, app)
        try:
            await h.customer_wrote(hours_ago=1)
            app.test_client().post("/_standin/faults", json=[{"http_status": 500}] * 3)
            started = time.monotonic()
            delivery = await sender.deliver(text("Hi, Anna here"), key="handoff:1:m1", may_queue=False,
                                            deadline=started + 1.0)
            assert delivery.result is None and time.monotonic() - started < 1.5  # not sent after the deadline
            assert h.sent() == []
            # Nothing went out, so the agent's retry (same client key) sends it, exactly once however often.
            retry = OutboundSender(client, store, quick, policy=PolicyGate(store, PolicyConfig()))
            again = await retry.deliver(text("Hi, Anna here"), key="handoff:1:m1", may_queue=False)
            twice = await retry.deliver(text("Hi, Anna here"), key="handoff:1:m1", may_queue=False)
            assert again.result is not None and twice.result.wamid == again.result.wamid
            assert len(h.sent()) == 1
        finally:
            await client.aclose()
            await store.close()

    asyncio.run(go())


def test_a_customer_whose_whole_queue_expired_is_forgotten_by_the_sweep(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.customer_wrote(hours_ago=30)
        await h.sender.deliver(text("waits"))
        await h.sender.store.delete(redis_keys.deferred(CUSTOMER))  # the key's own expiry came first
        await h.sender.store.zadd(redis_keys.DEFERRED_SINCE, {CUSTOMER: 0})
        await h.sender.expire_deferred()
        assert await h.sender.store.zcard(redis_keys.DEFERRED_SINCE) == 0

    scenario(graph, redis_url, work)


def test_a_system_notice_about_the_customer_opens_no_window(graph, redis_url):
    async def work(h: Harness) -> None:
        notice = inbound.InboundMessage("wamid.sys", CUSTOMER, int(time.time()), "system", None, PHONE_ID)
        await h.hooks.on_inbound(notice)
        assert (await h.state.snapshot(CUSTOMER)).state.windows.service_until is None

    scenario(graph, redis_url, work)


def test_the_yes_button_of_the_opt_in_question_records_what_it_asked(graph, redis_url):
    from whatsapp_cloud.policy.consent import OPT_IN_PAYLOAD

    async def work(h: Harness) -> None:
        await h.state.record_consent(CUSTOMER, "out", ("utility", "marketing"), "keyword", "STOP",
                                     at=await h.state.now() - H)
        tap = inbound.InboundMessage("wamid.yes", CUSTOMER, int(time.time()), "interactive", OPT_IN_PAYLOAD, PHONE_ID)
        await h.hooks.on_inbound(tap)
        assert h.hooks.turn_text(tap)[0] == "/opt_in"
        record = (await h.state.snapshot(CUSTOMER)).state.consent.records["marketing"]
        assert record.status == "in" and record.source == "button"
        assert "order updates and offers" in record.wording and "Harbour Home Goods" in record.wording

    scenario(graph, redis_url, work)
