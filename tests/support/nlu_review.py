"""Messages that fell back or scored low, written through the bot's own writer (analytics/nlu_records.py)
from Rasa-shaped turns, for the designers' page's tests (over HTTP and in Chromium)."""

import asyncio
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import redis.asyncio as aioredis

from analytics.nlu_records import NluRecords
from analytics.nlu_results import result_of

CUSTOMER = "4915112345678"
# (wamid, text, ranking, action the policy ran)
TURNS: List[Tuple[str, str, List[Tuple[str, float]], str]] = [
    ("wamid.review1", "hi", [("greet", 0.97)], "utter_greet"),
    ("wamid.review2", "my parcel came wet, call me on +49 151 1234 5678",
     [("nlu_fallback", 0.5), ("complaint", 0.44), ("order_status", 0.2)], "utter_ask_rephrase"),
    ("wamid.review3", "the box was all squashed when it came", [("nlu_fallback", 0.5), ("complaint", 0.39)],
     "utter_ask_rephrase"),
    ("wamid.review4", "can i get money back for the lamp", [("get_refund", 0.58), ("refund_policy", 0.3)],
     "utter_ask_order"),
    ("wamid.review5", "whats going on with my stuff", [("order_status", 0.66), ("faq", 0.2)],
     "action_default_fallback"),
]
KEPT = ("wamid.review2", "wamid.review3", "wamid.review4", "wamid.review5")


def events(upto: int) -> List[Dict[str, Any]]:
    """The conversation's events up to and including turn `upto`, as Rasa's tracker holds them."""
    found: List[Dict[str, Any]] = []
    for wamid, text, ranking, action in TURNS[:upto + 1]:
        parse = {"text": text, "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
                 "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking], "entities": []}
        found += [{"event": "user", "text": text, "parse_data": parse, "message_id": wamid},
                  {"event": "action", "name": action}, {"event": "bot", "text": f"(answer to: {text})"},
                  {"event": "action", "name": "action_listen"}]
    return found


def write_turns(redis_url: str, now: Optional[float] = None) -> None:
    now = time.time() if now is None else now

    async def write() -> None:
        store = aioredis.Redis.from_url(redis_url)
        records = NluRecords(store)
        for n, (wamid, *_rest) in enumerate(TURNS):
            await records.record(CUSTOMER, result_of(events(n), wamid), now=now - 60 * (len(TURNS) - n))
        await store.close()

    # In a thread of its own: Playwright's sync API keeps an event loop running in the test's thread.
    worker = threading.Thread(target=asyncio.run, args=(write(),))
    worker.start()
    worker.join()
