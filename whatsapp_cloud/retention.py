"""How long the platform keeps what it writes to Redis: every stream has a length bound, every
per-customer key an expiry. Values come from the environment (stack/settings.py resolves it) and are
passed to the writers; the README's retention table lists each key with its setting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

HOUR = 3600
DAY = 24 * HOUR


class RetentionSettingError(ValueError):
    """A retention setting has a value that cannot work; the message names it."""


@dataclass(frozen=True)
class Retention:
    event_stream_max: int = 1_000_000  # wa:events entries
    webhook_stream_max: int = 1_000_000  # wa:webhooks entries not yet handled (handled ones are deleted at once)
    dead_letters_max: int = 100_000  # wa:dead-letters entries
    consent_log_max: int = 1_000_000  # wa:consent-log entries (the per-customer ledger itself is kept)
    pricing_log_max: int = 500_000  # wa:pricing:log entries: replay rebuilds totals within this window
    pricing_state_seconds: int = 35 * DAY  # wa:pricing:customer:* after the customer's last priced event
    windows_grace_seconds: int = DAY  # wa:windows:* after the last of its windows ended
    deferred_max_age_seconds: int = 72 * HOUR  # a deferred message older than this goes to dead letters

    @property
    def deferred_key_seconds(self) -> int:
        """Backstop expiry of a deferred queue: a day after its items would have expired anyway."""
        return self.deferred_max_age_seconds + DAY

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Retention":
        env = os.environ if env is None else env
        return cls(
            event_stream_max=_count(env, "WHATSAPP_EVENTS_MAXLEN", cls.event_stream_max),
            webhook_stream_max=_count(env, "WHATSAPP_WEBHOOK_STREAM_MAXLEN", cls.webhook_stream_max),
            dead_letters_max=_count(env, "WHATSAPP_DEAD_LETTERS_MAXLEN", cls.dead_letters_max),
            consent_log_max=_count(env, "WHATSAPP_CONSENT_LOG_MAXLEN", cls.consent_log_max),
            pricing_log_max=_count(env, "WHATSAPP_PRICING_LOG_MAXLEN", cls.pricing_log_max),
            pricing_state_seconds=_seconds(env, "WHATSAPP_PRICING_STATE_DAYS", DAY, cls.pricing_state_seconds),
            windows_grace_seconds=_seconds(env, "WHATSAPP_WINDOWS_KEEP_HOURS", HOUR, cls.windows_grace_seconds),
            deferred_max_age_seconds=_seconds(env, "WHATSAPP_DEFERRED_MAX_AGE_HOURS", HOUR,
                                              cls.deferred_max_age_seconds),
        )


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw.strip():
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise RetentionSettingError(f"{name}={raw!r} must be a whole number of entries, at least 1")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, unit: int, default: int) -> int:
    raw = env.get(name, "")
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise RetentionSettingError(f"{name}={raw!r} is not a number") from exc
    if value <= 0:
        raise RetentionSettingError(f"{name}={raw!r} must be more than 0")
    return max(1, int(value * unit))
