"""Wait until a service is there: a TCP port accepting connections (Redis before Rasa starts), or an
HTTP health check answering 200."""

import socket
import sys
import time
from urllib.parse import urlparse

import requests


def wait_for(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def is_healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_until_healthy(url: str, timeout: float) -> None:
    """Return once `url` answers 200; raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not is_healthy(url):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not become healthy within {timeout:.0f}s")
        time.sleep(0.2)


def main() -> None:
    url = urlparse(sys.argv[1])
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    host, port = url.hostname or "127.0.0.1", url.port or 6379
    if not wait_for(host, port, timeout):
        sys.exit(f"{host}:{port} did not accept connections within {timeout:.0f}s")


if __name__ == "__main__":
    main()
