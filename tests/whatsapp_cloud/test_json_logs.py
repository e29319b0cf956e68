"""JSON log lines (LOG_FORMAT=json): the wamid and the customer's pseudonym, no phone number above debug."""

import json
import logging

from whatsapp_cloud import pseudonyms
from whatsapp_cloud.json_logs import JsonFormatter

KEY = "deployment-key"


def line(level: int, message: str, *args: object, **extra: str) -> dict:
    record = logging.LogRecord("bot.channels", level, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter(KEY, "rasa").format(record))


def test_a_line_carries_the_wamid_and_the_customers_pseudonym() -> None:
    ref = pseudonyms.customer_ref("15551230001", KEY)
    got = line(logging.INFO, "turn of %s taken in %.3f s", ref, 0.25, wamid="wamid.ABC", customer=ref)
    assert got["level"] == "info" and got["logger"] == "bot.channels" and got["service"] == "rasa"
    assert got["wamid"] == "wamid.ABC" and got["customer"] == ref and got["customer"].startswith("wa:")
    assert got["message"] == f"turn of {ref} taken in 0.250 s"
    assert got["ts"].endswith("+00:00")


def test_a_phone_number_that_slipped_into_a_message_is_replaced_above_debug_only() -> None:
    warned = line(logging.WARNING, "could not reach %s", "+15551230001")
    assert "15551230001" not in json.dumps(warned)
    assert pseudonyms.customer_ref("15551230001", KEY) in warned["message"]
    assert "15551230001" in line(logging.DEBUG, "could not reach %s", "15551230001")["message"]
    assert "wamid" not in warned and "customer" not in warned
