"""The campaigns' settings, read once from the resolved environment (stack/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from campaigns.model import Guardrail
from stack.setting_values import ConfigError, count, seconds
from whatsapp_cloud.retention import DAY, HOUR


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc
    if not 0 < value <= 1:
        raise ConfigError(f"{name}={raw!r} must be a share between 0 and 1 (e.g. 0.05)")
    return value


@dataclass(frozen=True)
class CampaignSettings:
    messages_per_second: int = 80  # per business number, all campaigns together
    concurrency: int = 16  # sends in flight at once (Meta answers in 100-500 ms)
    guardrail: Guardrail = field(default_factory=Guardrail)
    reply_window_seconds: int = 72 * HOUR  # a message from the customer this long after a campaign counts as a reply
    retention_seconds: int = 90 * DAY  # a finished campaign's records are kept this long
    lease_seconds: int = 30  # a worker that stops renewing loses the campaign to another after this
    entry_point_retention_seconds: int = 90 * DAY  # the link a customer came from, after their latest link message
    capacity_retry_seconds: int = 60  # a campaign waiting for messaging-limit capacity is looked at again after this

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "CampaignSettings":
        rate = count(env, "CAMPAIGN_MESSAGES_PER_SECOND", cls.messages_per_second)
        return cls(
            messages_per_second=rate,
            # More sends in flight than the rate allows per second would only wait for slots.
            concurrency=min(rate, count(env, "CAMPAIGN_CONCURRENCY", cls.concurrency)),
            guardrail=Guardrail(
                min_attempts=count(env, "CAMPAIGN_PAUSE_MIN_ATTEMPTS", Guardrail.min_attempts),
                failure_rate=_rate(env, "CAMPAIGN_PAUSE_FAILURE_RATE", Guardrail.failure_rate),
                marketing_refusal_rate=_rate(env, "CAMPAIGN_PAUSE_MARKETING_REFUSAL_RATE",
                                             Guardrail.marketing_refusal_rate),
            ),
            reply_window_seconds=seconds(env, "CAMPAIGN_REPLY_WINDOW_HOURS", HOUR, cls.reply_window_seconds),
            retention_seconds=seconds(env, "CAMPAIGN_RETENTION_DAYS", DAY, cls.retention_seconds),
            lease_seconds=count(env, "CAMPAIGN_LEASE_SECONDS", cls.lease_seconds),
            entry_point_retention_seconds=seconds(env, "ENTRY_POINT_RETENTION_DAYS", DAY,
                                                  cls.entry_point_retention_seconds),
        )
