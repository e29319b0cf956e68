"""Benchmark: what the cost ledger adds to the message path, on a real redis-server.

    .venv/bin/python -m bench.pricing_bench [--customers 200] [--messages 10] [--busy 2000]

1. `--customers` customers each write once and get `--messages` replies; every reply is recorded
   as sent, then delivered and read (status webhooks), from 8 concurrent asyncio tasks. Reports
   ledger events per second and the p50/p99 time of one `record_status`.
2. One busy customer gets `--busy` replies within a month (its state keeps 30 days of wamids):
   reports events per second at the end and the size of its state in Redis.
"""

import argparse
import asyncio
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import List

from stack import redis_server
from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.pricing.cost_ledger import CostLedger
from whatsapp_cloud.pricing.engine import UTC, PricingConfig
from whatsapp_cloud.webhooks.inbound import InboundMessage, StatusUpdate

NUMBER = "100000000000001"
START = datetime(2026, 10, 5, 9, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def conversation(ledger: CostLedger, wa_id: str, messages: int, timings: List[float]) -> int:
    at = START
    await ledger.record_inbound(InboundMessage(f"wamid.in.{wa_id}", wa_id, int(at.timestamp()), "text", "hi", NUMBER))
    for n in range(messages):
        at += timedelta(seconds=30)
        wamid = f"wamid.{wa_id}.{n}"
        await ledger.record_outbound(wa_id, wamid, "free_form", phone_number_id=NUMBER, at=at)
        for state in ("delivered", "read"):
            started = time.perf_counter()
            await ledger.record_status(StatusUpdate(wamid, state, int(at.timestamp()) + 2, wa_id, NUMBER))
            timings.append((time.perf_counter() - started) * 1000)
    return 1 + 3 * messages


async def many_customers(url: str, customers: int, messages: int) -> None:
    store = redis_connection.asyncio(url)
    ledger = CostLedger(store, PricingConfig())
    timings: List[float] = []
    queue = [f"1555{i:07d}" for i in range(customers)]

    async def worker() -> int:
        done = 0
        while queue:
            done += await conversation(ledger, queue.pop(), messages, timings)
        return done

    started = time.perf_counter()
    events = sum(await asyncio.gather(*(worker() for _ in range(8))))
    elapsed = time.perf_counter() - started
    print(f"{customers} customers x {messages} replies: {events} events in {elapsed:.2f} s "
          f"= {events / elapsed:.0f} events/s; record_status p50 {statistics.median(timings):.2f} ms, "
          f"p99 {percentile(timings, 99):.2f} ms")
    await store.close()


async def busy_customer(url: str, messages: int) -> None:
    store = redis_connection.asyncio(url)
    ledger = CostLedger(store, PricingConfig())
    wa_id = "15559999999"
    timings: List[float] = []
    started = time.perf_counter()
    events = await conversation(ledger, wa_id, messages, timings)
    elapsed = time.perf_counter() - started
    tail = timings[-200:]
    size = await store.strlen(redis_keys.pricing_customer(wa_id))
    print(f"one customer, {messages} replies: {events / elapsed:.0f} events/s overall; last 100 replies' "
          f"record_status p50 {statistics.median(tail):.2f} ms; state {size / 1024:.0f} KiB")
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--busy", type=int, default=2000)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(redis_server.command(port, Path(data)), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("redis-server did not start") from None
                    time.sleep(0.05)
            url = f"redis://127.0.0.1:{port}/0"
            asyncio.run(many_customers(url, args.customers, args.messages))
            asyncio.run(busy_customer(url, args.busy))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
