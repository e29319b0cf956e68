"""The analytics settings (ANALYTICS_* in the README's configuration table), read from the mapping the
process's start-up passes in (stack.components.environment()), never from os.environ here."""

from dataclasses import dataclass
from typing import Mapping

from stack.setting_values import seconds

DAY = 24 * 3600


@dataclass(frozen=True)
class AnalyticsConfig:
    # A conversation ends after this long without a message either way (Rasa's session_expiration_time, 60 min),
    # unless the customer is waiting for or talking to a person.
    session_gap_seconds: int = 3600
    # A contained conversation stays contained ("durable") if the customer starts none within this time.
    durable_seconds: int = 7 * DAY
    # Daily aggregates outlive the raw streams by far; they are a few small hashes per day.
    retention_seconds: int = 400 * DAY
    batch: int = 1000  # stream entries read per transaction

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "AnalyticsConfig":
        return cls(
            session_gap_seconds=seconds(env, "ANALYTICS_SESSION_GAP_MINUTES", 60, cls.session_gap_seconds),
            durable_seconds=seconds(env, "ANALYTICS_DURABLE_DAYS", DAY, cls.durable_seconds),
            retention_seconds=seconds(env, "ANALYTICS_RETENTION_DAYS", DAY, cls.retention_seconds),
        )
