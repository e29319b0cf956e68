"""The designers' page in Chromium: a supervisor opens it from the inbox, reads a message's conversation,
selects two messages, exports them under an intent and gets a Rasa NLU file without any phone number.
Screenshots at laptop and phone widths go to var/screenshots/."""

from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, expect
from rasa.shared.nlu.training_data.loading import load_data

from tests.browser.harness import CHROMIUM, shot, sign_in
from tests.support.handoff_env import Handoff, running_handoff
from tests.support.nlu_review import CUSTOMER, write_turns

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs chromium first")
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    write_turns(redis_url)
    with running_handoff(redis_url) as running:
        yield running


def test_a_supervisor_exports_selected_messages_as_training_data(handoff: Handoff, browser: Browser,
                                                                 tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    sign_in(page, handoff.url, "sam")
    page.click("nav.pages a:has-text('Designers')")
    expect(page.locator("h1")).to_have_text("Messages the bot did not understand")
    expect(page.locator("section.group h2 code")).to_have_text(["complaint", "get_refund", "order_status"])

    complaint = page.locator("#group-complaint")
    complaint.locator("summary").first.click()
    expect(complaint.locator("ol.context").first).to_contain_text("(answer to: hi)")
    expect(complaint.locator("ol.context").first).to_contain_text("call me on <phone>")
    for box in complaint.locator("input[name=wamid]").all():
        box.check()
    page.select_option("select[name=intent]", "complaint")
    assert page.evaluate(SIDEWAYS) <= 0
    shot(page, "designer-laptop")
    with page.expect_download() as download:
        page.click("button:has-text('Export selected')")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("nlu-candidates-complaint-") and saved.suffix == ".yml"
    examples = load_data(str(saved)).intent_examples
    assert [(m.get("intent"), m.get("text")) for m in examples] == [
        ("complaint", "my parcel came wet, call me on <phone>"), ("complaint", "the box was all squashed when it came")]
    text = saved.read_text()
    assert "151" not in text and CUSTOMER not in text

    page.set_viewport_size({"width": 390, "height": 844})  # the same page on a phone
    page.reload()
    expect(page.locator("input[name=wamid]")).to_have_count(4)
    assert page.evaluate(SIDEWAYS) <= 0  # nothing wider than the phone
    shot(page, "designer-phone")
    page.close()
