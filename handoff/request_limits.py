"""Limits on requests that can be abused from outside: one limit counted per client address AND per what the
request is about (the account signing in, the phone number signing up), in Redis, shared by every worker.

- Signing in counts failed attempts only, so agents behind one office address are not locked out by their
  colleagues; guessing one account's password from many addresses is stopped by the account's limit.
- The opt-in page counts every sign-up, so nobody floods one number with confirmations, or the ledger from
  one address.
"""

from typing import Callable, Optional

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from whatsapp_cloud.phone_numbers import NotAPhoneNumber, international_digits


def _failed(response: object) -> bool:
    return getattr(response, "status_code", 0) == 401


def _account() -> str:
    """The username tried, from the inbox's form or the API's JSON body."""
    data = request.get_json(silent=True) if request.is_json else None
    name = (data.get("username") if isinstance(data, dict) else None) or request.form.get("username") or ""
    return "account:" + str(name).strip().lower()[:64]


def _phone_number() -> str:
    """The number signed up, as the ledger will know it (so spellings of one number share their limit)."""
    typed = request.form.get("phone", "")
    try:
        return "number:" + international_digits(typed)
    except NotAPhoneNumber:
        return "number:invalid"  # refused anyway; counted per address


def per_address_and(limiter: Limiter, limit: str, name: str, key: Callable[[], str],
                    deduct_when: Optional[Callable[[object], bool]] = None) -> Callable[[Callable], Callable]:
    """A view decorator: `limit` per client address and, separately, per `key()` of the request."""
    per_address = limiter.shared_limit(limit, scope=f"{name}-address", key_func=get_remote_address,
                                       deduct_when=deduct_when)
    per_key = limiter.shared_limit(limit, scope=f"{name}-key", key_func=key, deduct_when=deduct_when)

    def decorate(view: Callable) -> Callable:
        return per_address(per_key(view))

    return decorate


def login_limit(limiter: Limiter, limit: str) -> Callable[[Callable], Callable]:
    return per_address_and(limiter, limit, "login", _account, deduct_when=_failed)


def opt_in_limit(limiter: Limiter, limit: str) -> Callable[[Callable], Callable]:
    return per_address_and(limiter, limit, "opt-in", _phone_number)
