"""Brute-force limits on signing in: failed attempts only, per account and per client address.

A successful sign-in costs nothing, so agents behind one office address are not locked out by their
colleagues; guessing one account's password from many addresses is stopped by the account's limit.
"""

from typing import Callable

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def _failed(response: object) -> bool:
    return getattr(response, "status_code", 0) == 401


def _account() -> str:
    """The username tried, from the inbox's form or the API's JSON body."""
    data = request.get_json(silent=True) if request.is_json else None
    name = (data.get("username") if isinstance(data, dict) else None) or request.form.get("username") or ""
    return "account:" + str(name).strip().lower()[:64]


def login_limit(limiter: Limiter, limit: str) -> Callable[[Callable], Callable]:
    per_address = limiter.shared_limit(limit, scope="login-address", key_func=get_remote_address,
                                       deduct_when=_failed)
    per_account = limiter.shared_limit(limit, scope="login-account", key_func=_account, deduct_when=_failed)

    def decorate(view: Callable) -> Callable:
        return per_address(per_account(view))

    return decorate
