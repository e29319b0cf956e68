"""The whole system as `make run` starts it: real processes, real Redis, real HTTP.

A customer's text goes to the stand-in, arrives at Rasa as a signed webhook in Meta's
envelope, runs through NLU, the action server and the Redis tracker store, and the bot's
reply comes back through the Graph API client to the stand-in.
"""

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import psutil
import pytest
import redis
import requests

from stack import settings, supervision
from stack.background import BackgroundStack
from whatsapp_cloud import redis_keys
from whatsapp_cloud.webhooks import signature

ROOT = settings.ROOT
pytestmark = pytest.mark.e2e
START_TIMEOUT = 300


class RunningStack(BackgroundStack):
    def say(self, text: str, wa_id: str, name: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "cloud_api_standin.say", "--from", wa_id, "--name", name, text],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60,
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = RunningStack(tmp_path_factory.mktemp("var"))
    running.start(timeout=START_TIMEOUT)
    try:
        yield running
    finally:
        running.stop()


def test_start_up_prints_where_each_part_listens(stack: RunningStack) -> None:
    env = stack.resolved()
    banner = "\n".join(stack.lines[:15])
    for url in (settings.redact_url(env["REDIS_URL"]), env["RASA_URL"], env["WHATSAPP_WEBHOOK_URL"],
                env["ACTIONS_URL"], env["HANDOFF_URL"], env["STANDIN_URL"]):
        assert url in banner
    # Redis has a password, and no line of the whole output shows it.
    assert env["REDIS_PASSWORD"] and not any(env["REDIS_PASSWORD"] in line for line in stack.lines)


def test_customer_message_gets_the_bots_reply_through_whatsapp(stack: RunningStack) -> None:
    result = stack.say("hello there", wa_id="15550001111", name="Ana Lima")
    assert result.returncode == 0, result.stderr
    # The greeting comes from the action server and uses the WhatsApp profile name from the webhook.
    assert "bot: Hi Ana!" in result.stdout


def test_entities_reach_the_reply(stack: RunningStack) -> None:
    result = stack.say("where is my order 1001", wa_id="15550002222", name="Ben")
    assert result.returncode == 0, result.stderr
    assert "order 1001" in result.stdout


def test_conversation_is_kept_in_redis_with_whatsapp_metadata(stack: RunningStack) -> None:
    env = stack.resolved()
    assert stack.say("hi", wa_id="15550003333", name="Cleo").returncode == 0
    store = redis.Redis.from_url(env["REDIS_URL"])
    assert store.exists("wabot:tracker:15550003333")
    tracker = requests.get(f"{env['RASA_URL']}/conversations/15550003333/tracker",
                           params={"token": env["RASA_API_TOKEN"]}, timeout=10).json()
    [user_event] = [e for e in tracker["events"] if e["event"] == "user"]
    assert user_event["metadata"]["wamid"].startswith("wamid.")
    assert user_event["metadata"]["wa_profile_name"] == "Cleo"
    assert user_event["input_channel"] == "whatsapp"


