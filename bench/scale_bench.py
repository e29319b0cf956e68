"""Benchmark of the scaled-out stack: the intake's acknowledgements while the bot workers are saturated, turns
per second with 1 and 2 workers and CPU per process, end-to-end reply latency at half capacity, the outbound
governor's achieved rate, and memory per process. Each figure is printed next to its baseline from the same run.

    make bench-scale    (or: .venv/bin/python -m bench.scale_bench [--ack-seconds 60] [--turns 300] ...)

One stack with BOT_WORKERS=2 as `make run` starts it (free ports, a temporary var/); workers are stopped and
started with supervisorctl between phases:
1. acknowledgement latency at the intake, `--ack-rate` webhooks/s for `--ack-seconds`, with both workers
   stopped (the baseline: nothing else runs), then the same while both workers are saturated by a backlog;
2. turns per second: `--turns` messages stored at once, worked off by 1 worker, then by 2 (new customers
   each time), with the CPU seconds each process used meanwhile;
3. end-to-end latency (webhook acknowledged -> reply recorded by the Graph API stand-in) at half of the
   measured 2-worker capacity, one message per new customer;
4. the outbound governor: `--governor-rate` messages/s configured, 30 s worth sent at once through the
   sender to the stand-in, achieved rate overall and after the first second (the bucket starts full);
5. memory (RSS and PSS, each process with its children) once every process has done its part.
"""

import argparse
import asyncio
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import httpx
import psutil
import redis.asyncio as aioredis

from bench import open_loop
from bench.webhook_bench import envelope, percentile, stream_worked_off
from stack import supervision
from stack.background import BackgroundStack, free_port
from whatsapp_cloud import redis_keys
from whatsapp_cloud.graph.client import GraphApiClient
from whatsapp_cloud.graph.config import CloudApiConfig
from whatsapp_cloud.outbound.sender import OutboundSender, SenderSettings
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import PolicyStore
from whatsapp_cloud.webhooks import signature

WORKERS = ("rasa-1", "rasa-2")
MB = 1024 * 1024


