"""Languages of customers and agents: ISO 639-1 codes ("es"), checked where they enter the service."""

import re
from typing import Iterable, Optional, Tuple, Union

_CODE = re.compile(r"[a-z]{2}")
DEFAULT_AGENT_LANGUAGES = ("en",)

# Names shown in the inbox; any other valid code is shown as it is.
NAMES = {
    "en": "English", "es": "Spanish", "pt": "Portuguese", "hi": "Hindi", "id": "Indonesian", "ar": "Arabic",
    "ru": "Russian", "de": "German", "fr": "French", "it": "Italian", "tr": "Turkish", "ur": "Urdu",
    "bn": "Bengali", "ms": "Malay", "sw": "Swahili", "fa": "Persian", "nl": "Dutch", "pl": "Polish",
    "ro": "Romanian", "uk": "Ukrainian", "tl": "Tagalog", "vi": "Vietnamese", "ta": "Tamil", "te": "Telugu",
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "th": "Thai",
}


class InvalidLanguage(ValueError):
    pass


def language_code(value: object) -> Optional[str]:
    """A customer's language: None when not given, else a two-letter ISO 639-1 code."""
    if value is None or value == "":
        return None
    code = str(value).strip().lower()
    if not _CODE.fullmatch(code):
        raise InvalidLanguage(f"language must be an ISO 639-1 code like 'es', not {value!r}")
    return code


def language_codes(values: Union[str, Iterable[object], None]) -> Tuple[str, ...]:
    """An agent's languages from a list or "en,es"; English when none are given."""
    items = values.split(",") if isinstance(values, str) else list(values or [])
    codes = []
    for item in items:
        code = language_code(item)
        if code and code not in codes:
            codes.append(code)
    return tuple(codes) or DEFAULT_AGENT_LANGUAGES


def language_label(code: Optional[str]) -> str:
    return f"{NAMES.get(code, code)} ({code})" if code else ""
