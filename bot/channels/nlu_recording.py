"""After a customer message's turn: what the NLU read, from the conversation Rasa just saved, into the event
stream once (analytics/nlu_records.py), for the fallback rate and the designers' page.

Hooked in the channel rather than an event broker: the channel knows the message's wamid and runs once per
message (the consumer's claim), and the saved tracker has both the parse and the actions that followed it
(`action_default_fallback`). A failure here (Redis, or a bug) is logged and the turn stands: the customer's
answer matters more than one message of the figures, and running the turn again would not bring the record
back either.
"""

import logging
from typing import Any, Dict, List, Optional

from redis.exceptions import RedisError

from analytics.nlu_records import NluRecords
from analytics.nlu_results import CONTEXT, result_of
from stack import components

logger = logging.getLogger(__name__)


class NluRecording:
    def __init__(self, records: NluRecords) -> None:
        self.records = records
        self.tracker_store: Optional[Any] = None  # Rasa's TrackerStore, from the agent once the server runs

    async def after_turn(self, sender: str, wamid: str) -> None:
        if self.tracker_store is None:
            return
        try:
            tracker = await self.tracker_store.retrieve(sender)
            if tracker is None:
                return
            result = result_of(_tail(tracker.events, wamid), wamid)
            if result is None:
                return  # the turn left no user event (nothing for the NLU to read)
            await self.records.record(sender, result)
        except RedisError as exc:
            logger.warning("the NLU result of %s was not recorded: %s", components.customer_ref(sender), exc)
        except Exception:  # noqa: BLE001 - the turn ran and answered: failing the message now would replay it
            logger.exception("the NLU result of %s was not recorded", components.customer_ref(sender))


def _tail(events: Any, wamid: str) -> List[Dict[str, Any]]:
    """The events from a few messages before the message's own up to the end, as dicts: a long conversation
    is not converted whole for every message."""
    tail: List[Dict[str, Any]] = []
    found, before = False, 0
    for event in reversed(events):
        if found and event.type_name in ("user", "bot"):
            before += 1
            if before > CONTEXT:
                break
        tail.append(event.as_dict())
        found = found or (event.type_name == "user" and getattr(event, "message_id", None) == wamid)
    return tail[::-1]
