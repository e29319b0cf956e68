"""Whether Rasa saved a customer message's turn: asked before a message is run again because the process that
claimed it died (or failed) before marking it done.

Rasa's message processor sends each action's replies as the action ends and saves the conversation once, after
the last one; a message the saved tracker holds (by its wamid) had its turn run to the end, replies included.
"""

from typing import Any, Optional


async def turn_saved(tracker_store: Optional[Any], sender: str, wamid: str) -> bool:
    """`tracker_store`: Rasa's TrackerStore (None before the server has started: nothing can be known)."""
    if tracker_store is None:
        return False
    tracker = await tracker_store.retrieve(sender)
    if tracker is None:
        return False
    return any(event.type_name == "user" and getattr(event, "message_id", None) == wamid
               for event in reversed(tracker.events))
