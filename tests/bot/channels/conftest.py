"""Fixtures of the channel's tests."""

from typing import Any, Iterator, Tuple

import pytest
import redis
from flask import Flask

from cloud_api_standin.app import create_app
from tests.support import channel_harness as harness
from tests.support.channel_harness import CUSTOMER, PHONE_ID, SECRET
from tests.support.helpers import serve_wsgi
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import SyncPolicyStore


@pytest.fixture()
def graph() -> Iterator[Tuple[str, Any]]:
    app = create_app({
        "WHATSAPP_ACCESS_TOKEN": "tok", "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/",
    })
    app.test_client().post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "opens the window"})
    with serve_wsgi(app) as url:
        yield url, app


@pytest.fixture()
def channel_redis(redis_url: str) -> None:
    """The channels of `harness` use the test's Redis (modules that use them ask for this fixture in
    `pytestmark`)."""
    harness.REDIS_URL = redis_url
    # The customer wrote just now and agreed to messages at checkout, so the channel's own behaviour is
    # what these tests see (the messaging policy has its own tests: tests/whatsapp_cloud/policy/).
    store = SyncPolicyStore(redis.Redis.from_url(redis_url), PolicyConfig())
    store.record_inbound(CUSTOMER, store.now(), from_referral=False)
    store.record_consent(CUSTOMER, "in", ("utility", "marketing"), "checkout_page", "Send me order updates")


@pytest.fixture()
def healthy_actions(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An action server that answers its health check (ACTIONS_URL): a turn with no reply is then the bot's
    choice, not a failed action, and gets no degraded answer."""
    actions = Flask("actions")
    actions.add_url_rule("/health", "health", lambda: {"status": "ok"})
    with serve_wsgi(actions) as url:
        monkeypatch.setenv("ACTIONS_URL", url)
        yield url
