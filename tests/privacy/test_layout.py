"""privacy/ reads the handoff's keys from stack/handoff_keys.py and Rasa's from its own constants: both must
be the keys the writers use."""

from pathlib import Path

import yaml

from analytics import keys as analytics_keys
from campaigns import keys as campaign_keys
from handoff import contract, keys
from outgoing_webhooks import keys as outgoing_keys
from privacy import stores
from stack import handoff_keys
from whatsapp_cloud import redis_keys

ROOT = Path(__file__).resolve().parents[2]


def test_the_owner_key_is_the_one_the_bot_reads():
    assert handoff_keys.PREFIX == contract.KEY_PREFIX
    assert handoff_keys.owner("15551230001") == contract.owner_key("15551230001") == keys.owner("15551230001")


def test_rasa_keys_have_the_prefix_endpoints_give():
    for name in ("endpoints.yml", "endpoints-tls.yml"):
        endpoints = yaml.safe_load((ROOT / name).read_text())
        assert endpoints["tracker_store"]["key_prefix"] == stores.RASA_KEY_PREFIX
        assert endpoints["lock_store"]["key_prefix"] == stores.RASA_KEY_PREFIX


def test_every_key_prefix_names_a_store():
    assert stores.store_of(handoff_keys.messages("c1")) == "handoff messages"
    assert stores.store_of(redis_keys.pricing_customer("1")) == "cost ledger"
    assert stores.store_of("something:else") == "other"
    # Keys of the campaigns and the outgoing webhooks that name a customer or carry their events.
    assert stores.store_of(campaign_keys.entry_point("15551230001")) == "campaign entry points"
    assert stores.store_of(campaign_keys.origin("wamid.X")) == "campaign replies"
    assert stores.store_of(campaign_keys.recipients("c-spring")) == "campaigns"
    assert stores.store_of(outgoing_keys.DELIVERIES) == "outgoing webhooks"
    assert stores.store_of(outgoing_keys.log("s1")) == "outgoing webhooks"


def test_the_designers_texts_are_named_by_the_prefix_analytics_writes():
    assert stores.NLU_RECORDS_PREFIX == analytics_keys.NLU_PREFIX
    assert stores.store_of(analytics_keys.review_message("wamid.x")) == "messages kept for the bot's designers"
