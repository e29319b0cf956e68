"""An administrator exports and erases a customer from the chat page in Chromium; an agent never sees the
buttons. The service, Redis, the order database and the media directory are real."""

import json
from pathlib import Path
from typing import Iterator

import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from privacy import tickets
from privacy.identity import Subject
from shop.db import engine_for, session_scope
from shop.models import Customer
from stack import handoff_keys
from tests.browser.harness import CHROMIUM, shot, sign_in
from tests.support.handoff_env import PASSWORD, Handoff, running_handoff

WA = "4915112340077"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs chromium first")


@pytest.fixture()
def handoff(redis_url: str, tmp_path: Path) -> Iterator[Handoff]:
    database = f"sqlite:///{tmp_path / 'app.db'}"
    with running_handoff(redis_url, DATABASE_URL=database, MEDIA_DIR=str(tmp_path / "media"),
                         PRIVACY_HASH_KEY="browser-test-key") as running:
        running.agents.create("ada", PASSWORD, name="Ada", role="admin", teams=("general",), capacity=2)
        with session_scope(engine_for(database, seed=False)) as session:
            session.add(Customer(wa_id=WA, name="Mia Weber"))
        yield running


def erase_with(page: Page, typed: str) -> None:
    page.click("#customer-privacy summary:has-text('Erase data')")
    page.fill("#customer-privacy input[name=confirm]", typed)
    page.click("#customer-privacy button:has-text('Erase everything')")


def test_an_admin_exports_and_erases_and_an_agent_sees_no_buttons(handoff: Handoff, browser: Browser,  # noqa: F811
                                                                  redis_url: str) -> None:
    alice_token = handoff.login("alice")
    handoff.api("PUT", "/api/me/status", alice_token, json={"status": "online"})
    chat_id = handoff.escalate(WA).json()["chat_id"]
    handoff.customer_writes(WA, "please delete my data")
    chat_url = f"{handoff.url}/inbox/chats/{chat_id}"

    alice = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(alice, handoff.url, "alice")
    alice.goto(chat_url)
    expect(alice.locator(".msg.customer .text", has_text="delete my data")).to_be_visible()
    expect(alice.locator("#customer-privacy")).to_have_count(0)
    assert alice.request.get(f"{handoff.url}/inbox/privacy-requests").status == 403
    assert alice.request.post(f"{handoff.url}/inbox/customers/{WA}/export",
                              form={"csrf_token": alice.locator("meta[name=csrf-token]").get_attribute("content")}
                              ).status == 403  # hidden, and refused when asked all the same

    ada = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    sign_in(ada, handoff.url, "ada")
    ada.goto(chat_url)
    shot(ada, "privacy-1-customer-panel")
    with ada.expect_download() as download:
        ada.click("#customer-privacy button:has-text('Export data')")
    assert download.value.suggested_filename == f"customer-{WA}.json"
    document = json.loads(Path(download.value.path()).read_text())
    assert document["customer"] == WA
    assert handoff_keys.chat(chat_id) in {k["key"] for k in document["redis"]["keys"]}
    assert [c["name"] for c in document["order_database"]["customers"]] == ["Mia Weber"]
    # Without the form's token the same request is refused (CSRF), like every other form of the inbox.
    assert ada.request.post(f"{handoff.url}/inbox/customers/{WA}/export", form={}).status == 400

    erase_with(ada, WA)  # the chat is still with alice
    expect(ada.locator(".flash.error")).to_contain_text("open chat")
    assert handoff.service.chats.chat(chat_id)["state"] == "agent"

    handoff.api("POST", f"/api/chats/{chat_id}/resolve", alice_token, json={"resolution": "done"})
    ada.goto(chat_url)
    erase_with(ada, "4915112340078")
    expect(ada.locator(".flash.error")).to_contain_text("repeat the customer's number")
    # The customer had asked in the chat too: the request waits on the privacy requests page, erased from there.
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    tickets.record(client, Subject.of(WA, "browser-test-key"), tickets.ERASE)
    ada.click("nav.pages a:has-text('Privacy requests')")
    row = ada.locator(f"#request-erase-{WA}")
    expect(row).to_contain_text(f"+{WA}")
    expect(row).to_contain_text("erasure")
    shot(ada, "privacy-3-requests")
    row.locator("summary:has-text('Erase data')").click()
    row.locator("input[name=confirm]").fill("+" + WA)
    row.locator("button:has-text('Erase everything')").click()
    expect(ada.locator("h1")).to_have_text("Customer erased")
    receipt = json.loads(ada.locator("#receipt").inner_text())
    assert receipt["by"] == "ada" and receipt["order_database"]["customers"] == {"anonymised": 1}
    shot(ada, "privacy-2-receipt")
    ada.goto(f"{handoff.url}/inbox/privacy-requests")
    expect(ada.locator("main")).to_contain_text("No privacy requests.")  # the erasure took the request too
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert not client.exists(handoff_keys.chat(chat_id))
    assert [k for k in client.scan_iter(count=1000) if WA in k] == []
    client.close()
