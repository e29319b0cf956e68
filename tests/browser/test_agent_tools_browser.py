"""The agent's tools in Chromium, at laptop and phone widths: sending an image and a document, recording an
opt-in the customer gave, unread counts kept live, earlier chats folded open, and a notification when a chat
is assigned. Screenshots go to var/screenshots/ (the path is printed)."""

import itertools
import time
from pathlib import Path
from typing import Iterator, Tuple

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import CHROMIUM, shot, sign_in
from tests.support.handoff_env import Handoff, running_handoff
from tests.support.helpers import serve_wsgi
from tests.support.rasa_trackers import TrackerRasa
from tests.support.redis_process import RedisProcess

# About 30 s of Chromium: run by make proof (the API tests of tests/handoff cover the same server side in make test).
pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs chromium first"),
              pytest.mark.proof]

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n% a price list\n"
WORDING = "Can we send you our offers here on WhatsApp? Reply YES to agree."
WIDTHS = [(1366, 768, "laptop"), (390, 844, "phone")]
FITS = """() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"""
# Records every notification the page shows (Chromium's own still shows it).
RECORD_NOTIFICATIONS = """
(() => {
  const Original = window.Notification;
  window.__notified = [];
  function Recording(title, options) { window.__notified.push({title: title, tag: (options || {}).tag});
                                       return new Original(title, options); }
  window.__asked = 0;
  Recording.requestPermission = function () { window.__asked += 1; return Original.requestPermission(); };
  Object.defineProperty(Recording, "permission", {get: () => Original.permission});
  window.Notification = Recording;
})();
"""
_customers = itertools.count(15557770001)


@pytest.fixture(scope="module")
def rasa() -> Iterator[Tuple[TrackerRasa, str]]:
    trackers = TrackerRasa()
    with serve_wsgi(trackers.app) as url:
        yield trackers, url


@pytest.fixture(scope="module")
def handoff(redis_proc: RedisProcess, tmp_path_factory: pytest.TempPathFactory,
            rasa: Tuple[TrackerRasa, str]) -> Iterator[Handoff]:
    tmp = tmp_path_factory.mktemp("agent-tools")
    with running_handoff(redis_proc.url, MEDIA_DIR=str(tmp / "media"), RASA_URL=rasa[1]) as running:
        yield running
    redis_proc.client().flushall()


def alices_chat(handoff: Handoff) -> Tuple[str, str]:
    """A new customer who wrote, their chat assigned to alice (her earlier chats resolved: she has room)."""
    for chat_id in handoff.service.chats.agent_chats("alice"):
        handoff.service.chats.resolve(chat_id, "alice", "done")
    handoff.service.agents.set_status("alice", "online")
    customer = str(next(_customers))
    handoff.customer_writes(customer, "hello, can you show me the damaged box?")
    chat_id = handoff.escalate(customer).json()["chat_id"]
    assert handoff.service.chats.chat(chat_id)["agent"] == "alice"
    return customer, chat_id


def send_file(page: Page, name: str, content: bytes, mime: str, caption: str = "") -> None:
    page.locator("details.attach summary").click()
    page.set_input_files("form.media-upload input[type=file]", {"name": name, "mimeType": mime, "buffer": content})
    if caption:
        page.fill("form.media-upload input[name=caption]", caption)
    page.click("form.media-upload button")
    expect(page.locator(".flash.ok")).to_have_text(f"{name} sent.")


