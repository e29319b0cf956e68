"""Live updates cost no worker thread per open tab: the handoff service as the Procfile runs it (gunicorn,
gevent workers), 200 inbox tabs streaming, while escalations and agents' replies keep their latency."""

import re
import shlex
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, List

import pytest
import redis
import requests

from cloud_api_standin.app import create_app as create_standin
from handoff.agents import AgentDirectory
from stack import settings
from stack.wait_for import wait_until_healthy
from tests.support.handoff_env import API_TOKEN, PASSWORD, PHONE_ID, WA_TOKEN, webhook_sink
from tests.support.helpers import free_port, serve_wsgi
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import SyncPolicyStore

TABS = 200


def gunicorn_args() -> List[str]:
    """The handoff line of the Procfile, from `gunicorn` on, with its shell variables filled in below."""
    line = next(row for row in (settings.ROOT / "Procfile").read_text().splitlines() if row.startswith("handoff:"))
    return shlex.split(line[line.index("exec gunicorn") + len("exec "):])


@pytest.fixture()
def service(redis_url: str) -> Iterator[tuple[str, str, str]]:
    with serve_wsgi(webhook_sink()) as sink, serve_wsgi(create_standin({
            "WHATSAPP_ACCESS_TOKEN": WA_TOKEN, "WHATSAPP_APP_SECRET": "secret", "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
            "STANDIN_WEBHOOK_URL": sink + "/webhook", "STANDIN_STATUSES": "off"})) as standin:
        port = free_port()
        env = {"PATH": str(Path(sys.executable).parent), "REDIS_URL": redis_url, "HANDOFF_API_TOKEN": API_TOKEN,
               "HANDOFF_SECRET_KEY": "live test key", "RASA_URL": "http://127.0.0.1:9", "HANDOFF_BACKGROUND": "false",
               "WHATSAPP_ACCESS_TOKEN": WA_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
               "WHATSAPP_API_BASE_URL": standin, "BIND_HOST": "127.0.0.1", "HANDOFF_PORT": str(port)}
        args = [arg.replace("$BIND_HOST", "127.0.0.1").replace("$HANDOFF_PORT", str(port)) for arg in gunicorn_args()]
        agents = AgentDirectory(redis.Redis.from_url(redis_url, decode_responses=True))
        agents.create("alice", PASSWORD, teams=("orders", "general"), capacity=50)
        server = subprocess.Popen([sys.executable, "-m", *args], cwd=settings.ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}/health", timeout=60)
            yield f"http://127.0.0.1:{port}", standin, redis_url
        finally:
            server.terminate()
            server.wait(timeout=30)


def session_cookie(url: str) -> str:
    browser = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(url + "/login", timeout=10).text).group(1)
    answer = browser.post(url + "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token},
                          timeout=10)
    assert answer.url.endswith("/inbox")
    return browser.cookies["session"]


def open_tab(url: str, cookie: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    tab = socket.create_connection((host, int(port)), timeout=10)
    tab.sendall(f"GET /inbox/stream HTTP/1.1\r\nHost: {host}\r\nCookie: session={cookie}\r\n"
                "Accept: text/event-stream\r\n\r\n".encode())
    return tab


def test_two_hundred_open_tabs_do_not_slow_escalations_or_replies(service: tuple[str, str, str]) -> None:
    service, standin, redis_url = service
    policy = SyncPolicyStore(redis.Redis.from_url(redis_url), PolicyConfig())
    cookie = session_cookie(service)
    tabs = [open_tab(service, cookie) for _ in range(TABS)]
    try:
        for tab in tabs:
            assert tab.recv(4096).startswith(b"HTTP/1.1 200"), "every tab gets its stream"
        token = requests.post(service + "/api/auth/token", json={"username": "alice", "password": PASSWORD},
                              timeout=10).json()["token"]
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        escalations, replies = [], []
        for n in range(10):
            customer = f"1555999{n:04d}"
            # The customer wrote on WhatsApp: the stand-in and the policy's windows know it (as the channel does).
            wamid = requests.post(f"{standin}/_standin/customers/{customer}/messages", json={"text": "hi"},
                                  timeout=10).json()["wamid"]
            policy.record_inbound(customer, policy.now(), from_referral=False)
            started = time.perf_counter()
            answer = requests.post(service + "/api/escalations", headers=auth, timeout=30, json={
                "customer": customer, "reason": "customer_request", "intent": "order_status"})
            escalations.append(time.perf_counter() - started)
            assert answer.status_code == 201, answer.text
            chat_id = answer.json()["chat_id"]
            requests.post(service + f"/api/chats/{chat_id}/claim", headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
            requests.post(service + f"/api/internal/customers/{customer}/messages", headers=auth, timeout=30,
                          json={"wamid": wamid, "text": "hi"})
            started = time.perf_counter()
            sent = requests.post(service + f"/api/chats/{chat_id}/messages", timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}, json={"text": "on it"})
            replies.append(time.perf_counter() - started)
            assert sent.status_code == 201, sent.text
        print(f"with {TABS} open tabs: escalation p50 {statistics.median(escalations) * 1000:.0f} ms, "
              f"max {max(escalations) * 1000:.0f} ms; agent reply p50 {statistics.median(replies) * 1000:.0f} ms, "
              f"max {max(replies) * 1000:.0f} ms")
        assert max(escalations) < 2.0 and max(replies) < 2.0
        # The tabs are live: each got the changes as events.
        tabs[0].settimeout(5)
        seen = b""
        while b"event: change" not in seen:
            seen += tabs[0].recv(65536)
    finally:
        for tab in tabs:
            tab.close()
