"""A customer signs up on the opt-in page in Chromium at phone width: the checkbox's wording with WhatsApp's
name and logo beside it, the privacy policy link, the thank-you page; the ledger then holds the opt-in with
the wording the page showed. The page also works framed by an allowed origin. Service and Redis are real."""

from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from tests.browser.harness import CHROMIUM, shot
from tests.support.handoff_env import Handoff, running_handoff
from tests.support.helpers import free_port, serve_wsgi

PRIVACY = "https://shop.example.com/privacy"
OVERFLOW = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
EMBEDDER_PORT = free_port()

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs chromium first")


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with running_handoff(redis_url, with_agents=False, OPT_IN_PRIVACY_POLICY_URL=PRIVACY,
                         OPT_IN_FRAME_ANCESTORS=f"http://127.0.0.1:{EMBEDDER_PORT}") as running:
        yield running


def test_a_customer_signs_up_at_phone_width_and_the_ledger_keeps_the_wording(handoff: Handoff,
                                                                            browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(handoff.url + "/opt-in")
    agree = page.locator("label.agree")
    expect(agree.locator("svg[aria-label='WhatsApp logo']")).to_be_visible()
    expect(agree.locator(".whatsapp-name")).to_have_text("WhatsApp")
    expect(page.locator("a:has-text('privacy policy')")).to_have_attribute("href", PRIVACY)
    wording = page.locator("#wording").inner_text()
    assert "Harbour Home Goods" in wording and "WhatsApp" in wording and "order updates and offers" in wording
    assert not page.evaluate(OVERFLOW), "the page scrolls sideways at phone width"
    page.fill("input[name=phone]", "+1 555 444 0901")
    page.click("button:has-text('Sign up')")  # the browser's own check: the box is not ticked yet
    expect(page).to_have_url(handoff.url + "/opt-in")
    page.check("input[name=agree]")
    shot(page, "opt-in-390")
    page.click("button:has-text('Sign up')")
    expect(page.locator("h1")).to_contain_text("Thank you")
    shot(page, "opt-in-done-390")
    records = handoff.policy.snapshot("15554440901").state.consent.records
    assert {scope: (r.status, r.source, r.wording) for scope, r in records.items()} == {
        "utility": ("in", "website", wording), "marketing": ("in", "website", wording)}
    assert handoff.outbox("15554440901")[0]["message"]["template"]["name"] == "opt_in_page_confirmation"


@pytest.mark.proof  # a second service and page loads: kept out of make test's time budget
def test_the_page_works_inside_an_iframe_of_an_allowed_origin_only(handoff: Handoff, browser: Browser) -> None:
    embedder = Flask("embedder")
    embedder.add_url_rule("/", "home", lambda: f'<iframe src="{handoff.url}/opt-in" width="360" height="640"></iframe>')
    with serve_wsgi(embedder) as elsewhere:  # an origin the setting does not list: the browser refuses the frame
        page = browser.new_page()
        page.goto(elsewhere + "/")
        [framed] = [f for f in page.frames if f != page.main_frame]
        assert framed.url != handoff.url + "/opt-in" or framed.locator("input[name=phone]").count() == 0
    with serve_wsgi(embedder, port=EMBEDDER_PORT) as shop:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(shop + "/")
        frame = page.frame_locator("iframe")
        frame.locator("input[name=phone]").fill("+1 555 444 0902")
        frame.locator("input[name=agree]").check()
        frame.locator("button:has-text('Sign up')").click()
        expect(frame.locator("h1")).to_contain_text("Thank you")
    assert handoff.policy.snapshot("15554440902").state.consent.records["marketing"].source == "website"
