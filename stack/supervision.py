"""The stack's processes under supervisord: one that dies is started again, the others keep running.

Each Procfile entry becomes a supervisord program run by a small shell script in `var/run/`, which
prefixes every line the process prints with its name and then execs the entry, so
signals reach the process itself. supervisord runs in the foreground: stopping it (Ctrl-C, SIGTERM)
stops every program, its whole process group included.

Restart policy: a program that exits is started again at once; one that exits again within
`START_SECONDS` of a start counts as a failed start, and supervisord waits 1 s, 2 s, 3 s, ... before
the next try (its backoff), giving up after `START_RETRIES` failed starts in a row.
"""

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

START_SECONDS = 5
START_RETRIES = 10
STOP_WAIT_SECONDS = 30
# Redis first: everything else waits for it.
PRIORITY = {"redis": 10}
# The bot workers run below the others' CPU priority: on a busy machine a turn may wait, an acknowledgement
# to Meta (the intake, Redis) or an agent's page may not. Idle CPU is still theirs to use.
NICENESS = {"rasa": 10}


def procfile(path: Path) -> Dict[str, str]:
    """Name -> shell command of each Procfile entry."""
    entries: Dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        entries[name.strip()] = command.strip()
    return entries


Program = Tuple[str, str, Mapping[str, str]]  # name, shell command, settings of its own


def programs(entries: Mapping[str, str], names: List[str],
             workers: Sequence[Mapping[str, str]] = ()) -> List[Program]:
    """The programs to run: the named Procfile entries; with several bot workers (`settings.bot_workers`),
    the `rasa` entry once per worker (`rasa-1`, `rasa-2`, ...), each with its own port and consumer name."""
    found: List[Program] = []
    for name in names:
        if name == "rasa" and len(workers) > 1:
            found += [(f"rasa-{n}", entries[name], worker) for n, worker in enumerate(workers, start=1)]
        else:
            found.append((name, entries[name], {}))
    return found


def write_config(var_dir: Path, entries: Mapping[str, str], names: List[str],
                 workers: Sequence[Mapping[str, str]] = ()) -> Path:
    """supervisord's configuration for the named entries; returns its path."""
    run_dir, log_dir = var_dir / "run", var_dir / "log"
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    to_run = programs(entries, names, workers)
    width = max(len(name) for name, _, _ in to_run)
    sections = [
        "[supervisord]",
        "nodaemon=true",
        "silent=true",  # its own log goes to the file below, the programs' output to stdout
        f"logfile={log_dir / 'supervisord.log'}",
        "logfile_maxbytes=10MB",
        f"pidfile={run_dir / 'supervisord.pid'}",
        f"childlogdir={log_dir}",
        "",
        # `python -m supervisor.supervisorctl -c var/run/supervisord.conf status` (or restart NAME): a socket
        # only this user can open.
        "[unix_http_server]",
        f"file={run_dir / 'supervisor.sock'}",
        "chmod=0700",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{run_dir / 'supervisor.sock'}",
        "",
    ]
    for name, command, own in to_run:
        script = run_dir / f"{name}.sh"
        prefix = f"{name.ljust(width)} | "
        script.write_text(
            "#!/bin/bash\n"
            f"# {name}: the Procfile entry, its output prefixed with its name (written by stack/supervision.py)\n"
            + "".join(f"export {key}={shlex.quote(value)}\n" for key, value in own.items())
            + (f"renice -n {NICENESS[kind]} -p $$ > /dev/null\n" if (kind := name.split('-')[0]) in NICENESS else "")
            + f"exec > >(exec sed -u -e {shlex.quote('s/^/' + prefix + '/')}) 2>&1\n"
            f"{command}\n"
        )
        sections += [
            f"[program:{name}]",
            f"command=/bin/bash {script}",
            f"priority={PRIORITY.get(name.split('-')[0], 50)}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={START_SECONDS}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECONDS}",
            "stopasgroup=true",
            "killasgroup=true",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
            "redirect_stderr=true",
            "",
        ]
    # One group for all but Redis: supervisord stops a group's processes together (each program of its own
    # would be stopped one after another), then Redis last.
    grouped = [name for name, _, _ in to_run if name != "redis"]
    if grouped:
        sections += ["[group:services]", f"programs={','.join(grouped)}", "priority=50", ""]
    path = config_path(var_dir)
    path.write_text("\n".join(sections))
    return path


def config_path(var_dir: Path) -> Path:
    return var_dir / "run" / "supervisord.conf"


def status(var_dir: Path) -> Dict[str, Tuple[str, int]]:
    """Name -> (state, pid) of each program, as supervisord reports it (pid 0 when not running)."""
    answer = subprocess.run([sys.executable, "-m", "supervisor.supervisorctl", "-c", str(config_path(var_dir)),
                             "status"], capture_output=True, text=True, timeout=30)
    programs: Dict[str, Tuple[str, int]] = {}
    for line in answer.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            pid = int(parts[3].rstrip(",")) if len(parts) > 3 and parts[2] == "pid" else 0
            programs[parts[0].split(":")[-1]] = (parts[1], pid)  # "services:rasa" -> rasa
    return programs


def control(var_dir: Path, *command: str) -> str:
    """Run one supervisorctl command (`stop services:actions`, `start services:actions`); its output."""
    answer = subprocess.run([sys.executable, "-m", "supervisor.supervisorctl", "-c", str(config_path(var_dir)),
                             *command], capture_output=True, text=True, timeout=120)
    if answer.returncode != 0:
        raise RuntimeError(f"supervisorctl {' '.join(command)}: {answer.stdout}{answer.stderr}")
    return answer.stdout
