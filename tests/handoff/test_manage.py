"""`python -m handoff.manage`: agent accounts from the command line and the demo seed of `make run`."""

import os
import subprocess
import sys

import redis

from handoff.agents import AgentDirectory
from stack import settings


def manage(redis_url: str, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "handoff.manage", *args], input=stdin, capture_output=True,
                          text=True, cwd=settings.ROOT, timeout=60, env={**os.environ, "REDIS_URL": redis_url, **env})


def test_create_agent_from_the_command_line(redis_url: str) -> None:
    made = manage(redis_url, "create-agent", "zoe", "--teams", "refunds,payments", "--role", "supervisor",
                  "--capacity", "4", "--password-stdin", stdin="a good long password\n")
    assert made.returncode == 0, made.stderr
    agents = AgentDirectory(redis.Redis.from_url(redis_url, decode_responses=True))
    zoe = agents.authenticate("zoe", "a good long password")
    assert zoe is not None and zoe.role == "supervisor" and zoe.teams == ("refunds", "payments")
    again = manage(redis_url, "create-agent", "zoe", "--password-stdin", stdin="another long password\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = manage(redis_url, "create-agent", "yan", "--teams", "sales", "--password-stdin", stdin="long enough pw\n")
    assert bad.returncode == 2 and "teams must be among" in bad.stderr


def test_demo_seed_needs_the_generated_password_and_runs_twice(redis_url: str) -> None:
    missing = manage(redis_url, "seed-demo", HANDOFF_DEMO_PASSWORD="", USE_STANDIN="1")
    assert missing.returncode == 2 and "HANDOFF_DEMO_PASSWORD" in missing.stderr
    for _ in range(2):
        seeded = manage(redis_url, "seed-demo", HANDOFF_DEMO_PASSWORD="demo password 123", USE_STANDIN="1")
        assert seeded.returncode == 0, seeded.stderr
    agents = AgentDirectory(redis.Redis.from_url(redis_url, decode_responses=True))
    assert [a.username for a in agents.all()] == ["admin", "alice", "bob", "sam"]
    assert agents.authenticate("alice", "demo password 123") is not None
    assert "demo password 123" not in seeded.stdout  # the password is never printed


def test_no_demo_accounts_when_connected_to_meta_unless_asked(redis_url: str) -> None:
    agents = AgentDirectory(redis.Redis.from_url(redis_url, decode_responses=True))
    real = manage(redis_url, "seed-demo", HANDOFF_DEMO_PASSWORD="demo password 123", USE_STANDIN="0")
    assert real.returncode == 0 and "create-agent NAME --role admin" in real.stdout
    assert agents.all() == []
    asked = manage(redis_url, "seed-demo", HANDOFF_DEMO_PASSWORD="demo password 123", USE_STANDIN="0",
                   HANDOFF_DEMO="true")
    assert asked.returncode == 0 and [a.username for a in agents.all()] == ["admin", "alice", "bob", "sam"]
    refused = manage(redis_url, "seed-demo", HANDOFF_DEMO_PASSWORD="demo password 123", USE_STANDIN="1",
                     HANDOFF_DEMO="false")
    assert refused.returncode == 0 and "no demo accounts" in refused.stdout


def test_disable_enable_delete_and_new_password(redis_url: str) -> None:
    agents = AgentDirectory(redis.Redis.from_url(redis_url, decode_responses=True))
    agents.create("zoe", "first long password", teams=("orders",))
    token = agents.issue_token("zoe")
    assert manage(redis_url, "disable-agent", "zoe").returncode == 0
    assert agents.authenticate("zoe", "first long password") is None and agents.by_token(token) is None
    assert manage(redis_url, "enable-agent", "zoe").returncode == 0
    assert agents.authenticate("zoe", "first long password") is not None
    token = agents.issue_token("zoe")
    changed = manage(redis_url, "set-password", "zoe", "--password-stdin", stdin="second long password\n")
    assert changed.returncode == 0, changed.stderr
    assert agents.by_token(token) is None and agents.authenticate("zoe", "first long password") is None
    assert agents.authenticate("zoe", "second long password") is not None
    old = agents.issue_token("zoe")
    assert manage(redis_url, "delete-agent", "zoe").returncode == 0 and agents.get("zoe") is None
    missing = manage(redis_url, "delete-agent", "zoe")
    assert missing.returncode == 2 and "no agent zoe" in missing.stderr
    agents.create("zoe", "a third long password", teams=("orders",))  # a new account, the same name
    assert agents.by_token(old) is None
