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
    missing = manage(redis_url, "seed-demo", HANDOFF_DEMO_PASSWORD="")
    assert missing.returncode == 2 and "HANDOFF_DEMO_PASSWORD" in missing.stderr
    for _ in range(2):
        seeded = manage(redis_url, "seed-demo", HANDOFF_DEMO_PASSWORD="demo password 123")
        assert seeded.returncode == 0, seeded.stderr
    agents = AgentDirectory(redis.Redis.from_url(redis_url, decode_responses=True))
    assert [a.username for a in agents.all()] == ["admin", "alice", "bob", "sam"]
    assert agents.authenticate("alice", "demo password 123") is not None
    assert "demo password 123" not in seeded.stdout  # the password is never printed
