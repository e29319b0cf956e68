"""Turn slots: a wait inside a turn lends its slot out and takes it back; nothing is released twice."""

import asyncio

from whatsapp_cloud.turn_slots import TurnSlots, wait_without_slot


def test_a_waiting_turn_lends_its_slot_and_takes_it_back_before_going_on() -> None:
    order = []

    async def waiting(slots: TurnSlots) -> None:
        async with slots.held():
            order.append("waits")
            await wait_without_slot(0.05)
            order.append("goes on")

    async def other(slots: TurnSlots) -> None:
        await asyncio.sleep(0.01)
        async with slots.held():
            order.append("other runs")
            await asyncio.sleep(0.1)  # CPU work, as it were: keeps the slot
            order.append("other done")

    async def go() -> None:
        slots = TurnSlots(1)
        await asyncio.gather(waiting(slots), other(slots))

    asyncio.run(go())
    assert order == ["waits", "other runs", "other done", "goes on"]


def test_a_turn_cancelled_while_its_slot_is_lent_out_ends_at_once_and_leaves_the_slots_there_were() -> None:
    async def go() -> int:
        slots = TurnSlots(1)

        async def waiting() -> None:
            async with slots.held():
                await wait_without_slot(10)

        async def holder() -> None:
            async with slots.held():
                await asyncio.sleep(10)

        turn = asyncio.create_task(waiting())
        await asyncio.sleep(0.01)  # it waits; its slot is lent out
        taker = asyncio.create_task(holder())
        await asyncio.sleep(0.01)  # taken by another turn
        turn.cancel()  # cancelled while its slot is lent out: it ends at once, without taking it back
        await asyncio.wait_for(asyncio.gather(turn, return_exceptions=True), 1)
        taker.cancel()
        await asyncio.gather(taker, return_exceptions=True)
        free = 0
        while not slots._free.locked():
            await slots._free.acquire()
            free += 1
        return free

    assert asyncio.run(go()) == 1


def test_outside_a_turn_it_waits_and_lends_no_one_elses_slot() -> None:
    async def go() -> bool:
        slots = TurnSlots(1)

        async def holder() -> None:
            async with slots.held():
                await asyncio.sleep(10)

        taker = asyncio.create_task(holder())
        await asyncio.sleep(0.01)  # the only slot is taken by a turn
        await wait_without_slot(0.01)  # a wait outside any turn (a campaign's send, say)
        still_held = slots._free.locked()
        taker.cancel()
        await asyncio.gather(taker, return_exceptions=True)
        return still_held

    assert asyncio.run(go()) is True
