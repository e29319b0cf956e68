"""The analytics dashboard in a real browser (Debian's Chromium through Playwright) after the scripted day of
tests/analytics/: a supervisor opens it from the inbox, picks the day, finds every chart drawn with data,
widens the range, downloads a CSV. Screenshots at laptop and phone widths go to var/screenshots/.
"""

from pathlib import Path
from typing import Iterator

import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from shop.db import engine_for
from tests.analytics.scripted_day import write_day
from tests.browser.harness import CHROMIUM, shot, sign_in
from tests.support.handoff_env import Handoff, running_handoff

CHARTS = ("conversations", "containment", "handoff-reasons", "first-response", "csat", "delivery", "failures",
          "cost", "cost-per-conversation", "fallback", "intents")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs chromium first")

# Per chart: the SVG's drawn data elements (pygal's bars) and whether it says it has no data.
DRAWN = """() => Object.fromEntries([...document.querySelectorAll('figure.chart')].map(f => [
  f.id.replace('chart-', ''),
  {bars: f.querySelectorAll('svg .series .reactive').length,
   sized: [...f.querySelectorAll('svg .series .reactive')].filter(r => r.getBoundingClientRect().width > 0
                                                                      && r.getBoundingClientRect().height > 0).length,
   noData: f.querySelectorAll('svg .no_data').length}]))"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture()
def handoff(redis_url: str, tmp_path: Path) -> Iterator[Handoff]:
    database = f"sqlite:///{tmp_path}/shop.db"
    write_day(redis.Redis.from_url(redis_url, decode_responses=True), engine_for(database, seed=False))
    with running_handoff(redis_url, DATABASE_URL=database) as running:
        yield running


def show_range(page: Page, first: str, last: str) -> None:
    page.fill("form.filters input[name=from]", first)
    page.fill("form.filters input[name=to]", last)
    page.click("form.filters button:has-text('Show')")
    expect(page.locator(".dashboard-head .meta")).to_contain_text(f"{first} to {last}")


def test_a_supervisor_reads_the_days_charts_and_downloads_a_table(handoff: Handoff, browser: Browser,
                                                                 tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    sign_in(page, handoff.url, "sam")
    page.click("nav.pages a:has-text('Analytics')")
    expect(page.locator("h1")).to_have_text("Analytics")

    show_range(page, "2026-11-02", "2026-11-02")
    drawn = page.evaluate(DRAWN)
    assert sorted(drawn) == sorted(CHARTS), drawn
    for name, chart in drawn.items():
        assert chart["bars"] > 0 and chart["sized"] > 0 and chart["noData"] == 0, (name, chart)
    expect(page.locator("#chart-failures svg")).to_contain_text("131026")
    expect(page.locator("#chart-handoff-reasons svg")).to_contain_text("customer_request")
    expect(page.locator("#chart-fallback svg")).to_contain_text("40%")  # B and C of 5 messages fell back
    assert page.evaluate(SIDEWAYS) <= 0
    shot(page, "dashboard-laptop")

    # Three days: a bar group per day in the conversations chart, A's return on the 4th counted.
    show_range(page, "2026-11-02", "2026-11-04")
    expect(page.locator("#chart-conversations svg .axis.x text")).to_have_text(["11-02", "11-03", "11-04"])
    summary = page.locator("#table-summary tr", has_text="customer-initiated conversations")
    expect(summary.locator("td").nth(1)).to_have_text("5")

    with page.expect_download() as download:
        page.click("#table-summary a.csv")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "analytics-summary-2026-11-02-2026-11-04.csv"
    lines = saved.read_text().splitlines()
    assert lines[0] == "figure,value" and "customer-initiated conversations,5" in lines, lines

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(phone, handoff.url, "sam")
    phone.goto(f"{handoff.url}/inbox/analytics?from=2026-11-02&to=2026-11-02")
    assert all(c["bars"] > 0 and c["noData"] == 0 for c in phone.evaluate(DRAWN).values())
    assert phone.evaluate(SIDEWAYS) <= 0  # nothing wider than the phone
    shot(phone, "dashboard-phone")
    page.close()
    phone.close()


def test_an_agent_has_no_dashboard(handoff: Handoff, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, handoff.url, "alice")
    expect(page.locator("nav.pages")).to_have_count(0)
    assert page.goto(f"{handoff.url}/inbox/analytics").status == 403
    page.close()
