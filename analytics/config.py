"""The analytics settings (ANALYTICS_* in the README's configuration table), passed in by stack/components.py."""

from dataclasses import dataclass

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
