"""Policy settings: built from the deployment's settings by stack/components.py; the defaults are Meta's."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from whatsapp_cloud.policy.consent import Keywords
from whatsapp_cloud.policy.decision import PolicyRules
from whatsapp_cloud.policy.windows import WindowConfig
from whatsapp_cloud.retention import Retention


@dataclass(frozen=True)
class PolicyConfig:
    windows: WindowConfig = field(default_factory=WindowConfig)
    rules: PolicyRules = field(default_factory=PolicyRules)
    tier: Optional[int] = 250
    keywords: Keywords = field(default_factory=Keywords)
    templates_file: Path = Path("whatsapp_templates.yml")
    fallbacks_file: Path = Path("template_fallbacks.yml")
    default_language: str = "en_US"
    test_clock: bool = False  # read a clock offset from Redis (end-to-end tests across processes only)
    phone_number_id: str = ""  # the business number whose windows and consent this process keeps
    retention: Retention = field(default_factory=Retention)
    hash_key: str = ""  # keys the hashes of the suppression list (redis_keys.SUPPRESSED)
