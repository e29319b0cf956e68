"""What every asyncio task of a process is waiting on, written to the log on SIGUSR1.

A turn that never ends holds its customer's later messages back; the stack of each waiting task says where
it hangs without stopping the process (`kill -USR1 <pid>`; the chaos proofs do it when a reply is missing).
"""

import asyncio
import io
import logging
import signal

logger = logging.getLogger(__name__)


def describe(loop: asyncio.AbstractEventLoop, limit: int = 30) -> str:
    """Each unfinished task of `loop` with the stack of the coroutine it is suspended in."""
    out = io.StringIO()
    for task in asyncio.all_tasks(loop):
        out.write(f"--- {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=limit, file=out)
    return out.getvalue()


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Log the tasks of `loop` whenever the process gets SIGUSR1."""
    loop.add_signal_handler(signal.SIGUSR1, lambda: logger.warning("asyncio tasks:\n%s", describe(loop)))
