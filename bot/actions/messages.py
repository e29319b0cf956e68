"""The wording of every message an action sends, in one place.

Messages that may go out long after the customer wrote (order and refund updates, handoff resolved,
the rating question) are domain responses instead (domain.yml), so that each can be mapped to an
approved WhatsApp template."""

from typing import Any, Dict, List, Optional

from rasa_sdk.executor import CollectingDispatcher

MESSAGES: Dict[str, str] = {
    "address_changed": 'Done: order {order_id} will go to {shipping_address}.',
    "address_invalid": "That doesn't look like a full address. Please send street and number, city and postcode.",
    "already_cancelled": 'Order {order_id} is already cancelled. Nothing more to do.',
    "ask_order_change": (
        'What would you like to change? For example another size, colour or quantity, or a delivery day.'
    ),
    "ask_order_id": 'Which order? Pick one or type its number (like 1002).',
    "ask_shipping_address": (
        'What is the new delivery address? Please write it in one message: street and number, city, postcode.'
    ),
    "backend_down": (
        "Sorry, I can't reach our order system right now. Please try again in a few minutes, or talk to a "
        'person.'
    ),
    "cancel_kept": 'OK, order {order_id} stays as it is.',
    "cancel_refund": (
        'Your refund of {refund_amount} is approved and goes back to your payment method within 5-7 business '
        'days.'
    ),
    "cancel_too_late": (
        "{order_status}\nIt has already left our warehouse, so it can't be cancelled. Once it arrives you can "
        'return it for a refund.'
    ),
    "cancelled": 'Done: order {order_id} is cancelled.',
    "change_too_late": "{order_status}\nIt has already shipped, so it can't be changed any more.",
    "change_too_late_others": (
        "{order_status}\nIt has already shipped, so it can't be changed any more. You can still change the "
        "order below, or talk to a person."
    ),
    "change_too_late_person": (
        "{order_status}\nIt has already shipped, so it can't be changed any more. A person can help with "
        "what happens next."
    ),
    "clarify": "Sorry, I'm not sure what you mean. Is it one of these?",
    "complaint_exists": (
        'Your complaint is already with our team as ticket #{ticket}. Would you like to talk to a person now?'
    ),
    "complaint_logged": (
        "I'm sorry about this. I've opened ticket #{ticket} for our team. Would you like to talk to a person "
        'now?'
    ),
    "confirm_cancel": "Cancel order {order_id} ({order_total})? This can't be undone.",
    "csat_invalid": 'Please rate us with one of the buttons.',
    "csat_sorry": (
        'Thanks for telling us, and sorry we let you down. Type "agent" if you\'d like a person to follow up.'
    ),
    "csat_thanks": 'Thank you for your feedback!',
    "delivery_date_invalid": "Sorry, {delivery_date} won't work: {reason}. Which other day suits you?",
    "delivery_date_noted": 'Requested delivery day: {delivery_date}.',
    "delivery_period": 'Orders ship within 1 business day. Standard delivery takes 3-5 business days, express 1-2.',
    "handoff_after_hours": (
        "Our team is offline right now and back {opens_at}. I've opened ticket {ticket}; they'll reply here "
        'then.'
    ),
    "handoff_agent": "I'm passing you to our team. A person will reply here in a moment.",
    "handoff_queued": "I'm passing you to our team. You're number {position} in the queue; expected wait {wait}.",
    "handoff_ticket": (
        "I can't reach our team's system right now, sorry. I've opened ticket #{ticket} and a person will "
        'reply here as soon as possible.'
    ),
    "handoff_unavailable": (
        "I can't reach our team right now, sorry. Please try again in a few minutes, or email "
        'support@example.com.'
    ),
    "form_gave_up": (
        "I still don't have what I need, so I've stopped here. Nothing was changed. Shall I pass you to a person?"
    ),
    "form_offer_person": "Let's not go round in circles: shall I pass you to a person, or stop here?",
    "invoice_not_paid": "Order {order_id} isn't paid yet, so there's no invoice for it.",
    "no_matching_orders": 'None of your orders fits that. Type the order number if you mean a specific one.',
    "no_orders": (
        "I can't find any orders for this WhatsApp number. If you ordered with another number, type the order"
        ' number.'
    ),
    "no_refunds": "I can't find any refunds for this WhatsApp number.",
    "nothing_changeable": (
        'None of your orders can be changed any more: they have all left our warehouse. Type "agent" if you '
        'need help.'
    ),
    "nothing_to_cancel": "There's no cancellation waiting for your answer. Which order do you want to cancel?",
    "out_of_scope": (
        "That's not something I can help with here. I can help with your orders, deliveries, returns and "
        "refunds, invoices and payments. Shall I pass you to a person?"
    ),
    "not_followed": "Sorry, I didn't get that. Could you say it another way, or talk to a person?",
    "offer_human": "I'm still not getting it, sorry. Shall I pass you to a person?",
    "order_change_requested": (
        'Thanks! I\'ve passed your change for order {order_id} to our team: "{order_change}". We\'ll confirm it'
        ' here.'
    ),
    "order_change_too_short": 'Could you describe the change in a few words?',
    "order_eta": 'Order {order_id} is on its way, expected {order_eta}.',
    "order_not_found": (
        'I can\'t find order {order_id} for this WhatsApp number. Please check the number, or type "agent".'
    ),
    "payment_issue": (
        'Sorry about the payment trouble. If you were charged but the order shows unpaid, it usually clears '
        'within 24 hours. Want a person to look at it?'
    ),
    "payment_pending": 'We are still waiting for payment of: {orders}.',
    "privacy_copy_explained": (
        'You can have a copy of everything we hold about you: our chats (with the assistant and with our '
        'team), your orders, refunds, tickets and ratings, invoices, and your message preferences. Our privacy '
        'team checks the request and sends the copy to you here within 30 days. Shall I ask for it?'
    ),
    "privacy_copy_requested": (
        "Done: your request for a copy of your data is with our privacy team. They'll send it to you here "
        'within 30 days.'
    ),
    "privacy_erasure_explained": (
        'Erasing your data removes from all our systems our chats (with the assistant and with our team), '
        'your tickets, invoices, delivery records and message preferences. Your orders, refunds and ratings '
        'stay in our books without your name, number, e-mail, addresses or anything you wrote. If you have '
        'stopped our messages, we keep only a coded fingerprint of your number, so that we never message you '
        "again. This can't be undone, and it doesn't touch the copy WhatsApp itself keeps. Erase your data?"
    ),
    "privacy_erasure_queued": (
        "Done: your data will be erased within a minute. This is our last message; anything you write after "
        'this starts a new conversation. Thank you for shopping with us.'
    ),
    "privacy_erasure_requested": (
        "Done: your erasure request is with our privacy team. They'll erase your data within 30 days; after "
        "that we won't hold anything about you, and you won't hear from us unless you write again."
    ),
    "privacy_kept": "OK, nothing changes: your data stays as it is.",
    "privacy_unavailable": (
        "Sorry, I couldn't record your request just now. Please try again in a few minutes, or type \"agent\" "
        'and a person will take it.'
    ),
    "refund_cancel_instead": (
        "Order {order_id} hasn't shipped yet, so the quickest way is to cancel it: the refund then comes "
        'automatically. Type "cancel order {order_id}".'
    ),
    "refund_exists": "You already asked for this refund, so I haven't opened another one. {refund_status}",
    "refund_not_paid": "Order {order_id} hasn't been paid, so there's nothing to refund.",
    "refund_not_yet": '{order_status}\nOnce it arrives you can ask for a refund here.',
    "refund_requested": "I've asked for your refund. {refund_status} We usually decide within 2 business days.",
    "refund_status": '{refund_status}',
    "which_order": 'Which order do you mean?',
    "which_order_person": "I still can't tell which order you mean. Shall I pass you to a person?",
}


def say(
    dispatcher: CollectingDispatcher, key: str, buttons: Optional[List[Dict[str, Any]]] = None, **values: Any
) -> None:
    """Sends message `key` with its {placeholders} filled from `values`."""
    dispatcher.utter_message(text=MESSAGES[key].format(**values), buttons=buttons or [])
