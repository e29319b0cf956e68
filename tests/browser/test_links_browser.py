"""An administrator makes a click-to-chat link in Chromium, sees it listed with its wa.me address, downloads
its QR code, at laptop and phone widths; a supervisor gets no such page. Service and Redis are real."""

from pathlib import Path
from typing import Iterator

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, expect

from tests.browser.harness import CHROMIUM, shot, sign_in
from tests.support.handoff_env import PASSWORD, Handoff, running_handoff

NUMBER = "12025550100"
OVERFLOW = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs chromium first")


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with running_handoff(redis_url, WHATSAPP_DISPLAY_PHONE_NUMBER=NUMBER) as running:
        running.agents.create("ada", PASSWORD, name="Ada", role="admin", teams=("general",), capacity=2)
        yield running


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_an_admin_makes_a_link_and_downloads_its_qr_code(handoff: Handoff, browser: Browser, tmp_path: Path,
                                                         width: int, height: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    sign_in(page, handoff.url, "ada")
    page.click("a:has-text('Links')")
    expect(page.locator("h1")).to_have_text("Click-to-chat links")
    page.fill("input[name=source]", "poster in the shop window")
    page.fill("input[name=text]", "Hi! I saw your poster")
    page.click("button:has-text('Make link')")
    row = page.locator("tbody tr", has_text="poster in the shop window")
    expect(row).to_have_count(1)
    href = row.locator("td a").first.get_attribute("href")
    assert href.startswith(f"https://wa.me/{NUMBER}?text=Hi")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right
        > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ' '
        + Math.round(e.getBoundingClientRect().right))""")
    assert not page.evaluate(OVERFLOW), f"the page scrolls sideways: {wide}"
    shot(page, f"links-{width}")
    with page.expect_download() as download:
        row.locator("a:has-text('PNG')").click()
    saved = tmp_path / "qr.png"
    download.value.save_as(saved)
    [found] = zxingcpp.read_barcodes(Image.open(saved))
    assert found.text == href


def test_a_supervisor_has_no_links_page(handoff: Handoff, browser: Browser) -> None:
    page = browser.new_page()
    sign_in(page, handoff.url, "sam")
    expect(page.locator("a:has-text('Links')")).to_have_count(0)
    assert page.goto(handoff.url + "/inbox/links").status == 403
