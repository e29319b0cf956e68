"""The analytics settings (ANALYTICS_* in the README's configuration table), read from the mapping the
process's start-up passes in (stack.components.environment()), never from os.environ here."""

from dataclasses import dataclass
from typing import Mapping

from stack.setting_values import fraction, seconds

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
    # A message the bot acted on with less confidence than this "scored low" (the FallbackClassifier's own
    # threshold in config.yml, 0.5, is below it: those fall back).
    low_confidence: float = 0.7
    # How long the texts of messages that fell back or scored low are kept for the designers' page, with the
    # few messages around them: as long as Rasa keeps the conversation itself (RASA_TRACKER_EXPIRY_DAYS).
    review_text_seconds: int = 30 * DAY
    batch: int = 1000  # stream entries read per transaction
    # The business number whose customers' service windows open now are counted (WHATSAPP_PHONE_NUMBER_ID).
    phone_number_id: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "AnalyticsConfig":
        return cls(
            session_gap_seconds=seconds(env, "ANALYTICS_SESSION_GAP_MINUTES", 60, cls.session_gap_seconds),
            durable_seconds=seconds(env, "ANALYTICS_DURABLE_DAYS", DAY, cls.durable_seconds),
            retention_seconds=seconds(env, "ANALYTICS_RETENTION_DAYS", DAY, cls.retention_seconds),
            low_confidence=fraction(env, "ANALYTICS_LOW_CONFIDENCE", cls.low_confidence),
            review_text_seconds=seconds(env, "ANALYTICS_REVIEW_TEXT_DAYS", DAY, cls.review_text_seconds),
            phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
        )
