"""The inbox's analytics dashboard over HTTP: who may open it, its charts, and CSVs equal to the report's tables."""

import csv
import io
import re
from typing import Iterator, Tuple

import pytest
import redis
import requests

from analytics.figures import compute, parse_range, read_range
from analytics.tables import tables
from shop.db import engine_for
from tests.analytics.scripted_day import write_day
from tests.support.handoff_env import PASSWORD, Handoff, running_handoff

DAY = {"from": "2026-11-02", "to": "2026-11-02"}
CHARTS = ("conversations", "containment", "handoff-reasons", "first-response", "csat", "delivery", "failures",
          "cost", "cost-per-conversation", "fallback", "intents")


@pytest.fixture()
def handoff(redis_url: str, tmp_path) -> Iterator[Handoff]:
    database = f"sqlite:///{tmp_path}/shop.db"
    write_day(redis.Redis.from_url(redis_url, decode_responses=True), engine_for(database, seed=False))
    with running_handoff(redis_url, DATABASE_URL=database) as running:
        yield running


def sign_in(handoff: Handoff, username: str) -> Tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(handoff.url + "/login", timeout=10).text)
    answer = browser.post(handoff.url + "/login", timeout=10,
                          data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status_code == 200, answer.text
    return browser, answer


def test_a_supervisor_sees_every_chart_with_data_and_the_link_to_it(handoff: Handoff) -> None:
    browser, queue = sign_in(handoff, "sam")
    assert 'href="/inbox/analytics"' in queue.text  # the inbox's navigation links the dashboard
    page = browser.get(handoff.url + "/inbox/analytics", params=DAY, timeout=30)
    assert page.status_code == 200, page.text
    for name in CHARTS:
        figure = re.search(rf'<figure class="card chart" id="chart-{name}">(.*?)</figure>', page.text, re.S)
        assert figure, name
        assert "<svg" in figure.group(1) and 'class="rect reactive' in figure.group(1), name  # bars drawn
        assert 'class="no_data"' not in figure.group(1), name
    assert "<script" not in page.text.split("<main>")[1]  # the charts carry no script, pygal's CDN one included
    assert "131026" in page.text and "customer_request" in page.text


def test_an_agent_is_refused_and_not_offered_the_link(handoff: Handoff) -> None:
    browser, queue = sign_in(handoff, "alice")
    assert "/inbox/analytics" not in queue.text
    assert browser.get(handoff.url + "/inbox/analytics", timeout=10).status_code == 403
    assert browser.get(handoff.url + "/inbox/analytics/summary.csv", params=DAY, timeout=10).status_code == 403
    stranger = requests.get(handoff.url + "/inbox/analytics", timeout=10, allow_redirects=False)
    assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]


def test_every_table_downloads_as_the_csv_of_the_reports_table(handoff: Handoff) -> None:
    browser, _ = sign_in(handoff, "sam")
    page = browser.get(handoff.url + "/inbox/analytics", params={**DAY, "team": "orders"}, timeout=30).text
    store = handoff.service.redis
    expected = tables(compute(read_range(store, *parse_range(DAY["from"], DAY["to"]), "orders"),
                              open_seconds=handoff.service.settings.office_hours.open_seconds))
    for table in expected:
        link = f"/inbox/analytics/{table.name}.csv?from=2026-11-02&amp;to=2026-11-02&amp;team=orders"
        assert link in page, table.name
        answer = browser.get(handoff.url + link.replace("&amp;", "&"), timeout=30)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
        assert f"analytics-{table.name}-2026-11-02-2026-11-02-orders.csv" in answer.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(answer.text)))
        assert rows == [table.header, *[["" if v is None else str(v) for v in row] for row in table.rows]], table.name
    people = list(csv.reader(io.StringIO(browser.get(handoff.url + "/inbox/analytics/people.csv",
                                                     params={**DAY, "team": "orders"}, timeout=30).text)))
    assert [row[1] for row in people[1:]] == ["orders", "alice"]  # the team filter reached the table


def test_a_bad_range_is_explained_and_an_unknown_table_is_404(handoff: Handoff) -> None:
    browser, _ = sign_in(handoff, "sam")
    page = browser.get(handoff.url + "/inbox/analytics", params={"from": "2026-11-03", "to": "2026-11-02"},
                       timeout=30)
    assert page.status_code == 400 and "to must not be before from" in page.text
    assert browser.get(handoff.url + "/inbox/analytics/summary.csv", params={"from": "x", "to": "y"},
                       timeout=10).status_code == 400
    assert browser.get(handoff.url + "/inbox/analytics/nothing.csv", params=DAY, timeout=10).status_code == 404
