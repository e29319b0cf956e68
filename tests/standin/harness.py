"""The Cloud API stand-in as a Flask test client, and a webhook receiver standing in for the bot."""

import json
import time
from typing import Any, Dict, List

from flask import Flask, request

from cloud_api_standin.app import create_app
from whatsapp_cloud.webhooks import inbound, signature
from whatsapp_cloud.webhooks.inbound import StatusUpdate

CUSTOMER = "16505551234"
TOKEN = "test-token"
SECRET = "test-app-secret"
PHONE_ID = "106540352242922"
URL = f"/v26.0/{PHONE_ID}/messages"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class WebhookReceiver:
    """A bot stand-in: records the raw bodies and headers POSTed to it."""

    def __init__(self) -> None:
        self.received: List[Dict[str, Any]] = []
        self.app = Flask("receiver")
        self.app.add_url_rule("/webhook", "webhook", self.webhook, methods=["POST"])

    def webhook(self) -> Any:
        self.received.append({"body": request.get_data(), "headers": dict(request.headers)})
        return {"status": "received"}


def make_standin(webhook_url: str, **env: str) -> Any:
    return create_app({
        "WHATSAPP_ACCESS_TOKEN": TOKEN,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "STANDIN_WEBHOOK_URL": webhook_url,
        "STANDIN_STATUS_DELAY": "0",
        **env,
    }).test_client()


def wait_for_statuses(hook: WebhookReceiver, count: int, timeout: float = 5.0) -> List[Dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = []
        for delivery in hook.received:
            assert signature.is_valid(delivery["body"], delivery["headers"][signature.HEADER], [SECRET])
            found += [e for e in inbound.events(json.loads(delivery["body"])) if isinstance(e, StatusUpdate)]
        if len(found) >= count:
            return found
        time.sleep(0.02)
    raise AssertionError(f"expected {count} statuses, got {len(found)}")
