"""Run the whole stack in the background on free ports, as `make run` would (tests, benchmarks)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

from stack import settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class BackgroundStack:
    def __init__(self, var_dir: Path, **overrides: str) -> None:
        env = {**os.environ, "VAR_DIR": str(var_dir), "ENV_FILE": str(var_dir / "no.env"),
               "MODEL_PATH": str(settings.ROOT / "models")}
        env.update({key: str(free_port()) for key in settings.PORT_KEYS})
        for key in ("REDIS_URL", "WHATSAPP_ACCESS_TOKEN"):
            env.pop(key, None)
        env.update(overrides)
        self.env = env
        self.lines: List[str] = []
        self._up = threading.Event()
        self.process: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 300) -> "BackgroundStack":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stack.run"], cwd=settings.ROOT, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._up.wait(1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the stack did not come up:\n" + "\n".join(self.lines[-60:]))
        return self

    def _read(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if "all services are up" in line:
                self._up.set()

    def stop(self, how: int = signal.SIGTERM) -> int:
        """Stop the stack; SIGINT goes to the whole process group, as Ctrl-C in a terminal does."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            if how == signal.SIGINT:
                os.killpg(self.process.pid, signal.SIGINT)
            else:
                self.process.send_signal(how)
        return self.process.wait(timeout=60)

    def resolved(self) -> Dict[str, str]:
        return settings.resolve(self.env)
