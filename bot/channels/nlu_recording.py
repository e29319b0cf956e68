"""After a customer message's turn: what the NLU read, from the conversation Rasa just saved, into the event
stream once (analytics/nlu_records.py), for the fallback rate and the designers' page.

Hooked in the channel rather than an event broker: the channel knows the message's wamid and runs once per
message (the consumer's claim), and the saved tracker has both the parse and the actions that followed it
(`action_default_fallback`). A failure here (Redis, or a bug) is logged and the turn stands: the customer's
answer matters more than one message of the figures, and running the turn again would not bring the record
back either.
"""

import logging
from typing import Any, Optional

from redis.exceptions import RedisError

from analytics.nlu_records import NluRecords
from analytics.nlu_results import result_of
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
            result = result_of((event.as_dict() for event in tracker.events), wamid)
            if result is None:
                return  # the turn left no user event (nothing for the NLU to read)
            await self.records.record(sender, result)
        except RedisError as exc:
            logger.warning("the NLU result of %s was not recorded: %s", components.customer_ref(sender), exc)
        except Exception:  # noqa: BLE001 - the turn ran and answered: failing the message now would replay it
            logger.exception("the NLU result of %s was not recorded", components.customer_ref(sender))
