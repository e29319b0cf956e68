"""What is wrong before start-up is said in one line, with the fix, and nothing starts."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict

from stack import settings
from tests.support.helpers import free_port

ROOT = settings.ROOT


def stack_env(tmp_path: Path, **extra: str) -> Dict[str, str]:
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    (models / "current.tar.gz").touch()
    ports = {key: str(free_port()) for key in settings.PORT_KEYS}
    return {**os.environ, **ports, "VAR_DIR": str(tmp_path / "var"), "ENV_FILE": str(tmp_path / ".env"),
            "MODEL_PATH": str(models), **extra}


def run_stack(env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stack.run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_port_in_use_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    env = stack_env(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["HANDOFF_PORT"])))
        taken.listen()
        result = run_stack(env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert f"port {env['HANDOFF_PORT']} (HANDOFF_PORT, used by handoff) is in use" in line
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_missing_model_says_how_to_train(tmp_path: Path) -> None:
    env = stack_env(tmp_path, MODEL_PATH=str(tmp_path / "empty"))
    result = run_stack(env)
    assert result.returncode == 2 and "make train" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    result = run_stack(stack_env(tmp_path, REDIS_URL="localhost:6379"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "make run: REDIS_URL='localhost:6379' is not a redis://, rediss://, redis+cluster://, "
        "rediss+cluster://, redis+sentinel:// or rediss+sentinel:// URL"]


def test_missing_python_310_is_one_line_with_the_fix(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "ls", "sort"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    (bin_dir / "python3.10").symlink_to(sys.executable if sys.version_info[:2] != (3, 10) else "/bin/false")
    result = subprocess.run([str(bin_dir / "sh"), str(ROOT / "stack" / "find-python310.sh")],
                            env={"PATH": str(bin_dir)}, capture_output=True, text=True)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Python 3.10 not found") and "pyenv install" in line


def test_python_310_is_found() -> None:
    result = subprocess.run([str(ROOT / "stack" / "find-python310.sh")], capture_output=True, text=True)
    assert result.returncode == 0
    found = result.stdout.strip()
    version = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    assert version == "(3, 10)"


def test_a_redis_that_cannot_keep_its_data_is_one_line(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "var"
    not_a_dir.mkdir()
    (not_a_dir / "redis").write_text("a file where the data directory should be")
    result = run_stack(stack_env(tmp_path))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "Redis cannot keep its data in" in line and "VAR_DIR" in line


def test_say_without_a_running_system_says_to_start_it(tmp_path: Path) -> None:
    env = stack_env(tmp_path)
    result = subprocess.run([sys.executable, "-m", "cloud_api_standin.say", "hi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "start the system with `make run` first" in result.stderr and "Traceback" not in result.stderr
