"""The outgoing webhooks' process (`python -m outgoing_webhooks.worker`, in the Procfile): fans events out
and delivers them, in two threads, so a slow receiver never holds up reading the event stream.

Several workers may run: the consumer groups share the work, and each worker's name (host and process id)
keeps its pending entries its own until it dies, when another claims them.
"""

import logging
import os
import signal
import socket
import threading
from typing import Callable, Mapping, Optional

from outgoing_webhooks.delivery import Deliverer
from outgoing_webhooks.fanout import Fanout
from outgoing_webhooks.settings import WebhookSettings
from stack import components

logger = logging.getLogger(__name__)


def _loop(step: Callable[[], int], stop: threading.Event, name: str) -> None:
    while not stop.is_set():
        try:
            step()
        except Exception:  # Redis down or a bug: log, wait, go on; every step can be repeated
            logger.exception("outgoing webhooks: %s failed", name)
            stop.wait(2.0)


def main(env: Optional[Mapping[str, str]] = None, stop: Optional[threading.Event] = None) -> None:
    env = components.environment() if env is None else env
    settings = WebhookSettings.from_env(env)
    store = components.redis_client(env, socket_timeout=30)
    name = f"{socket.gethostname()}-{os.getpid()}"
    fanout, deliverer = Fanout(store, name), Deliverer(store, settings, name)
    fanout.ensure_group()
    deliverer.ensure_group()
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())  # finish the request in flight, then stop
    threads = [threading.Thread(target=_loop, args=(lambda: fanout.step(block_ms=1000), stop, "fan-out"),
                                name="webhooks-fanout"),
               threading.Thread(target=_loop, args=(lambda: deliverer.step(block_ms=1000), stop, "delivery"),
                                name="webhooks-delivery")]
    for thread in threads:
        thread.start()
    logger.info("outgoing webhooks worker %s: up to %s attempts within %ss", name, settings.max_attempts,
                settings.max_age_seconds)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    logging.basicConfig(level=components.environment().get("LOG_LEVEL") or "INFO",
                        format="%(asctime)s %(name)s %(message)s")
    main()
