"""How every process of the stack logs: LOG_FORMAT=text (default, for a terminal) or json (one object per
line with the wamid and the customer's pseudonym, whatsapp_cloud/json_logs.py)."""

import logging
from typing import Mapping

from stack.setting_values import ConfigError
from whatsapp_cloud.json_logs import JsonFormatter

FORMATS = ("text", "json")


def log_format(env: Mapping[str, str]) -> str:
    value = (env.get("LOG_FORMAT") or "text").strip().lower()
    if value not in FORMATS:
        raise ConfigError(f"LOG_FORMAT={value!r} must be one of {', '.join(FORMATS)}")
    return value


def configure(env: Mapping[str, str], service: str) -> None:
    """With LOG_FORMAT=json, every handler of the root logger writes JSON lines (one is added if none)."""
    if log_format(env) != "json":
        return
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    formatter = JsonFormatter(env.get("HANDOFF_SECRET_KEY", ""), service)
    for handler in root.handlers:
        handler.setFormatter(formatter)
