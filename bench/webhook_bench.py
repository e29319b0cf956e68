"""Benchmark: webhook acknowledgement latency under a burst, and end-to-end throughput of the
WhatsApp channel next to Rasa's built-in REST channel, on the same model, in the same run.

    make bench          (or: .venv/bin/python -m bench.webhook_bench [--rate 250] [--burst 1000])

It starts the whole stack as `make run` does (free ports, a temporary var/), then:
1. sends `--burst` signed webhooks at `--rate` per second (open loop) to the intake process (Meta's
   callback URL) and reports how fast it answers 200 (p50/p99), which is what Meta measures, while the
   Rasa worker runs the turns; then, once those are worked off, the same burst to the Rasa channel's
   own webhook route, which acknowledges on the event loop that runs NLU (the baseline);
2. has `--customers` customers each send `--per-customer` messages through WhatsApp (webhook in,
   replies out through the Graph API stand-in) and the same through the REST channel, and
   reports messages per second for both and their ratio.
"""

import argparse
import asyncio
import json
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import httpx

from stack import settings
from stack.background import BackgroundStack
from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.webhooks import signature


def envelope(phone_number_id: str, wa_id: str, wamid: str, text: str) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Bench"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}]}}]}]}).encode()


def percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def ack_latency(env: Dict[str, str], url: str, tag: str, rate: float, burst: int) -> Dict[str, float]:
    secret = env["WHATSAPP_APP_SECRET"]
    bodies = [envelope(env["WHATSAPP_PHONE_NUMBER_ID"], f"1555{i % 500:07d}", f"wamid.BENCH-{tag}-{i}", "hi")
              for i in range(burst)]
    latencies: List[float] = []
    statuses: List[int] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def one(body: bytes) -> None:
            started = time.perf_counter()
            answer = await client.post(url, content=body, headers={signature.HEADER: signature.sign(body, secret)})
            latencies.append((time.perf_counter() - started) * 1000)
            statuses.append(answer.status_code)

        began = time.perf_counter()
        tasks = []
        for i, body in enumerate(bodies):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    return {"sent": burst, "ok": statuses.count(200), "offered_per_s": rate, "achieved_per_s": burst / elapsed,
            "p50_ms": statistics.median(latencies), "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies)}


async def whatsapp_throughput(env: Dict[str, str], customers: int, per_customer: int) -> float:
    """Messages per second from the first webhook to the last reply recorded by the stand-in."""
    url, secret, standin = env["WHATSAPP_WEBHOOK_URL"], env["WHATSAPP_APP_SECRET"], env["STANDIN_URL"]
    total = customers * per_customer
    async with httpx.AsyncClient(timeout=60) as client:
        start_seq = (await client.get(f"{standin}/_standin/outbox", params={"after": 10**9})).json()["last_seq"]
        # Each customer writes first through the stand-in so their window is open.
        wa_ids = [f"1666{c:07d}" for c in range(customers)]
        await asyncio.gather(*[client.post(f"{standin}/_standin/customers/{w}/messages", json={"text": "hi"})
                               for w in wa_ids])
        await wait_for_replies(client, standin, start_seq, customers)
        seq = (await client.get(f"{standin}/_standin/outbox", params={"after": 10**9})).json()["last_seq"]
        began = time.perf_counter()

        async def customer(wa_id: str) -> None:
            for n in range(per_customer):
                body = envelope(env["WHATSAPP_PHONE_NUMBER_ID"], wa_id, f"wamid.BENCH-{wa_id}-{n}", "hello")
                await client.post(url, content=body, headers={signature.HEADER: signature.sign(body, secret)})

        await asyncio.gather(*[customer(w) for w in wa_ids])
        await wait_for_replies(client, standin, seq, total)
        return total / (time.perf_counter() - began)


async def wait_for_replies(client: httpx.AsyncClient, standin: str, after: int, expected: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        last = (await client.get(f"{standin}/_standin/outbox", params={"after": 10**9})).json()["last_seq"]
        if last - after >= expected:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {last - after} of {expected} replies arrived")


async def stream_worked_off(redis_url: str, timeout: float) -> None:
    store = redis_connection.asyncio(redis_url, decode_responses=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            [group] = await store.xinfo_groups(redis_keys.WEBHOOK_STREAM)
            last = (await store.xinfo_stream(redis_keys.WEBHOOK_STREAM))["last-generated-id"]
            if group["pending"] == 0 and group["last-delivered-id"] == last:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the webhook stream was not worked off within {timeout:.0f} s")
    finally:
        await store.close()


async def rest_throughput(env: Dict[str, str], customers: int, per_customer: int) -> float:
    url = f"{env['RASA_URL']}/webhooks/rest/webhook"
    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*[client.post(url, json={"sender": f"rest-{c}", "message": "hi"})
                               for c in range(customers)])
        began = time.perf_counter()

        async def customer(c: int) -> None:
            for _ in range(per_customer):
                answer = await client.post(url, json={"sender": f"rest-{c}", "message": "hello"})
                assert answer.status_code == 200 and answer.json(), answer.text

        await asyncio.gather(*[customer(c) for c in range(customers)])
        return customers * per_customer / (time.perf_counter() - began)


async def measure(env: Dict[str, str], args: argparse.Namespace) -> None:
    routes = (("intake process", env["WHATSAPP_WEBHOOK_URL"]),
              ("Rasa channel (baseline)", f"{env['RASA_URL']}/webhooks/whatsapp/webhook"))
    print(f"webhook acknowledgement, {args.burst} signed webhooks at {args.rate:.0f}/s while the worker runs "
          "their turns:")
    print(f"  {'route':<24} {'200s':>9} {'achieved/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  worked off")
    for n, (name, url) in enumerate(routes):
        ack = await ack_latency(env, url, f"ACK{n}", args.rate, args.burst)
        # Let the burst's turns finish so they do not weigh on what comes next.
        began = time.perf_counter()
        await stream_worked_off(env["REDIS_URL"], timeout=args.settle)
        print(f"  {name:<24} {ack['ok']:>4}/{ack['sent']:<4} {ack['achieved_per_s']:>10.0f} {ack['p50_ms']:>7.1f} "
              f"{ack['p99_ms']:>7.1f} {ack['max_ms']:>7.1f}  {time.perf_counter() - began:.1f} s after the last ack",
              flush=True)
    rest = await rest_throughput(env, args.customers, args.per_customer)
    whatsapp = await whatsapp_throughput(env, args.customers, args.per_customer)
    print(f"end-to-end, {args.customers} customers x {args.per_customer} messages: "
          f"REST channel {rest:.1f} msg/s, WhatsApp channel {whatsapp:.1f} msg/s, "
          f"ratio WhatsApp/REST {whatsapp / rest:.2f}")


def _interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM ends the run like Ctrl-C, so the stack is always stopped."""
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=250.0, help="webhooks per second in the burst")
    parser.add_argument("--burst", type=int, default=1000, help="webhooks in the burst")
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--per-customer", type=int, default=10)
    parser.add_argument("--settle", type=float, default=300.0, help="longest wait for the burst's turns")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    with tempfile.TemporaryDirectory() as var_dir:
        # The project's channels plus Rasa's built-in REST channel, for the comparison.
        credentials = Path(var_dir) / "credentials.yml"
        credentials.write_text((settings.ROOT / "credentials.yml").read_text() + "\nrest:\n")
        stack = BackgroundStack(Path(var_dir), RASA_CREDENTIALS=str(credentials),
                                STANDIN_STATUSES="off", STANDIN_THROUGHPUT="100000")
        print("starting the stack (loads the Rasa model) ...", flush=True)
        stack.start()
        try:
            asyncio.run(measure(stack.resolved(), args))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
