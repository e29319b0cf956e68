"""Fixtures of the handoff tests."""

from typing import Iterator, Tuple

import pytest

from tests.support.handoff_env import Handoff, running_handoff
from tests.support.helpers import serve_wsgi
from tests.support.rasa_trackers import TrackerRasa
from tests.support.redis_process import RedisProcess


@pytest.fixture(scope="module")
def trackers() -> Iterator[Tuple[TrackerRasa, str]]:
    rasa = TrackerRasa()
    with serve_wsgi(rasa.app) as url:
        yield rasa, url


@pytest.fixture(scope="module")
def shared_handoff(redis_proc: RedisProcess, tmp_path_factory: pytest.TempPathFactory,
                   trackers: Tuple[TrackerRasa, str]) -> Iterator[Handoff]:
    """One service for a whole module (starting one costs seconds): each test takes a customer of its own
    (harness.chat_with). alice is online; the media directory, order database and Rasa trackers are the
    module's own."""
    tmp = tmp_path_factory.mktemp("handoff")
    with running_handoff(redis_proc.url, MEDIA_DIR=str(tmp / "media"), RASA_URL=trackers[1],
                         DATABASE_URL=f"sqlite:///{tmp / 'shop.db'}") as running:
        running.service.agents.set_status("alice", "online")
        yield running
    redis_proc.client().flushall()


@pytest.fixture()
def alice(shared_handoff: Handoff) -> str:
    return shared_handoff.login("alice")
