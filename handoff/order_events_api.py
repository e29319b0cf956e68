"""`POST /api/order-events`: the shop's systems report an order's new state; the customer is told once
(campaigns/order_events.py does the work; documented in openapi.yaml). The integration token only: these
are the business's systems speaking, not a person."""

import threading
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from campaigns.order_events import InvalidOrderEvent, OrderEvents
from handoff.api import BadRequest, body, error, integration_only
from handoff.rasa_api import RasaRefused, RasaUnavailable
from shop.db import ShopUnavailable
from shop.state_changes import StateChangeError

_lock = threading.Lock()


def order_events() -> OrderEvents:
    """Built at the first event: the order database is opened only by a service that receives them."""
    with _lock:
        if "order_events" not in current_app.extensions:
            current_app.extensions["order_events"] = current_app.extensions["order_events_factory"]()
        return current_app.extensions["order_events"]


def add_order_event_routes(api: Blueprint) -> None:
    @api.post("/api/order-events")
    @integration_only
    def order_event() -> Any:
        data = body()
        order_id, state = data.get("order_id"), data.get("state")
        update_shop, event_id = data.get("update_shop", False), data.get("event_id", "")
        if not isinstance(order_id, (str, int)) or not isinstance(state, str):
            raise BadRequest("'order_id' and 'state' are required ('order_id' a string, 'state' e.g. shipped)")
        if not isinstance(update_shop, bool) or not isinstance(event_id, str) or len(event_id) > 100:
            raise BadRequest("'update_shop' is true or false, 'event_id' a string of at most 100 characters")
        event_id = event_id or request.headers.get("Idempotency-Key", "")[:100]
        try:
            handled = order_events().handle(str(order_id), state, update_shop=update_shop, event_id=event_id)
        except InvalidOrderEvent as exc:
            return error(str(exc), 400)
        except StateChangeError as exc:
            return error(str(exc), 404 if str(exc).startswith("no order") else 409)
        except (ShopUnavailable, RasaUnavailable) as exc:
            return error(f"not handled, try again: {exc}", 503)
        except RasaRefused as exc:
            return error(f"the bot refused the update: {exc}", 502)
        return jsonify(event=handled), 200 if handled["duplicate"] else 201
