"""The inbox pages over real HTTP: CSRF on every form, login brute force limited, teams, escaping, live stream."""

from typing import Iterator

import pytest
import requests

from tests.support.handoff_env import PASSWORD, Handoff, csrf, running_handoff, signed_in

CUSTOMER = "15554440001"


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with running_handoff(redis_url) as running:
        yield running


def test_every_form_needs_the_csrf_token(handoff: Handoff) -> None:
    browser = requests.Session()
    browser.get(handoff.url + "/login", timeout=10)
    refused = browser.post(handoff.url + "/login", data={"username": "alice", "password": PASSWORD}, timeout=10)
    assert refused.status_code == 400 and "CSRF" in refused.text
    browser, token = signed_in(handoff, "alice")
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]  # alice is online: it is hers
    for action, data in [("reply", {"text": "hi"}), ("note", {"text": "n"}), ("resolve", {}),
                         ("transfer", {"target": "agent:bob"}), ("consent", {"scope": "marketing", "wording": "ok"}),
                         ("media", {"caption": "x"}), ("seen", {})]:
        forged = browser.post(f"{handoff.url}/inbox/chats/{chat_id}/{action}", data=data, timeout=10)
        assert forged.status_code == 400, action
    assert browser.post(handoff.url + "/logout", timeout=10).status_code == 400
    assert handoff.service.chats.chat(chat_id)["state"] == "agent"
    assert handoff.service.chats.messages(chat_id) == []
    noted = browser.post(f"{handoff.url}/inbox/chats/{chat_id}/note", data={"text": "ok", "csrf_token": token},
                         timeout=10)
    assert noted.status_code == 200 and [m["text"] for m in handoff.service.chats.messages(chat_id)] == ["ok"]


def test_login_brute_force_is_rate_limited(handoff: Handoff) -> None:
    browser = requests.Session()
    token = csrf(browser.get(handoff.url + "/login", timeout=10).text)
    codes = [browser.post(handoff.url + "/login", data={"username": "alice", "password": f"guess{i}",
                                                         "csrf_token": token}, timeout=10).status_code
             for i in range(6)]
    assert codes == [401] * 5 + [429]
    right = browser.post(handoff.url + "/login", data={"username": "alice", "password": PASSWORD,
                                                        "csrf_token": token}, timeout=10)
    assert right.status_code == 429


def test_pages_need_a_login_and_agents_see_only_their_teams(handoff: Handoff) -> None:
    anonymous = requests.get(handoff.url + "/inbox", timeout=10, allow_redirects=False)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    chat_id = handoff.escalate(CUSTOMER, intent="order_status").json()["chat_id"]
    handoff.service.chats.customer_message(CUSTOMER, "wamid.x", {"kind": "customer", "text": "<img src=x onerror=1>",
                                                                 "at": 1.0}, None)
    rita, _ = signed_in(handoff, "rita")  # refunds only
    assert chat_id not in rita.get(handoff.url + "/inbox", timeout=10).text
    sneaky = rita.get(f"{handoff.url}/inbox/chats/{chat_id}", timeout=10)
    assert sneaky.url.endswith("/inbox") and "belongs to the orders team" in sneaky.text
    sam, _ = signed_in(handoff, "sam")  # supervisor
    page = sam.get(f"{handoff.url}/inbox/chats/{chat_id}", timeout=10).text
    assert "&lt;img src=x onerror=1&gt;" in page and "<img src=x" not in page


def test_the_live_stream_reports_changes_of_the_agents_teams(handoff: Handoff) -> None:
    alice, _ = signed_in(handoff, "alice")
    with alice.get(handoff.url + "/inbox/stream", params={"after": "0-0"}, stream=True, timeout=30) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        handoff.escalate("15554440002", intent="get_refund")  # refunds: not alice's team
        handoff.escalate(CUSTOMER, intent="order_status")
        lines = stream.iter_lines(decode_unicode=True)
        data = next(line for line in lines if line.startswith("data:"))
    assert '"team": "orders"' in data and "refunds" not in data


AD = {"source_url": "https://fb.me/3cr4Wqqkv", "source_id": "120226305854810726", "source_type": "ad",
      "headline": "Chat with us", "body": "Summer Succulents are here!", "ctwa_clid": "Aff-n8ZTODiE79d22"}


def test_the_chat_page_shows_people_facts_not_internal_structures(handoff: Handoff) -> None:
    slots = {"order_id": "1001", "shipping_address": "12 Long Road", "pending_cancel": True,
             "session_started_metadata": {"wamid": "wamid.X", "wa_profile_name": "Ana", "wa_referral": AD}}
    chat_id = handoff.escalate(CUSTOMER, slots=slots).json()["chat_id"]
    alice, _ = signed_in(handoff, "alice")
    page = alice.get(f"{handoff.url}/inbox/chats/{chat_id}", timeout=10).text
    side = page[page.index('<aside class="side">'):page.index("</aside>")]
    assert "{" not in side and "wamid" not in side and "ctwa" not in side and "True" not in side
    for fact in ("<dt>Name</dt><dd>Ana</dd>", f"<dt>WhatsApp</dt><dd>+{CUSTOMER}</dd>",
                 "<dt>Came from</dt><dd>an ad “Chat with us” (https://fb.me/3cr4Wqqkv)</dd>",
                 "<dt>Order id</dt><dd>1001</dd>", "<dt>Shipping address</dt><dd>12 Long Road</dd>"):
        assert fact in side, fact
    direct = handoff.escalate("15554440009", slots={}).json()["chat_id"]
    page = alice.get(f"{handoff.url}/inbox/chats/{direct}", timeout=10).text
    assert "wrote to us directly (chat, link or QR code)" in page
