"""What customers of each flow write, and which of the bot's replies mean the flow is done.

`{order}` is the order the journey is about, `{other}` another order of the same customer (a
journey with a correction names it first, then corrects itself). A flow is completed when the
bot's replies show every one of `goals`, in order: the order status, the cancellation, the ticket
number, the invoice document, ... as the bot actually words them (bot/actions/messages.py,
domain.yml).
"""

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class Flow:
    name: str
    # What the customer writes first (one is picked per journey).
    openings: Tuple[str, ...]
    # Regular expressions the bot's replies must match, in this order.
    goals: Tuple[str, ...]
    # States of the customer's orders; the first is the one the journey is about.
    orders: Tuple[str, ...] = ()
    # What the customer writes after each goal but the last ("bye" after the greeting).
    follow_ups: Tuple[str, ...] = ()
    # Openings that name another order first, the state of that order, and the correction.
    corrected_openings: Tuple[str, ...] = ()
    other_state: Optional[str] = None
    wants_person: bool = False
    # The intent behind the flow: a clarifying question's button for it is tapped.
    intent: Optional[str] = None
    refund: Optional[str] = None  # a refund of the journey's order, in this state
    extra: Dict[str, str] = field(default_factory=dict)


CORRECTIONS = (
    "no, I meant {order}", "sorry, wrong one: {order}", "oops, the other one, {order}", "actually {order}",
    "no no, order {order}", "sorry I meant #{order}",
)

# Asked instead of answering the bot's question; the bot answers and asks again.
INTERRUPTIONS = (
    "wait, how long does delivery usually take?", "btw do you accept paypal?", "what are your opening hours?",
    "quick question, what delivery options do you have?", "how much is shipping?",
)

ADDRESSES = (
    "Main Street 5, 10115 Berlin", "12 Harbour Street, Springfield, 62701", "Rua das Flores 45, Lisbon, 1200-195",
    "8 Cedar Avenue, Portland, 97201", "Hauptstr. 12, 80331 Munich", "44 Elm Road, Leeds LS6 2AB",
    "Calle Mayor 12, 28013 Madrid", "the new address is 221 Baker Street, London NW1 6XE",
    "please send it to 7 Rua Nova, Porto 4000-001", "Kirchweg 3, 50858 Cologne",
)

ORDER_CHANGES = (
    "make it 2 mugs instead of 1", "size M instead of L please", "change the colour to green",
    "please deliver it on friday", "add one more tea towel", "swap the blue mug for the white one",
    "I'd like the large one instead of the small", "remove the coffee set from the order",
)

TYPED_ORDER = ("{order}", "#{order}", "order {order}", "{order} please", "it's {order}", "the {order} one")

