"""How long the platform keeps what it writes to Redis: every stream has a length bound, every
per-customer key an expiry. The settings (stack/components.py) build it and pass it to the writers; the
README's retention table lists each key with its setting.
"""

from __future__ import annotations

from dataclasses import dataclass

HOUR = 3600
DAY = 24 * HOUR


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
