"""A real Sentinel setup for tests: a master, a replica of it, and one sentinel watching them on loopback.

One sentinel with quorum 1 is enough to see a failover happen (production runs three or more); it declares
the master down after a second without answers.
"""

import subprocess
import time
from pathlib import Path
from typing import List

import redis

from stack import redis_server
from tests.support.helpers import free_port, wait_for_port
from tests.support.redis_process import RedisProcess

HOST = "127.0.0.1"
SERVICE = "mymaster"


class RedisSentinel:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.master = RedisProcess(data_dir / "master")
        self.replica = RedisProcess(data_dir / "replica")
        self.port = free_port()
        self.processes: "List[subprocess.Popen[bytes]]" = []

    @property
    def url(self) -> str:
        return f"redis+sentinel://{HOST}:{self.port}/{SERVICE}"

    def start(self) -> "RedisSentinel":
        self.master.start()
        self.replica.start()
        with redis.Redis(host=HOST, port=self.replica.port) as replica:
            replica.replicaof(HOST, self.master.port)
        folder = self.data_dir / "sentinel"
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "sentinel.conf"
        config.write_text(f"port {self.port}\nbind {HOST}\ndir {folder}\n"
                          f"sentinel monitor {SERVICE} {HOST} {self.master.port} 1\n"
                          f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                          f"sentinel failover-timeout {SERVICE} 10000\n")
        self.processes.append(subprocess.Popen([redis_server.executable(), str(config), "--sentinel"],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for_port(self.port)
        self._wait(lambda s: s.sentinel_master(SERVICE).get("num-slaves", 0) >= 1, "the sentinel saw no replica")
        return self

    def master_port(self) -> int:
        with redis.Redis(host=HOST, port=self.port) as sentinel:
            return int(sentinel.sentinel_get_master_addr_by_name(SERVICE)[1])

    def wait_for_failover(self, old_port: int, timeout: float = 30.0) -> int:
        self._wait(lambda s: int(s.sentinel_get_master_addr_by_name(SERVICE)[1]) != old_port,
                   "no failover", timeout)
        return self.master_port()

    def _wait(self, done, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        with redis.Redis(host=HOST, port=self.port, decode_responses=True) as sentinel:
            while True:
                try:
                    if done(sentinel):
                        return
                except redis.RedisError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(what)
                time.sleep(0.1)

    def stop(self) -> None:
        # Killed, not stopped: a replica asked to stop while it syncs can take long, and nothing here is kept.
        for server in [*self.processes, self.replica.process, self.master.process]:
            if server is not None and server.poll() is None:
                server.kill()
                server.wait(timeout=10)