def test_delivery_statuses_of_the_bots_replies_are_recorded(stack: RunningStack) -> None:
    env = stack.resolved()
    assert stack.say("hi", wa_id="15550005555", name="Dee").returncode == 0
    [reply] = requests.get(f"{env['STANDIN_URL']}/_standin/outbox", params={"to": "15550005555"},
                           timeout=10).json()["messages"]
    store = redis.Redis.from_url(env["REDIS_URL"], decode_responses=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and store.hget(f"wa:out:{reply['wamid']}", "status") != "read":
        time.sleep(0.2)
    record = store.hgetall(f"wa:out:{reply['wamid']}")
    assert record["status"] == "read" and record["pricing_type"] == "free_customer_service"
    assert record["type"] == "text" and record["recipient"] == "15550005555"


def test_a_webhook_delivered_twice_is_answered_once(stack: RunningStack) -> None:
    env = stack.resolved()
    wa_id = "15550006666"
    envelope = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": env["WHATSAPP_PHONE_NUMBER_ID"]},
            "contacts": [{"profile": {"name": "Eve"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": "wamid.E2E-DUPLICATE", "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": "are you a bot?"}}]}}]}]}
    # The customer "writes" first so the window is open, then Meta delivers one message twice.
    for _ in range(2):
        answer = requests.post(f"{env['STANDIN_URL']}/_standin/replay", json=envelope, timeout=10)
        assert answer.json()["webhook_status"] == 200
    outbox = f"{env['STANDIN_URL']}/_standin/outbox"
    first = requests.get(outbox, params={"to": wa_id, "wait": 20}, timeout=30).json()["messages"]
    assert len(first) == 1
    later = requests.get(outbox, params={"to": wa_id, "after": first[0]["seq"], "wait": 3}, timeout=10).json()
    assert later["messages"] == []


def test_what_the_nlu_read_of_each_message_is_recorded_once(stack: RunningStack) -> None:
    env = stack.resolved()
    wa_id = "15550007777"
    assert stack.say("hello", wa_id=wa_id, name="Flo").returncode == 0
    tracker = requests.get(f"{env['RASA_URL']}/conversations/{wa_id}/tracker",
                           params={"token": env["RASA_API_TOKEN"]}, timeout=10).json()
    [user_event] = [e for e in tracker["events"] if e["event"] == "user"]
    store = redis.Redis.from_url(env["REDIS_URL"], decode_responses=True)
    found = [f for _, f in store.xrange(redis_keys.EVENT_STREAM)
             if f["kind"] == "nlu_result" and f.get("sender") == wa_id]
    assert len(found) == 1, found
    assert found[0]["wamid"] == user_event["message_id"] == user_event["metadata"]["wamid"]
    assert found[0]["intent"] == user_event["parse_data"]["intent"]["name"] == "greet"
    assert float(found[0]["confidence"]) == round(user_event["parse_data"]["intent"]["confidence"], 4)
    # The message delivered twice earlier in this module was read once.
    assert len([f for _, f in store.xrange(redis_keys.EVENT_STREAM)
                if f["kind"] == "nlu_result" and f["wamid"] == "wamid.E2E-DUPLICATE"]) == 1


def test_rasa_http_api_needs_the_token(stack: RunningStack) -> None:
    env = stack.resolved()
    answer = requests.get(f"{env['RASA_URL']}/conversations/15550003333/tracker", timeout=10)
    assert answer.status_code == 401


def test_webhook_handshake_and_signature_over_real_http(stack: RunningStack) -> None:
    env = stack.resolved()
    url = env["WHATSAPP_WEBHOOK_URL"]
    ok = requests.get(url, params={"hub.mode": "subscribe", "hub.challenge": "42",
                                   "hub.verify_token": env["WHATSAPP_VERIFY_TOKEN"]}, timeout=10)
    assert ok.status_code == 200 and ok.text == "42"
    assert requests.get(url, params={"hub.mode": "subscribe", "hub.challenge": "42",
                                     "hub.verify_token": "wrong"}, timeout=10).status_code == 403
    envelope = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1"},
        "messages": [{"from": "15550004444", "id": "wamid.forged", "timestamp": str(int(time.time())),
                      "type": "text", "text": {"body": "hi"}}]}}]}]}).encode()
    forged = requests.post(url, data=envelope, timeout=10,
                           headers={signature.HEADER: signature.sign(envelope, "not-the-app-secret")})
    assert forged.status_code == 403
    tracker = requests.get(f"{env['RASA_URL']}/conversations/15550004444/tracker",
                           params={"token": env["RASA_API_TOKEN"]}, timeout=10).json()
    assert not [e for e in tracker["events"] if e["event"] == "user"]


def test_every_service_answers_its_health_check(stack: RunningStack) -> None:
    env = stack.resolved()
    for url in (f"{env['RASA_URL']}/webhooks/whatsapp/", f"{env['ACTIONS_URL']}/health",
                f"{env['HANDOFF_URL']}/health", f"{env['STANDIN_URL']}/health"):
        assert requests.get(url, timeout=10).status_code == 200, url
    assert requests.get(f"{env['HANDOFF_URL']}/health", timeout=10).json()["redis"] == "ok"


def test_no_rasa_process_of_the_stack_reports_telemetry(stack: RunningStack) -> None:
    started = psutil.Process(stack.process.pid).children(recursive=True)
    # The Rasa server, and the action server (rasa-sdk's app: bot/action_server.py).
    rasa = [p for p in started if any(part.endswith("/rasa") or part == "rasa" or part == "bot.action_server"
                                      for part in p.cmdline()[:3])]
    assert len(rasa) == 2, [p.cmdline() for p in started]
    assert all(p.environ().get("RASA_TELEMETRY_ENABLED") == "false" for p in rasa)


def service_processes(stack: RunningStack) -> dict:
    """Each supervised service's process, as supervisord reports it."""
    return {name: psutil.Process(pid) for name, (state, pid) in supervision.status(Path(stack.env["VAR_DIR"])).items()
            if state == "RUNNING"}


def test_a_killed_process_is_started_again_and_the_others_keep_running(stack: RunningStack) -> None:
    env = stack.resolved()
    before = service_processes(stack)
    assert {"redis", "rasa", "actions", "handoff", "standin"} <= set(before)
    before["actions"].kill()  # SIGKILL: no chance to clean up
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        again = service_processes(stack).get("actions")
        if again is not None and again.pid != before["actions"].pid:
            try:
                if requests.get(f"{env['ACTIONS_URL']}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
        time.sleep(0.5)
    else:
        raise AssertionError("the action server was not started again within 60 s")
    after = service_processes(stack)
    for name in ("redis", "rasa", "handoff", "standin"):
        assert after[name].pid == before[name].pid, f"{name} was restarted too"
    assert requests.get(f"{env['RASA_URL']}/webhooks/whatsapp/", timeout=10).status_code == 200


def test_ctrl_c_stops_everything_and_leaves_no_process_behind(stack: RunningStack) -> None:
    env = stack.resolved()
    started = psutil.Process(stack.process.pid).children(recursive=True)
    assert len(started) >= 5  # supervisord and the services it runs
    assert stack.stop(signal.SIGINT) == 0
    gone, alive = psutil.wait_procs(started, timeout=10)
    assert alive == [], [p.info for p in alive]
    for key in settings.PORT_KEYS:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", int(env[key]))) != 0, f"{key} still answers"
    assert list(Path(env["VAR_DIR"], "redis").glob("appendonly*"))
