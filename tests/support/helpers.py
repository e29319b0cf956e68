"""Small test utilities: free ports, real servers on threads, fixture payloads."""

import json
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator

from werkzeug.serving import make_server

from stack.background import free_port

__all__ = ["free_port", "payload", "serve_wsgi", "wait_for_port", "PAYLOADS"]

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"


def payload(name: str) -> Dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


@contextmanager
def serve_wsgi(app: Any, port: int = 0) -> Iterator[str]:
    """Serve a WSGI app over real HTTP on a free port (or the one given) in a thread; yields its base URL."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
