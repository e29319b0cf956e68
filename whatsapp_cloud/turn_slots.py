"""How many turns a process runs at once, and the waits during which a turn lends its slot to another.

A turn holds one of a few slots while it reads the message and runs its actions (CPU). When one of its
replies waits for Meta (the backoff after a passing refusal, up to 64 s between ten tries, or the pacing)
it uses no CPU: its slot goes to another customer's turn meanwhile and is taken back before the request.
Held for the wait, two replies in backoff stalled every customer of their worker for three minutes, and the
other worker's customers behind them (`make proof`, scenario e). The customer's own order is kept by the
turn itself, which is still under way.
"""

import asyncio
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import AsyncIterator, Optional


class _Slot:
    def __init__(self, free: asyncio.Semaphore) -> None:
        self.free = free
        self.holding = True


_current: ContextVar[Optional[_Slot]] = ContextVar("turn_slot", default=None)


class TurnSlots:
    def __init__(self, size: int) -> None:
        self._free = asyncio.Semaphore(size)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Run a turn in a slot; `wait_without_slot` inside it lends the slot out while it waits."""
        await self._free.acquire()
        slot = _Slot(self._free)
        token = _current.set(slot)
        try:
            yield
        finally:
            _current.reset(token)
            if slot.holding:  # not while lent out (a wait cancelled before it took it back)
                self._free.release()


async def wait_without_slot(seconds: float) -> None:
    """asyncio.sleep; inside a turn, its slot serves other turns meanwhile and is taken back afterwards."""
    slot = _current.get()
    if slot is None or not slot.holding:  # outside a turn, or lent out already by another wait of it
        await asyncio.sleep(seconds)
        return
    slot.holding = False
    slot.free.release()
    await asyncio.sleep(seconds)  # cancelled here or below: the turn ends without a slot, and releases none
    await slot.free.acquire()
    slot.holding = True
