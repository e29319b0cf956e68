"""A real PostgreSQL server for tests: Debian's binaries, a temporary cluster on a free loopback port."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import List

import psycopg2

from stack.background import free_port

SERVER_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


class PostgresUnavailable(RuntimeError):
    pass


class PostgresProcess:
    """initdb + pg_ctl in a directory of its own. PostgreSQL refuses to run as root, so under root the
    server runs as the `postgres` user Debian's package creates."""

    def __init__(self) -> None:
        if not SERVER_BINARIES:
            raise PostgresUnavailable("PostgreSQL's server is not installed (apt-get install postgresql)")
        self.bin = SERVER_BINARIES[-1].parent
        self.port = free_port()
        # Not under pytest's temporary directory (0700, root's): the server's own user must reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="shop-postgres-"))
        self.data = self.dir / "data"
        self._databases = 0

    def _as_server_user(self) -> List[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_server_user(), *command], check=True, capture_output=True, timeout=120)

    def start(self) -> "PostgresProcess":
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8")
        # -F: no fsync (a test server); enough connections for a database per test until each is disposed.
        options = f"-p {self.port} -h 127.0.0.1 -k {self.dir} -F -c max_connections=200"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "server.log"),
                  "-w", "start")
        return self

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        self._databases += 1
        name = f"shop_{self._databases}"
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {name}")
        finally:
            connection.close()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