FLOWS: Tuple[Flow, ...] = (
    Flow(
        "order status",
        ("where is my order", "wheres my package??", "has order {order} shipped yet?", "any news on my parcel",
         "I ordered last week and nothing arrived yet, order {order}", "track order {order}",
         "status of my order pls", "when will my order {order} arrive?", "where's my stuff",
         "hello, I placed an order a few days ago and the tracking hasn't moved since, can you check where it is?",
         "yo is my parcel {order} still coming or what"),
        (r"Order {order} \(\d\d \w{{3}}\) is ",),
        orders=("shipped", "paid"),
        corrected_openings=("where is order {other}", "status of {other} please"),
        other_state="paid", intent="order_status",
    ),
    Flow(
        "cancel order",
        ("cancel my order", "I want to cancel order {order}", "pls cancel {order}, I changed my mind",
         "can I still cancel? ordered by mistake", "I don't want the order anymore, cancel it",
         "cancel order {order} please", "i need to cancel my purchase",
         "hi, I accidentally ordered the wrong thing yesterday, can you please cancel the order before it ships?"),
        (r"Done: order {order} is cancelled",),
        orders=("paid", "delivered"),
        corrected_openings=("cancel order {other}", "please cancel {other}"),
        other_state="paid", intent="cancel_order",
    ),
    Flow(
        "change order",
        ("I need to change my order", "can I change the size in order {order}?", "modify order {order} please",
         "I want to make a change to my order", "wrong colour ordered, can I change it?",
         "can i change something in my order", "change order {order}",
         "hey, about my order {order}, I picked the wrong size, is it possible to fix that before it goes out?"),
        (r"passed your change for order {order}",),
        orders=("paid", "delivered"),
        corrected_openings=("I want to change order {other}", "can I change my order {other}"),
        other_state="delivered", intent="change_order",
    ),
    Flow(
        "change address",
        ("I need to change the delivery address", "change shipping address for order {order}",
         "I moved, can you send my order to my new address?", "wrong address on my order!!",
         "can you deliver order {order} to a different address", "update my delivery address please",
         "I won't be home next week, could my parcel go to my office address instead?"),
        (r"Done: order {order} will go to",),
        orders=("paid", "delivered"),
        corrected_openings=("change the delivery address of order {other}",
                            "I need order {other} delivered to another address"),
        other_state="delivered", intent="change_shipping_address",
    ),
    Flow(
        "refund request",
        ("I want a refund", "refund for order {order} please", "the teapot arrived broken, I want my money back",
         "how do I get my money back for order {order}", "I'd like to return my order and get a refund",
         "refund pls", "the mug came with a crack in it and I'd rather have my money back than a replacement"),
        (r"Refund for order {order} \(",),
        orders=("delivered", "paid"),
        corrected_openings=("I want a refund for order {other}",),
        other_state="delivered", intent="get_refund",
    ),
    Flow(
        "refund status",
        ("where is my refund", "has my refund for {order} been paid?", "status of my refund pls",
         "I returned the item two weeks ago and still no money", "any update on my refund?",
         "when do I get my money back for order {order}",
         "I sent the item back ages ago, when is the money coming back to my card?"),
        (r"Refund for order {order} \(",),
        orders=("delivered",), refund="approved", intent="track_refund",
    ),
    Flow(
        "refund policy",
        ("what is your return policy", "how many days do I have to return something?",
         "can I return an item I don't like?", "what are the refund rules", "do you accept returns",
         "if I don't like what I bought, how long do I have to send it back to you?"),
        (r"return anything within 30 days",),
        intent="refund_policy",
    ),
    Flow(
        "invoice",
        ("send me the invoice", "I need an invoice for order {order}", "can I get a receipt for my purchase",
         "invoice pls for {order}", "my company needs an invoice for order {order}", "where can I find my invoice",
         "hello, for my tax return I need a proper invoice with VAT for order {order}"),
        (r"\[document invoice-{order}\.pdf\]",),
        orders=("shipped", "delivered"),
        corrected_openings=("invoice for order {other} please", "I need the invoice of {other}"),
        other_state="delivered", intent="get_invoice",
    ),
    Flow(
        "delivery times",
        ("how long does delivery take", "how many days does shipping take?", "what's the delivery time",
         "how fast do you deliver", "how long until an order arrives usually",
         "if I order today, roughly how many days until it gets to me?"),
        (r"Orders ship within 1 business day",),
        intent="delivery_period",
    ),
    Flow(
        "delivery options",
        ("what delivery options do you have", "do you offer express shipping?", "can I pick up at a pickup point",
         "which shipping methods are there", "is there express delivery",
         "what ways of getting the parcel do you offer, can I collect it somewhere?"),
        (r"Delivery options:",),
        intent="delivery_options",
    ),
    Flow(
        "payment methods",
        ("how can I pay", "do you take paypal?", "which cards do you accept", "can I pay with apple pay",
         "what payment methods do you accept", "is it possible to pay by credit card or only paypal?"),
        (r"We accept Visa",),
        intent="payment_methods",
    ),
    Flow(
        "payment problem",
        ("my payment failed", "I was charged twice!", "my card was declined at checkout",
         "I paid but the order still says unpaid", "problem with my payment",
         "the checkout keeps failing when I enter my card, I tried three times already"),
        (r"Sorry about the payment trouble",),
        orders=("placed",), intent="payment_issue",
    ),
    Flow(
        "complaint",
        ("this is unacceptable, I want to complain", "terrible service, the parcel arrived damaged",
         "I want to file a complaint about order {order}", "I am very unhappy with your service",
         "the item is broken and nobody answers, this is a disgrace",
         "honestly the worst shopping experience ever, the box was soaked and everything inside was ruined"),
        (r"ticket #\d+",),
        orders=("delivered",), intent="complaint",
    ),
    Flow(
        "faq",
        ("what are your opening hours", "when are you open on sunday?", "how much is shipping",
         "is there a warranty on your products", "do you sell gift cards", "do you ship to canada",
         "what do you do with my data", "where is your nearest shop", "how can I contact you by email"),
        (r"open Monday to Saturday|Standard delivery costs|2-year warranty|Gift cards from|We ship to the EU|"
         r"We use your number|example\.com/stores|support@example\.com",),
        intent="faq",
    ),
    Flow(
        "handoff request",
        ("agent", "I want to talk to a human", "real person please", "can I speak to someone from your team",
         "operator!!", "let me talk to customer service"),
        (),
        wants_person=True, intent="human_handoff",
    ),
    Flow(
        "opt-out / opt-in",
        ("STOP", "stop sending me messages", "unsubscribe me please", "STOP"),
        (r"won't send you any more messages", r"Welcome back"),
        follow_ups=("START",),
    ),
    Flow(
        "greet / goodbye",
        ("hi", "hello there", "good morning!", "hey", "hiya", "hello"),
        (r"What can I do for you", r"Goodbye"),
        follow_ups=("bye", "thanks, bye", "that's all, goodbye", "ok bye"),
        intent="greet",
    ),
)
