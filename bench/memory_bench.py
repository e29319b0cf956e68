"""Benchmark: Redis memory per customer and per message, live and after the retention period.

    make bench-memory   (or: .venv/bin/python -m bench.memory_bench [--customers 10000] [--messages 2])

Drives `--customers` customers through the WhatsApp channel in this process: each customer's
`--messages` text messages arrive as signed webhooks at the channel's endpoint (Sanic, ASGI), the
channel's consumer handles them (claims, windows, consent keywords, pricing, events) and answers each
with one text through the outbound governor to the Cloud API stand-in (real HTTP), and the `sent`,
`delivered` and `read` statuses of every answer come back as signed webhooks. One customer in ten
writes STOP (consent ledger). Rasa itself is replaced by that one-line answer: its conversation
trackers are not in these numbers (they expire after `RASA_TRACKER_EXPIRY_DAYS`).

It starts its own redis-server and measures with `INFO memory` and `MEMORY USAGE` per key:
- live: everything the run left in Redis;
- after retention: what is left once every key's expiry has passed (keys without an expiry); the
  capped streams are listed apart, since their size is fixed by their MAXLEN, not by customers.
"""

import argparse
import asyncio
import logging
import re
import socket
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict

import httpx
import redis
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from werkzeug.serving import make_server

from bot.channels.whatsapp_connector import WhatsAppInput
from cloud_api_standin.app import create_app
from stack import components, redis_server
from whatsapp_cloud import redis_keys

SECRET = "bench-app-secret"
PHONE_ID = "100000000000001"
STREAMS = {redis_keys.EVENT_STREAM, redis_keys.DEAD_LETTERS, redis_keys.CONSENT_LOG, redis_keys.PRICING_LOG,
           redis_keys.WEBHOOK_STREAM}
TARGET_BYTES_PER_CUSTOMER = 5 * 1024
RETENTION = components.retention()


def message_webhook(wa_id: str, wamid: str, text: str) -> Dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Bench Customer"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}]}}]}]}


class Standin:
    """The Cloud API stand-in over real HTTP in a thread, playing Meta: it signs and delivers the
    customers' webhooks to the channel, and the status webhooks of every message the channel sends."""

    def __init__(self, webhook_url: str) -> None:
        self.app = create_app({"WHATSAPP_ACCESS_TOKEN": "tok", "WHATSAPP_APP_SECRET": SECRET,
                               "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "STANDIN_WEBHOOK_URL": webhook_url,
                               "STANDIN_STATUS_DELAY": "0", "STANDIN_THROUGHPUT": "100000",
                               "STANDIN_PAIR_BURST": "1000"})
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def statuses_waiting(self) -> int:
        return self.app.extensions["standin_reporter"]._queue.qsize()

    def stop(self) -> None:
        self.server.shutdown()


class RedisServer:
    """A redis-server of its own, as the project starts one (stack/redis_server.py)."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.process = subprocess.Popen(redis_server.command(port, data_dir), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def family(key: str) -> str:
    """A key's name with its ids replaced by `*` (wa:out:wamid.X -> wa:out:*)."""
    key = re.sub(r"wamid\.[^:]+", "*", key)
    return re.sub(r"(?<=:)[0-9A-Za-z._-]*\d[0-9A-Za-z._-]*", "*", key)


def measure(client: redis.Redis) -> Dict[str, Dict[str, Any]]:
    rows: Dict[str, Dict[str, Any]] = defaultdict(lambda: {"keys": 0, "bytes": 0, "expiring": 0, "entries": 0})
    for raw in client.scan_iter(count=1000):
        key = raw.decode()
        row = rows[family(key)]
        row["keys"] += 1
        row["bytes"] += client.memory_usage(key, samples=0) or 0
        row["expiring"] += client.ttl(key) >= 0
        if client.type(key) == b"stream":
            row["entries"] += client.xlen(key)
    return dict(rows)


