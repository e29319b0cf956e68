"""Helpers of the WhatsApp library's stream tests: a customer's text webhook, the events of a kind."""

import json
from typing import Dict, List

from tests.support.helpers import payload
from whatsapp_cloud import redis_connection, redis_keys


def text_webhook(wamid: str, text: str, sender: str = "16505551234") -> bytes:
    raw = payload("meta_openapi_webhook_text.json")
    value = raw["entry"][0]["changes"][0]["value"]
    value["messages"][0].update({"id": wamid, "from": sender, "text": {"body": text}})
    value["contacts"][0]["wa_id"] = sender
    return json.dumps(raw).encode()


def events_of(redis_url: str, kind: str) -> List[Dict[str, str]]:
    client = redis_connection.blocking(redis_url, decode_responses=True)
    try:
        return [fields for _, fields in client.xrange(redis_keys.EVENT_STREAM) if fields.get("kind") == kind]
    finally:
        client.close()
