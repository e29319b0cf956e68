"""GET /api/analytics over HTTP: the scripted day's figures for supervisors and admins, nobody else."""

from typing import Iterator

import pytest
import redis

from shop.db import engine_for
from tests.analytics.scripted_day import EXPECTED, EXPECTED_COST, write_day
from tests.support.handoff_env import Handoff, running_handoff

DAY = {"from": "2026-11-02", "to": "2026-11-02"}


@pytest.fixture()
def handoff(redis_url: str, tmp_path) -> Iterator[Handoff]:
    database = f"sqlite:///{tmp_path}/shop.db"
    write_day(redis.Redis.from_url(redis_url, decode_responses=True), engine_for(database, seed=False))
    # Agents are served from 10:05 on weekdays: B's first reply waited 30 s of office time.
    with running_handoff(redis_url, DATABASE_URL=database, HANDOFF_OFFICE_HOURS="mon-fri 10:05-18:00") as running:
        yield running


def test_a_supervisor_gets_the_figures_of_the_day(handoff: Handoff) -> None:
    answer = handoff.api("GET", "/api/analytics", token=handoff.login("sam"), params=DAY)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    for name, expected in EXPECTED.items():
        got = {k: body[name][k] for k in expected} if name == "conversations" else body[name]
        assert got == expected, name
    assert body["agent_first_response_office_seconds"] == {"p50": 30.0, "p90": 1200.0, "count": 2}
    assert body["cost"]["total"] == pytest.approx(EXPECTED_COST["total"])
    assert body["cost"]["currency"] == "USD"
    assert body["aggregated_until"].startswith("2026-11-04T10:00")


def test_a_team_filter_narrows_the_handoffs(handoff: Handoff) -> None:
    answer = handoff.api("GET", "/api/analytics", params={**DAY, "team": "general"})  # integration token: admin
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["team"] == "general" and body["handoffs"] == 1 and body["handoff_reasons"] == {"fallback": 1}
    assert list(body["agents"]) == ["bob"]


def test_agents_and_strangers_are_refused_and_bad_ranges_explained(handoff: Handoff) -> None:
    assert handoff.api("GET", "/api/analytics", token=handoff.login("alice"), params=DAY).status_code == 403
    assert handoff.api("GET", "/api/analytics", token="wrong", params=DAY).status_code == 401
    for params in ({"from": "2026-11-03", "to": "2026-11-02"}, {"from": "nov", "to": "2026-11-02"},
                   {**DAY, "team": "nobody"}, {"to": "2026-11-02"}):
        answer = handoff.api("GET", "/api/analytics", params=params)
        assert answer.status_code == 400 and answer.json()["error"], params
