"""No Rasa process the project starts reports usage or error tracebacks to Rasa's third-party services."""

import os
import re
import subprocess
import sys
from pathlib import Path

from stack import settings

ROOT = settings.ROOT
# What `rasa run` / `rasa train` do first: read (or create) the telemetry setting and say whether it is on.
ASK_RASA = "from rasa import telemetry; print(telemetry.initialize_telemetry())"


def test_every_process_of_the_stack_runs_with_telemetry_off(tmp_path: Path) -> None:
    env = settings.resolve({"VAR_DIR": str(tmp_path), "ENV_FILE": str(tmp_path / "none"),
                            "RASA_TELEMETRY_ENABLED": "true", "PATH": os.environ["PATH"]})
    assert env["RASA_TELEMETRY_ENABLED"] == "false"
    # Rasa's own answer in that environment (its global config file may say otherwise; the variable wins).
    answer = subprocess.run([sys.executable, "-c", ASK_RASA], env={**env, "HOME": str(tmp_path)},
                            capture_output=True, text=True, timeout=120)
    assert answer.stdout.strip().splitlines()[-1] == "False", answer.stderr[-2000:]


def test_rasa_left_to_itself_would_report(tmp_path: Path) -> None:
    # What the settings above prevent: without the variable, telemetry is on by default.
    env = {k: v for k, v in os.environ.items() if k != "RASA_TELEMETRY_ENABLED"}
    answer = subprocess.run([sys.executable, "-c", ASK_RASA], env={**env, "HOME": str(tmp_path)},
                            capture_output=True, text=True, timeout=120)
    assert answer.stdout.strip().splitlines()[-1] == "True", answer.stderr[-2000:]


def test_every_rasa_command_in_the_procfile_turns_telemetry_off() -> None:
    commands = [line for line in (ROOT / "Procfile").read_text().splitlines() if re.search(r"\brasa run\b", line)]
    assert len(commands) == 1  # the server; the action server is rasa-sdk's app (bot/action_server.py)
    for line in commands:
        assert "RASA_TELEMETRY_ENABLED=false exec rasa run" in line, line


def test_make_runs_every_rasa_command_with_telemetry_off() -> None:
    shown = subprocess.run(["make", "-s", "--no-print-directory", "--eval",
                            "show-telemetry: ; @echo $$RASA_TELEMETRY_ENABLED", "show-telemetry"],
                           cwd=ROOT, env={k: v for k, v in os.environ.items() if k != "RASA_TELEMETRY_ENABLED"},
                           capture_output=True, text=True, timeout=60)
    assert shown.stdout.strip() == "false", shown.stderr
    assert "export RASA_TELEMETRY_ENABLED=false" in (ROOT / ".ci" / "run").read_text()
