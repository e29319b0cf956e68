"""`python -m tools.report` (make report) prints the scripted day's figures as tables, from a real Redis."""

import os
import subprocess
import sys
from pathlib import Path

import redis

from shop.db import engine_for
from tests.analytics.scripted_day import write_day

ROOT = Path(__file__).resolve().parents[2]


def report(redis_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{tmp_path}/shop.db",
           "VAR_DIR": str(tmp_path / "var"), "ENV_FILE": str(tmp_path / "none.env"),
           "HANDOFF_OFFICE_HOURS": "mon-fri 10:05-18:00"}
    return subprocess.run([sys.executable, "-m", "tools.report", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_report_prints_the_tables_of_the_day(redis_url: str, tmp_path: Path) -> None:
    write_day(redis.Redis.from_url(redis_url, decode_responses=True),
              engine_for(f"sqlite:///{tmp_path}/shop.db", seed=False))
    done = report(redis_url, tmp_path, "--from", "2026-11-02", "--to", "2026-11-02")
    assert done.returncode == 0, done.stderr
    lines = [" ".join(line.split()) for line in done.stdout.splitlines()]
    for expected in ("customer-initiated conversations 4", "containment 50.0%",
                     "durable containment (provisional) 25.0%", "handoff rate 50.0%",
                     "agent first response (wall time) 300 1200 2", "agent first response (office hours) 30 1200 2",
                     "agent 1 1 1 100.0% 4", "bot 1 1 1 100.0% 5",
                     "131026 1", "order_update 1", "marketing 1 1 0.025 1", "cost per contained conversation 0.0125",
                     "fallback rate 40.0%", "conversations open now 1", "service windows open now 0",
                     "fell back (NLU below its threshold) 1",
                     "fell back (dialogue policy) 1", "low confidence (below 0.7) 1", "out of scope 1", "faq 2"):
        assert expected in lines, (expected, done.stdout)


def test_a_bad_range_is_refused(redis_url: str, tmp_path: Path) -> None:
    done = report(redis_url, tmp_path, "--from", "2026-11-03", "--to", "2026-11-02")
    assert done.returncode == 2 and "to must not be before from" in done.stderr
