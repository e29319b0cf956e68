"""The action server (bot/action_server.py) as the Procfile starts it: loopback only, and no action runs
for a caller without the shared secret that Rasa sends (endpoints.yml)."""

import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import requests
from rasa.core.utils import read_endpoints_from_path

from stack import settings
from stack.wait_for import wait_until_healthy
from tests.support.helpers import free_port

TOKEN = "actions-secret-for-tests"
CANCEL = {"next_action": "action_cancel_order", "sender_id": "15551230001", "version": "3.6.2",
          "tracker": {"sender_id": "15551230001", "slots": {"order_id": "1002"}, "latest_message": {},
                      "events": [], "paused": False, "followup_action": None, "active_loop": {},
                      "latest_action_name": None},
          "domain": {}}


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    var = tmp_path_factory.mktemp("actions")
    env = {"PATH": str(Path(sys.executable).parent), "ACTIONS_TOKEN": TOKEN, "ACTIONS_PORT": str(port),
           "BIND_HOST": "127.0.0.1", "DATABASE_URL": f"sqlite:///{var / 'app.db'}",
           "REDIS_URL": "redis://127.0.0.1:9/0", "HANDOFF_URL": "http://127.0.0.1:9", "PYTHONWARNINGS": "ignore"}
    server = subprocess.Popen([sys.executable, "-m", "bot.action_server"], cwd=settings.ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/health", timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_every_route_but_health_needs_the_shared_secret(action_server: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        run = requests.post(action_server + "/webhook", json=CANCEL, headers=headers, timeout=30)
        assert run.status_code == 401, headers
        assert requests.get(action_server + "/actions", headers=headers, timeout=10).status_code == 401
    assert requests.get(action_server + "/health", timeout=10).status_code == 200
    listed = requests.get(action_server + "/actions", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert listed.status_code == 200 and {"name": "action_cancel_order"} in listed.json()


def test_it_listens_on_loopback_only(action_server: str) -> None:
    port = int(action_server.rsplit(":", 1)[1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this finds the machine's outward address
        outward = probe.getsockname()[0]
    if outward.startswith("127."):
        pytest.skip("this machine has no address other than loopback")
    with pytest.raises(OSError):
        socket.create_connection((outward, port), timeout=2).close()


def test_rasa_sends_the_secret_on_every_action_call(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = settings.resolve({"VAR_DIR": str(tmp_path), "ENV_FILE": str(tmp_path / "none.env")})
    assert env["ACTIONS_TOKEN"] and env["ACTIONS_TOKEN"] in (tmp_path / "local.env").read_text()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for endpoints in ("endpoints.yml", "endpoints-tls.yml"):
        action = read_endpoints_from_path(settings.ROOT / endpoints).action
        assert action.headers == {"Authorization": f"Bearer {env['ACTIONS_TOKEN']}"}
    procfile = (settings.ROOT / "Procfile").read_text()
    assert 'actions: SANIC_HOST="$BIND_HOST" exec python -m bot.action_server' in procfile
