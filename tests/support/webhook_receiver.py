"""A webhook receiver a test runs: a real HTTP server in a thread that records what it gets and answers with
the statuses the test queues (then 200)."""

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterator, List


@dataclass
class Received:
    headers: Dict[str, str]
    body: bytes
    path: str = ""

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    statuses: List[int] = field(default_factory=list)  # answers to give, in order; then 200
    got: List[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds each answer takes


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    state = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.got.append(Received(dict(self.headers.items()), raw, self.path))
            time.sleep(state.delay)
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
