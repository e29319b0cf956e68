"""The chaos proofs (`make proof`): the whole stack as `make run` starts it with two bot workers, under load
and faults, one running stack for every scenario (the model load dominates the time). Each scenario adds a
row to the table printed at the end (tests/e2e/conftest.py).

Load sizes (environment): PROOF_CUSTOMERS x PROOF_MESSAGES for the main load (default 200 x 10), and
PROOF_FAULT_CUSTOMERS x PROOF_FAULT_MESSAGES for each fault scenario (default 40 x 6).
"""

import os
import re
import signal
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import requests
from redis import Redis

from stack import supervision
from stack.wait_for import is_healthy
from tests.e2e.harness import Stack, wait_until
from tests.support import chaos
from whatsapp_cloud.redis_keys import DEAD_LETTERS

pytestmark = [pytest.mark.e2e, pytest.mark.proof]
CUSTOMERS = int(os.environ.get("PROOF_CUSTOMERS", "200"))
MESSAGES = int(os.environ.get("PROOF_MESSAGES", "10"))
FAULT_CUSTOMERS = int(os.environ.get("PROOF_FAULT_CUSTOMERS", "40"))
FAULT_MESSAGES = int(os.environ.get("PROOF_FAULT_MESSAGES", "6"))
DEGRADED = "Sorry, I can't look that up right now"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("var"), BOT_WORKERS="2", RASA_PORT=str(chaos.two_free_ports()),
                    STANDIN_PAIR_BURST="1000", STANDIN_THROUGHPUT="1000", STARTUP_TIMEOUT="600")
    running.start(timeout=660)  # two Rasa processes loading the model on a busy 2-core machine
    try:
        yield running
    finally:
        running.stop()


def var_dir(stack: Stack) -> Path:
    return Path(stack.env_["VAR_DIR"])


def control(stack: Stack, *command: str) -> None:
    supervision.control(var_dir(stack), *command)


def workers_healthy(stack: Stack) -> bool:
    port = int(stack.env_["RASA_PORT"])
    return all(is_healthy(f"http://127.0.0.1:{p}/webhooks/whatsapp/") for p in (port, port + 1))


def run_load(stack: Stack, scenario: str, prefix: str, count: int, messages: int, between_rounds=None,
             check_trackers: bool = False) -> chaos.Reckoning:
    env = stack.env_
    load = chaos.Load(chaos.customers(prefix, count), messages)
    chaos.send_interleaved(env, load, between_rounds)
    sent = chaos.replies_to(env["STANDIN_URL"], load.customers, messages)
    result = chaos.reckon({wa_id: chaos.greeted(records) for wa_id, records in sent.items()}, messages)
    problems: List[str] = []
    trackers: Dict[str, Dict] = {}
    if check_trackers:
        trackers = {wa_id: stack.tracker(wa_id) for wa_id in load.customers}
        problems = chaos.tracker_problems(trackers, load.wamids)
    chaos.record(scenario, load, result, problems)
    assert load.acked >= load.expected
    if not result.ok:
        answered = {wa_id: set(chaos.greeted(records)) for wa_id, records in sent.items()}
        missing = {wa_id: [w for n, w in enumerate(load.wamids[wa_id]) if n not in answered[wa_id]]
                   for wa_id in load.customers}
        print("\n".join(chaos.diagnose(env["REDIS_URL"], {k: v for k, v in missing.items() if v})))
        print("\n".join(waiting_tasks(stack)))
        # What the stack's processes logged as going wrong (the replies each missing message did get are above).
        wrong = [line for line in stack.lines if any(
            word in line for word in ("ERROR", "Traceback", "Encountered an exception", "sent no reply"))]
        print("\n".join(wrong[-60:]))
    assert result.ok, (result, result.problems[:5])
    if problems:
        troubled = sorted({line.split(":")[0] for line in problems})
        print("\n".join(chaos.history(env["REDIS_URL"], trackers, troubled[:3])))
    assert not problems, problems[:5]
    return result


def waiting_tasks(stack: Stack) -> List[str]:
    """The bot workers' asyncio tasks and where each waits (stack/task_dump.py), from their logs."""
    seen = len(stack.lines)
    for name in ("rasa-1", "rasa-2"):
        os.kill(supervision.status(var_dir(stack))[name][1], signal.SIGUSR1)
    time.sleep(3)
    return [line for line in stack.lines[seen:] if line.startswith("rasa-")]


def turns_taken(port: int) -> float:
    metrics = requests.get(f"http://127.0.0.1:{port}/webhooks/whatsapp/metrics", timeout=10).text
    return sum(float(value) for value in re.findall(
        r'^whatsapp_inbound_messages_total\{[^}]*result="turn"[^}]*\} (\S+)$', metrics, re.M))


def test_a_two_workers_interleaved_customers_with_duplicates(stack: Stack) -> None:
    run_load(stack, f"a: 2 workers, {CUSTOMERS}x{MESSAGES}, 20% twice", "1555100", CUSTOMERS, MESSAGES,
             check_trackers=True)
    port = int(stack.env_["RASA_PORT"])
    assert turns_taken(port) > 0 and turns_taken(port + 1) > 0  # both workers took turns


