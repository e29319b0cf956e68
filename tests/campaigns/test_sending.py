"""Campaigns through the one governor to the stand-in over real HTTP, with a real Redis."""

import json

import redis

from campaigns import keys
from campaigns.model import INTERRUPTED, SENDING_NOW, Outcome, idempotency_key
from campaigns.store import SyncRunner, set_status_program
from tests.campaigns.conftest import by_status, numbers, pairs, rows, running, state_is
from whatsapp_cloud import redis_keys
from whatsapp_cloud.outbound.sender import SENDING_MARK

PROMO = {"template": "weekend_promo", "language": "en_US"}
OPTED_OUT_OF_MARKETING = "customer opted out of marketing messages"


def test_only_customers_who_agreed_get_it_and_everyone_else_is_reported_with_the_reason(redis_url):
    with running(redis_url) as s:
        opted_in, opted_out, never_asked = numbers("3161", 6), numbers("3162", 3), numbers("3163", 3)
        stopped_known, stopped_at_meta_only = numbers("3164", 2), numbers("3165", 2)
        for wa_id in opted_in + stopped_at_meta_only:
            s.consent(wa_id, "in", ("utility", "marketing"))
        for wa_id in opted_out:
            s.consent(wa_id, "in", ("utility", "marketing"))
            s.consent(wa_id, "out", ("utility", "marketing"), source="keyword")
        for wa_id in stopped_known:  # the channel recorded Meta's user_preferences webhook
            s.consent(wa_id, "in", ("utility", "marketing"))
            s.consent(wa_id, "out", ("marketing",), source="user_preferences")
            s.stop_marketing_at_meta(wa_id)
        for wa_id in stopped_at_meta_only:  # the ledger has not heard yet: Meta answers 131050
            s.stop_marketing_at_meta(wa_id)
        everyone = opted_in + opted_out + never_asked + stopped_known + stopped_at_meta_only
        campaign = s.campaigns.create("weekend", **PROMO, rows=rows(everyone, discount="20%"), draft=True)

        plan = s.campaigns.plan(campaign["id"])
        assert plan["allowed"] == len(opted_in + stopped_at_meta_only)
        assert plan["blocked_by_reason"] == {
            OPTED_OUT_OF_MARKETING: len(opted_out + stopped_known),
            "no marketing opt-in for template weekend_promo": len(never_asked)}
        assert float(plan["estimated_cost"]["by_category"]["marketing"]) > 0
        assert s.outbox() == []  # a draft sends nothing

        s.campaigns.start(campaign["id"])
        s.work(until=lambda c: c.get(campaign["id"])["counts"].get("failed") == len(stopped_at_meta_only)
               and c.get(campaign["id"])["state"] == "completed")

        assert sorted(r["to"] for r in s.outbox()) == sorted(opted_in)
        status = by_status(s.campaigns, campaign["id"])
        assert pairs(status["blocked"], "reason") == sorted(
            [(w, OPTED_OUT_OF_MARKETING) for w in opted_out + stopped_known]
            + [(w, "no marketing opt-in for template weekend_promo") for w in never_asked])
        assert pairs(status["failed"], "code") == [(w, "131050") for w in stopped_at_meta_only]
        delivered = [r["wa_id"] for k in ("sent", "delivered", "read") for r in status.get(k, [])]
        assert sorted(delivered) == sorted(opted_in)


def test_delivery_statuses_and_a_reply_move_recipients_forward(redis_url):
    with running(redis_url) as s:
        customers = numbers("3171", 3)
        for wa_id in customers:
            s.consent(wa_id, "in", ("utility",))
        campaign = s.campaigns.create("orders", "order_update", "en_US",
                                      rows(customers, order_id="1001", status="shipped"))
        cid = campaign["id"]
        s.work(until=lambda c: c.get(cid)["counts"].get("read") == 3)
        # The first customer writes back: the channel records it in the policy's windows.
        s.policy.record_inbound(customers[0], s.policy.now(), from_referral=False)
        s.work(until=lambda c: c.get(cid)["counts"].get("replied") == 1)
        assert s.campaigns.get(cid)["counts"] == {"read": 2, "replied": 1}
        assert [r["wa_id"] for r in s.campaigns.recipients(cid, status="replied")] == customers[:1]


def test_guardrail_pauses_when_meta_refuses_marketing_and_131049_is_never_retried(redis_url):
    with running(redis_url, statuses=False, CAMPAIGN_CONCURRENCY="2", CAMPAIGN_PAUSE_MIN_ATTEMPTS="5",
                 CAMPAIGN_PAUSE_MARKETING_REFUSAL_RATE="0.2") as s:
        customers = numbers("3181", 10)
        for wa_id in customers:
            s.consent(wa_id, "in", ("marketing",))
        s.faults([{"code": 131049, "http_status": 400, "message": "healthy ecosystem engagement"}] * 3)
        cid = s.campaigns.create("promo", **PROMO, rows=rows(customers, discount="10%"))["id"]
        s.work(until=state_is(cid, "paused", "completed"))

        campaign = s.campaigns.get(cid)
        assert campaign["state"] == "paused" and "131049" in campaign["reason"]
        assert campaign["failures_by_code"] == {"131049": 3}
        assert campaign["counts"]["queued"] > 0  # it stopped before the end
        assert len(s.outbox()) == campaign["counts"]["sent"]
        # Not retried: a retry by the governor would have been accepted (only 3 refusals were queued), and
        # retry-failed leaves 131049 alone unless it is named.
        assert s.campaigns.retry_failed(cid)["requeued"] == 0


