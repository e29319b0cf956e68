"""The agent inbox in a real browser (Debian's Chromium through Playwright) against the real service.

An agent signs in, claims a chat that appears live, replies, sees the window close and the composer
switch to templates, transfers; a second agent resolves. A customer's `<script>` shows as text.
Screenshots go to var/screenshots/ (the path is printed).
"""

import time
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.harness import CHROMIUM, shot, sign_in
from tests.support.handoff_env import Handoff, running_handoff

CUSTOMER = "15553330001"
EVIL = "<script>window.hacked = 1; alert('x')</script> where is my order?"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs chromium first")


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    # The policy's test clock lets the test move time forward to the end of the service window.
    with running_handoff(redis_url, WHATSAPP_TEST_CLOCK="true") as running:
        yield running


def test_an_agent_works_a_chat_from_claim_to_resolve(handoff: Handoff, browser: Browser) -> None:
    dialogs = []
    alice_page = browser.new_page(viewport={"width": 1280, "height": 900})
    alice_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(alice_page, handoff.url, "alice")
    alice_page.select_option("select[name=status]", "away")  # away: nothing is assigned automatically
    expect(alice_page.locator("select[name=status]")).to_have_value("away")

    # The chat arrives while the page is open: server-sent events bring it in without a reload.
    handoff.customer_writes(CUSTOMER, "hello")
    chat_id = handoff.escalate(CUSTOMER, summary="asks about order 1001").json()["chat_id"]
    handoff.customer_writes(CUSTOMER, EVIL)
    row = alice_page.locator("ul.queue[data-team=orders] li.row", has_text="Ana")
    expect(row).to_be_visible(timeout=15_000)
    shot(alice_page, "1-queue")
    row.locator("button:has-text('Claim')").click()
    expect(alice_page).to_have_url(f"{handoff.url}/inbox/chats/{chat_id}")
    expect(alice_page.locator("#chat-state")).to_have_text("agent")

    # Customer text is text, never markup.
    expect(alice_page.locator(".msg.customer .text", has_text="where is my order")).to_have_text(EVIL)
    assert alice_page.evaluate("window.hacked") is None and dialogs == []

    alice_page.fill("#composer textarea[name=text]", "Hi Ana, I'm checking order 1001.")
    alice_page.click("#composer .free-text button:has-text('Send')")
    expect(alice_page.locator(".msg.agent .text", has_text="checking order 1001")).to_be_visible()
    [sent] = handoff.outbox(CUSTOMER)
    assert sent["message"]["text"]["body"] == "Hi Ana, I'm checking order 1001."
    alice_page.fill(".note input[name=text]", "customer sounds upset")
    alice_page.click(".note button")
    expect(alice_page.locator(".msg.note .text")).to_have_text("customer sounds upset")
    shot(alice_page, "2-chat-window-open")

    # Almost a day later the service window has seconds left: the countdown reaches it and the composer
    # switches to the approved templates.
    closes_at = handoff.service.messenger.window(CUSTOMER).closes_at
    handoff.policy.set_clock_offset(closes_at - time.time() - 4)
    alice_page.reload()
    expect(alice_page.locator("#composer .free-text")).to_be_visible()
    expect(alice_page.locator("#composer .templates")).to_be_visible(timeout=15_000)
    expect(alice_page.locator("#composer .free-text")).to_be_hidden()
    expect(alice_page.locator("#window")).to_have_text("closed")
    shot(alice_page, "3-chat-window-closed")
    handoff.policy.record_consent(CUSTOMER, "in", ["utility"], "whatsapp_thread", "order updates: yes")
    alice_page.select_option("select.template-picker", label="order_update (en_US, utility)")
    template = alice_page.locator("form.template:visible")
    expect(template).to_have_count(1)
    template.locator("input[name='param:order_id']").fill("1001")
    template.locator("input[name='param:status']").fill("ready for pick-up")
    template.locator("button").click()
    expect(alice_page.locator(".flash.ok")).to_have_text("Template order_update sent.")
    expect(alice_page.locator(".msg.agent .text", has_text="ready for pick-up")).to_be_visible()
    assert handoff.outbox(CUSTOMER)[-1]["message"]["template"]["name"] == "order_update"

    handoff.agents.set_status("bob", "online")  # chats go only to agents who are online
    alice_page.reload()
    alice_page.select_option(".transfer select[name=target]", "agent:bob")
    alice_page.click(".transfer button")
    expect(alice_page.locator(".flash.ok")).to_have_text("Chat transferred to bob.")
    assert handoff.service.chats.chat(chat_id)["agent"] == "bob"

    bob_page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    sign_in(bob_page, handoff.url, "bob")
    bob_page.click(f"a[href='/inbox/chats/{chat_id}']")
    transferred = bob_page.locator(".msg.system .text", has_text="transferred")
    expect(transferred).to_have_text("alice transferred the chat to bob")
    shot(bob_page, "4-phone-chat")
    bob_page.fill(".resolve input[name=resolution]", "order ships today")
    bob_page.click(".resolve button")
    expect(bob_page.locator(".flash.ok")).to_contain_text("Chat resolved")
    assert handoff.service.chats.owner(CUSTOMER)["state"] == "bot"
    alice_page.close()
    bob_page.close()


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && getComputedStyle(e).position !== 'fixed';
  }).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
  // Nothing squeezed to a column of single letters either.
  const narrow = [...document.querySelectorAll('dd, .msg .text')].filter(e => e.getBoundingClientRect().width < 60)
    .map(e => e.textContent.slice(0, 20));
  return {scroll: document.documentElement.scrollWidth, width: width, wide: wide.slice(0, 5), narrow: narrow};
}"""
LONG_SLOTS = {"order_id": "A-10023", "shipping_address": "Apartment 1204, " + "Very-Long-Street-Name-" * 6,
              "session_started_metadata": {"wa_referral": {
                  "source_type": "ad", "headline": "Summer Succulents are here!",
                  "source_url": "https://fb.me/" + "x" * 120}}}


@pytest.mark.parametrize("width,height,name", [(1366, 768, "laptop"), (1400, 900, "1400"), (390, 844, "phone")])
def test_queue_and_chat_fit_laptop_and_phone_widths(handoff: Handoff, browser: Browser, width: int, height: int,
                                                    name: str) -> None:
    handoff.customer_writes(CUSTOMER, "hello " + "averyveryverylongwordwithoutanyspaces" * 4)
    chat_id = handoff.escalate(CUSTOMER, slots=LONG_SLOTS, summary="asks about A-10023 " * 8).json()["chat_id"]
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, handoff.url, "sam")  # a supervisor sees every team and the transfer form
    for path, shot_name in (("/inbox", f"5-{name}-queue"), (f"/inbox/chats/{chat_id}", f"6-{name}-chat")):
        page.goto(handoff.url + path)
        shot(page, shot_name)
        fit = page.evaluate(OVERFLOW)
        assert fit["scroll"] <= fit["width"] and not fit["wide"] and not fit["narrow"], (path, fit)
    expect(page.locator("aside.side dd", has_text="an ad “Summer Succulents are here!”")).to_be_visible()
    page.close()


def test_a_redis_outage_does_not_end_live_updates(tmp_path: Path, browser: Browser) -> None:
    from tests.support.redis_process import RedisProcess

    redis_server = RedisProcess(tmp_path / "redis").start()
    try:
        with running_handoff(redis_server.url) as handoff:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, handoff.url, "alice")
            page.select_option("select[name=status]", "away")
            expect(page.locator("select[name=status]")).to_have_value("away")
            redis_server.stop()  # the stream breaks; reconnecting gets errors (HTTP 500) for a while
            time.sleep(4)
            redis_server = RedisProcess(tmp_path / "redis", port=redis_server.port).start()
            handoff.escalate(CUSTOMER, summary="after the outage")
            expect(page.locator("ul.queue[data-team=orders] li.row", has_text="Ana")).to_be_visible(timeout=30_000)
            page.close()
    finally:
        redis_server.stop()


def test_a_new_message_appears_in_the_open_chat_without_reloading_it(handoff: Handoff, browser: Browser) -> None:
    handoff.customer_writes(CUSTOMER, "hello")
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, handoff.url, "sam")
    page.goto(f"{handoff.url}/inbox/chats/{chat_id}")
    reloads = []
    page.on("request", lambda r: reloads.append(r.url) if r.url.endswith(f"/inbox/chats/{chat_id}") else None)
    time.sleep(1)  # the stream is open
    handoff.customer_writes(CUSTOMER, EVIL)
    expect(page.locator(".msg.customer .text", has_text="where is my order")).to_have_text(EVIL)
    assert page.evaluate("window.hacked") is None
    handoff.escalate("15553330009", intent="get_refund")  # another chat changing: this page stays as it is
    time.sleep(1)
    assert reloads == []
    page.close()
