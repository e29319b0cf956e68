"""An administrator creates a message template in Chromium: a mistake comes back with the form filled in and the
reason, a good one is submitted to the stand-in (real HTTP) and listed as PENDING, then with Meta's verdict and
reason, at phone width. A supervisor gets no such page. Service, stand-in and Redis are real."""

import asyncio
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest
import redis.asyncio as aioredis
from playwright.sync_api import Browser, expect

from tests.browser.harness import CHROMIUM, shot, sign_in
from tests.support.handoff_env import Handoff, running_handoff
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.template_submissions import TemplateReviews

OVERFLOW = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"

# make proof: a Chromium of its own (~13 s), beyond what make test may add.
pytestmark = [pytest.mark.proof,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs chromium first")]


@pytest.fixture()
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "whatsapp_templates.yml"
    shutil.copy(PolicyConfig().templates_file, path)
    return path


@pytest.fixture()
def handoff(redis_url: str, registry: Path) -> Iterator[Handoff]:
    with running_handoff(redis_url, WHATSAPP_WABA_ID="100000000000002",
                         WHATSAPP_TEMPLATES_FILE=str(registry)) as running:
        running.agents.create("ada", "a long test password", name="Ada", role="admin", teams=("general",),
                              capacity=2)
        yield running


def meta_says(redis_url: str, registry: Path, name: str, status: str, reason: str) -> None:
    """Meta's status webhook as the WhatsApp channel's consumer applies it."""
    async def apply() -> None:
        store = aioredis.Redis.from_url(redis_url)
        try:
            await TemplateReviews(store, registry).on_status(name, "en_US", status, reason, time.time() + 1)
        finally:
            await store.close()
    with ThreadPoolExecutor(1) as pool:  # Playwright's own event loop runs in this thread
        pool.submit(asyncio.run, apply()).result()


def test_an_admin_creates_a_template_and_follows_its_review(handoff: Handoff, browser: Browser, redis_url: str,
                                                            registry: Path) -> None:
    # At phone width, where a wide form would first make the page scroll sideways.
    page = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(page, handoff.url, "ada")
    page.click("a:has-text('Templates')")
    expect(page.locator("h1")).to_have_text("Message templates")
    page.fill("input[name=name]", "spring_sale")
    page.select_option("select[name=category]", "UTILITY")
    page.fill("textarea[name=body]", "Hi {{first_name}}, get 20% off everything this weekend. Reply STOP to opt out.")
    page.fill("textarea[name=buttons]", "Show me\nNot now")
    page.click("button:has-text('Submit for review')")
    expect(page.locator(".flash.error")).to_contain_text("first_name needs an example")
    expect(page.locator("textarea[name=body]")).to_have_value(
        "Hi {{first_name}}, get 20% off everything this weekend. Reply STOP to opt out.")  # nothing typed again

    page.fill("textarea[name=parameters]", "first_name: Ana")
    page.click("button:has-text('Submit for review')")
    expect(page.locator(".flash.ok")).to_contain_text("spring_sale (en_US) submitted")
    row = page.locator("tbody tr", has_text="spring_sale")
    expect(row.locator("td").nth(3)).to_have_text("PENDING")
    assert not page.evaluate(OVERFLOW), "the page scrolls sideways"
    shot(page, "templates-390")

    meta_says(redis_url, registry, "spring_sale", "REJECTED",
              "INCORRECT_CATEGORY: The template offers something ('20% off'): promotions are MARKETING templates.")
    page.reload()
    expect(row.locator("td").nth(3)).to_have_text("REJECTED")
    expect(row.locator("td").nth(4)).to_contain_text("INCORRECT_CATEGORY")
    assert "spring_sale" not in registry.read_text()

    # The API does the same work: the page's submission is listed, another is made, others may not.
    ada = handoff.login("ada")
    listed = handoff.api("GET", "/api/message-templates", token=ada).json()["templates"]
    assert [(t["name"], t["status"]) for t in listed] == [("spring_sale", "REJECTED")]
    fields = {"name": "back_in_stock", "language": "en_US", "category": "UTILITY", "parameters": {"first_name": "Ana"},
              "body": "Hi {{first_name}}, the item you asked about is back. Reply to reserve it."}
    made = handoff.api("POST", "/api/message-templates", token=ada, json=fields)
    assert made.status_code == 201 and made.json()["template"]["status"] == "PENDING", made.text
    assert handoff.api("POST", "/api/message-templates", token=ada, json=fields).status_code == 409
    assert handoff.api("POST", "/api/message-templates", token=ada, json={"name": "x"}).status_code == 400
    assert handoff.api("GET", "/api/message-templates", token=handoff.login("sam")).status_code == 403
    assert handoff.api("GET", "/api/templates", token=ada).status_code == 200  # the composer's list is unchanged

    supervisor = browser.new_page()
    sign_in(supervisor, handoff.url, "sam")
    expect(supervisor.locator("a:has-text('Templates')")).to_have_count(0)
    assert supervisor.goto(handoff.url + "/inbox/templates").status == 403
