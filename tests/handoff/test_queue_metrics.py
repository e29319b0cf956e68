"""The handoff service's /metrics: queue length per team and open chats, read from Redis at each scrape."""

import re
from typing import Iterator

import pytest

from tests.support.handoff_env import Handoff, running_handoff


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with running_handoff(redis_url) as running:
        yield running


def figure(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


def test_queue_lengths_by_team_and_open_chats_follow_escalations(handoff: Handoff) -> None:
    before = handoff.api("GET", "/metrics", token="")
    assert before.status_code == 200 and before.headers["Content-Type"].startswith("text/plain")
    assert figure(before.text, 'handoff_queue_length{team="orders"}') == 0
    assert figure(before.text, "handoff_open_chats") == 0
    assert handoff.escalate("15550001001").status_code == 201
    assert handoff.escalate("15550001002", intent="get_refund").status_code == 201
    after = handoff.api("GET", "/metrics", token="").text
    assert figure(after, 'handoff_queue_length{team="orders"}') == 1
    assert figure(after, 'handoff_queue_length{team="refunds"}') == 1
    assert figure(after, 'handoff_queue_length{team="payments"}') == 0
    assert figure(after, "handoff_open_chats") == 2
    assert "15550001001" not in after  # no customer number in the figures
