"""`make run`: check the machine, print where each part listens, start everything under supervisord.

A process that dies is started again and the others keep running (stack/supervision.py). Ctrl-C (or
SIGTERM) stops every process: supervisord stops each program's whole process group.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

from stack import redis_server, settings, supervision
from stack.wait_for import is_healthy

ROOT = settings.ROOT
HEALTH = {
    "ingest": "{INGEST_URL}/health",
    "rasa": "{RASA_URL}/webhooks/whatsapp/",
    "actions": "{ACTIONS_URL}/health",
    "handoff": "{HANDOFF_URL}/health",
    "standin": "{STANDIN_URL}/health",
}
PORT_OF = {
    "redis": "REDIS_PORT",  # on REDIS_BIND
    "ingest": "INGEST_PORT",
    "rasa": "RASA_PORT",
    "actions": "ACTIONS_PORT",
    "handoff": "HANDOFF_PORT",
    "standin": "STANDIN_PORT",
}


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def listening(env: Mapping[str, str], names: List[str]) -> List[Tuple[str, str, int]]:
    """(process, setting, port) of each process that listens; every bot worker has a port of its own."""
    found = []
    for name in names:
        key = PORT_OF.get(name)
        if key is None:  # a worker that listens on no port (campaigns)
            continue
        if name == "rasa":
            found += [(name, "RASA_PORT", int(worker["RASA_PORT"])) for worker in settings.bot_workers(env)]
        else:
            found.append((name, key, int(env[key])))
    return found


def preflight(env: Mapping[str, str], names: List[str]) -> None:
    """Raise ConfigError with one clear line for the first thing that would stop the stack."""
    model_dir = Path(env["MODEL_PATH"])
    if not model_dir.exists() or not any(model_dir.glob("*.tar.gz")):
        raise settings.ConfigError(f"no trained model in {model_dir}/: run `make train` (make run trains for you)")
    for name, key, port in listening(env, names):
        bind = env.get("REDIS_BIND", "127.0.0.1") if name == "redis" else env["BIND_HOST"]
        host = "0.0.0.0" if bind in ("", "0.0.0.0") else bind
        if port_in_use(host, port):
            raise settings.ConfigError(
                f"port {port} ({key}, used by {name}) is in use: stop whatever holds it "
                f"(`ss -ltnp 'sport = :{port}'`) or set {key} to a free port in .env"
            )
    if "redis" in names:
        data_dir = Path(env["VAR_DIR"]) / "redis"
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            probe = data_dir / ".writable"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise settings.ConfigError(
                f"Redis cannot keep its data in {data_dir} ({exc.strerror}): make it a writable "
                "directory or set VAR_DIR to one"
            ) from exc
        try:
            redis_server.version()
        except redis_server.RedisUnavailable as exc:
            raise settings.ConfigError(str(exc)) from exc
        except (OSError, subprocess.CalledProcessError) as exc:
            raise settings.ConfigError(
                f"redis-server ({redis_server.executable()}) does not run: {exc}; reinstall it "
                "(apt-get install redis-server, or rm -r .venv and run make again)"
            ) from exc


def describe(env: Mapping[str, str], names: List[str]) -> str:
    lines = ["WhatsApp customer-care bot: starting " + ", ".join(names)]
    if "redis" in names:
        lines.append(f"  redis      {settings.redact_url(env['REDIS_URL'])}  (password: REDIS_LOCAL_PASSWORD in "
                     f"{env['VAR_DIR']}/local.env; append-only file in {env['VAR_DIR']}/redis)")
    else:
        shown = settings.redact_url(env["REDIS_URL"])
        lines.append(f"  redis      {shown}  (REDIS_URL is set: using it, starting none)")
    lines += [
        f"  rasa       {env['RASA_URL']}  HTTP API token: RASA_API_TOKEN in {env['VAR_DIR']}/local.env",
        *(f"  worker {n:<3} {worker['RASA_WORKER_URL']}  consumer {worker['WHATSAPP_CONSUMER_NAME']}"
          for n, worker in enumerate(settings.bot_workers(env), start=1) if int(env["BOT_WORKERS"]) > 1),
        f"  webhook    {env['WHATSAPP_WEBHOOK_URL']}  (Meta's callback URL: the intake process)",
        f"  actions    {env['ACTIONS_URL']}/webhook",
        f"  handoff    {env['HANDOFF_URL']}",
    ]
    if "standin" in names:
        lines.append(f"  cloud api  {env['STANDIN_URL']}  local stand-in: no Meta account configured")
        lines.append('  try it:    make say MSG="hi"   (in another terminal)')
    else:
        number = env["WHATSAPP_PHONE_NUMBER_ID"]
        lines.append(f"  cloud api  {env['WHATSAPP_API_BASE_URL']}  (phone number id {number})")
    lines.append("  Ctrl-C stops everything.")
    return "\n".join(lines)


def wait_until_healthy(env: Mapping[str, str], names: List[str], timeout: float) -> Optional[List[str]]:
    """None when every HTTP service answers its health check, else the ones that did not."""
    pending = {n: HEALTH[n].format(**env) for n in names if n in HEALTH and n != "rasa"}
    if "rasa" in names:  # every worker
        pending.update({f"rasa worker {n}": HEALTH["rasa"].format(**{**env, "RASA_URL": worker["RASA_WORKER_URL"]})
                        for n, worker in enumerate(settings.bot_workers(env), start=1)})
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            if is_healthy(url):
                del pending[name]
        if pending:
            time.sleep(0.5)
    return sorted(pending) or None


def main() -> int:
    try:
        env = settings.resolve()
        env.setdefault("MODEL_PATH", str(ROOT / "models"))
        names = settings.processes(env)
        preflight(env, names)
    except settings.ConfigError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2

    print(describe(env, names), flush=True)
    child_env: Dict[str, str] = {
        "PYTHONUNBUFFERED": "1",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # Rasa 3.6's dependencies print pages of deprecation warnings at start-up.
        "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::UserWarning,ignore::FutureWarning",
        **env,
    }
    child_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    config = supervision.write_config(Path(env["VAR_DIR"]), supervision.procfile(ROOT / "Procfile"), names,
                                      settings.bot_workers(env))
    supervisor = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-c", str(config)],
                                  cwd=ROOT, env=child_env)

    stopping = threading.Event()

    def on_ctrl_c(_signum: int, _frame: object) -> None:
        stopping.set()  # supervisord, in the same process group, got the same Ctrl-C and stops everything

    def on_term(signum: int, _frame: object) -> None:
        stopping.set()
        supervisor.send_signal(signum)

    signal.signal(signal.SIGINT, on_ctrl_c)
    signal.signal(signal.SIGTERM, on_term)

    def announce() -> None:
        missing = wait_until_healthy(env, names, float(env.get("STARTUP_TIMEOUT", "180")))
        if supervisor.poll() is None:
            if missing:
                print(f"make run: still not answering: {', '.join(missing)}", file=sys.stderr, flush=True)
            else:
                print("make run: all services are up", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    code = supervisor.wait()
    return 0 if stopping.is_set() else code


if __name__ == "__main__":
    sys.exit(main())
