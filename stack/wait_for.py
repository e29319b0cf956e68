"""Wait until a TCP service accepts connections (e.g. Redis before Rasa starts)."""

import socket
import sys
import time
from urllib.parse import urlparse


def wait_for(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def main() -> None:
    url = urlparse(sys.argv[1])
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    host, port = url.hostname or "127.0.0.1", url.port or 6379
    if not wait_for(host, port, timeout):
        sys.exit(f"{host}:{port} did not accept connections within {timeout:.0f}s")


if __name__ == "__main__":
    main()
