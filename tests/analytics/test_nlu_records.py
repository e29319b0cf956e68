"""The NLU's records on a real Redis: one event per message however often it is written at once, and the
designers' reading of the kept texts (the newest first when there are too many, shown oldest first)."""

import asyncio

import redis
import redis.asyncio as aioredis

from analytics.nlu_records import NluRecords, review
from analytics.nlu_results import result_of
from tests.support.nlu_review import CUSTOMER, TURNS, events, write_turns
from whatsapp_cloud.redis_keys import EVENT_STREAM


def test_writers_racing_on_one_message_write_one_event(redis_url: str) -> None:
    wamid = TURNS[1][0]
    result = result_of(events(1), wamid)

    async def race() -> list:
        clients = [aioredis.Redis.from_url(redis_url) for _ in range(4)]
        written = await asyncio.gather(*(NluRecords(c).record(CUSTOMER, result) for c in clients))
        for client in clients:
            await client.close()
        return written

    assert sorted(asyncio.run(race())) == [False, False, False, True]
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    assert [f["wamid"] for _, f in store.xrange(EVENT_STREAM) if f["kind"] == "nlu_result"] == [wamid]


def test_the_page_reads_the_newest_kept_messages_oldest_first(redis_url: str) -> None:
    write_turns(redis_url, now=1_800_000_000)
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    assert [m["wamid"] for m in review(store, 0, 2e9)] == ["wamid.review2", "wamid.review3", "wamid.review4",
                                                            "wamid.review5"]
    assert [m["wamid"] for m in review(store, 0, 2e9, limit=2)] == ["wamid.review4", "wamid.review5"]
    assert review(store, 1_800_000_000, 2e9) == []  # the range's end is excluded; all were written before
