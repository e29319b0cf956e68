"""Invoices, sent as a PDF document message."""

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import ShopAction, backend_down, customer_id, mentioned_order, resolve_order
from bot.actions.messages import say
from shop.invoice_pdf import write_invoice
from shop.service import Shop
from stack import components

INVOICED_STATES = ("paid", "packed", "shipped", "out_for_delivery", "delivered", "returned")


class ActionGetInvoice(ShopAction):
    def name(self) -> Text:
        return "action_get_invoice"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        states = None if mentioned_order(tracker) else INVOICED_STATES
        order, events = resolve_order(dispatcher, tracker, shop, "get_invoice", states=states)
        if order is None:
            return events
        outcome = shop.invoice(customer_id(tracker), order.number)
        if outcome.result != "ready" or outcome.order is None:
            say(dispatcher, "invoice_not_paid", order_id=order.number)
            return events
        try:
            name = write_invoice(outcome.order, components.business_name(), components.media_dir())
        except OSError as exc:
            backend_down(dispatcher, exc)
            return events
        dispatcher.utter_message(
            json_message={
                "type": "document",
                "document": {
                    "link": f"{components.public_media_url()}/{name}",
                    "filename": f"invoice-{order.number}.pdf",
                    "caption": f"Invoice {outcome.order.invoice_number} for order {order.number}",
                },
            }
        )
        return events
