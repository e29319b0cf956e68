"""Who an export or erasure is about: the customer's number in the forms stores use, and their keyed hash.

WhatsApp ids are digits (`15551230001`); people and some payloads write them with `+`. The keyed hash
(`whatsapp_cloud.pseudonyms.keyed_hash`) is the only trace an erasure leaves.
"""

import re
from dataclasses import dataclass
from typing import Tuple

from whatsapp_cloud import pseudonyms

DIGITS = re.compile(r"^\+?[0-9]{8,15}$")


@dataclass(frozen=True)
class Subject:
    wa_id: str  # digits only
    hash_key: str  # the deployment's PRIVACY_HASH_KEY

    @classmethod
    def of(cls, number: str, hash_key: str) -> "Subject":
        number = number.strip().replace(" ", "")
        if not DIGITS.match(number):
            raise ValueError(f"not a WhatsApp number: {number!r} (digits, optionally with a leading +)")
        return cls(number.lstrip("+"), hash_key)

    @property
    def forms(self) -> Tuple[str, str]:
        return self.wa_id, "+" + self.wa_id

    @property
    def keyed_hash(self) -> str:
        return pseudonyms.keyed_hash(self.wa_id, self.hash_key)

    @property
    def token(self) -> "re.Pattern[str]":
        """The number inside a longer text (a webhook body, a message), not as part of a longer number."""
        return re.compile(rf"(?<![0-9]){re.escape(self.wa_id)}(?![0-9])")

    def named_in(self, text: str) -> bool:
        return bool(self.token.search(text))

    def anonymous_id(self) -> str:
        """What replaces the number in rows that stay (orders, ratings): 20 characters, like a number column."""
        return "erased:" + self.keyed_hash[:13]
