"""The JSON API of outgoing webhook subscriptions (documented in openapi.yaml), for administrators and the
integration token: make one (its secret is in that answer only), list, read, change, rotate the secret,
delete; each one's delivery log; the dead letters and their re-send. The work is outgoing_webhooks'.
"""

from typing import Any, Callable

from flask import Blueprint, current_app, g, jsonify, request

from handoff.api import BadRequest, authenticated, body, error
from outgoing_webhooks.delivery import Deliverer
from outgoing_webhooks.settings import WebhookSettings
from outgoing_webhooks.subscriptions import InvalidSubscription, SubscriptionNotFound, Subscriptions


def subscriptions() -> Subscriptions:
    return Subscriptions(current_app.extensions["redis"])


def deliverer() -> Deliverer:
    return Deliverer(current_app.extensions["redis"], WebhookSettings(), consumer="api")


def admin(view: Callable) -> Callable:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if g.agent.role != "admin":
            return error("webhook subscriptions are managed by administrators", 403)
        return view(*args, **kwargs)
    guarded.__name__ = view.__name__
    return guarded


def _flag(data: dict, name: str) -> Any:
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f"'{name}' must be true or false")
    return value


def create_webhook_subscriptions_api() -> Blueprint:
    api = Blueprint("webhook_subscriptions_api", __name__)

    @api.errorhandler(BadRequest)
    @api.errorhandler(InvalidSubscription)
    def invalid(exc: Exception) -> Any:
        return error(str(exc), 400)

    @api.errorhandler(SubscriptionNotFound)
    def missing(exc: SubscriptionNotFound) -> Any:
        return error(str(exc), 404)

    @api.post("/api/webhook-subscriptions")
    @authenticated
    @admin
    def create() -> Any:
        data = body()
        made = subscriptions().create(data.get("url"), data.get("events") or [], str(data.get("description") or ""),
                                      created_by=g.agent.username)
        return jsonify(subscription=made), 201

    @api.get("/api/webhook-subscriptions")
    @authenticated
    @admin
    def index() -> Any:
        return jsonify(subscriptions=subscriptions().list())

    @api.get("/api/webhook-subscriptions/<sid>")
    @authenticated
    @admin
    def show(sid: str) -> Any:
        return jsonify(subscription=subscriptions().get(sid))

    @api.patch("/api/webhook-subscriptions/<sid>")
    @authenticated
    @admin
    def change(sid: str) -> Any:
        data = body()
        return jsonify(subscription=subscriptions().update(sid, url=data.get("url"), events=data.get("events"),
                                                           description=data.get("description"),
                                                           active=_flag(data, "active")))

    @api.post("/api/webhook-subscriptions/<sid>/secret")
    @authenticated
    @admin
    def rotate(sid: str) -> Any:
        return jsonify(subscription=subscriptions().rotate_secret(sid))

    @api.delete("/api/webhook-subscriptions/<sid>")
    @authenticated
    @admin
    def delete(sid: str) -> Any:
        subscriptions().delete(sid)
        return "", 204

    @api.get("/api/webhook-subscriptions/<sid>/deliveries")
    @authenticated
    @admin
    def deliveries(sid: str) -> Any:
        return jsonify(deliveries=subscriptions().log(sid, count=request.args.get("count", 50, type=int)))

    @api.get("/api/webhook-dead-letters")
    @authenticated
    @admin
    def dead_letters() -> Any:
        return jsonify(dead_letters=deliverer().dead_letters(count=request.args.get("count", 100, type=int)))

    @api.post("/api/webhook-dead-letters/<dead_id>/resend")
    @authenticated
    @admin
    def resend(dead_id: str) -> Any:
        if not deliverer().resend(dead_id):
            return error(f"no dead letter {dead_id} (re-sent already?)", 404)
        return jsonify(resent=dead_id), 202

    return api
