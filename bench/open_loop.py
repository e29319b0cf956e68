"""An open-loop HTTP load generator that can offer hundreds of requests a second from one Python process.

General-purpose clients (httpx, requests) spend about a millisecond of CPU per request in Python, so on a
small machine the client, not the server, sets the pace and its own queue ends up in the measured latency.
Here the request bytes are built (and signed) before the clock starts, each connection is a kept-alive
HTTP/1.1 stream that writes one prepared request and reads one answer, and each latency is counted from the
moment the schedule said the request should go (so a slow answer delays nothing and hides nothing:
no coordinated omission).
"""

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Dict, List, Sequence
from urllib.parse import urlsplit


@dataclass
class Outcome:
    offered_per_s: float
    latencies_ms: List[float] = field(default_factory=list)
    statuses: Dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def sent(self) -> int:
        return len(self.latencies_ms)

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def achieved_per_s(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)


def post_request(url: str, body: bytes, headers: Dict[str, str]) -> bytes:
    """The bytes of one HTTP/1.1 POST of `body` to `url`, keeping the connection open."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", "Connection: keep-alive",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1])


async def offer(url: str, requests: Sequence[bytes], rate: float, connections: int = 64) -> Outcome:
    """Send the prepared `requests` at `rate` per second on up to `connections` kept-alive connections."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    outcome = Outcome(offered_per_s=rate)
    idle: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(None)  # a connection slot, opened on first use

    async def one(request: bytes, due: float) -> None:
        stream = await idle.get()
        try:
            if stream is None:
                stream = await asyncio.open_connection(host, port)
            reader, writer = stream
            writer.write(request)
            status = await _read_answer(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            status, stream = 0, None  # counted as a failure; the slot opens a new connection next time
        outcome.latencies_ms.append((time.perf_counter() - due) * 1000)
        outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
        idle.put_nowait(stream)

    began = time.perf_counter()
    tasks = []
    for i, request in enumerate(requests):
        due = began + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    outcome.elapsed_s = time.perf_counter() - began
    while not idle.empty():
        stream = idle.get_nowait()
        if stream is not None:
            stream[1].close()
    return outcome
