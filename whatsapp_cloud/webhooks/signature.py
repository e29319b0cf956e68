"""X-Hub-Signature-256: HMAC-SHA256 of the raw webhook body, keyed with the app secret."""

import hashlib
import hmac
from typing import Iterable, Optional

HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta sends with `body`."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def is_valid(body: bytes, header_value: Optional[str], app_secrets: Iterable[str]) -> bool:
    """True when `header_value` signs `body` with any of `app_secrets`.

    Several secrets are accepted so an app secret can be rotated without dropping webhooks.
    The raw bytes are hashed: re-serialised JSON would break on escaped unicode.
    """
    if not header_value or not header_value.startswith(_PREFIX):
        return False
    # Compare every secret (no early exit) so timing says nothing about which one matched.
    matched = False
    for secret in app_secrets:
        if secret and hmac.compare_digest(sign(body, secret), header_value.strip()):
            matched = True
    return matched
