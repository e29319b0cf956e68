"""Fixtures of the WhatsApp library's tests."""

from typing import Any, Iterator, Tuple

import pytest

from tests.support.policy_harness import standin


@pytest.fixture()
def graph() -> Iterator[Tuple[str, Any]]:
    """The Cloud API stand-in over real HTTP, without status webhooks: (its URL, its Flask app). Modules that
    need another stand-in define their own `graph`."""
    with standin() as served:
        yield served
