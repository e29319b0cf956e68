import asyncio
import logging
import os
import signal

from stack import task_dump


async def waits_for_a_lock_that_never_frees(never: asyncio.Event) -> None:
    await never.wait()


def test_sigusr1_logs_where_each_waiting_task_is_suspended(caplog) -> None:
    async def scenario() -> None:
        task_dump.install(asyncio.get_running_loop())
        never = asyncio.Event()
        stuck = asyncio.create_task(waits_for_a_lock_that_never_frees(never), name="turn of wa:test")
        await asyncio.sleep(0)
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.sleep(0.1)  # the handler runs on the loop
        asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        stuck.cancel()

    with caplog.at_level(logging.WARNING, logger="stack.task_dump"):
        asyncio.run(scenario())
    dumped = "\n".join(record.getMessage() for record in caplog.records)
    assert "--- turn of wa:test" in dumped
    assert "in waits_for_a_lock_that_never_frees" in dumped and "await never.wait()" in dumped
