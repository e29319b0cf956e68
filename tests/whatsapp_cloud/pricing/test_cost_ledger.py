"""The Redis cost ledger, on a real redis-server: both clients, transactions, reconciliation, replay."""

import asyncio
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import redis
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from prometheus_client import REGISTRY

from stack import components
from tests.support.helpers import PAYLOADS
from tests.whatsapp_cloud.pricing import harness
from tests.whatsapp_cloud.pricing.harness import CUSTOMER, NUMBER, customer_message
from whatsapp_cloud import redis_keys
from whatsapp_cloud.pricing import engine as pricing
from whatsapp_cloud.pricing.cost_ledger import CostLedger, SyncCostLedger, kind_of, replay
from whatsapp_cloud.pricing.engine import CBP, PMP, UTC, CategoryTotal, PricingConfig, PricingInputError
from whatsapp_cloud.pricing.rate_card import RateCard, RateCardError
from whatsapp_cloud.webhooks import inbound
from whatsapp_cloud.webhooks.inbound import InboundMessage, StatusUpdate

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
MARKETING, SERVICE = 25_000, 3_400


def hours(n: float, start: datetime = T0) -> datetime:
    return start + timedelta(hours=n)


def status(wamid: str, state: str, at: datetime, wa_id: str = CUSTOMER, meta: Optional[dict] = None) -> StatusUpdate:
    return StatusUpdate(wamid, state, int(at.timestamp()), wa_id, NUMBER, pricing=meta)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def sync_store(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


def test_seed_scenario_recorded_in_redis(redis_url: str) -> None:
    config = PricingConfig(model=CBP, cbp_service_allowance=0)

    async def go() -> Dict[str, Any]:
        store = aioredis.Redis.from_url(redis_url)
        ledger = CostLedger(store, config, RateCard.load())
        outcomes = []
        for hour, kind, category in ((0, "template", "marketing"), (5, "free_form", None),
                                     (25, "free_form", None), (26, "free_form", None)):
            if hour == 5:
                await ledger.record_inbound(customer_message(hours(4)))
            wamid = f"wamid.out.{hour}"
            await ledger.record_outbound(CUSTOMER, wamid, kind, category, NUMBER, at=hours(hour))
            outcomes.append(await ledger.record_status(status(wamid, "delivered", hours(hour))))
        result = {
            "outcomes": outcomes,
            "summary": (await ledger.summary(CUSTOMER, hours(26))).as_dict(),
            "totals": await ledger.totals(),
            "month": await ledger.totals("2024-03"),
            "top": await ledger.top_customers(),
            "log": await ledger.log(),
        }
        await store.close()
        return result

    result = run(go())
    opened = [o.opened.category if o.opened else None for o in result["outcomes"]]
    assert opened == ["marketing", None, "service", None]
    assert [o.charge.amount_micros for o in result["outcomes"]] == [MARKETING, 0, SERVICE, 0]
    summary = result["summary"]
    assert summary["service_window"] == {"open": True, "until": hours(28).isoformat()}
    assert [(c["category"], c["expires_at"]) for c in summary["conversations"]] == [("service", hours(49).isoformat())]
    assert summary["totals"]["marketing"] == {"messages": 2, "charged": 1, "amount": "0.025000"}
    expected = {"marketing": CategoryTotal(2, 1, MARKETING), "service": CategoryTotal(2, 1, SERVICE)}
    assert result["totals"] == result["month"] == expected
    assert result["top"] == [(CUSTOMER, MARKETING + SERVICE)]
    assert len(result["log"]) == 9  # one inbound, four sends, four deliveries

    rebuilt = replay(result["log"], config, RateCard.load())
    assert rebuilt.charges == [o.charge for o in result["outcomes"]]
    assert rebuilt.totals() == expected


def test_sync_and_async_ledgers_share_the_customer(redis_url: str) -> None:
    """An agent's reply recorded by the Flask side is priced when the channel sees its delivery."""
    config = PricingConfig(model=PMP)
    start = datetime(2026, 10, 12, 8, tzinfo=UTC)
    flask_side = SyncCostLedger(sync_store(redis_url), config, clock=FixedClock(hours(1, start)))
    flask_side.record_inbound(customer_message(start))
    flask_side.record_outbound(CUSTOMER, "wamid.agent", kind_of({"type": "text"}), phone_number_id=NUMBER)

    async def channel() -> pricing.Outcome:
        store = aioredis.Redis.from_url(redis_url)
        outcome = await CostLedger(store, config).record_status(status("wamid.agent", "delivered", hours(1, start)))
        await store.close()
        return outcome

    outcome = run(channel())
    assert outcome.charge is not None and outcome.charge.type == "free_customer_service"
    assert outcome.charge.reason == "service_allowance"
    assert flask_side.totals() == {"service": CategoryTotal(1, 0, 0)}
    assert flask_side.store.get(redis_keys.service_allowance(NUMBER, "2026-10")) == "1"
    summary = flask_side.summary(CUSTOMER, hours(2, start))
    assert summary.service_window_until == hours(24, start) and summary.totals["service"].messages == 1


def test_allowance_count_in_redis_decides_the_1001st_and_resets_monthly(redis_url: str) -> None:
    store = sync_store(redis_url)
    store.set(redis_keys.service_allowance(NUMBER, "2026-10"), 999)  # 999 service messages earlier this month
    ledger = SyncCostLedger(store, PricingConfig(model=PMP))
    start = datetime(2026, 10, 31, 20, tzinfo=UTC)
    ledger.record_inbound(customer_message(start))
    charges = []
    for n, at in enumerate((hours(1, start), hours(2, start), hours(4.5, start))):  # the last on Nov 1st
        ledger.record_outbound(CUSTOMER, f"wamid.{n}", "free_form", phone_number_id=NUMBER, at=at)
        charges.append(ledger.record_status(status(f"wamid.{n}", "delivered", at)).charge)
    assert [(c.amount_micros, c.type) for c in charges] == [
        (0, "free_customer_service"), (SERVICE, "regular"), (0, "free_customer_service")]
    assert store.get(redis_keys.service_allowance(NUMBER, "2026-10")) == "1001"
    assert store.get(redis_keys.service_allowance(NUMBER, "2026-11")) == "1"
    assert 0 < store.ttl(redis_keys.service_allowance(NUMBER, "2026-11"))
    assert ledger.totals("2026-10") == {"service": CategoryTotal(2, 1, SERVICE)}
    assert ledger.totals("2026-11") == {"service": CategoryTotal(1, 0, 0)}


def test_concurrent_deliveries_never_overdraw_the_allowance(redis_url: str) -> None:
    """Twenty processes' worth of deliveries at once: exactly the allowance is free, whatever the interleaving."""
    config = PricingConfig(model=PMP, service_allowance=5)
    start = datetime(2026, 10, 12, 8, tzinfo=UTC)
    customers = [f"1555000{i:04d}" for i in range(20)]

    async def go() -> List[pricing.Outcome]:
        stores = [aioredis.Redis.from_url(redis_url) for _ in range(4)]
        ledgers = [CostLedger(s, config) for s in stores]
        for i, wa_id in enumerate(customers):
            await ledgers[i % 4].record_inbound(customer_message(start, wa_id))
            await ledgers[i % 4].record_outbound(wa_id, f"wamid.{wa_id}", "free_form", None, NUMBER, hours(1, start))
        deliveries = [ledgers[i % 4].record_status(status(f"wamid.{wa_id}", "delivered", hours(1, start), wa_id))
                      for i, wa_id in enumerate(customers)]
        outcomes = await asyncio.gather(*deliveries)
        for s in stores:
            await s.close()
        return list(outcomes)

    outcomes = run(go())
    assert sorted(o.charge.amount_micros for o in outcomes) == [0] * 5 + [SERVICE] * 15
    store = sync_store(redis_url)
    assert store.get(redis_keys.service_allowance(NUMBER, "2026-10")) == "20"
    assert SyncCostLedger(store, config).totals() == {"service": CategoryTotal(20, 15, 15 * SERVICE)}


def _mismatches(field: str) -> float:
    return REGISTRY.get_sample_value("whatsapp_pricing_mismatches_total", {"field": field}) or 0.0


def test_disagreement_with_meta_is_logged_counted_and_recorded(redis_url: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    store = sync_store(redis_url)
    ledger = SyncCostLedger(store, PricingConfig(model=PMP))
    start = datetime(2025, 8, 4, 9, tzinfo=UTC)
    ledger.record_inbound(customer_message(start))
    ledger.record_outbound(CUSTOMER, "wamid.u", "template", "utility", NUMBER, at=hours(1, start))
    before = _mismatches("type"), _mismatches("billable"), _mismatches("category")
    meta = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    with caplog.at_level(logging.WARNING, logger="whatsapp_cloud.pricing.cost_ledger"):
        outcome = ledger.record_status(status("wamid.u", "delivered", hours(1, start), meta=meta))
    assert outcome.charge.amount_micros == 0  # a utility template inside the window, before 2026-10-01
    assert (_mismatches("type") - before[0], _mismatches("billable") - before[1],
            _mismatches("category") - before[2]) == (1, 1, 0)
    assert "wamid.u" in caplog.text and "type: ours 'free_customer_service', Meta 'regular'" in caplog.text
    events = [fields for _, fields in store.xrange(redis_keys.EVENT_STREAM)]
    assert len(events) == 1 and events[0]["kind"] == "pricing_mismatch"
    assert events[0]["wamid"] == "wamid.u" and events[0]["fields"] == "billable,type"
    assert json.loads(events[0]["meta"]) == {"billable": True, "type": "regular"}
    agreeing = {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}
    ledger.record_outbound(CUSTOMER, "wamid.t", "free_form", None, NUMBER, at=hours(2, start))
    assert ledger.record_status(status("wamid.t", "read", hours(2, start), meta=agreeing)).mismatches == ()
    assert store.xlen(redis_keys.EVENT_STREAM) == 1


def test_meta_payloads_flow_through_the_ledger(redis_url: str) -> None:
    """A Click-to-WhatsApp message and a CBP status webhook, exactly as Meta sends them."""
    referral_body = json.loads((PAYLOADS / "meta_openapi_webhook_text_ctwa_referral.json").read_text())
    (message,) = inbound.events(referral_body)
    assert isinstance(message, InboundMessage) and message.referral
    status_body = json.loads((PAYLOADS / "pywa_status_sent_cbp_with_conversation_pricing.json").read_text())
    (update,) = inbound.events(status_body)
    assert isinstance(update, StatusUpdate)

    # Meta bills this 2023 service conversation: the number's free 1,000 of the month were used up.
    ledger = SyncCostLedger(sync_store(redis_url), PricingConfig(model=CBP, cbp_service_allowance=0))
    ledger.record_inbound(message)
    received = pricing.from_timestamp(message.timestamp)
    summary = ledger.summary(message.sender, received + timedelta(hours=1))
    assert summary.free_entry_reply_by == received + timedelta(hours=24)
    assert summary.service_window_until == received + timedelta(hours=24)

    # A status for a message sent outside the ledger: priced from Meta's pricing object once delivered.
    assert ledger.record_status(update).charge is None  # `sent` charges nothing
    delivered = ledger.record_status(StatusUpdate(update.wamid, "delivered", update.timestamp + 2, update.recipient,
                                                  update.phone_number_id))
    assert delivered.charge is not None and delivered.charge.category == "service"
    assert delivered.charge.market == "972" and delivered.mismatches == ()


def test_bad_input_writes_nothing(redis_url: str) -> None:
    store = sync_store(redis_url)
    ledger = SyncCostLedger(store, PricingConfig())
    with pytest.raises(PricingInputError, match="template category"):
        ledger.record_outbound(CUSTOMER, "wamid.x", "template", None, NUMBER)
    with pytest.raises(PricingInputError, match="wa_id"):
        ledger.record_status(StatusUpdate("wamid.x", "delivered", 1750275992, "", NUMBER))
    assert store.keys("*") == []
    store.set(redis_keys.pricing_customer(CUSTOMER), "{not json")
    with pytest.raises(PricingInputError, match="unreadable"):
        ledger.record_inbound(customer_message(T0))
    assert store.get(redis_keys.pricing_customer(CUSTOMER)) == "{not json"  # kept for someone to look at


def test_summary_of_a_customer_never_seen(redis_url: str) -> None:
    ledger = SyncCostLedger(sync_store(redis_url), PricingConfig(), clock=FixedClock(T0))
    summary = ledger.summary("15559999999").as_dict()
    assert summary["at"] == T0.isoformat()
    assert summary["service_window"] == {"open": False, "until": None}
    assert summary["conversations"] == [] and summary["totals"] == {} and summary["total"] == "0.000000"


def test_kind_of_send_bodies() -> None:
    assert [kind_of({"type": t}) for t in ("template", "reaction", "text", "interactive", "image")] == [
        "template", "reaction", "free_form", "free_form", "free_form"]
    assert kind_of({}) == "free_form"  # the Cloud API's default type is text


def test_pricing_model_and_rate_card_from_the_environment(tmp_path: Path) -> None:
    config, card = components.pricing({})
    assert config.model == PMP and card == RateCard.load()
    custom = tmp_path / "card.yml"
    custom.write_text("currency: eur\ndefault: {marketing: 0.05, utility: 0.01, authentication: 0.01, "
                      "authentication_international: 0.02, service: 0.01}\n")
    config, card = components.pricing({"WHATSAPP_PRICING_MODEL": " cbp ", "WHATSAPP_RATE_CARD": str(custom)})
    assert config.model == CBP and card.currency == "EUR" and card.markets == {}
    with pytest.raises(PricingInputError, match="CBP or PMP"):
        components.pricing({"WHATSAPP_PRICING_MODEL": "per-conversation"})
    with pytest.raises(RateCardError, match="cannot read"):
        components.pricing({"WHATSAPP_RATE_CARD": str(tmp_path / "none.yml")})


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(config=harness.configs, history=harness.histories)
def test_ledger_charges_what_the_engine_charges(redis_url: str, config: PricingConfig, history) -> None:
    """Random histories through Redis: the same charges as in memory, totals that match, a log that replays."""
    store = sync_store(redis_url)
    store.flushdb()
    events = harness.events_of(*history)
    ledger = SyncCostLedger(store, config, RateCard.load())
    charges = [outcome.charge for outcome in map(ledger.record, events) if outcome.charge is not None]
    book = harness.run(config, events)
    assert charges == book.charges
    assert ledger.totals() == book.totals()
    for wa_id, state in book.customers.items():
        assert ledger.state(wa_id) == state
    log = ledger.log()
    assert len(log) == len(events)
    assert replay(log, config, RateCard.load()).charges == charges


def test_replay_refuses_an_unreadable_log_entry() -> None:
    config, card = PricingConfig(), RateCard.load()
    with pytest.raises(PricingInputError, match="without a readable event"):
        replay([{"charge": "{}"}], config, card)
    with pytest.raises(PricingInputError, match="without a readable event"):
        replay([{"event": "{truncated"}], config, card)
    with pytest.raises(PricingInputError, match="unknown pricing event"):
        replay([{"event": json.dumps({"event": "refund", "at": T0.isoformat()})}], config, card)


def test_summary_needs_an_aware_time(redis_url: str) -> None:
    with pytest.raises(PricingInputError, match="timezone-aware"):
        SyncCostLedger(sync_store(redis_url), PricingConfig()).summary(CUSTOMER, datetime(2026, 1, 1))


def test_webhooks_without_timestamp_are_dated_by_the_clock(redis_url: str) -> None:
    clock = FixedClock(T0)
    ledger = SyncCostLedger(sync_store(redis_url), PricingConfig(), clock=clock)
    ledger.record_inbound(InboundMessage("wamid.no-time", CUSTOMER, 0, "text", "hi", NUMBER))
    assert ledger.summary(CUSTOMER, hours(1)).service_window_until == hours(24)
    ledger.record_outbound(CUSTOMER, "wamid.t0", "template", "marketing", NUMBER, at=hours(1))
    clock.now = hours(2)
    outcome = ledger.record_status(StatusUpdate("wamid.t0", "delivered", 0, CUSTOMER, NUMBER))
    assert outcome.charge is not None and outcome.charge.at == hours(2)
