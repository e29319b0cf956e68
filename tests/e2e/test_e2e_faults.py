"""Faults with real processes: Rasa killed after acknowledging, Redis restarted.

Redis is run by the test (REDIS_URL set, so the stack starts none); the other services run
under supervisord from the Procfile as `make run` starts them, Rasa under a supervisord of its own so
it can be killed (supervisor and all) and started again while the rest keeps running.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List

import psutil
import pytest
import requests

from stack import settings, supervision
from stack.background import free_port
from stack.wait_for import wait_until_healthy
from tests.support.redis_process import RedisProcess

pytestmark = [pytest.mark.e2e, pytest.mark.proof]  # make proof: Rasa loaded three times
ROOT = settings.ROOT


class Services:
    def __init__(self, env: Dict[str, str]) -> None:
        self.env = env
        self.groups: Dict[str, subprocess.Popen] = {}

    def start(self, name: str, processes: List[str], **overrides: str) -> None:
        env = {**self.env, **overrides, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        config = supervision.write_config(Path(self.env["VAR_DIR"]) / name, supervision.procfile(ROOT / "Procfile"),
                                          processes)
        self.groups[name] = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(config)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )

    def kill(self, name: str) -> None:
        """SIGKILL the whole group: supervisord and what it runs, with no chance to clean up."""
        group = self.groups.pop(name)
        family = [psutil.Process(group.pid), *psutil.Process(group.pid).children(recursive=True)]
        for process in family:
            process.kill()
        psutil.wait_procs(family, timeout=10)

    def stop_all(self) -> None:
        for group in self.groups.values():
            if group.poll() is None:
                group.send_signal(signal.SIGTERM)
        for group in self.groups.values():
            group.wait(timeout=60)


def customer_writes(env: Dict[str, str], wa_id: str, text: str) -> requests.Response:
    return requests.post(f"{env['STANDIN_URL']}/_standin/customers/{wa_id}/messages",
                         json={"text": text, "name": "Fay"}, timeout=30)


def replies(env: Dict[str, str], wa_id: str, wait: float) -> List[dict]:
    return requests.get(f"{env['STANDIN_URL']}/_standin/outbox", params={"to": wa_id, "wait": wait},
                        timeout=wait + 10).json()["messages"]


@pytest.fixture(scope="module")
def redis_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, redis_proc: RedisProcess) -> Iterator[Services]:
    var_dir = tmp_path_factory.mktemp("var")
    overrides = {key: str(free_port()) for key in settings.PORT_KEYS}
    env = settings.resolve({**os.environ, **overrides, "VAR_DIR": str(var_dir), "ENV_FILE": str(var_dir / "none"),
                            "REDIS_URL": redis_proc.url, "WHATSAPP_ACCESS_TOKEN": ""})
    env.update(MODEL_PATH=str(ROOT / "models"), PYTHONWARNINGS="ignore")
    running = Services(env)
    running.start("rest", ["ingest", "actions", "handoff", "standin"])  # the intake acknowledges Meta
    wait_until_healthy(f"{env['INGEST_URL']}/health", timeout=240)
    wait_until_healthy(f"{env['STANDIN_URL']}/health", timeout=240)
    wait_until_healthy(f"{env['ACTIONS_URL']}/health", timeout=240)
    try:
        yield running
    finally:
        running.stop_all()


def test_a_message_acknowledged_before_rasa_dies_is_answered_once_after_restart(services: Services) -> None:
    env = services.env
    webhook_health = f"{env['RASA_URL']}/webhooks/whatsapp/"
    # The intake acknowledged the message into the stream; this Rasa does not consume, then is killed: the
    # message exists nowhere but Redis.
    services.start("rasa", ["rasa"], WHATSAPP_CONSUME="false")
    wait_until_healthy(webhook_health, timeout=240)
    answer = customer_writes(env, "15550007777", "hi")
    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200
    services.kill("rasa")
    assert replies(env, "15550007777", wait=1) == []

    services.start("rasa", ["rasa"])
    wait_until_healthy(webhook_health, timeout=240)
    [reply] = replies(env, "15550007777", wait=60)
    assert reply["message"]["text"]["body"].startswith("Hi Fay!")
    time.sleep(3)
    assert len(replies(env, "15550007777", wait=0)) == 1


def test_redis_restart_refuses_then_recovers_without_losing_acknowledged_messages(
    services: Services, redis_proc: RedisProcess
) -> None:
    env = services.env
    if "rasa" not in services.groups:
        services.start("rasa", ["rasa"])
        wait_until_healthy(f"{env['RASA_URL']}/webhooks/whatsapp/", timeout=240)
    redis_proc.stop()
    down = customer_writes(env, "15550008888", "hi")
    assert down.status_code == 502 and down.json()["webhook_status"] == 503  # not acknowledged: Meta retries
    health = requests.get(f"{env['RASA_URL']}/webhooks/whatsapp/", timeout=10)
    assert health.status_code == 503

    redis_proc.start()
    wait_until_healthy(f"{env['RASA_URL']}/webhooks/whatsapp/", timeout=30)
    # Meta delivers the refused message again once Redis is back: it is answered, once.
    again = customer_writes(env, "15550008888", "hi")
    assert again.status_code == 200
    first = replies(env, "15550008888", wait=60)
    assert len(first) == 1 and first[0]["message"]["text"]["body"].startswith("Hi Fay!")
    # The conversation before the restart is still in Redis (AOF).
    assert redis_proc.client().exists("wabot:tracker:15550007777")
