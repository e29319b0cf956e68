"""The outgoing webhooks' settings, read once from the resolved environment (stack/settings.py)."""

from dataclasses import dataclass
from typing import Mapping

from stack.setting_values import ConfigError, count, flag, seconds
from whatsapp_cloud.retention import HOUR


@dataclass(frozen=True)
class WebhookSettings:
    max_attempts: int = 12  # tries of one delivery before its dead letter
    max_age_seconds: int = 24 * HOUR  # ... or when its first try is this old
    backoff_seconds: float = 10.0  # the wait after the first failure; doubled each time, with jitter
    backoff_max_seconds: float = 3600.0
    timeout_seconds: float = 10.0  # per request: a receiver should answer at once and do its work later
    concurrency: int = 8  # deliveries attempted at once by one worker
    allow_private: bool = False  # deliveries to loopback and private networks (tests, an on-premises CRM)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "WebhookSettings":
        return cls(
            max_attempts=count(env, "OUTGOING_WEBHOOKS_MAX_ATTEMPTS", cls.max_attempts),
            max_age_seconds=seconds(env, "OUTGOING_WEBHOOKS_MAX_AGE_HOURS", HOUR, cls.max_age_seconds),
            backoff_seconds=_number(env, "OUTGOING_WEBHOOKS_BACKOFF_SECONDS", cls.backoff_seconds),
            backoff_max_seconds=_number(env, "OUTGOING_WEBHOOKS_BACKOFF_MAX_SECONDS", cls.backoff_max_seconds),
            timeout_seconds=_number(env, "OUTGOING_WEBHOOKS_TIMEOUT_SECONDS", cls.timeout_seconds),
            concurrency=count(env, "OUTGOING_WEBHOOKS_CONCURRENCY", cls.concurrency),
            allow_private=flag(env.get("OUTGOING_WEBHOOKS_ALLOW_PRIVATE"), False, "OUTGOING_WEBHOOKS_ALLOW_PRIVATE"),
        )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be more than 0")
    return value
