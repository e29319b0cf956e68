"""A real redis-server for tests: started on a free port, persisting into a folder of its own."""

import subprocess
import time
from pathlib import Path

import redis

from stack import redis_server
from tests.support.helpers import free_port, wait_for_port


class RedisProcess:
    """A real redis-server on a free port, persisting (AOF) into `data_dir`."""

    def __init__(self, data_dir: Path, port: int = 0, password: str = "") -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.password = password  # requirepass: clients must give it
        self.process: "subprocess.Popen[bytes] | None" = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            redis_server.command(self.port, self.data_dir, password=self.password),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port)
        self._wait_until_loaded()
        return self

    def _wait_until_loaded(self, timeout: float = 30.0) -> None:
        # After a restart Redis answers LOADING until it has read its append-only file back.
        deadline = time.monotonic() + timeout
        client = self.client()
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.BusyLoadingError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis flushes its AOF and exits
            self.process.wait(timeout=10)

    def flushall(self) -> None:
        with self.client() as client:
            client.flushall()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True, password=self.password or None)