def test_b_a_worker_killed_mid_load_is_restarted_and_every_acked_message_answered_once(stack: Stack) -> None:
    killed: Dict[str, int] = {}

    def kill_worker_two(index: int) -> None:
        if index == FAULT_MESSAGES // 2:
            state, pid = supervision.status(var_dir(stack))["rasa-2"]
            assert state == "RUNNING" and pid
            os.kill(pid, signal.SIGKILL)
            killed["pid"] = pid

    run_load(stack, "b: SIGKILL worker 2 mid-load", "1555200", FAULT_CUSTOMERS, FAULT_MESSAGES, kill_worker_two,
             check_trackers=True)
    # supervisord started it again (a new process) and it serves.
    wait_until(lambda: supervision.status(var_dir(stack))["rasa-2"][1] not in (0, killed["pid"]), timeout=60)
    wait_until(lambda: workers_healthy(stack), timeout=300, every=2)


def test_c_redis_killed_mid_load_loses_nothing_acknowledged(stack: Stack) -> None:
    def kill_redis(index: int) -> None:
        if index == FAULT_MESSAGES // 2:
            state, pid = supervision.status(var_dir(stack))["redis"]
            assert state == "RUNNING" and pid
            os.kill(pid, signal.SIGKILL)  # append-only file, fsync every second: what it acknowledged is on disk

    wait_until(lambda: workers_healthy(stack), timeout=300, every=2)
    run_load(stack, "c: SIGKILL Redis mid-load (AOF)", "1555300", FAULT_CUSTOMERS, FAULT_MESSAGES, kill_redis,
             check_trackers=True)


def test_d_action_server_down_gives_the_degraded_answer_then_recovers(stack: Stack) -> None:
    wa_id = "155540000001"
    control(stack, "stop", "services:actions")
    try:
        stack.customer_writes(wa_id, "hi")
        [answer] = [m["message"]["text"]["body"] for m in stack.quiet_outbox(wa_id)]
        assert answer.startswith(DEGRADED), answer
    finally:
        control(stack, "start", "services:actions")
    wait_until(lambda: is_healthy(stack.env_["ACTIONS_URL"] + "/health"), timeout=120)
    last = stack.outbox(wa_id)[-1]["seq"]
    stack.customer_writes(wa_id, "hi")
    [answer] = [m["message"]["text"]["body"] for m in stack.quiet_outbox(wa_id, after=last)]
    assert answer.startswith("Hi Ana!"), answer
    chaos.ROWS.append({"scenario": "d: action server stopped, started", "sent": 2, "acked": 2, "replies": 2,
                       "duplicates": 0, "missing": 0, "out of order": 0, "result": "pass"})


def test_d_handoff_service_down_leaves_customers_with_the_bot_unaffected(stack: Stack) -> None:
    control(stack, "stop", "services:handoff")
    try:
        run_load(stack, "d: handoff service stopped", "1555400", 10, 3)
    finally:
        control(stack, "start", "services:handoff")
    wait_until(lambda: is_healthy(stack.env_["HANDOFF_URL"] + "/health"), timeout=120)


def test_e_graph_api_faults_deliver_everything_deliverable_once_in_order(stack: Stack) -> None:
    env = stack.env_
    unreachable = "155550099999"
    shares = {"http_500": 0.10, "throughput": 0.05, "timeout": 0.01, "pair_burst": 0.02, "burst_length": 3,
              "timeout_seconds": 12, "permanent": {unreachable: 131026}, "seed": 15}
    assert requests.post(f"{env['STANDIN_URL']}/_standin/fault-rates", json=shares, timeout=10).status_code == 200
    # One of each served first whatever the draws, so even a small load meets every kind.
    first = [{"http_status": 500}, {"code": 130429, "http_status": 400}, *[{"code": 131056, "http_status": 400}] * 3]
    assert requests.post(f"{env['STANDIN_URL']}/_standin/faults", json=first, timeout=10).status_code == 200
    try:
        run_load(stack, "e: Graph API faults", "1555500", FAULT_CUSTOMERS, FAULT_MESSAGES)
        assert requests.post(f"{env['STANDIN_URL']}/_standin/faults", json=[], timeout=10).json()["queued"] == 0
        stack.customer_writes(unreachable, "hi")
        redis = Redis.from_url(env["REDIS_URL"])
        wait_until(lambda: any(fields.get(b"to") == unreachable.encode() or unreachable.encode() in
                               b"".join(fields.values()) for _, fields in redis.xrange(DEAD_LETTERS)), timeout=120)
        served = requests.get(f"{env['STANDIN_URL']}/_standin/fault-rates", timeout=10).json()["served"]
        assert sum(served.values()) > 0, served
        print(f"faults drawn: {served}")
    finally:
        requests.post(f"{env['STANDIN_URL']}/_standin/fault-rates", json={}, timeout=10)
    assert stack.outbox(unreachable) == []
