"""Fixtures of the WhatsApp library's tests."""

from typing import Any, Iterator, Tuple

import pytest

from tests.support.policy_harness import standin
from tests.support.redis_cluster import on_both


@pytest.fixture()
def graph() -> Iterator[Tuple[str, Any]]:
    """The Cloud API stand-in over real HTTP, without status webhooks: (its URL, its Flask app). Modules that
    need another stand-in define their own `graph`."""
    with standin() as served:
        yield served


# The channel (stream, tickets, ingest) and the messaging policy run on a real Redis Cluster too.
ON_CLUSTER = ("test_customer_order", "test_consumer_faults", "test_ingest")
# Their cluster variants that `make test` runs (the rest: `make proof`): one per kind of multi-key operation.
QUICK_ON_CLUSTER = {
    "test_a_signed_webhook_is_stored_then_acknowledged",  # the intake's append
    "test_two_consumers_keep_every_customers_order_and_answer_each_message_once",  # tickets, claims, ack
    "test_a_buried_entry_does_not_hold_its_customer_up",  # the dead letters' transaction
    "test_sync_and_async_code_share_one_state",  # programs on both runners
    "test_consent_is_idempotent_and_every_change_is_in_the_ledger",  # consent and its log
    "test_a_flush_removes_exactly_the_message_it_sent",  # a deferred queue and its indexes
    "test_messaging_limit_defers_new_customers_until_capacity_frees",  # the one step split on purpose
    "test_a_paused_template_is_restored_and_late_events_change_nothing",  # template overrides
    "test_what_goes_out_is_priced_when_meta_reports_it_delivered",  # the cost ledger's transaction
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__
    if module.rsplit(".", 1)[-1] in ON_CLUSTER or module.startswith("tests.whatsapp_cloud.policy."):
        on_both(metafunc, QUICK_ON_CLUSTER)
