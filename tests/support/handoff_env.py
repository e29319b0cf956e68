"""The handoff service over real HTTP with a real Redis and the Cloud API stand-in (for handoff tests)."""

import re
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator

import requests
from flask import Flask

from cloud_api_standin.app import create_app as create_standin
from handoff.agents import AgentDirectory
from handoff.app import create_app
from handoff.service import HandoffService
from tests.support.helpers import free_port, serve_wsgi
from whatsapp_cloud.policy.store import SyncPolicyStore

API_TOKEN = "integration-token-for-tests"
PASSWORD = "a long test password"
PHONE_ID = "100000000000001"
WA_TOKEN = "standin-token"


@dataclass
class Handoff:
    url: str
    standin: str
    app: Flask
    env: Dict[str, str]

    @property
    def service(self) -> HandoffService:
        return self.app.extensions["handoff"]

    @property
    def agents(self) -> AgentDirectory:
        return self.service.agents

    def api(self, method: str, path: str, token: str = API_TOKEN, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.url + path, headers={"Authorization": f"Bearer {token}"},
                                timeout=30, **kwargs)

    def login(self, username: str) -> str:
        answer = requests.post(self.url + "/api/auth/token", json={"username": username, "password": PASSWORD},
                               timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()["token"]

    def escalate(self, customer: str, intent: str = "order_status", **extra: Any) -> requests.Response:
        body = {"customer": customer, "profile_name": "Ana", "reason": "customer_request", "intent": intent,
                "slots": {"order_id": "1001"}, "summary": "asked for a person", **extra}
        return self.api("POST", "/api/escalations", json=body)

    @property
    def policy(self) -> SyncPolicyStore:
        return self.service.messenger.policy

    def customer_writes(self, customer: str, text: str) -> requests.Response:
        """The customer writes on WhatsApp: the stand-in sees it (its window opens), the channel records it in
        the policy's windows and routes it here, as the WhatsApp consumer does."""
        played = requests.post(f"{self.standin}/_standin/customers/{customer}/messages", json={"text": text},
                               timeout=10).json()
        self.policy.record_inbound(customer, self.policy.now(), from_referral=False)
        return self.api("POST", f"/api/internal/customers/{customer}/messages",
                        json={"wamid": played["wamid"], "text": text, "timestamp": time.time()})

    def outbox(self, customer: str) -> list:
        return requests.get(f"{self.standin}/_standin/outbox", params={"to": customer}, timeout=10).json()["messages"]


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def signed_in(handoff: Handoff, username: str) -> tuple[requests.Session, str]:
    """The inbox as an agent's browser sees it: signed in, with the page's CSRF token."""
    browser = requests.Session()
    token = csrf(browser.get(handoff.url + "/login", timeout=10).text)
    answer = browser.post(handoff.url + "/login", data={"username": username, "password": PASSWORD,
                                                        "csrf_token": token}, timeout=10)
    assert answer.status_code == 200 and answer.url.endswith("/inbox"), answer.text[:300]
    return browser, csrf(answer.text)


def webhook_sink() -> Flask:
    """Where the stand-in delivers the customers' webhooks (the bot is not part of these tests)."""
    sink = Flask("sink")
    sink.add_url_rule("/webhook", "webhook", lambda: ("", 200), methods=["POST"])
    return sink


@contextmanager
def running_handoff(redis_url: str, *, with_agents: bool = True, **overrides: str) -> Iterator[Handoff]:
    """The service, the stand-in and a webhook sink over real HTTP; the demo team unless `with_agents` is false
    (their password hashes are most of the start-up time)."""
    with ExitStack() as stack:
        sink = stack.enter_context(serve_wsgi(webhook_sink()))
        standin = stack.enter_context(serve_wsgi(create_standin({
            "WHATSAPP_ACCESS_TOKEN": WA_TOKEN, "WHATSAPP_APP_SECRET": "secret", "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
            "STANDIN_WEBHOOK_URL": sink + "/webhook", "STANDIN_STATUSES": "off",
        })))
        env = {
            "REDIS_URL": redis_url, "HANDOFF_API_TOKEN": API_TOKEN, "HANDOFF_SECRET_KEY": "test-secret-key",
            "RASA_URL": f"http://127.0.0.1:{free_port()}", "RASA_API_TOKEN": "rasa-token",  # nothing listens
            "WHATSAPP_ACCESS_TOKEN": WA_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
            "WHATSAPP_API_BASE_URL": standin, "HANDOFF_BACKGROUND": "false", "HANDOFF_LOGIN_LIMIT": "5 per minute",
            **overrides,
        }
        app = create_app(env)
        url = stack.enter_context(serve_wsgi(app))
        handoff = Handoff(url, standin, app, env)
        if not with_agents:
            yield handoff
            return
        agents = handoff.agents
        agents.create("alice", PASSWORD, name="Alice", teams=("orders", "general"), capacity=2)
        agents.create("bob", PASSWORD, name="Bob", teams=("orders", "refunds"), capacity=2)
        agents.create("rita", PASSWORD, name="Rita", teams=("refunds",), capacity=2)
        agents.create("sam", PASSWORD, name="Sam", role="supervisor", teams=("general",), capacity=2)
        yield handoff