class Bench:
    def __init__(self, stack: BackgroundStack, args: argparse.Namespace) -> None:
        self.stack = stack
        self.env = stack.resolved()
        self.args = args
        self.var_dir = Path(self.env["VAR_DIR"])
        self.rows: List[Tuple[str, str, str]] = []  # figure, measured, baseline / target

    # --- the processes -------------------------------------------------------------------------------------
    def pids(self) -> Dict[str, int]:
        return {name: pid for name, (state, pid) in supervision.status(self.var_dir).items() if pid}

    def family(self, pid: int) -> List[psutil.Process]:
        try:
            top = psutil.Process(pid)
            return [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def memory_mb(self) -> Dict[str, Tuple[float, float]]:
        """Name -> (RSS, PSS) of each process with its children. RSS counts a page shared by several processes
        (a gunicorn master and its forked workers, shared libraries) once in each; PSS divides it among them,
        so PSS adds up to what the stack holds."""
        found = {}
        for name, pid in self.pids().items():
            infos = [p.memory_full_info() for p in self.family(pid) if p.is_running()]
            found[name] = (sum(i.rss for i in infos) / MB, sum(i.pss for i in infos) / MB)
        return found

    def cpu_seconds(self) -> Dict[str, float]:
        found = {}
        for name, pid in self.pids().items():
            total = 0.0
            for process in self.family(pid):
                try:
                    times = process.cpu_times()
                    total += times.user + times.system
                except psutil.NoSuchProcess:
                    pass
            found[name] = total
        return found

    def workers(self, action: str, *names: str) -> None:
        supervision.control(self.var_dir, action, *(f"services:{n}" for n in names))
        if action == "start":
            port = int(self.env["RASA_PORT"])
            urls = [f"http://127.0.0.1:{port + WORKERS.index(n)}/webhooks/whatsapp/" for n in names]
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if all(_healthy(url) for url in urls):
                    return
                time.sleep(1)
            raise RuntimeError(f"{names} did not come back within 600 s")

    # --- load ------------------------------------------------------------------------------------------------
    def signed(self, wa_id: str, wamid: str, text: str = "hi") -> Tuple[bytes, Dict[str, str]]:
        body = envelope(self.env["WHATSAPP_PHONE_NUMBER_ID"], wa_id, wamid, text)
        return body, {signature.HEADER: signature.sign(body, self.env["WHATSAPP_APP_SECRET"])}

    async def open_loop(self, rate: float, seconds: float, tag: str) -> Dict[str, float]:
        """`rate` webhooks/s for `seconds` at the intake, each from a customer of its own; the answer times,
        each from the moment the schedule sent it (bench/open_loop.py: prepared, signed before the clock)."""
        url = self.env["WHATSAPP_WEBHOOK_URL"]
        requests = [open_loop.post_request(url, *self.signed(f"17{tag}{i:08d}", f"wamid.SCALE-{tag}-{i}"))
                    for i in range(int(rate * seconds))]
        outcome = await open_loop.offer(url, requests, rate)
        return {"sent": outcome.sent, "ok": outcome.ok, "per_s": outcome.achieved_per_s,
                "p50": outcome.p50, "p99": outcome.percentile(99)}

    async def through_standin(self, client: httpx.AsyncClient, wa_id: str, wamid: str) -> None:
        """One customer message delivered by the stand-in (which opens the customer's window there, so the
        bot's reply is accepted and recorded, as Meta would deliver it)."""
        body, _ = self.signed(wa_id, wamid)
        answer = await client.post(f"{self.env['STANDIN_URL']}/_standin/replay", content=body,
                                   headers={"Content-Type": "application/json"})
        assert answer.status_code == 200 and answer.json()["webhook_status"] == 200, answer.text

    async def store_backlog(self, count: int, tag: str) -> None:
        """`count` messages of new customers into the stream as fast as the intake takes them."""
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=16)) as client:
            sem = asyncio.Semaphore(16)

            async def one(i: int) -> None:
                async with sem:
                    await self.through_standin(client, f"18{tag}{i:08d}", f"wamid.BACKLOG-{tag}-{i}")

            await asyncio.gather(*[one(i) for i in range(count)])

    async def drop_stream(self) -> None:
        """With the workers stopped: forget what the stream holds (a phase's leftover webhooks), so no worker
        runs those turns later; what was read and not acknowledged is acknowledged, the group starts afresh."""
        store = aioredis.Redis.from_url(self.env["REDIS_URL"])
        stream, group = redis_keys.WEBHOOK_STREAM, redis_keys.WEBHOOK_GROUP
        try:
            await store.xtrim(stream, maxlen=0, approximate=False)
            while True:
                pending = await store.xpending_range(stream, group, min="-", max="+", count=1000)
                if not pending:
                    break
                await store.xack(stream, group, *[p["message_id"] for p in pending])
            await store.xgroup_setid(stream, group, "$")
        finally:
            await store.close()

    # --- phases ----------------------------------------------------------------------------------------------
    def memory(self) -> None:
        """After the other phases (every process has served its share: the workers' first turns alone add about
        200 MB each): each added worker while both run, then the default stack's 1 worker with rasa-2 stopped
        (two workers share the pages of their libraries, so PSS would split those between them)."""
        both = self.memory_mb()
        self.workers("stop", "rasa-2")
        held = self.memory_mb()
        rss = {name: figures[0] for name, figures in held.items()}
        pss = {name: figures[1] for name, figures in held.items()}
        self.rows += [
            ("RSS ingest process", f"{rss['ingest']:.0f} MB", "target <= 100 MB"),
            ("memory of the whole default stack (1 worker), PSS", f"{sum(pss.values()):.0f} MB",
             f"target <= 1500 MB; the sum of RSS, shared pages counted in each process: {sum(rss.values()):.0f} MB"),
            ("each added worker (rasa-2), RSS / PSS", f"{both['rasa-2'][0]:.0f} / {both['rasa-2'][1]:.0f} MB",
             f"rasa-1 alone {rss['rasa-1']:.0f} / {pss['rasa-1']:.0f} MB"),
            ("RSS / PSS by process", ", ".join(f"{k} {rss[k]:.0f}/{pss[k]:.0f}" for k in sorted(held)), "MB"),
        ]
        self.flush()

    async def acknowledgements(self) -> None:
        rate, seconds = self.args.ack_rate, self.args.ack_seconds
        self.workers("stop", *WORKERS)
        idle = await self.open_loop(rate, seconds, "01")
        await self.drop_stream()
        self.workers("start", *WORKERS)
        await self.store_backlog(self.args.saturate, "02")  # the workers have more than they can do
        busy_cpu0 = self.cpu_seconds()
        busy = await self.open_loop(rate, seconds, "03")
        busy_cpu = {k: v - busy_cpu0.get(k, 0) for k, v in self.cpu_seconds().items()}
        self.workers("stop", *WORKERS)
        await self.drop_stream()
        load = os.getloadavg()[0]
        self.rows += [
            (f"ack p50 / p99, {rate:.0f}/s for {seconds:.0f} s, workers saturated",
             f"{busy['p50']:.1f} / {busy['p99']:.1f} ms ({busy['ok']}/{busy['sent']} ok, {busy['per_s']:.0f}/s)",
             f"workers stopped: {idle['p50']:.1f} / {idle['p99']:.1f} ms ({idle['ok']}/{idle['sent']} ok); "
             "target p99 <= 20 ms"),
            ("  CPU s used meanwhile", ", ".join(f"{k} {v:.0f}" for k, v in sorted(busy_cpu.items()) if v >= 0.5),
             f"load average {load:.1f}"),
        ]
        self.flush()

    async def turns_per_second(self, tag: str) -> Tuple[float, Dict[str, float]]:
        """Messages stored with the workers that run now, worked off: turns per second, CPU per process."""
        await self.store_backlog(self.args.turns, tag)
        cpu0, began = self.cpu_seconds(), time.perf_counter()
        await stream_worked_off(self.env["REDIS_URL"], timeout=1800)
        elapsed = time.perf_counter() - began
        cpu = {k: (v - cpu0.get(k, 0)) / elapsed for k, v in self.cpu_seconds().items()}
        return self.args.turns / elapsed, cpu

    async def scaling(self) -> float:
        self.workers("start", "rasa-1")
        one, cpu_one = await self.turns_per_second("04")
        self.workers("start", "rasa-2")
        two, cpu_two = await self.turns_per_second("05")
        cores = psutil.cpu_count() or 1
        used = sum(cpu_two.values())  # cores the whole stack kept busy per second of the 2-worker run
        bound = two * cores / used if used else float("nan")
        shown = lambda cpu: ", ".join(f"{k} {v:.2f}" for k, v in sorted(cpu.items()) if v >= 0.01)  # noqa: E731
        self.rows += [
            (f"turns/s, {self.args.turns} stored messages", f"2 workers {two:.1f}", f"1 worker {one:.1f}; "
             f"ratio {two / one:.2f}"),
            ("  CPU cores busy per process, 1 worker", shown(cpu_one), f"sum {sum(cpu_one.values()):.2f}"),
            ("  CPU cores busy per process, 2 workers", shown(cpu_two), f"sum {used:.2f} of {cores}"),
            ("  CPU bound of this machine", f"{bound:.1f} turns/s", f"at {used / two:.3f} CPU s per turn, "
             f"{cores} cores, load average {os.getloadavg()[0]:.1f}"),
        ]
        self.flush()
        return two

    async def reply_latency(self, capacity: float) -> None:
        rate, seconds = capacity / 2, self.args.e2e_seconds
        total = max(1, int(rate * seconds))
        standin = self.env["STANDIN_URL"]
        async with httpx.AsyncClient(timeout=60) as client:
            seq = (await client.get(f"{standin}/_standin/outbox", params={"after": 10**9})).json()["last_seq"]
            posted: Dict[str, float] = {}
            began = time.perf_counter()
            for i in range(total):
                delay = began + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                wa_id = f"1906{i:08d}"
                await self.through_standin(client, wa_id, f"wamid.E2E-{i}")
                posted[wa_id] = time.time()  # acknowledged by the intake
            replied: Dict[str, float] = {}
            deadline = time.monotonic() + 600
            while len(replied) < total and time.monotonic() < deadline:
                got = (await client.get(f"{standin}/_standin/outbox", params={"after": seq, "wait": 5})).json()
                for record in got["messages"]:
                    seq = max(seq, record["seq"])
                    if record["to"] in posted and record["to"] not in replied:
                        replied[record["to"]] = record["sent_at"]
        latencies = [(replied[w] - posted[w]) * 1000 for w in replied]
        self.rows.append((f"reply latency p50 / p99 at half capacity ({rate:.1f} msg/s, {seconds:.0f} s)",
                          f"{statistics.median(latencies):.0f} / {percentile(latencies, 99):.0f} ms",
                          f"{len(replied)}/{total} answered; load average {os.getloadavg()[0]:.1f}"))
        self.flush()

    async def governor(self) -> None:
        rate = self.args.governor_rate
        total = int(rate * 30)
        store = aioredis.Redis.from_url(self.env["REDIS_URL"])
        # The stack's business number and bucket; the workers are idle meanwhile.
        client = GraphApiClient(CloudApiConfig(access_token=self.env["WHATSAPP_ACCESS_TOKEN"],
                                               phone_number_id=self.env["WHATSAPP_PHONE_NUMBER_ID"],
                                               api_base_url=self.env["STANDIN_URL"]))
        sender = OutboundSender(client, store, SenderSettings(throughput_per_second=rate, pair_burst=1000))
        policy = PolicyStore(store, PolicyConfig())
        customers = [f"1907{c:08d}" for c in range(200)]
        async with httpx.AsyncClient(timeout=30) as http:  # their windows open at the stand-in too
            await asyncio.gather(*[http.post(f"{self.env['STANDIN_URL']}/_standin/customers/{c}/messages",
                                             json={"text": "hi"}) for c in customers[:50]])
        for customer in customers:
            await policy.record_inbound(customer, await policy.now(), from_referral=False)
        await stream_worked_off(self.env["REDIS_URL"], timeout=600)
        stamps: List[float] = []

        async def one(i: int) -> None:
            to = customers[i % 50]
            await sender.send({"to": to, "type": "text", "text": {"body": f"governor {i}"}}, key=f"gov-{i}")
            stamps.append(time.perf_counter())

        began = time.perf_counter()
        await asyncio.gather(*[one(i) for i in range(total)])
        stamps.sort()
        elapsed = stamps[-1] - began
        overall = total / elapsed
        steady = (total - rate) / elapsed  # the bucket starts full: `rate` tokens come before the clock counts
        await client.aclose()
        await store.close()
        self.rows.append((f"outbound governor, {total} sends at once",
                          f"{steady:.1f}/s without the full bucket's first {rate:.0f} ({overall:.1f}/s overall)",
                          f"configured {rate:.0f}/s; off by {abs(steady - rate) / rate * 100:.1f}% (target 5%)"))
        self.flush()

    def flush(self) -> None:
        width = max(len(r[0]) for r in self.rows)
        print("\n".join(f"  {f:<{width}}  {m}  |  {b}" for f, m, b in self.rows[-4:]), flush=True)

    def table(self) -> str:
        lines = ["| figure | measured | baseline / target |", "|---|---|---|"]
        lines += [f"| {f.strip()} | {m} | {b} |" for f, m, b in self.rows]
        return "\n".join(lines)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return (f"{psutil.cpu_count()} CPUs ({model}), {psutil.virtual_memory().total / 1024**3:.1f} GB memory, "
            f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


async def run(bench: Bench, args: argparse.Namespace) -> None:
    await bench.acknowledgements()
    capacity = await bench.scaling()
    await bench.reply_latency(capacity)
    await bench.governor()
    bench.memory()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ack-rate", type=float, default=500.0, help="webhooks per second at the intake")
    parser.add_argument("--ack-seconds", type=float, default=60.0)
    parser.add_argument("--saturate", type=int, default=400, help="backlog that keeps the workers busy")
    parser.add_argument("--turns", type=int, default=300, help="stored messages per throughput run")
    parser.add_argument("--e2e-seconds", type=float, default=60.0)
    parser.add_argument("--governor-rate", type=float, default=20.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory() as var_dir:
        port = free_port()
        while not _port_free(port + 1):
            port = free_port()
        stack = BackgroundStack(Path(var_dir), BOT_WORKERS="2", RASA_PORT=str(port), STANDIN_STATUSES="off",
                                STANDIN_THROUGHPUT="100000", STANDIN_PAIR_BURST="100000", STARTUP_TIMEOUT="900")
        print("starting the stack with 2 workers (loads the Rasa model twice) ...", flush=True)
        stack.start(timeout=960)
        bench = Bench(stack, args)
        try:
            asyncio.run(run(bench, args))
        finally:
            stack.stop()
            print("\n" + bench.table(), flush=True)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    main()
