"""A message counts as run once Rasa's saved conversation holds it by its wamid, read from Rasa's own
RedisTrackerStore as the channel reads the agent's."""

import asyncio

from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from bot.channels.saved_turns import turn_saved
from tests.bot.channels.test_nlu_recording import tracker_store


def test_a_message_counts_as_run_once_the_saved_conversation_holds_it(redis_url: str) -> None:
    trackers = tracker_store(redis_url)

    async def scenario() -> list:
        before = await turn_saved(trackers, "15550001234", "wamid.A")  # no conversation yet
        tracker = await trackers.get_or_create_tracker("15550001234")
        for event in (UserUttered("hi", message_id="wamid.A"), ActionExecuted("utter_greet"), BotUttered("Hello!"),
                      ActionExecuted("action_listen")):
            tracker.update(event)
        await trackers.save(tracker)
        return [before, await turn_saved(trackers, "15550001234", "wamid.A"),
                await turn_saved(trackers, "15550001234", "wamid.B"),
                await turn_saved(trackers, "15550009999", "wamid.A"), await turn_saved(None, "15550001234", "wamid.A")]

    assert asyncio.run(scenario()) == [False, True, False, False, False]
