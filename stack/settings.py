"""Every setting of the running system, resolved in one place.

Order (later wins): built-in defaults, secrets generated once into var/local.env, the
operator's .env file, the process environment. Without WHATSAPP_ACCESS_TOKEN the system runs
on embedded defaults and talks to the local Cloud API stand-in; with it, to the configured
Graph API (Meta's by default, or any harness's via WHATSAPP_API_BASE_URL).
"""

import os
import secrets
from pathlib import Path
from typing import Dict, List, Mapping, Optional
from urllib.parse import quote, unquote, urlparse, urlunparse

from stack import components, log_format
from stack.setting_values import ConfigError
from whatsapp_cloud import redis_connection
from whatsapp_cloud.graph.config import DEFAULT_API_BASE_URL, DEFAULT_API_VERSION
from whatsapp_cloud.streams.consumer_lease import default_consumer_name

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "BIND_HOST": "127.0.0.1",
    "RASA_PORT": "5005",
    "ACTIONS_PORT": "5055",
    # Not 5060/5061 (SIP): browsers refuse the Fetch standard's "bad ports" (tests/stack/test_ports.py).
    "HANDOFF_PORT": "5080",
    "STANDIN_PORT": "5070",
    "INGEST_PORT": "5090",  # the webhook intake: Meta's callback URL and the media links
    "REDIS_PORT": "6390",
    # The Redis that make run starts listens here only; set REDIS_BIND to reach it from other machines.
    "REDIS_BIND": "127.0.0.1",
    "WHATSAPP_API_VERSION": DEFAULT_API_VERSION,
    "STANDIN_PHONE_NUMBER_ID": "100000000000001",
    "RASA_CREDENTIALS": "credentials.yml",
    # Rasa processes that consume the webhook stream; worker k listens on RASA_PORT + k - 1.
    "BOT_WORKERS": "1",
    "WHATSAPP_CONSUME": "true",
    "STANDIN_WABA_ID": "100000000000002",
    # The stand-in's business number for click-to-chat links: +1 202 555 0100, in the range kept for fiction.
    "STANDIN_DISPLAY_PHONE_NUMBER": "12025550100",
    # Messaging policy (whatsapp_cloud/policy/): window lengths, messaging limit, consent.
    "WHATSAPP_SERVICE_WINDOW_HOURS": "24",
    "WHATSAPP_FREE_ENTRY_WINDOW_HOURS": "72",
    "WHATSAPP_FREE_ENTRY_REPLY_HOURS": "24",
    "WHATSAPP_MESSAGING_LIMIT_TIER": "250",
    "WHATSAPP_OPT_OUT_STRICT": "true",
    "WHATSAPP_OPT_OUT_KEYWORDS": "",
    "WHATSAPP_OPT_IN_KEYWORDS": "",
    "WHATSAPP_OPT_OUT_PAYLOADS": "",
    "WHATSAPP_TEMPLATE_LANGUAGE": "en_US",
    "WHATSAPP_TEST_CLOCK": "false",
    # The opt-in page (handoff/opt_in_page.py): the kind of messages its checkbox names, and attempts allowed
    # per client address and per phone number.
    "OPT_IN_MESSAGE_KINDS": "order updates and offers",
    "OPT_IN_LIMIT": "5 per hour",
    # Rasa's conversation trackers expire this long after the customer's last turn (README: retention).
    "RASA_TRACKER_EXPIRY_DAYS": "30",
    # Agents may send approved templates also inside the service window (an administrator's choice: each
    # template is charged by its category, a free-text reply there is free).
    "HANDOFF_TEMPLATES_IN_WINDOW": "false",
    # text (for a terminal) or json (one object per line with the wamid and the customer's pseudonym).
    "LOG_FORMAT": "text",
}

# Generated on first start and kept, so restarts keep the same local identities.
GENERATED_SECRETS = (
    "RASA_API_TOKEN",
    "STANDIN_ACCESS_TOKEN",
    "STANDIN_APP_SECRET",
    "STANDIN_VERIFY_TOKEN",
    "HANDOFF_API_TOKEN",
    "HANDOFF_SECRET_KEY",
    "HANDOFF_DEMO_PASSWORD",
    "REDIS_LOCAL_PASSWORD",  # requirepass of the Redis that make run starts
    "ACTIONS_TOKEN",  # Rasa -> action server: every action call carries it
    "PRIVACY_HASH_KEY",  # keyed hashes of erased customers (suppression list, receipts): never rotate it
)

MAX_BOT_WORKERS = 16
PORT_KEYS = ("RASA_PORT", "ACTIONS_PORT", "HANDOFF_PORT", "STANDIN_PORT", "REDIS_PORT", "INGEST_PORT")


def read_env_file(path: Path) -> Dict[str, str]:
    values: Dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def new_secret() -> str:
    """A random URL-safe secret that never starts with '-', which command lines would take for an option."""
    while True:
        value = secrets.token_urlsafe(24)
        if not value.startswith("-"):
            return value


