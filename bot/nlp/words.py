"""The words of a customer's message, for the rules that ask whether it says more than known words."""

import re
from typing import Collection, List

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def other_words(text: str, known: Collection[str]) -> List[str]:
    """The words of `text` (lower case; "it's" is one word) that are not in `known`."""
    return [word for word in WORD.findall(text.lower()) if word not in known]
