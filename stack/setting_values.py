"""How a setting's text becomes a value, once for every process: yes/no flags, hours, counts, lists.

A value that cannot work raises ConfigError naming the setting, so a typo stops the process at start
instead of changing behaviour quietly (an unknown flag word is an error, not "true").
"""

from datetime import timedelta
from typing import Any, Mapping, Optional, Tuple

from whatsapp_cloud.phone_numbers import NotAPhoneNumber, international_digits

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class ConfigError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""


def flag(value: Any, default: bool = False, name: str = "") -> bool:
    """A yes/no setting: unset or empty gives the default; anything but the usual words is an error."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if not text:
        return default
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ConfigError(f"{name or 'a yes/no setting'}={value!r}: use true or false")


def hours(env: Mapping[str, str], name: str, default: float) -> timedelta:
    raw = env.get(name) or ""
    try:
        value = float(raw) if raw.strip() else default
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number of hours") from exc
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be more than 0 hours")
    return timedelta(hours=value)


def count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw!r} must be a whole number of entries, at least 1")
    return int(raw)


def _number(env: Mapping[str, str], name: str) -> Optional[float]:
    """The setting as a number; None when unset or empty."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc


def seconds(env: Mapping[str, str], name: str, unit: int, default: int) -> int:
    """A duration given in `unit`s (3600 for hours, 86400 for days), in whole seconds."""
    value = _number(env, name)
    if value is None:
        return default
    if value <= 0:
        raise ConfigError(f"{name}={env[name].strip()!r} must be more than 0")
    return max(1, int(value * unit))


def fraction(env: Mapping[str, str], name: str, default: float) -> float:
    """A share between 0 and 1 (a confidence, a rate)."""
    value = _number(env, name)
    if value is None:
        return default
    if not 0 <= value <= 1:
        raise ConfigError(f"{name}={env[name].strip()!r} must be between 0 and 1")
    return value


def listed(env: Mapping[str, str], name: str, default: Tuple[str, ...]) -> Tuple[str, ...]:
    """A comma-separated list; unset or empty gives the default."""
    raw: Optional[str] = env.get(name)
    if not raw or not raw.strip():
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def phone_number(env: Mapping[str, str], name: str) -> str:
    """A phone number in international form as digits (`+44 20 7946 0958` -> `442079460958`); "" when unset."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return ""
    try:
        return international_digits(raw)
    except NotAPhoneNumber:
        raise ConfigError(f"{name}={raw!r} must be a phone number in international form, "
                          "e.g. +44 20 7946 0958") from None
