"""BOT_WORKERS: several Rasa processes, each with its own port and stable consumer name, under supervisord."""

import os
import subprocess
from pathlib import Path

import pytest

from stack import settings, supervision
from stack.setting_values import ConfigError


def resolve(tmp_path: Path, **values: str) -> dict:
    return settings.resolve({"VAR_DIR": str(tmp_path), "ENV_FILE": str(tmp_path / "none.env"), **values})


def test_one_worker_by_default_named_as_before(tmp_path):
    env = resolve(tmp_path)
    [worker] = settings.bot_workers(env)
    assert worker == {"RASA_PORT": "5005", "RASA_WORKER_URL": env["RASA_URL"],
                      "WHATSAPP_CONSUMER_NAME": env["WHATSAPP_CONSUMER_NAME"]}
    names = [name for name, _, _ in supervision.programs({"rasa": "rasa run", "redis": "r"}, ["redis", "rasa"],
                                                        settings.bot_workers(env))]
    assert names == ["redis", "rasa"]


def test_each_worker_has_its_own_port_and_consumer_name(tmp_path):
    env = resolve(tmp_path, BOT_WORKERS="3")
    workers = settings.bot_workers(env)
    assert [w["RASA_PORT"] for w in workers] == ["5005", "5006", "5007"]
    assert len({w["WHATSAPP_CONSUMER_NAME"] for w in workers}) == 3
    assert settings.bot_workers(resolve(tmp_path, BOT_WORKERS="3")) == workers  # stable across restarts
    config = supervision.write_config(tmp_path / "sv", {"rasa": 'exec rasa run --port "$RASA_PORT"'}, ["rasa"],
                                      workers)
    text = config.read_text()
    assert "[program:rasa-1]" in text and "[program:rasa-3]" in text and "[program:rasa]" not in text
    script = (tmp_path / "sv" / "run" / "rasa-2.sh").read_text()
    assert "export RASA_PORT=5006" in script
    assert f"export WHATSAPP_CONSUMER_NAME={workers[1]['WHATSAPP_CONSUMER_NAME']}" in script


@pytest.mark.parametrize("value", ["0", "two", "17", "-1"])
def test_a_wrong_number_of_workers_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="BOT_WORKERS"):
        resolve(tmp_path, BOT_WORKERS=value)


def test_bot_workers_run_below_the_other_processes_cpu_priority(tmp_path):
    """A saturated worker must not delay the intake's acknowledgements: the scripts supervisord runs give
    the workers a higher nice value and leave the others where they started."""
    report = 'echo "$(ps -o ni= -p $$)" > "$OUT"'
    supervision.write_config(tmp_path / "sv", {"rasa": report, "ingest": report}, ["ingest", "rasa"],
                             settings.bot_workers(resolve(tmp_path, BOT_WORKERS="2")))
    started = int(subprocess.run(["ps", "-o", "ni=", "-p", str(os.getpid())], capture_output=True, text=True,
                                 check=True).stdout)
    niceness = {}
    for name in ("ingest", "rasa-1", "rasa-2"):
        out = tmp_path / f"{name}.nice"
        subprocess.run(["/bin/bash", str(tmp_path / "sv" / "run" / f"{name}.sh")], env={**os.environ, "OUT": str(out)},
                       check=True, timeout=30)
        niceness[name] = int(out.read_text())
    assert niceness == {"ingest": started, "rasa-1": max(started, 10), "rasa-2": max(started, 10)}
