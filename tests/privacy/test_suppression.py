"""After an erasure only a keyed hash says that the customer had opted out, and the messaging policy reads it:
no template reaches them until they opt in again (a newer record wins, as always)."""

from datetime import datetime, timedelta, timezone

import pytest
import redis

from whatsapp_cloud import pseudonyms, redis_keys
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.decision import Action, Outbound, TemplateUse, decide
from whatsapp_cloud.policy.store import SyncPolicyStore, consent_program, suppress_program

WA = "4915112340000"
TEMPLATE = Outbound(template=TemplateUse("order_update", "en_US", "UTILITY"))


@pytest.fixture()
def policy(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client, SyncPolicyStore(client, PolicyConfig(phone_number_id="1", hash_key="k"))
    client.close()


def decision(store: SyncPolicyStore):
    snapshot = store.snapshot(WA)
    return decide(snapshot.state, TEMPLATE, snapshot.now)


def test_an_erased_customer_who_opted_out_gets_no_template(policy):
    client, store = policy
    assert decision(store).action == Action.BLOCK  # no opt-in: blocked anyway
    store.run(suppress_program(WA, ["marketing", "utility"], datetime.now(timezone.utc), store.config))
    assert client.hkeys(redis_keys.SUPPRESSED) == [pseudonyms.keyed_hash(WA, "k")]
    assert WA not in str(client.hgetall(redis_keys.SUPPRESSED))
    blocked = decision(store)
    assert blocked.action == Action.BLOCK and "opted out" in blocked.reason


def test_an_opt_in_given_after_the_erasure_lifts_it(policy):
    _, store = policy
    erased_at = datetime.now(timezone.utc) - timedelta(hours=1)
    store.run(suppress_program(WA, ["utility"], erased_at, store.config))
    assert decision(store).action == Action.BLOCK  # the erasure removed their consent records
    store.run(consent_program(WA, "in", ["utility", "marketing"], "checkout_page", "yes",
                              erased_at + timedelta(minutes=5), store.config))
    assert decision(store).action == Action.SEND_TEMPLATE


def test_the_hash_depends_on_the_key_and_not_on_the_plus():
    assert pseudonyms.keyed_hash("+" + WA, "k") == pseudonyms.keyed_hash(WA, "k") != pseudonyms.keyed_hash(WA, "j")
