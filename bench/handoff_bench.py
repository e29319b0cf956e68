"""Benchmark of the handoff service: escalation-to-assignment and agent-reply-to-send latency (p50/p99).

    .venv/bin/python -m bench.handoff_bench [--chats 200] [--agents 10] [--concurrency 8] [--tabs 200]

It runs a real Redis, the handoff service under gunicorn (gevent workers, as in the Procfile) and the
Cloud API stand-in under gunicorn, all on free ports, opens `--tabs` inbox tabs (live event streams)
that stay open during the run, then:
1. escalation to assignment: `--chats` escalations arrive while `--agents` agents are online; the time
   from the escalation request until the chat is with an agent (assignment happens in the request, so
   this is the answer's latency, checked against the answer's state);
2. agent reply to send: each customer writes (window open), the assigned agent replies through the
   API; the time until the reply is accepted by the Graph API (stand-in) and recorded.
"""

import argparse
import logging
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

import requests
from werkzeug.serving import make_server

from handoff.agents import AgentDirectory
from stack import components, handoff_keys, redis_server, settings
from stack.background import free_port
from stack.wait_for import wait_until_healthy
from whatsapp_cloud.policy.store import SyncPolicyStore

PASSWORD = secrets.token_urlsafe(12)


def percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def sink() -> str:
    """Where the stand-in delivers customers' webhooks (the bot is not part of this benchmark)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, lambda environ, start: (start("200 OK", []), [b""])[1], threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/webhook"


def gunicorn(app: str, port: int, env: Dict[str, str], workers: int, threads: int = 0) -> subprocess.Popen:
    """gthread with `threads`, else gevent (the handoff service's worker class in the Procfile)."""
    kind = ["--worker-class", "gthread", "--threads", str(threads)] if threads else [
        "--worker-class", "gevent", "--worker-connections", "1000"]
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--no-control-socket", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), *kind, app],
        cwd=settings.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def open_tabs(base: str, username: str, count: int) -> List[socket.socket]:
    """`count` inbox tabs of one signed-in agent, each with its live event stream open."""
    browser = requests.Session()
    page = browser.get(base + "/login", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    browser.post(base + "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf}, timeout=10)
    host, port = base.removeprefix("http://").split(":")
    tabs = []
    for _ in range(count):
        tab = socket.create_connection((host, int(port)), timeout=30)
        tab.sendall(f"GET /inbox/stream HTTP/1.1\r\nHost: {host}\r\nCookie: session={browser.cookies['session']}"
                    "\r\n\r\n".encode())
        tabs.append(tab)
    for tab in tabs:
        assert tab.recv(4096).startswith(b"HTTP/1.1 200"), "a tab got no event stream"
    return tabs


def report(name: str, values: List[float]) -> None:
    print(f"{name}: n={len(values)} p50={percentile(values, 50):.1f} ms p99={percentile(values, 99):.1f} ms "
          f"mean={statistics.mean(values):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--tabs", type=int, default=200, help="inbox tabs with their live stream open")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="handoff-bench-"))
    redis_port, handoff_port, standin_port = free_port(), free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    processes = [subprocess.Popen(redis_server.command(redis_port, data), stdout=subprocess.DEVNULL)]
    token, wa_token, phone_id = secrets.token_urlsafe(16), secrets.token_urlsafe(16), "100000000000001"
    env = {**os.environ, "REDIS_URL": redis_url, "HANDOFF_API_TOKEN": token, "HANDOFF_SECRET_KEY": "bench",
           "RASA_URL": f"http://127.0.0.1:{free_port()}", "WHATSAPP_ACCESS_TOKEN": wa_token,
           "WHATSAPP_PHONE_NUMBER_ID": phone_id, "WHATSAPP_API_BASE_URL": f"http://127.0.0.1:{standin_port}",
           "WHATSAPP_APP_SECRET": "bench", "STANDIN_WEBHOOK_URL": sink(), "STANDIN_STATUSES": "off",
           "STANDIN_THROUGHPUT": "100000", "STANDIN_PAIR_BURST": "1000", "HANDOFF_SLA_FIRST_RESPONSE_SECONDS": "3600"}
    try:
        time.sleep(0.5)
        store = components.redis_client(url=redis_url, decode_responses=True)
        policy = SyncPolicyStore(store, components.policy_config(env))
        agents = AgentDirectory(store)
        capacity = args.chats // args.agents + 1
        for n in range(args.agents):
            agents.create(f"agent{n}", PASSWORD, teams=("orders",), capacity=capacity)
        processes.append(gunicorn("cloud_api_standin.app:create_app()", standin_port, env, 1, 16))
        processes.append(gunicorn("handoff.app:create_app()", handoff_port, env, 2))
        base = f"http://127.0.0.1:{handoff_port}"
        wait_until_healthy(base + "/health", timeout=60)
        wait_until_healthy(f"http://127.0.0.1:{standin_port}/health", timeout=60)
        tokens = {}
        for n in range(args.agents):
            tokens[f"agent{n}"] = requests.post(base + "/api/auth/token", timeout=10, json={
                "username": f"agent{n}", "password": PASSWORD}).json()["token"]
            requests.put(base + "/api/me/status", json={"status": "online"}, timeout=10,
                         headers={"Authorization": f"Bearer {tokens[f'agent{n}']}"})
        tabs = open_tabs(base, "agent0", args.tabs)
        integration = {"Authorization": f"Bearer {token}"}
        http = requests.Session()
        http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=args.concurrency * 2))

        def escalate(i: int) -> tuple:
            customer = f"1555{i:07d}"
            http.post(f"http://127.0.0.1:{standin_port}/_standin/customers/{customer}/messages",
                      json={"text": "I want a person"}, timeout=30)
            policy.record_inbound(customer, policy.now(), from_referral=False)  # as the WhatsApp channel does
            started = time.perf_counter()
            answer = http.post(base + "/api/escalations", headers=integration, timeout=30, json={
                "customer": customer, "reason": "customer_request", "intent": "order_status", "summary": "bench"})
            took = (time.perf_counter() - started) * 1000
            body = answer.json()
            assert answer.status_code == 201 and body["state"] == "agent", body
            return body["chat_id"], took

        with ThreadPoolExecutor(args.concurrency) as pool:
            escalations = list(pool.map(escalate, range(args.chats)))
        owners = {chat_id: store.hget(handoff_keys.chat(chat_id), "agent") for chat_id, _ in escalations}

        def reply(chat_id: str) -> float:
            headers = {"Authorization": f"Bearer {tokens[owners[chat_id]]}"}
            started = time.perf_counter()
            answer = http.post(f"{base}/api/chats/{chat_id}/messages", headers=headers, timeout=60,
                               json={"text": "Hello, I'm on it."})
            took = (time.perf_counter() - started) * 1000
            assert answer.status_code == 201 and answer.json()["message"]["wamid"].startswith("wamid."), answer.text
            return took

        with ThreadPoolExecutor(args.concurrency) as pool:
            replies = list(pool.map(reply, owners))
        for tab in tabs:
            tab.close()
        print(f"handoff benchmark: {args.chats} chats, {args.agents} agents online, concurrency {args.concurrency}, "
              f"{args.tabs} inbox tabs streaming")
        report("escalation to assignment", [took for _chat, took in escalations])
        report("agent reply to send (accepted by the Graph API)", replies)
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
