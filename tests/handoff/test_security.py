"""Who may do what: every route of the handoff API and the inbox without credentials, with wrong ones,
as another team's agent and with revoked sessions and tokens; sign-in limits, body size, cookies,
hashed tokens, the access log. All over real HTTP with a real Redis."""

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
import requests

from handoff import keys
from handoff.agents import token_digest
from stack import settings
from tests.support.handoff_env import API_TOKEN, PASSWORD, Handoff, running_handoff
from tests.support.helpers import free_port, wait_for_port
from whatsapp_cloud.pseudonyms import customer_ref

CUSTOMER = "15554440001"
OPEN_ROUTES = {"/health", "/api/openapi.yaml", "/", "/login", "/api/auth/token", "/inbox/static/<path:filename>",
               "/static/<path:filename>"}


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with running_handoff(redis_url) as running:
        yield running


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def sign_in(handoff: Handoff, username: str, password: str = PASSWORD) -> Tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    token = csrf(browser.get(handoff.url + "/login", timeout=10).text)
    answer = browser.post(handoff.url + "/login", data={"username": username, "password": password,
                                                        "csrf_token": token}, timeout=10)
    return browser, answer


def routes(handoff: Handoff, prefix: str) -> List[Tuple[str, str]]:
    """(method, path) of every route under `prefix`, with a real chat id and customer filled in."""
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    found = []
    for rule in handoff.app.url_map.iter_rules():
        if rule.rule in OPEN_ROUTES or not rule.rule.startswith(prefix) or rule.rule.rstrip("/") == prefix.rstrip("/"):
            continue
        path = (rule.rule.replace("<chat_id>", chat_id).replace("<wa_id>", CUSTOMER)
                .replace("<team>", "orders"))
        # Any other part: the first choice of an `any(...)`, else a made-up value (a session is checked first).
        path = re.sub(r"<any\(([^,)]+)[^>]*>", lambda m: m.group(1).strip(), path)
        path = re.sub(r"<[^>]+>", "K7Q2MX", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    assert found
    return found


# -- the JSON API ---------------------------------------------------------------------------------

def test_every_api_route_refuses_no_token_a_wrong_one_a_revoked_and_an_expired_one(handoff: Handoff) -> None:
    token = handoff.login("alice")
    assert handoff.api("DELETE", "/api/auth/token", token=token).status_code == 204
    expired = handoff.login("bob")
    handoff.service.redis.pexpire(keys.api_token(token_digest(expired)), 1)
    time.sleep(0.05)
    for method, path in routes(handoff, "/api/"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {token}"},
                        {"Authorization": f"Bearer {expired}"}, {"Authorization": "Basic YWxpY2U6cGFzcw=="}):
            answer = requests.request(method, handoff.url + path, headers=headers, json={}, timeout=10)
            assert answer.status_code == 401, (method, path, headers, answer.status_code)


def test_another_teams_agent_is_refused_on_every_chat_route(handoff: Handoff) -> None:
    rita = handoff.login("rita")  # refunds only; the chat is an orders chat
    for method, path in routes(handoff, "/api/chats/"):
        body = {"text": "x", "to_team": "refunds", "resolution": "x"}
        answer = handoff.api(method, path, token=rita, json=body)
        assert answer.status_code == 403, (method, path, answer.status_code, answer.text)
    chat_id = handoff.service.chats.queue("orders")[0]
    assert handoff.service.chats.chat(chat_id)["state"] == "queued"
    assert handoff.service.chats.messages(chat_id) == []


def test_an_agent_cannot_move_a_waiting_chat_a_supervisor_can(handoff: Handoff) -> None:
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    alice = handoff.login("alice")  # in the orders team, but the chat is not hers
    moved = handoff.api("POST", f"/api/chats/{chat_id}/transfer", token=alice, json={"to_team": "refunds"})
    assert moved.status_code == 409 and moved.json()["reason"] == "not_allowed"
    assert handoff.service.chats.chat(chat_id)["team"] == "orders"
    sam = handoff.login("sam")
    assert handoff.api("POST", f"/api/chats/{chat_id}/transfer", token=sam,
                       json={"to_team": "refunds"}).status_code == 200
    assert handoff.service.chats.chat(chat_id)["team"] == "refunds"


def test_no_transfer_to_an_offline_agent_or_one_outside_the_team(handoff: Handoff) -> None:
    alice = handoff.login("alice")
    handoff.api("PUT", "/api/me/status", token=alice, json={"status": "online"})
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    assert handoff.service.chats.chat(chat_id)["agent"] == "alice"
    offline = handoff.api("POST", f"/api/chats/{chat_id}/transfer", token=alice, json={"to_agent": "bob"})
    assert offline.status_code == 409 and offline.json()["reason"] == "offline"
    rita = handoff.login("rita")
    handoff.api("PUT", "/api/me/status", token=rita, json={"status": "online"})
    outside = handoff.api("POST", f"/api/chats/{chat_id}/transfer", token=alice, json={"to_agent": "rita"})
    assert outside.status_code == 409 and outside.json()["reason"] == "not_in_team"
    assert handoff.service.chats.chat(chat_id)["agent"] == "alice"


def test_api_tokens_are_stored_only_as_hashes(handoff: Handoff) -> None:
    token = handoff.login("alice")
    store = handoff.service.redis
    assert not any(token in key for key in store.keys("*"))
    assert not any(token in str(store.get(key)) for key in store.keys(keys.api_token("*")))
    assert handoff.api("GET", "/api/me", token=token).status_code == 200


def test_password_change_and_disabling_end_tokens_and_sessions(handoff: Handoff) -> None:
    token = handoff.login("alice")
    browser, _ = sign_in(handoff, "alice")
    handoff.agents.set_password("alice", "a brand new password")
    assert handoff.api("GET", "/api/me", token=token).status_code == 401
    assert browser.get(handoff.url + "/inbox", timeout=10, allow_redirects=False).status_code == 302
    token = handoff.login("bob")
    browser, _ = sign_in(handoff, "bob")
    handoff.agents.disable("bob")
    assert handoff.api("GET", "/api/me", token=token).status_code == 401
    assert browser.get(handoff.url + "/inbox", timeout=10, allow_redirects=False).status_code == 302
    assert sign_in(handoff, "bob")[1].status_code == 401
    refused = requests.post(handoff.url + "/api/auth/token", json={"username": "bob", "password": PASSWORD},
                            timeout=10)
    assert refused.status_code == 401


def test_a_resolve_with_a_body_that_is_not_an_object_is_a_400(handoff: Handoff) -> None:
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]  # found by schemathesis: a 500 before
    for body in ("[null, null]", "1.5", '"text"'):
        answer = requests.post(f"{handoff.url}/api/chats/{chat_id}/resolve", data=body, timeout=10,
                               headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"})
        assert answer.status_code == 400, (body, answer.status_code)
    assert handoff.service.chats.chat(chat_id)["state"] == "queued"
    assert handoff.api("POST", f"/api/chats/{chat_id}/resolve").status_code == 200  # no body at all: fine


# -- the inbox ------------------------------------------------------------------------------------

def test_every_inbox_page_and_form_needs_a_live_session(handoff: Handoff) -> None:
    browser, answer = sign_in(handoff, "alice")
    assert answer.status_code == 200
    stolen = browser.cookies.get("session")
    token = csrf(answer.text)
    assert browser.post(handoff.url + "/logout", data={"csrf_token": token}, timeout=10).status_code == 200
    replay = requests.Session()
    replay.cookies.set("session", stolen)  # a copy of the cookie taken before the logout
    for method, path in routes(handoff, "/inbox"):
        if path.startswith("/inbox/static"):
            continue
        for client in (requests.Session(), replay):
            answer = client.request(method, handoff.url + path, data={"csrf_token": token, "text": "x"},
                                    timeout=10, allow_redirects=False)
            assert answer.status_code in (302, 400), (method, path, answer.status_code)
            if answer.status_code == 302:
                assert "/login" in answer.headers["Location"]
    chat_id = handoff.service.chats.queue("orders")[0]
    assert handoff.service.chats.messages(chat_id) == [] and handoff.service.chats.chat(chat_id)["state"] == "queued"


def test_another_teams_agent_changes_nothing_from_the_inbox(handoff: Handoff) -> None:
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]  # orders
    rita, page = sign_in(handoff, "rita")  # refunds only
    token = csrf(page.text)
    for action, data in [("claim", {}), ("reply", {"text": "hi"}), ("note", {"text": "n"}), ("resolve", {}),
                         ("transfer", {"target": "team:refunds"}),
                         ("template", {"template": "order_update", "language": "en_US"})]:
        answer = rita.post(f"{handoff.url}/inbox/chats/{chat_id}/{action}", data={**data, "csrf_token": token},
                           timeout=10)
        assert answer.status_code == 200 and "belongs to the orders team" in answer.text, action
    chat = handoff.service.chats.chat(chat_id)
    assert chat["state"] == "queued" and chat["team"] == "orders" and handoff.service.chats.messages(chat_id) == []


