"""A real Redis Cluster for tests: three masters on loopback ports, no replicas, in folders of their own.

The servers are the same redis-server the other tests use (stack/redis_server.py), started with
`--cluster-enabled yes`; the 16384 slots are split between them with CLUSTER ADDSLOTS and the nodes
introduced with CLUSTER MEET, which is what `redis-cli --cluster create` does (no redis-cli needed).
"""

import socket
import subprocess
import time
from pathlib import Path
from typing import Any, List

import pytest
import redis

from stack import redis_server
from tests.support.helpers import free_port, wait_for_port

SLOTS = 16384
HOST = "127.0.0.1"
# Each node also listens on its port + 10,000 (the cluster bus), so a node's port may be at most 55,535: a free
# port drawn from the whole range was above it about one time in five, and that node exited at start.
BUS_OFFSET = 10_000
HIGHEST_PORT = 65_535 - BUS_OFFSET


def node_port() -> int:
    """A free port whose cluster bus port is free too."""
    while True:
        port = free_port()
        if port <= HIGHEST_PORT and _bindable(port + BUS_OFFSET):
            return port


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


class RedisCluster:
    def __init__(self, data_dir: Path, masters: int = 3) -> None:
        self.data_dir = data_dir
        self.ports = [node_port() for _ in range(masters)]
        self.processes: "List[subprocess.Popen[bytes]]" = []

    @property
    def url(self) -> str:
        return f"redis+cluster://{HOST}:{self.ports[0]}"

    def start(self, attempts: int = 3) -> "RedisCluster":
        """Start and join the servers; on free ports taken meanwhile by another program, on new ones."""
        for attempt in range(attempts):
            try:
                return self._start()
            except (redis.RedisError, TimeoutError):
                self.stop()
                if attempt == attempts - 1:
                    raise
                self.ports = [node_port() for _ in self.ports]
                self.processes = []
        return self

    def _start(self) -> "RedisCluster":
        for port in self.ports:
            folder = self.data_dir / str(port)
            folder.mkdir(parents=True, exist_ok=True)
            command = redis_server.command(port, folder) + [
                "--cluster-enabled", "yes", "--cluster-config-file", str(folder / "nodes.conf"),
                "--cluster-node-timeout", "5000", "--appendonly", "no", "--logfile", str(folder / "redis.log")]
            self.processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in self.ports:
            wait_for_port(port)
        nodes = [redis.Redis(host=HOST, port=port) for port in self.ports]
        share = SLOTS // len(nodes)
        for index, node in enumerate(nodes):
            last = SLOTS if index == len(nodes) - 1 else (index + 1) * share
            node.execute_command("CLUSTER ADDSLOTS", *range(index * share, last))
        for node in nodes:
            for port in self.ports:
                node.execute_command("CLUSTER MEET", HOST, port)
        self._wait_until_ok(nodes)
        for node in nodes:
            node.close()
        if any(process.poll() is not None for process in self.processes):  # a port was another program's
            raise redis.ConnectionError("a cluster node exited")
        return self

    def _wait_until_ok(self, nodes: List[redis.Redis], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            infos = [node.cluster("info") for node in nodes]
            if all(info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) == len(nodes) for info in infos):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster did not form: {infos}")
            time.sleep(0.05)

    def flushall(self) -> None:
        for port in self.ports:
            with redis.Redis(host=HOST, port=port) as node:
                node.flushall()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


def on_both(metafunc: Any, quick: "set[str]") -> None:
    """From a conftest's `pytest_generate_tests`: run each test that takes `redis_url` on the single server
    and on the cluster. The cluster variant is a `proof` (run by `make proof`) except for the tests named in
    `quick`, a representative few that `make test` runs on the cluster too."""
    if "redis_url" not in metafunc.fixturenames:
        return
    cluster_marks = [] if metafunc.function.__name__ in quick else [pytest.mark.proof]
    metafunc.parametrize("redis_url", ["single", pytest.param("cluster", marks=cluster_marks)], indirect=True)
