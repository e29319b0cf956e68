"""The campaign worker: a process of its own (`python -m campaigns.worker`, in the Procfile) that sends
due campaigns and reads back their delivery statuses and replies.

Why a process of its own: a campaign runs for minutes to hours at Meta's pace; in the handoff service's
gunicorn workers it would run once per worker and die with every deploy of the inbox. Here one asyncio loop
sends with the same governor as the bot. Several workers may run: a lease per campaign (renewed while it is
sent, expiring when its holder dies) makes one of them send it, and the send rate is shared through Redis.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
import uuid
from typing import Optional

import redis.asyncio as aioredis

from campaigns import store as programs
from campaigns.model import SCHEDULED, SENDING
from campaigns.sending import CampaignSender
from campaigns.settings import CampaignSettings
from campaigns.store import AsyncRunner
from stack import components
from whatsapp_cloud.graph.client import GraphApiClient

logger = logging.getLogger("campaigns.worker")
TICK_SECONDS = 1.0


class Worker:
    def __init__(self, sending: CampaignSender, store: aioredis.Redis, settings: CampaignSettings) -> None:
        self.sending = sending
        self.run = AsyncRunner(store)
        self.settings = settings
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def tick(self) -> int:
        """One round: start due scheduled campaigns, send what is due, settle finished ones; campaigns handled."""
        handled = 0
        for cid in await self.run(programs.due_program(time.time())):
            state = await self.run(programs.state_program(cid))
            if state == SCHEDULED:
                await self.run(programs.set_state_program(cid, SENDING, "start time reached", None,
                                                          self.sending.events_max, [SCHEDULED]))
            if await self._send_with_lease(cid):
                handled += 1
        for cid in await self.run(programs.settling_ids_program(time.time())):
            await self.sending.settle(cid)
        return handled

    async def _send_with_lease(self, cid: str) -> bool:
        if not await self.run(programs.take_lease_program(cid, self.token, self.settings.lease_seconds)):
            return False  # another worker sends it
        held = {"ours": True}

        async def renew() -> None:
            while held["ours"]:
                await asyncio.sleep(self.settings.lease_seconds / 3)
                held["ours"] = await self.run(programs.lease_program(cid, self.token, self.settings.lease_seconds))

        renewing = asyncio.create_task(renew())
        try:
            outcome = await self.sending.send_pass(cid, still_ours=lambda: held["ours"])
            logger.info("campaign %s: %s", cid, outcome)
        finally:
            held["ours"] = False
            renewing.cancel()
            await self.run(programs.lease_program(cid, self.token, 0))
        return True

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:  # Redis down or a bug: log, wait, and go on; every step is resumable
                logger.exception("campaign worker round failed")
            try:
                await asyncio.wait_for(stop.wait(), TICK_SECONDS)
            except asyncio.TimeoutError:
                pass


async def main(env: Optional[dict] = None) -> None:
    env = dict(components.environment() if env is None else env)
    settings = CampaignSettings.from_env(env)
    store = components.async_redis_client(env)
    client = GraphApiClient(components.cloud_api_config(env))
    sender = components.outbound_sender(client, store, env)
    worker = Worker(CampaignSender(sender, store, settings), store, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)  # finish the sends in flight, then stop
    logger.info("campaign worker %s: %s messages/s, %s in flight", worker.token, settings.messages_per_second,
                settings.concurrency)
    try:
        await worker.run_forever(stop)
    finally:
        await client.aclose()
        await store.close()


if __name__ == "__main__":
    logging.basicConfig(level=components.environment().get("LOG_LEVEL") or "INFO",
                        format="%(asctime)s %(name)s %(message)s")
    asyncio.run(main())
