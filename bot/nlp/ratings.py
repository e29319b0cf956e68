"""Ratings typed instead of tapped: "4", "4/5", "4 out of 5", "4 stars", "⭐⭐⭐⭐".

Used by the NLU (a message that is only a rating is `csat`) and by action_store_csat (which reads
the score from the text when no button sent it).
"""

import re
from typing import Optional

STAR = "\u2b50"
SCORE = r"([1-5])"
SCALE = r"(?:\s*/\s*5|\s+out of 5|\s+of 5|\s*stars?)"
RATING_ONLY = re.compile(rf"^\s*{SCORE}{SCALE}?\s*[.!]?\s*$", re.IGNORECASE)
RATING_IN_TEXT = re.compile(rf"\b{SCORE}{SCALE}\b", re.IGNORECASE)


def _stars(text: str) -> Optional[str]:
    count = text.count(STAR)
    return str(count) if 1 <= count <= 5 and not text.replace(STAR, "").replace("\ufe0f", "").strip() else None


def rating_only(text: str) -> Optional[str]:
    """The score (1-5) of a message that is nothing but a rating, else None."""
    match = RATING_ONLY.match(text)
    return match.group(1) if match else _stars(text)


def typed_rating(text: str) -> Optional[str]:
    """The score of a rating alone or within a sentence ("I give you 4 stars"), else None."""
    match = RATING_IN_TEXT.search(text)
    return rating_only(text) or (match.group(1) if match else None)