def test_a_crash_in_the_middle_of_sends_never_gives_anyone_a_second_message(redis_url):
    with running(redis_url, statuses=False) as s:
        sent_before, half_sent, not_started, rest = numbers("3191", 4)
        everyone = [sent_before, half_sent, not_started, rest]
        for wa_id in everyone:
            s.consent(wa_id, "in", ("utility",))
        cid = s.campaigns.create("orders", "order_update", "en_US", rows(everyone, order_id="7", status="late"),
                                 draft=True)["id"]
        store = redis.Redis.from_url(redis_url, decode_responses=True)
        run = SyncRunner(store)
        # Where a killed worker leaves things: three recipients marked sending; the governor's key of the first
        # holds the wamid Meta gave it, the second's says a send was under way, the third never got that far.
        for wa_id in (sent_before, half_sent, not_started):
            assert run(set_status_program(cid, wa_id, Outcome(SENDING_NOW), None))
        store.set(redis_keys.outbound_idempotency(idempotency_key(cid, sent_before, 0)), "wamid.BEFORE")
        store.set(redis_keys.outbound_idempotency(idempotency_key(cid, half_sent, 0)), f"{SENDING_MARK}dead:1")

        s.campaigns.start(cid)
        s.work(until=state_is(cid, "completed"))

        assert sorted(r["to"] for r in s.outbox()) == sorted([not_started, rest])
        records = {r["wa_id"]: r for r in s.campaigns.recipients(cid)}
        assert records[sent_before]["status"] == "sent" and records[sent_before]["wamid"] == "wamid.BEFORE"
        assert records[half_sent]["status"] == "failed" and records[half_sent]["code"] == INTERRUPTED
        # Named explicitly, an interrupted send may go again (the operator takes the risk of a repeat).
        assert s.campaigns.retry_failed(cid, [INTERRUPTED])["requeued"] == 1
        s.work(until=state_is(cid, "completed"))
        assert sorted(r["to"] for r in s.outbox()) == sorted([not_started, rest, half_sent])
        assert json.loads(store.hget(keys.recipients(cid), half_sent))["attempt"] == 1


def test_a_paused_template_pauses_the_campaign_instead_of_blocking_everyone(redis_url):
    with running(redis_url, statuses=False) as s:
        customers = numbers("3201", 3)
        for wa_id in customers:
            s.consent(wa_id, "in", ("utility",))
        s.policy.override_template("status", "order_update:en_US", "PAUSED")
        cid = s.campaigns.create("orders", "order_update", "en_US", rows(customers, order_id="7", status="x"))["id"]
        s.work(until=state_is(cid, "paused"))
        campaign = s.campaigns.get(cid)
        assert "order_update" in campaign["reason"] and campaign["counts"] == {"queued": 3}
        assert s.outbox() == []


def test_over_the_messaging_limit_recipients_wait_and_the_tier_is_never_passed(redis_url):
    with running(redis_url, statuses=False, WHATSAPP_MESSAGING_LIMIT_TIER="250") as s:
        store = redis.Redis.from_url(redis_url)
        now = s.policy.now().timestamp()
        store.zadd(redis_keys.LIMIT_REACHED, {f"4999{i:05d}": now for i in range(247)})  # reached today
        customers = numbers("3211", 6)
        for wa_id in customers:
            s.consent(wa_id, "in", ("utility",))
        cid = s.campaigns.create("orders", "order_update", "en_US", rows(customers, order_id="7", status="x"),
                                 draft=True)["id"]
        plan = s.campaigns.plan(cid)
        assert (plan["allowed"], plan["over_todays_limit"]) == (3, 3)

        s.campaigns.start(cid)
        s.work(until=lambda c: c.get(cid)["counts"].get("sent", 0) >= 3)
        assert len(s.outbox()) == 3 and store.zcard(redis_keys.LIMIT_REACHED) == 250
        campaign = s.campaigns.get(cid)
        assert campaign["state"] == "sending" and campaign["counts"] == {"sent": 3, "queued": 3}
        waiting = s.campaigns.recipients(cid, status="queued")
        # The pass stops at the first one the limit holds back; the others keep their place behind it.
        assert waiting[0]["reason"] == "waiting for messaging-limit capacity" and len(waiting) == 3
        assert store.zscore(keys.DUE, cid) > now + 30  # looked at again in a minute, not in a busy loop
