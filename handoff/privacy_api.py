"""Export and erasure of one customer, and the privacy requests customers made in the chat, for administrators
(documented in openapi.yaml).

`privacy/` does the work, the same code `python -m privacy` runs; this module only checks who asks, builds
the stores from the service's settings and turns the outcome into an answer. The inbox's buttons call the
same two functions.

Only an administrator's own token may ask: the integration token acts for no person, and a receipt names
who erased.
"""

import json
import logging
from typing import Any, Dict

from flask import Blueprint, Response, current_app, g

from handoff.api import BadRequest, authenticated, body, error, person, service
from privacy import requests as privacy_requests
from privacy import tickets
from privacy.identity import Subject
from shop.db import engine_for
from stack import components

logger = logging.getLogger(__name__)


class NotConfirmed(ValueError):
    """The erasure's confirmation does not repeat the customer's number."""


def stores() -> privacy_requests.Stores:
    """The stores privacy/ reads and erases, built once per worker on first use (never seeded)."""
    built = current_app.extensions.get("privacy_stores")
    if built is None:
        svc = service()
        built = privacy_requests.Stores(
            redis=svc.redis, shop=engine_for(svc.settings.database_url, seed=False),
            media_dir=svc.settings.media_dir, policy=svc.messenger.policy_config)
        current_app.extensions["privacy_stores"] = built
    return built


def subject(wa_id: str) -> Subject:
    try:
        return Subject.of(wa_id, service().messenger.policy_config.hash_key)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def export_document(wa_id: str, by: str) -> str:
    """Everything held about the customer, as JSON text."""
    who = subject(wa_id)
    logger.info("export of customer %s by %s", components.customer_ref(who.wa_id), by)
    return json.dumps(privacy_requests.export(stores(), who), indent=2, default=str)


def erase_customer(wa_id: str, confirmation: str, by: str) -> Dict[str, Any]:
    """The receipt; NotConfirmed unless `confirmation` repeats the number, CustomerWithAgent while a chat is
    open."""
    who = subject(wa_id)
    if confirmation.strip().replace(" ", "").lstrip("+") != who.wa_id:
        raise NotConfirmed("to erase, repeat the customer's number in 'confirm'")
    receipt = privacy_requests.erase(stores(), who, by=by)
    logger.info("erasure of customer %s by %s", receipt["customer"][:12], by)
    return receipt


def privacy_requests_listed() -> list:
    """What customers asked for in the chat (erasure, copy), oldest first, for administrators."""
    return [ticket.as_dict() for ticket in tickets.listed(stores().redis)]


def admin(view: Any) -> Any:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if g.agent.role != "admin":
            return error("exporting and erasing customers' data is for administrators", 403)
        return view(*args, **kwargs)
    guarded.__name__ = view.__name__
    return guarded


def create_privacy_api() -> Blueprint:
    api = Blueprint("privacy_api", __name__)

    @api.errorhandler(BadRequest)
    def bad_request(exc: BadRequest) -> Any:
        return error(str(exc), 400)

    @api.get("/api/customers/<wa_id>/export")
    @authenticated
    @person
    @admin
    def export(wa_id: str) -> Any:
        return Response(export_document(wa_id, g.agent.username), mimetype="application/json")

    @api.get("/api/privacy-requests")
    @authenticated
    @person
    @admin
    def privacy_requests_list() -> Any:
        return Response(json.dumps({"requests": privacy_requests_listed()}), mimetype="application/json")

    @api.post("/api/customers/<wa_id>/erase")
    @authenticated
    @person
    @admin
    def erase(wa_id: str) -> Any:
        try:
            receipt = erase_customer(wa_id, str(body().get("confirm") or ""), g.agent.username)
        except NotConfirmed as exc:
            return error(str(exc), 400)
        except privacy_requests.CustomerWithAgent as exc:
            return error(str(exc), 409)
        return Response(json.dumps({"receipt": receipt}), mimetype="application/json")

    return api