def test_session_cookie_is_secure_when_served_over_https(redis_url: str) -> None:
    with running_handoff(redis_url, HANDOFF_PUBLIC_URL="https://inbox.example.com") as handoff:
        assert handoff.app.config["SESSION_COOKIE_SECURE"] is True
        cookie = requests.get(handoff.url + "/login", timeout=10).headers["Set-Cookie"]  # the CSRF session
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    handoff.service.redis.flushall()
    with running_handoff(redis_url, HANDOFF_PUBLIC_URL="http://127.0.0.1:5080") as handoff:
        assert handoff.app.config["SESSION_COOKIE_SECURE"] is False
        assert "Secure" not in requests.get(handoff.url + "/login", timeout=10).headers["Set-Cookie"]


def test_sign_in_limit_counts_failures_only(handoff: Handoff) -> None:
    for _ in range(8):  # the limit is 5 per minute: successful sign-ins never reach it
        assert requests.post(handoff.url + "/api/auth/token", json={"username": "alice", "password": PASSWORD},
                             timeout=10).status_code == 201


def test_sign_in_limit_is_per_account_even_from_many_addresses(redis_url: str) -> None:
    with running_handoff(redis_url, HANDOFF_TRUSTED_PROXIES="1") as handoff:  # one proxy sets X-Forwarded-For
        def attempt(username: str, password: str, address: str) -> int:
            return requests.post(handoff.url + "/api/auth/token", json={"username": username, "password": password},
                                 headers={"X-Forwarded-For": address}, timeout=10).status_code
        codes = [attempt("alice", f"guess {i}", f"198.51.100.{i}") for i in range(6)]
        assert codes == [401] * 5 + [429]
        assert attempt("bob", PASSWORD, "198.51.100.50") == 201  # other accounts are not locked out
        codes = [attempt(f"nobody{i}", "guess", "203.0.113.7") for i in range(6)]  # one address, many names
        assert codes == [401] * 5 + [429]


