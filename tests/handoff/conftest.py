"""Fixtures of the handoff service's tests."""

import pytest

from tests.support.redis_cluster import on_both


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The chat store's scripts on a real Redis Cluster too (their keys share the `{wa}` slot): `make proof`.
    if metafunc.module.__name__ == "tests.handoff.test_state":
        on_both(metafunc, quick=set())