@pytest.mark.parametrize("width,height,name", WIDTHS)
def test_an_agent_sends_an_image_and_a_document_and_records_an_opt_in(
        handoff: Handoff, browser: Browser, width: int, height: int, name: str) -> None:
    customer, chat_id = alices_chat(handoff)
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(RECORD_NOTIFICATIONS)
    page = context.new_page()
    sign_in(page, handoff.url, "alice")
    page.goto(f"{handoff.url}/inbox/chats/{chat_id}")
    # Notifications are asked for only when the agent clicks for them.
    assert page.evaluate("window.__asked") == 0
    page.click("#enable-notifications")
    page.wait_for_function("window.__asked === 1")

    send_file(page, "box.png", PNG, "image/png", caption="This is what we received")
    image = page.locator(".msg.agent .media.image img")
    expect(image).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) == 1  # the kept copy, served back
    send_file(page, "prices.pdf", PDF, "application/pdf")
    expect(page.locator(".msg.agent .media.document a")).to_contain_text("prices.pdf")
    sent = [m["message"] for m in handoff.outbox(customer)]
    assert [(m["type"], m[m["type"]].get("caption")) for m in sent] == [("image", "This is what we received"),
                                                                        ("document", None)]
    page.locator("details.attach summary").click()
    page.set_input_files("form.media-upload input[type=file]",
                         {"name": "clip.gif", "mimeType": "image/gif", "buffer": b"GIF89a"})
    page.click("form.media-upload button")
    expect(page.locator(".flash.error")).to_contain_text("WhatsApp takes images (jpeg, png)")

    page.locator("details.consent-form summary").click()
    page.check("form input[name=scope][value=marketing]")
    page.fill("form textarea[name=wording]", WORDING)
    page.click("form button:has-text('Record opt-in')")
    expect(page.locator(".flash.ok")).to_have_text("Opt-in recorded.")
    recorded = page.locator("#consent li.consent-in")
    expect(recorded).to_contain_text("marketing: opted in · agent (alice)")
    expect(recorded).to_contain_text(WORDING)
    record = handoff.policy.snapshot(customer).state.consent.records["marketing"]
    assert (record.source, record.recorded_by, record.wording) == ("agent", "alice", WORDING)
    shot(page, f"agent-tools-{name}-chat")
    assert page.evaluate(FITS), f"the chat page is wider than the {name} screen"
    context.close()


@pytest.mark.parametrize("width,height,name", WIDTHS)
def test_unread_counts_earlier_chats_and_a_notification_on_assignment(
        handoff: Handoff, browser: Browser, rasa: Tuple[TrackerRasa, str], width: int, height: int,
        name: str) -> None:
    trackers, _url = rasa
    customer, first = alices_chat(handoff)
    handoff.customer_writes(customer, "the box arrived damaged")
    handoff.api("POST", f"/api/chats/{first}/messages", handoff.login("alice"), json={"text": "Sorry about that."})
    handoff.service.resolve(handoff.agents.get("alice"), first, "replacement sent")  # type: ignore[arg-type]
    trackers.said(customer, "user", "the replacement is broken too", time.time())
    time.sleep(0.01)
    second = handoff.escalate(customer).json()["chat_id"]

    context = browser.new_context(viewport={"width": width, "height": height})
    context.grant_permissions(["notifications"], origin=handoff.url)
    context.add_init_script(RECORD_NOTIFICATIONS)
    page = context.new_page()
    sign_in(page, handoff.url, "alice")
    row = page.locator(f"#mine a[href='/inbox/chats/{second}']")
    expect(row).to_be_visible()
    time.sleep(1)  # the live stream is open
    handoff.customer_writes(customer, "hello?")
    handoff.customer_writes(customer, "are you there?")
    expect(row.locator(".unread")).to_have_text("2")  # the live feed refreshed the list

    # A chat routed to alice while her inbox is open: a notification (she did not claim it herself).
    third_customer = str(next(_customers))
    third = handoff.escalate(third_customer).json()["chat_id"]
    page.wait_for_function("tag => window.__notified.some(n => n.tag === tag)", arg=f"chat-{third}")
    shot(page, f"agent-tools-{name}-unread")

    row.click()
    expect(page).to_have_url(f"{handoff.url}/inbox/chats/{second}")
    earlier = page.locator(f"#earlier-chats details[data-chat-id='{first}']")
    expect(earlier).to_contain_text("replacement sent")
    expect(earlier.locator(".msg.agent .text")).to_be_hidden()  # folded until opened
    earlier.locator("summary").click()
    expect(earlier.locator(".msg.agent .text")).to_have_text("Sorry about that.")
    expect(earlier.locator(".msg.customer .text").first).to_have_text("the box arrived damaged")
    expect(page.locator("#transcript .msg.earlier .text")).to_have_text("the replacement is broken too")
    shot(page, f"agent-tools-{name}-earlier-chats")
    assert page.evaluate(FITS), f"the chat page is wider than the {name} screen"
    page.goto(f"{handoff.url}/inbox")
    expect(page.locator(f"#mine a[href='/inbox/chats/{second}'] .unread")).to_be_hidden()  # read now
    context.close()
