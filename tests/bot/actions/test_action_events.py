"""The tickets the bot opens and the ratings it stores reach the event stream (for analytics and outgoing
webhooks) once, with the catalogue's fields; the order database and Redis are real."""

import pytest
import redis

from bot.actions.support import ActionComplaint, ActionStoreCsat
from shop.service import Shop
from tests.bot.actions.harness import SAM, make_tracker, run
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds


def events(redis_url: str, kind: str) -> list:
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    return [fields for _, fields in store.xrange(redis_keys.EVENT_STREAM) if fields["kind"] == kind]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_complaint_ticket_and_a_rating_are_events_once(shop: Shop, redis_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    complaint = make_tracker(intent="complaint", text="the parcel arrived crushed", wamid="wamid.complaint")
    run(ActionComplaint(), complaint)
    run(ActionComplaint(), complaint)  # the same message handled again: the same ticket, no second event
    [ticket] = events(redis_url, kinds.TICKET_OPENED)
    assert ticket["customer"] == SAM and ticket["ticket_kind"] == "complaint" and int(ticket["ticket"]) > 0
    rating = make_tracker(intent="csat", text="4", wamid="wamid.rating")
    run(ActionStoreCsat(), rating)
    run(ActionStoreCsat(), rating)
    [csat] = events(redis_url, kinds.CSAT)
    assert (csat["customer"], csat["score"]) == (SAM, "4")
    assert set(csat) - {"kind", "at"} <= set(kinds.CATALOGUE[kinds.CSAT].fields)