def test_forwarded_for_is_ignored_without_trusted_proxies(handoff: Handoff) -> None:
    codes = [requests.post(handoff.url + "/api/auth/token", json={"username": f"x{i}", "password": "guess"},
                           headers={"X-Forwarded-For": f"198.51.100.{i}"}, timeout=10).status_code
             for i in range(6)]
    assert codes == [401] * 5 + [429]  # a client cannot pick a fresh address per guess


def test_unknown_usernames_cost_as_much_as_wrong_passwords(handoff: Handoff) -> None:
    agents = handoff.agents

    def timed(username: str) -> float:
        started = time.perf_counter()
        assert agents.authenticate(username, "wrong password") is None
        return time.perf_counter() - started

    known = statistics.median(timed("alice") for _ in range(5))
    unknown = statistics.median(timed("nobody") for _ in range(5))
    assert unknown > 0.5 * known, (known, unknown)


def test_bodies_over_one_megabyte_are_refused_before_parsing(handoff: Handoff) -> None:
    big = "x" * (1024 * 1024 + 1)
    answer = requests.post(handoff.url + "/api/escalations", data='{"customer": "' + big + '"}',
                           headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
                           timeout=30)
    assert answer.status_code == 413
    browser, page = sign_in(handoff, "alice")
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    form = browser.post(f"{handoff.url}/inbox/chats/{chat_id}/note",
                        data={"text": big, "csrf_token": csrf(page.text)}, timeout=30)
    assert form.status_code == 413 and handoff.service.chats.messages(chat_id) == []


# -- the access log (gunicorn as the Procfile runs it) -------------------------------------------

def test_access_log_has_no_customer_numbers(redis_url: str, tmp_path: Path) -> None:
    procfile = (settings.ROOT / "Procfile").read_text()
    handoff_line = next(line for line in procfile.splitlines() if line.startswith("handoff:"))
    assert "--logger-class handoff.access_log.AccessLogger" in handoff_line
    port = free_port()
    log = tmp_path / "access.log"
    env = {"PATH": str(Path(sys.executable).parent), "REDIS_URL": redis_url, "HANDOFF_API_TOKEN": API_TOKEN,
           "HANDOFF_SECRET_KEY": "log key", "HANDOFF_BACKGROUND": "false", "RASA_URL": "http://127.0.0.1:9",
           "WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": "1", "WHATSAPP_API_BASE_URL": "http://127.0.0.1:9"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--no-control-socket", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--access-logfile", str(log), "--logger-class", "handoff.access_log.AccessLogger",
         "handoff.app:create_app()"], cwd=settings.ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=60)
        requests.post(f"http://127.0.0.1:{port}/api/internal/customers/{CUSTOMER}/messages",
                      headers={"Authorization": f"Bearer {API_TOKEN}"}, json={"wamid": "w", "text": "hi"}, timeout=10)
        requests.get(f"http://127.0.0.1:{port}/health?token=very-secret", timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert "/api/internal/customers/" in text and CUSTOMER not in text and "very-secret" not in text
    assert customer_ref(CUSTOMER, "log key") in text
