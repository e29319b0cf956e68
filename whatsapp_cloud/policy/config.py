"""Policy settings, read from the environment that stack/settings.py resolves (defaults in DEFAULTS there)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Mapping, Optional

from whatsapp_cloud.policy.consent import Keywords, keywords_from_settings
from whatsapp_cloud.policy.decision import TIERS, PolicyRules
from whatsapp_cloud.policy.windows import WindowConfig
from whatsapp_cloud.retention import Retention

ROOT = Path(__file__).resolve().parent.parent.parent


class PolicySettingError(ValueError):
    """A policy setting has a value that cannot work; the message names it."""


@dataclass(frozen=True)
class PolicyConfig:
    windows: WindowConfig = field(default_factory=WindowConfig)
    rules: PolicyRules = field(default_factory=PolicyRules)
    tier: Optional[int] = 250
    keywords: Keywords = field(default_factory=Keywords)
    templates_file: Path = ROOT / "whatsapp_templates.yml"
    fallbacks_file: Path = ROOT / "template_fallbacks.yml"
    default_language: str = "en_US"
    test_clock: bool = False  # read a clock offset from Redis (end-to-end tests across processes only)
    phone_number_id: str = ""  # the business number whose windows and consent this process keeps
    retention: Retention = field(default_factory=Retention)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "PolicyConfig":
        env = os.environ if env is None else env
        tier_name = env.get("WHATSAPP_MESSAGING_LIMIT_TIER", "250").strip().lower()
        if tier_name not in TIERS:
            raise PolicySettingError(
                f"WHATSAPP_MESSAGING_LIMIT_TIER={tier_name!r}: use one of {', '.join(TIERS)}")
        return cls(
            windows=WindowConfig(
                service=_hours(env, "WHATSAPP_SERVICE_WINDOW_HOURS", 24),
                free_entry=_hours(env, "WHATSAPP_FREE_ENTRY_WINDOW_HOURS", 72),
                free_entry_reply_deadline=_hours(env, "WHATSAPP_FREE_ENTRY_REPLY_HOURS", 24),
            ),
            rules=PolicyRules(opted_out_blocks_all_templates=_flag(env.get("WHATSAPP_OPT_OUT_STRICT", "true"))),
            tier=TIERS[tier_name],
            keywords=keywords_from_settings(env),
            templates_file=Path(env.get("WHATSAPP_TEMPLATES_FILE") or ROOT / "whatsapp_templates.yml"),
            fallbacks_file=Path(env.get("WHATSAPP_TEMPLATE_FALLBACKS_FILE") or ROOT / "template_fallbacks.yml"),
            default_language=env.get("WHATSAPP_TEMPLATE_LANGUAGE", "en_US"),
            test_clock=_flag(env.get("WHATSAPP_TEST_CLOCK", "false")),
            phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
            retention=Retention.from_env(env),
        )


def _hours(env: Mapping[str, str], name: str, default: float) -> timedelta:
    raw = env.get(name, "")
    try:
        hours = float(raw) if raw.strip() else default
    except ValueError as exc:
        raise PolicySettingError(f"{name}={raw!r} is not a number of hours") from exc
    if hours <= 0:
        raise PolicySettingError(f"{name}={raw!r} must be more than 0 hours")
    return timedelta(hours=hours)


def _flag(value: str) -> bool:
    return str(value).strip().lower() not in ("false", "0", "no", "off", "")