def _local_secrets(var_dir: Path) -> Dict[str, str]:
    path = var_dir / "local.env"
    values = read_env_file(path)
    missing = [k for k in GENERATED_SECRETS if not values.get(k)]
    if missing:
        values.update({k: new_secret() for k in missing})
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k}={values[k]}\n" for k in GENERATED_SECRETS))
        path.chmod(0o600)
    return values


def resolve(environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The full environment every process of the stack runs with."""
    process_env = dict(os.environ if environ is None else environ)
    var_dir = Path(process_env.get("VAR_DIR") or ROOT / "var")
    env = dict(DEFAULTS)
    env.update(_local_secrets(var_dir))
    env.update(read_env_file(Path(process_env.get("ENV_FILE") or ROOT / ".env")))
    env.update({k: v for k, v in process_env.items() if v != "" or k not in env})
    env["VAR_DIR"] = str(var_dir)

    for key in PORT_KEYS:
        if not env[key].isdigit() or not 0 < int(env[key]) < 65536:
            raise ConfigError(f"{key}={env[key]!r} is not a port number; set it to 1-65535 in .env")

    host = env["BIND_HOST"]
    local = lambda port_key: f"http://{_client_host(host)}:{env[port_key]}"  # noqa: E731
    env["RASA_URL"] = local("RASA_PORT")
    env["ACTIONS_URL"] = local("ACTIONS_PORT")
    env["HANDOFF_URL"] = local("HANDOFF_PORT")
    env["INGEST_URL"] = local("INGEST_PORT")
    # Meta posts to the intake process; the bot's workers consume what it stored.
    env["WHATSAPP_WEBHOOK_URL"] = env["INGEST_URL"] + "/webhooks/whatsapp/webhook"

    env["USE_STANDIN"] = "0" if env.get("WHATSAPP_ACCESS_TOKEN") else "1"
    if env["USE_STANDIN"] == "1":
        env["STANDIN_URL"] = local("STANDIN_PORT")
        env["STANDIN_WEBHOOK_URL"] = env["WHATSAPP_WEBHOOK_URL"]
        env["WHATSAPP_ACCESS_TOKEN"] = env["STANDIN_ACCESS_TOKEN"]
        env["WHATSAPP_API_BASE_URL"] = env["STANDIN_URL"]
        env["WHATSAPP_APP_SECRET"] = env["STANDIN_APP_SECRET"]
        env["WHATSAPP_VERIFY_TOKEN"] = env.get("WHATSAPP_VERIFY_TOKEN") or env["STANDIN_VERIFY_TOKEN"]
        env["WHATSAPP_PHONE_NUMBER_ID"] = env["STANDIN_PHONE_NUMBER_ID"]
        env["WHATSAPP_WABA_ID"] = env["STANDIN_WABA_ID"]
        env["WHATSAPP_DISPLAY_PHONE_NUMBER"] = (env.get("WHATSAPP_DISPLAY_PHONE_NUMBER")
                                                or env["STANDIN_DISPLAY_PHONE_NUMBER"])
        # The demo's opt-in page links to a placeholder; connected to Meta the business sets its own policy.
        env["OPT_IN_PRIVACY_POLICY_URL"] = env.get("OPT_IN_PRIVACY_POLICY_URL") or "https://www.example.com/privacy"
    else:
        env["WHATSAPP_API_BASE_URL"] = env.get("WHATSAPP_API_BASE_URL") or DEFAULT_API_BASE_URL
        missing = [
            k for k in ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_PHONE_NUMBER_ID")
            if not env.get(k)
        ]
        if missing:
            raise ConfigError(
                f"WHATSAPP_ACCESS_TOKEN is set, so the Cloud API is used, but {', '.join(missing)} "
                "is missing: set it in .env (see .env.example)"
            )
    env.setdefault("WHATSAPP_APP_SECRET_PREVIOUS", "")
    env.setdefault("WHATSAPP_WABA_ID", "")
    try:
        components.policy_config(env)
        components.display_phone_number(env)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (see .env.example)") from exc
    try:
        tracker_days = float(env["RASA_TRACKER_EXPIRY_DAYS"])
    except ValueError:
        tracker_days = 0
    if tracker_days <= 0:
        raise ConfigError(f"RASA_TRACKER_EXPIRY_DAYS={env['RASA_TRACKER_EXPIRY_DAYS']!r} must be a number of days "
                          "above 0")
    env["RASA_TRACKER_EXPIRY_SECONDS"] = str(int(tracker_days * 24 * 3600))  # endpoints.yml takes seconds

    log_format.log_format(env)  # a misspelt LOG_FORMAT stops the start with the reason
    workers = env["BOT_WORKERS"].strip()
    if not workers.isdigit() or not 1 <= int(workers) <= MAX_BOT_WORKERS:
        raise ConfigError(f"BOT_WORKERS={env['BOT_WORKERS']!r} must be a whole number from 1 to {MAX_BOT_WORKERS}")
    env["BOT_WORKER_PORTS"] = ",".join(str(int(env["RASA_PORT"]) + k) for k in range(int(workers)))

    env["START_REDIS"] = "0" if env.get("REDIS_URL") else "1"
    if env["START_REDIS"] == "1":
        password = quote(env["REDIS_LOCAL_PASSWORD"], safe="")
        env["REDIS_URL"] = f"redis://:{password}@{_client_host(env['REDIS_BIND'])}:{env['REDIS_PORT']}/0"
    redis = urlparse(env["REDIS_URL"])
    if redis.scheme not in redis_connection.SCHEMES or not redis.hostname:
        raise ConfigError(f"REDIS_URL={redact_url(env['REDIS_URL'])!r} is not a redis://, rediss://, "
                          "redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel:// URL")
    # Rasa's tracker and lock stores can use neither Redis Cluster nor Sentinel: beside those they keep to a
    # plain Redis of their own (RASA_REDIS_URL), which may also be set to keep them apart from a single Redis.
    if not redis_connection.is_plain_url(env["REDIS_URL"]) and not env.get("RASA_REDIS_URL"):
        raise ConfigError("REDIS_URL names a Redis Cluster or Sentinel, which Rasa's tracker and lock stores "
                          "cannot use: set RASA_REDIS_URL to a plain redis:// or rediss:// server for them")
    redis = urlparse(env.get("RASA_REDIS_URL") or env["REDIS_URL"])
    if redis.scheme not in ("redis", "rediss") or not redis.hostname:
        raise ConfigError(f"RASA_REDIS_URL={redact_url(redis.geturl())!r} is not a redis:// or rediss:// URL")
    # Rasa's endpoints.yml takes the parts, not the URL.
    env["REDIS_HOST"] = redis.hostname
    env["REDIS_SERVER_PORT"] = str(redis.port or 6379)
    env["REDIS_DB"] = (redis.path or "/0").lstrip("/") or "0"
    env["REDIS_PASSWORD"] = unquote(redis.password or "")
    env["REDIS_USERNAME"] = unquote(redis.username or "")  # an ACL user (managed Redis); empty: the default user
    env.setdefault("REDIS_TLS_CA", "")  # the CA file that signed the TLS servers' certificates; empty: the system's
    # TLS (rediss://) for Rasa's tracker and lock stores: the same settings with use_ssl.
    env.setdefault("RASA_ENDPOINTS", "endpoints-tls.yml" if redis.scheme == "rediss" else "endpoints.yml")

    # Rasa reports usage and error tracebacks to a third party unless told not to: a customer-care system
    # must not, whatever the environment says.
    env["RASA_TELEMETRY_ENABLED"] = "false"
    # Each Rasa process consumes webhooks under its own name, stable across its restarts.
    env["WHATSAPP_CONSUMER_NAME"] = env.get("WHATSAPP_CONSUMER_NAME") or default_consumer_name(env["RASA_PORT"])
    env.setdefault("DATABASE_URL", f"sqlite:///{var_dir / 'app.db'}")
    env.setdefault("MEDIA_DIR", str(var_dir / "media"))
    # Meta fetches media links from the public URL of the intake, beside the webhook.
    env.setdefault("PUBLIC_MEDIA_URL", env["INGEST_URL"] + "/webhooks/whatsapp/media")
    return env


def bot_workers(env: Mapping[str, str]) -> List[Dict[str, str]]:
    """Each Rasa worker's own settings: its port, its URL and its consumer name (unique, stable)."""
    ports = env["BOT_WORKER_PORTS"].split(",")
    if len(ports) == 1:
        return [{"RASA_PORT": ports[0], "RASA_WORKER_URL": env["RASA_URL"],
                 "WHATSAPP_CONSUMER_NAME": env["WHATSAPP_CONSUMER_NAME"]}]
    host = _client_host(env["BIND_HOST"])
    return [{"RASA_PORT": port, "RASA_WORKER_URL": f"http://{host}:{port}",
             "WHATSAPP_CONSUMER_NAME": default_consumer_name(port)} for port in ports]


def redact_url(url: str) -> str:
    """The URL without its password, for anything printed or logged."""
    parts = urlparse(url)
    if not parts.password:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunparse(parts._replace(netloc=netloc))


def processes(env: Mapping[str, str]) -> List[str]:
    """The Procfile entries this configuration starts."""
    names = ["ingest", "rasa", "actions", "handoff", "campaigns", "webhooks"]
    if env["START_REDIS"] == "1":
        names.insert(0, "redis")
    if env["USE_STANDIN"] == "1":
        names.append("standin")
    return names


def _client_host(bind_host: str) -> str:
    return "127.0.0.1" if bind_host in ("0.0.0.0", "") else bind_host
