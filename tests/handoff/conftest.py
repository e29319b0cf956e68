"""Fixtures of the handoff service's tests."""

from typing import Iterator, Tuple

import pytest

from tests.support.handoff_env import Handoff, running_handoff
from tests.support.helpers import serve_wsgi
from tests.support.rasa_trackers import TrackerRasa
from tests.support.redis_cluster import on_both
from tests.support.redis_process import RedisProcess


@pytest.fixture(scope="package")
def trackers() -> Iterator[Tuple[TrackerRasa, str]]:
    """Rasa's conversation endpoints, played over HTTP for the shared service."""
    rasa = TrackerRasa()
    with serve_wsgi(rasa.app) as url:
        yield rasa, url


@pytest.fixture(scope="package")
def shared_handoff(tmp_path_factory: pytest.TempPathFactory, trackers: Tuple[TrackerRasa, str]) -> Iterator[Handoff]:
    """One service for the modules of the agent's tools (starting one costs seconds), on a Redis of its own, so
    other modules' clean-ups never reach it; each test takes a customer of its own (harness.chat_with). alice is
    online; the media directory, order database and Rasa trackers are its own."""
    tmp = tmp_path_factory.mktemp("shared-handoff")
    server = RedisProcess(tmp / "redis").start()
    try:
        with running_handoff(server.url, MEDIA_DIR=str(tmp / "media"), RASA_URL=trackers[1],
                             DATABASE_URL=f"sqlite:///{tmp / 'shop.db'}") as running:
            running.service.agents.set_status("alice", "online")
            yield running
    finally:
        server.stop()


@pytest.fixture(scope="package")
def alice(shared_handoff: Handoff) -> str:
    """alice's API token (a sign-in costs a password check: one for all the tests)."""
    return shared_handoff.login("alice")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The chat store's scripts on a real Redis Cluster too (their keys share the `{wa}` slot): `make proof`.
    if metafunc.module.__name__ == "tests.handoff.test_state":
        on_both(metafunc, quick=set())
