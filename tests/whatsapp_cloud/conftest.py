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
QUICK_ON_CLUSTER = {"placeholder"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__
    if module.rsplit(".", 1)[-1] in ON_CLUSTER or module.startswith("tests.whatsapp_cloud.policy."):
        on_both(metafunc, QUICK_ON_CLUSTER)
