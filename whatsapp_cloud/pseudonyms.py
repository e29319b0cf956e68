"""Customers' numbers as they may appear in logs, of the bot and the handoff service alike: a keyed hash,
stable per customer (`wa:3f1c9a0b2d4e`).

Keyed with a secret of the deployment (HANDOFF_SECRET_KEY, passed in), so a log reader cannot recover a
number by hashing every possible one.
"""

import hashlib
import hmac
import re

PHONE = re.compile(r"(?<![0-9A-Za-z])\+?[0-9]{7,15}(?![0-9A-Za-z])")
SECRET_PARAM = re.compile(r"((?:^|[?&])(?:token|access_token|password|key)=)[^&\s]*", re.IGNORECASE)


def customer_ref(wa_id: str, key: str) -> str:
    return "wa:" + hmac.new(key.encode(), wa_id.lstrip("+").encode(), hashlib.sha256).hexdigest()[:12]


def keyed_hash(wa_id: str, key: str) -> str:
    """The full keyed hash of a number, for records that outlive the number itself (the suppression list,
    erasure receipts): the same with or without `+`, and not reversible without the deployment's key."""
    return hmac.new(key.encode(), b"customer:" + wa_id.lstrip("+").encode(), hashlib.sha256).hexdigest()


def scrub(text: str, key: str) -> str:
    """Numbers replaced by their pseudonym, secrets in query strings masked."""
    text = SECRET_PARAM.sub(r"\1***", text)
    return PHONE.sub(lambda match: customer_ref(match.group(0), key), text)