async def drive(redis_url: str, customers: int, messages: int, batch: int) -> int:
    """Every customer's messages through the stand-in (Meta) and the channel; how many webhooks it took."""
    port = free_port()
    standin = Standin(f"http://127.0.0.1:{port}/webhooks/whatsapp/webhook")
    channel = WhatsAppInput.from_credentials({
        "verify_token": "v", "app_secret": SECRET, "access_token": "tok", "phone_number_id": PHONE_ID,
        "api_base_url": standin.url, "api_version": "v26.0", "redis_url": redis_url, "mark_read": False,
        "max_concurrent_turns": 50, "turn_yield_seconds": 0.001,
        "outbound": {"throughput_per_second": 100000, "pair_burst": 1000},
    })

    async def on_new_message(message: UserMessage) -> None:  # the bot's answer, in place of Rasa
        await message.output_channel.send_text_message(message.sender_id, "Thanks, we are on it.")

    app = Sanic(f"memory_bench_{port}")
    app.config.ACCESS_LOG = False
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/whatsapp")
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    await server.after_start()  # the channel's consumer starts here, as in Rasa

    async def worked_off() -> None:
        quiet = 0
        while quiet < 3:  # the stream empty and no status on its way, three looks in a row
            pending = await channel.store.xlen(channel.stream.stream)
            quiet = quiet + 1 if not pending and not standin.statuses_waiting() else 0
            await asyncio.sleep(0.1)
        if channel.consumer is not None:
            await channel.consumer.drain()

    sent = 0
    limit = asyncio.Semaphore(20)
    async with httpx.AsyncClient(timeout=60) as http:
        async def customer_writes(wa_id: str, m: int) -> None:
            nonlocal sent
            text = "STOP" if m == messages - 1 and int(wa_id) % 10 == 0 else f"where is my order {m}?"
            async with limit:
                answer = await http.post(f"{standin.url}/_standin/replay",
                                         json=message_webhook(wa_id, f"wamid.MEM-{wa_id}-{m}", text))
            assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, answer.text
            sent += 1

        for start in range(0, customers, batch):
            ids = [f"1555{n:07d}" for n in range(start, min(start + batch, customers))]
            for m in range(messages):
                await asyncio.gather(*(customer_writes(wa_id, m) for wa_id in ids))
                await worked_off()
            print(f"  {min(start + batch, customers):,} customers", flush=True)
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await channel.client.aclose()
    await channel.store.close()
    standin.stop()
    replies = standin.app.extensions["standin_outbox"].last_seq
    return sent + 3 * replies  # customer messages, then sent, delivered and read for every reply


def report(client: redis.Redis, baseline: int, customers: int, messages: int, webhooks: int, elapsed: float) -> bool:
    used = client.info("memory")["used_memory"] - baseline
    rows = measure(client)
    total_keys = sum(r["bytes"] for r in rows.values())
    kept = {name: r for name, r in rows.items() if name not in STREAMS and r["expiring"] < r["keys"]}
    kept_bytes = sum(r["bytes"] * (r["keys"] - r["expiring"]) / r["keys"] for r in kept.values())
    stream_bytes = sum(r["bytes"] for name, r in rows.items() if name in STREAMS)
    inbound = customers * messages
    print(f"\n{customers:,} customers, {inbound:,} customer messages, {webhooks:,} webhooks in {elapsed:.0f} s\n")
    print(f"{'key family':38} {'keys':>8} {'expire':>8} {'entries':>9} {'bytes':>12}")
    for name, r in sorted(rows.items(), key=lambda item: -item[1]["bytes"]):
        print(f"{name:38} {r['keys']:>8,} {r['keys'] and r['expiring']:>8,} {r['entries'] or '':>9} {r['bytes']:>12,}")
    print()
    print(f"{'':44} {'total':>12} {'per customer':>13} {'per message':>12}")
    per = lambda n: (f"{n:>12,.0f} {n / customers:>13,.0f} {n / inbound:>12,.0f}")  # noqa: E731
    print(f"{'Redis used_memory, live':44} {per(used)}")
    print(f"{'keys, live (MEMORY USAGE)':44} {per(total_keys)}")
    print(f"{'  of which capped streams (bounded by MAXLEN)':44} {per(stream_bytes)}")
    print(f"{'kept after retention (keys without expiry)':44} {per(kept_bytes)}")
    ok = kept_bytes / customers < TARGET_BYTES_PER_CUSTOMER
    caps = {redis_keys.EVENT_STREAM: RETENTION.event_stream_max, redis_keys.PRICING_LOG: RETENTION.pricing_log_max,
            redis_keys.CONSENT_LOG: RETENTION.consent_log_max, redis_keys.DEAD_LETTERS: RETENTION.dead_letters_max}
    print(f"\n{'capped stream':20} {'bytes per entry':>16} {'MAXLEN':>11} {'at the cap':>14}")
    for name, cap in caps.items():
        r = rows.get(name)
        if r and r["entries"]:
            each = r["bytes"] / r["entries"]
            print(f"{name:20} {each:>16,.0f} {cap:>11,} {each * cap / 2**20:>11,.0f} MB")
    print(f"\nafter retention: {kept_bytes / customers:,.0f} bytes per customer "
          f"(target under {TARGET_BYTES_PER_CUSTOMER:,}): {'met' if ok else 'MISSED'}")
    return ok


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=2, help="messages per customer")
    parser.add_argument("--batch", type=int, default=500, help="customers writing at the same time")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
        port = free_port()
        server = RedisServer(Path(tmp), port)
        try:
            client = redis.Redis(port=port)
            baseline = client.info("memory")["used_memory"]
            started = time.monotonic()
            webhooks = asyncio.run(drive(f"redis://127.0.0.1:{port}/0", args.customers, args.messages, args.batch))
            elapsed = time.monotonic() - started
            return 0 if report(client, baseline, args.customers, args.messages, webhooks, elapsed) else 1
        finally:
            server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
