"""Click-to-chat links (`https://wa.me/<number>?text=<prefilled text>`) and the short reference that ties a
customer's first message to the link they came from. Pure: no Redis, no settings (entry_points.py keeps the
links; qr_codes.py draws them).

WhatsApp opens a chat with the business and puts the prefilled text in the customer's compose box; they may
edit it before sending, so the reference is a short, distinctive word at the end (`ref K7Q2MX`) that survives
small edits and is found anywhere in the message.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote

MAX_PREFILLED = 140  # the whole prefilled text, reference included: short enough to send as it is
MAX_SOURCE = 80
# No 0/O, 1/I/L: a reference read off a poster and typed by hand stays unambiguous.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 6
_FOUND = re.compile(rf"\bref[\s:#-]*([{ALPHABET}]{{{REFERENCE_LENGTH}}})\b", re.IGNORECASE)


class InvalidLink(ValueError):
    """The link cannot be made as asked (the message says why)."""


@dataclass(frozen=True)
class LinkText:
    source: str  # what the business calls this entry point ("poster in the Leeds shop")
    prefilled: str  # the text the customer's message starts as, reference included
    reference: str


def new_reference() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))


def link_text(source: str, text: str, reference: str) -> LinkText:
    """The prefilled text: the business's words, then the reference; checked against WhatsApp's use."""
    source, text = " ".join(source.split()), " ".join(text.split())
    if not source:
        raise InvalidLink("'source' must name where the link is used (e.g. \"poster in the shop\")")
    if len(source) > MAX_SOURCE:
        raise InvalidLink(f"'source' must be at most {MAX_SOURCE} characters")
    if not text:
        raise InvalidLink("'text' must be the message the customer starts with")
    prefilled = f"{text} (ref {reference})"
    if len(prefilled) > MAX_PREFILLED:
        room = MAX_PREFILLED - len(prefilled) + len(text)
        raise InvalidLink(f"the prefilled text must be at most {MAX_PREFILLED} characters with its reference: "
                          f"'text' may have {room}, it has {len(text)}")
    return LinkText(source, prefilled, reference)


def url(number: str, prefilled: str) -> str:
    """wa.me takes the number in international form, digits only, and the text URL-encoded."""
    if not number.isdigit():
        raise InvalidLink("the business number must be digits in international form")
    return f"https://wa.me/{number}?text={quote(prefilled, safe='')}"


def reference_in(text: Optional[str]) -> Optional[str]:
    """The reference a customer's message carries, in its canonical (upper-case) form, if any."""
    found = _FOUND.search(text or "")
    return found.group(1).upper() if found else None
