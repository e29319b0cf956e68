"""Fixtures of the outgoing webhooks' tests: a receiver the test runs (a real HTTP server in a thread)."""

from typing import Iterator

import pytest

from tests.support.webhook_receiver import Receiver, running_receiver


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running
