"""What the business is charged for each WhatsApp message: a pure, deterministic pricing engine.

Events go in (a customer wrote, the business sent a template or a free-form message, a status
webhook reported delivery and Meta's `pricing` object); a new customer state and at most one
charge come out. No clock, no I/O: every time comes from the events, so the same events always
give the same charges, and analytics can rebuild totals by replaying them (`PricingBook`).

Both of Meta's pricing models are implemented; `PricingConfig.model` picks one:

- CBP, conversation-based pricing (2023 to 2025-06-30): 24 h conversations per category. A
  delivered template opens one of its category unless one is open; a free-form message opens a
  service conversation only when no conversation of any category is open. Messages inside an
  open conversation cost nothing more. Inside a free entry point window one free
  `referral_conversion` conversation covers everything. Service conversations are free from
  2024-11-01; before, the first 1,000 a month per number were.
- PMP, per-message pricing (from 2025-07-01): each delivered template is charged by category;
  utility templates inside the customer service window are free until 2026-09-30; free-form
  (service) messages are free until 2026-09-30, then charged beyond 1,000 free per business
  number per calendar month (UTC); reactions are always free; everything is free in a free entry
  point window.

A message is priced when it is delivered (a `delivered`, or a `read`/`played` that came without
one), at the delivery time (never before its send): Meta charges only delivered messages. The
`pricing` object of its status webhooks is then compared with the computed charge (`reconcile`).
Window rules (the 24 h service window, the 72 h free entry point, Meta's own end of a free entry
point conversation) live in `whatsapp_cloud.policy.windows`.
"""

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from whatsapp_cloud.policy import windows as win
from whatsapp_cloud.pricing.rate_card import RateCard

UTC = timezone.utc
CBP = "CBP"
PMP = "PMP"
TEMPLATE_CATEGORIES = ("marketing", "utility", "authentication", "authentication_international")
KINDS = ("template", "free_form", "reaction")
DELIVERY_STATUSES = ("delivered", "read", "played")
SERVICE = "service"
REFERRAL = "referral_conversion"
# Meta's `pricing.type` values (PMP); any other value it adds is compared as it comes.
REGULAR = "regular"
FREE_CUSTOMER_SERVICE = "free_customer_service"
FREE_ENTRY_POINT = "free_entry_point"


class PricingInputError(ValueError):
    """An event the engine cannot price: the message says which field is wrong."""


@dataclass(frozen=True)
class PricingConfig:
    model: str = PMP
    windows: win.WindowConfig = field(default_factory=win.WindowConfig)
    conversation_length: timedelta = timedelta(hours=24)
    service_allowance: int = 1000  # PMP: free service messages per business number per month
    service_charged_from: datetime = datetime(2026, 10, 1, tzinfo=UTC)
    utility_in_window_free_until: datetime = datetime(2026, 10, 1, tzinfo=UTC)
    cbp_service_allowance: int = 1000  # CBP: free service conversations per number per month
    cbp_service_free_from: datetime = datetime(2024, 11, 1, tzinfo=UTC)
    keep_undelivered: timedelta = timedelta(days=30)  # WhatsApp stops trying to deliver after 30 days

    @property
    def monthly_allowance(self) -> int:
        """Free service messages (CBP: conversations) per business number per month."""
        return self.service_allowance if self.model == PMP else self.cbp_service_allowance

    def __post_init__(self) -> None:
        if self.model not in (CBP, PMP):
            raise PricingInputError(f"pricing model must be {CBP} or {PMP}, not {self.model!r}")
        if self.service_allowance < 0 or self.cbp_service_allowance < 0:
            raise PricingInputError("service allowances cannot be negative")


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerMessage:
    """The customer wrote (any type): the service window opens, a referral may lead to free entry."""

    wa_id: str
    at: datetime  # the customer's message timestamp
    from_referral: bool = False  # came from a Click-to-WhatsApp ad or a Page call-to-action
    wamid: str = ""

    def __post_init__(self) -> None:
        _check_common(self.wa_id, self.at)


@dataclass(frozen=True)
class BusinessMessage:
    """The Cloud API accepted a message from the business (not yet delivered, not yet charged)."""

    wa_id: str
    wamid: str
    at: datetime
    kind: str  # template | free_form | reaction
    category: Optional[str] = None  # a template's category: marketing, utility, authentication, ...
    phone_number_id: str = ""  # the business number: the monthly service allowance is per number

    def __post_init__(self) -> None:
        _check_common(self.wa_id, self.at)
        if not self.wamid:
            raise PricingInputError("a business message needs the wamid the Cloud API returned")
        if self.kind not in KINDS:
            raise PricingInputError(f"message kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == "template":
            category = normalize_category(self.category or "")
            if category not in TEMPLATE_CATEGORIES:
                raise PricingInputError(
                    f"template category must be one of {', '.join(TEMPLATE_CATEGORIES)}, not {self.category!r}"
                )
            object.__setattr__(self, "category", category)
        elif self.category:
            raise PricingInputError(f"only templates have a category; a {self.kind} message is a service message")


@dataclass(frozen=True)
class MessageStatus:
    """A status webhook about a business message, with Meta's `pricing` and `conversation` if sent."""

    wa_id: str
    wamid: str
    status: str  # sent | delivered | read | played | failed | ...
    at: datetime
    phone_number_id: str = ""
    pricing: Optional[Mapping[str, Any]] = None
    conversation: Optional[Mapping[str, Any]] = None

    def __post_init__(self) -> None:
        _check_common(self.wa_id, self.at)
        if not self.wamid or not self.status:
            raise PricingInputError("a status needs the message's wamid and the status")


Event = Union[CustomerMessage, BusinessMessage, MessageStatus]


# --- state and results ----------------------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    """A CBP conversation: one charge covers every message of the customer for its lifetime."""

    id: str
    category: str
    opened_at: datetime
    expires_at: datetime
    amount_micros: int

    def open_at(self, at: datetime) -> bool:
        return self.opened_at <= at < self.expires_at

    def covers(self, at: datetime) -> bool:
        """A delivery that arrives late, timed before this conversation opened, still belongs to it:
        conversations of one category never overlap."""
        return at < self.expires_at

    @property
    def billable(self) -> bool:
        return self.amount_micros > 0


@dataclass(frozen=True)
class SentMessage:
    """A business message waiting for its delivery, with the pricing Meta reported so far."""

    kind: str
    category: Optional[str]
    sent_at: datetime
    phone_number_id: str = ""
    meta_pricing: Optional[Mapping[str, Any]] = None
    from_status: bool = False  # known only from a status webhook's pricing: the send record, if it comes, wins

    @property
    def pricing_category(self) -> str:
        return self.category or SERVICE


@dataclass(frozen=True)
class CategoryTotal:
    messages: int = 0  # delivered messages priced in this category
    charged: int = 0  # of which carried a charge (a message under PMP, a conversation under CBP)
    micros: int = 0

    def __add__(self, other: "CategoryTotal") -> "CategoryTotal":
        return CategoryTotal(self.messages + other.messages, self.charged + other.charged, self.micros + other.micros)


@dataclass(frozen=True)
class CustomerState:
    wa_id: str
    # From the priced events alone, so replays charge the same (cost_ledger.py: why it is not the policy's record).
    windows: win.Windows = field(default_factory=win.Windows)
    conversations: Mapping[str, Conversation] = field(default_factory=dict)  # CBP: latest per category
    undelivered: Mapping[str, SentMessage] = field(default_factory=dict)  # wamid -> message
    delivered: Mapping[str, datetime] = field(default_factory=dict)  # wamid -> when, so a delivery counts once
    totals: Mapping[str, CategoryTotal] = field(default_factory=dict)

    def open_conversations(self, at: datetime) -> List[Conversation]:
        return sorted((c for c in self.conversations.values() if c.open_at(at)), key=lambda c: c.opened_at)


@dataclass(frozen=True)
class Charge:
    """What one delivered message costs, in the terms Meta reports it in the status `pricing` object."""

    wamid: str
    wa_id: str
    at: datetime
    pricing_model: str
    category: str  # PMP: the message's category; CBP: the category of the conversation it belongs to
    billable: bool  # PMP: charged; CBP: belongs to a charged conversation
    type: Optional[str]  # PMP only: regular | free_customer_service | free_entry_point
    amount_micros: int
    currency: str
    market: str  # calling code of the rate-card row used, or "default"
    reason: str  # why: template, service_window, free_entry_point, service_allowance, service, ...
    conversation_id: Optional[str] = None  # CBP


@dataclass(frozen=True)
class AllowanceDraw:
    """A service message (CBP: conversation) counted against a business number's monthly free allowance."""

    phone_number_id: str
    month: str  # YYYY-MM, UTC


@dataclass(frozen=True)
class Mismatch:
    field: str
    ours: Any
    meta: Any


@dataclass(frozen=True)
class Outcome:
    state: CustomerState
    charge: Optional[Charge] = None
    opened: Optional[Conversation] = None
    allowance: Optional[AllowanceDraw] = None
    mismatches: Tuple[Mismatch, ...] = ()
    ignored: str = ""  # why the event changed nothing (a duplicate, an unknown message, ...)


@dataclass(frozen=True)
class _Decision:
    category: str
    type: Optional[str]
    reason: str
    chargeable: bool  # charged at the rate card unless the allowance covers it
    allowance: Optional[AllowanceDraw] = None
    conversation: Optional[Conversation] = None  # CBP: the one the message belongs to
    opens: bool = False  # CBP: the message opens `conversation`


# --- the engine -----------------------------------------------------------------------------


def allowance_draw(state: CustomerState, event: Event, config: PricingConfig) -> Optional[AllowanceDraw]:
    """The allowance `apply` would draw on for this event, so a ledger can read its count first."""
    state = _prepare(state, event, config)
    delivery = _delivery(state, event)
    if delivery is None:
        return None
    return _decide(state, delivery, _delivered_at(delivery, event), config).allowance


def apply(
    state: CustomerState, event: Event, config: PricingConfig, rates: RateCard, service_used: int = 0
) -> Outcome:
    """The customer's state after `event`, and the charge if it delivered a message.

    `service_used`: how many messages were already counted this month against the allowance that
    `allowance_draw` named (0 when it named none); the message is free while that is below the allowance.
    """
    if event.wa_id != state.wa_id:
        raise PricingInputError(f"event for {event.wa_id} applied to the state of {state.wa_id}")
    state = _prepare(state, event, config)
    if isinstance(event, CustomerMessage):
        windows = win.after_inbound(state.windows, event.at, event.from_referral, config.windows)
        return Outcome(replace(state, windows=windows))
    if isinstance(event, BusinessMessage):
        return _business_message(state, event, config)
    return _status(state, event, config, rates, service_used)


def _business_message(state: CustomerState, event: BusinessMessage, config: PricingConfig) -> Outcome:
    # Windows move even when a status webhook got here first: the reply may open the free entry window.
    state = replace(state, windows=win.after_business_message(state.windows, event.at, config.windows))
    if event.wamid in state.delivered:
        return Outcome(state, ignored="already delivered")
    known = state.undelivered.get(event.wamid)
    if known is not None and not known.from_status:
        return Outcome(state, ignored="already recorded")
    sent = SentMessage(event.kind, event.category, event.at, event.phone_number_id,
                       known.meta_pricing if known is not None else None)
    return Outcome(replace(state, undelivered={**state.undelivered, event.wamid: sent}))


def _status(
    state: CustomerState, event: MessageStatus, config: PricingConfig, rates: RateCard, service_used: int
) -> Outcome:
    if event.wamid in state.delivered:
        return Outcome(state, ignored="already delivered")
    if event.status == "failed":
        undelivered = {k: v for k, v in state.undelivered.items() if k != event.wamid}
        return Outcome(replace(state, undelivered=undelivered), ignored="failed: not charged")
    message = state.undelivered.get(event.wamid) or _message_from_pricing(event)
    if message is None:
        return Outcome(state, ignored="status of a message never recorded, without pricing")
    if event.pricing:
        message = replace(message, meta_pricing=dict(event.pricing))
    if event.status not in DELIVERY_STATUSES:
        return Outcome(replace(state, undelivered={**state.undelivered, event.wamid: message}))

    at = _delivered_at(message, event)
    decision = _decide(state, message, at, config)
    market = rates.market(state.wa_id)
    covered = decision.allowance is not None and service_used < config.monthly_allowance
    amount = rates.rate(market, decision.category) if decision.chargeable and not covered else 0
    type_, reason = (FREE_CUSTOMER_SERVICE, "service_allowance") if covered else (decision.type, decision.reason)
    conversation, opened = decision.conversation, None
    if decision.opens and conversation is not None:
        conversation = opened = replace(conversation, amount_micros=amount)
    charge = Charge(
        wamid=event.wamid,
        wa_id=state.wa_id,
        at=at,
        pricing_model=config.model,
        category=decision.category,
        billable=conversation.billable if conversation is not None else type_ == REGULAR,
        type=type_ if config.model == PMP else None,
        amount_micros=amount,
        currency=rates.currency,
        market=market,
        reason=reason,
        conversation_id=conversation.id if conversation is not None else None,
    )
    total = state.totals.get(charge.category, CategoryTotal()) + CategoryTotal(1, int(amount > 0), amount)
    new_state = replace(
        state,
        conversations={**state.conversations, opened.category: opened} if opened else state.conversations,
        undelivered={k: v for k, v in state.undelivered.items() if k != event.wamid},
        delivered={**state.delivered, event.wamid: at},
        totals={**state.totals, charge.category: total},
    )
    return Outcome(new_state, charge, opened, decision.allowance, reconcile(charge, message.meta_pricing))


def _decide(state: CustomerState, message: SentMessage, at: datetime, config: PricingConfig) -> _Decision:
    if config.model == PMP:
        return _decide_per_message(state, message, at, config)
    return _decide_conversation(state, message, at, config)


def _decide_per_message(state: CustomerState, message: SentMessage, at: datetime, config: PricingConfig) -> _Decision:
    category = message.pricing_category
    if state.windows.free_entry_open(at):
        return _Decision(category, FREE_ENTRY_POINT, "free_entry_point", chargeable=False)
    if message.kind == "reaction":
        return _Decision(category, FREE_CUSTOMER_SERVICE, "reaction", chargeable=False)
    if message.kind == "free_form":
        if at < config.service_charged_from:
            return _Decision(category, FREE_CUSTOMER_SERVICE, "service_window", chargeable=False)
        draw = AllowanceDraw(message.phone_number_id, month_of(at))
        return _Decision(category, REGULAR, "service", chargeable=True, allowance=draw)
    if category == "utility" and state.windows.service_open(at) and at < config.utility_in_window_free_until:
        return _Decision(category, FREE_CUSTOMER_SERVICE, "service_window", chargeable=False)
    return _Decision(category, REGULAR, "template", chargeable=True)


def _decide_conversation(state: CustomerState, message: SentMessage, at: datetime, config: PricingConfig) -> _Decision:
    if state.windows.free_entry_open(at):
        referral = state.conversations.get(REFERRAL)
        if referral is not None and referral.covers(at):
            return _Decision(REFERRAL, None, "free_entry_point", chargeable=False, conversation=referral)
        until = state.windows.free_entry_until
        assert until is not None  # free_entry_open() says there is an end
        return _Decision(REFERRAL, None, "free_entry_point", chargeable=False,
                         conversation=_new_conversation(state, REFERRAL, at, until), opens=True)
    if message.kind == "template":
        category = message.pricing_category
        current = state.conversations.get(category)
        if current is not None and current.covers(at):
            return _Decision(category, None, "open_conversation", chargeable=False, conversation=current)
        return _Decision(category, None, "conversation", chargeable=True, opens=True,
                         conversation=_new_conversation(state, category, at, at + config.conversation_length))
    covering = sorted((c for c in state.conversations.values() if c.covers(at)), key=lambda c: c.opened_at)
    if covering:  # a free-form message rides on any open conversation, a service one first
        current = next((c for c in covering if c.category == SERVICE), covering[0])
        return _Decision(current.category, None, "open_conversation", chargeable=False, conversation=current)
    opened = _new_conversation(state, SERVICE, at, at + config.conversation_length)
    if at >= config.cbp_service_free_from:
        return _Decision(SERVICE, None, "service", chargeable=False, conversation=opened, opens=True)
    draw = AllowanceDraw(message.phone_number_id, month_of(at))
    return _Decision(SERVICE, None, "conversation", chargeable=True, allowance=draw, conversation=opened, opens=True)


def _new_conversation(state: CustomerState, category: str, at: datetime, expires_at: datetime) -> Conversation:
    return Conversation(f"{state.wa_id}:{category}:{int(at.timestamp())}", category, at, expires_at, 0)


def _delivered_at(message: SentMessage, event: MessageStatus) -> datetime:
    """Meta's delivery time, never before the send: the two come from different clocks."""
    return max(event.at, message.sent_at)


def _delivery(state: CustomerState, event: Event) -> Optional[SentMessage]:
    """The message this event delivers (and so prices), if it delivers one."""
    if not isinstance(event, MessageStatus) or event.status not in DELIVERY_STATUSES:
        return None
    if event.wa_id != state.wa_id or event.wamid in state.delivered:
        return None
    return state.undelivered.get(event.wamid) or _message_from_pricing(event)


def _message_from_pricing(event: MessageStatus) -> Optional[SentMessage]:
    """A message sent without passing through the ledger, known only from Meta's pricing object.

    Only from `sent` (which always comes first) or `delivered`: a `read` can come weeks later, for a
    message delivered long ago and forgotten, and must not charge it again."""
    if event.status not in ("sent", "delivered"):
        return None
    category = normalize_category(str((event.pricing or {}).get("category") or ""))
    if category == SERVICE:
        return SentMessage("free_form", None, event.at, event.phone_number_id, from_status=True)
    if category in TEMPLATE_CATEGORIES:
        return SentMessage("template", category, event.at, event.phone_number_id, from_status=True)
    return None


def _adopt_free_entry_expiration(state: CustomerState, event: MessageStatus) -> CustomerState:
    """Meta's own end of a free entry point window wins over the computed one."""
    conversation = event.conversation or {}
    origin = normalize_category(str((conversation.get("origin") or {}).get("type") or ""))
    free_entry = origin == REFERRAL or (event.pricing or {}).get("type") == FREE_ENTRY_POINT
    expires = conversation.get("expiration_timestamp")
    if not free_entry or expires in (None, ""):
        return state
    try:
        expires_at = from_timestamp(expires)
    except PricingInputError:
        return state  # a malformed optional field must not lose the status
    return replace(state, windows=win.with_conversation_expiration(state.windows, expires_at))


def _prepare(state: CustomerState, event: Event, config: PricingConfig) -> CustomerState:
    state = _forget_old(state, event.at, config)
    if isinstance(event, MessageStatus):
        state = _adopt_free_entry_expiration(state, event)
    return state


def _forget_old(state: CustomerState, now: datetime, config: PricingConfig) -> CustomerState:
    horizon = now - config.keep_undelivered
    if all(m.sent_at >= horizon for m in state.undelivered.values()) and all(
        at >= horizon for at in state.delivered.values()
    ):
        return state
    return replace(
        state,
        undelivered={k: m for k, m in state.undelivered.items() if m.sent_at >= horizon},
        delivered={k: at for k, at in state.delivered.items() if at >= horizon},
    )


# --- reconciliation with Meta's status `pricing` object --------------------------------------


def reconcile(charge: Charge, meta: Optional[Mapping[str, Any]]) -> Tuple[Mismatch, ...]:
    """Where Meta's `pricing` object disagrees with the computed charge (fields Meta sent only)."""
    if not meta:
        return ()
    ours: Dict[str, Any] = {"pricing_model": charge.pricing_model, "category": charge.category,
                            "billable": charge.billable}
    if charge.type is not None:
        ours["type"] = charge.type
    mismatches = []
    for name, value in ours.items():
        if name not in meta or meta[name] is None:
            continue
        theirs = meta[name]
        if name == "category":
            theirs = normalize_category(str(theirs))
        elif name != "billable":
            theirs = str(theirs)
        if theirs != value:
            mismatches.append(Mismatch(name, value, meta[name]))
    return tuple(mismatches)


def normalize_category(category: str) -> str:
    """Meta writes `authentication-international` in some places and MARKETING in template objects."""
    return category.strip().lower().replace("-", "_")


# --- many customers: replay, analytics, tests ------------------------------------------------


class PricingBook:
    """Every customer's state and the number allowances in memory: the engine over a whole event history.

    Rebuilding totals from recorded events, and testing sequences, go through here; the Redis
    ledger runs the same `allowance_draw` then `apply` steps per event.
    """

    def __init__(self, config: PricingConfig, rates: RateCard) -> None:
        self.config = config
        self.rates = rates
        self.customers: Dict[str, CustomerState] = {}
        self.allowance_used: Dict[AllowanceDraw, int] = {}
        self.charges: List[Charge] = []
        self.conversations: List[Conversation] = []

    def record(self, event: Event) -> Outcome:
        state = self.customers.get(event.wa_id) or CustomerState(event.wa_id)
        draw = allowance_draw(state, event, self.config)
        used = self.allowance_used.get(draw, 0) if draw else 0
        outcome = apply(state, event, self.config, self.rates, used)
        self.customers[event.wa_id] = outcome.state
        if outcome.allowance is not None:
            self.allowance_used[outcome.allowance] = self.allowance_used.get(outcome.allowance, 0) + 1
        if outcome.charge is not None:
            self.charges.append(outcome.charge)
        if outcome.opened is not None:
            self.conversations.append(outcome.opened)
        return outcome

    def totals(self) -> Dict[str, CategoryTotal]:
        """Per category, across customers."""
        result: Dict[str, CategoryTotal] = {}
        for state in self.customers.values():
            for category, total in state.totals.items():
                result[category] = result.get(category, CategoryTotal()) + total
        return result


# --- what agents see ------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """What a message of one kind would cost if it were delivered now."""

    message: str  # free_form, or a template category
    allowed: bool  # free-form messages need an open service window
    amount_micros: int  # the charge beyond any monthly allowance
    reason: str
    free_within_allowance: bool  # free while the number's monthly service allowance lasts


@dataclass(frozen=True)
class ChatPricingSummary:
    """The windows and conversations open in one chat at `at`, and what the customer has cost."""

    wa_id: str
    at: datetime
    pricing_model: str
    market: str
    market_name: Optional[str]
    currency: str
    service_window_until: Optional[datetime]  # None: closed, only templates may be sent
    free_entry_until: Optional[datetime]  # None: no free entry point window open
    free_entry_reply_by: Optional[datetime]  # reply before this to open the free entry point window
    conversations: Tuple[Conversation, ...]  # CBP: open at `at`
    totals: Mapping[str, CategoryTotal]
    next_message: Tuple[Quote, ...] = ()  # a free-form reply and each template category, if sent now

    @property
    def total_micros(self) -> int:
        return sum(t.micros for t in self.totals.values())

    def as_dict(self) -> Dict[str, Any]:
        return {
            "wa_id": self.wa_id,
            "at": _iso(self.at),
            "pricing_model": self.pricing_model,
            "market": self.market,
            "market_name": self.market_name,
            "currency": self.currency,
            "service_window": {"open": self.service_window_until is not None,
                               "until": _iso(self.service_window_until)},
            "free_entry_point": {"open": self.free_entry_until is not None, "until": _iso(self.free_entry_until),
                                 "reply_by": _iso(self.free_entry_reply_by)},
            "conversations": [
                {"id": c.id, "category": c.category, "opened_at": _iso(c.opened_at), "expires_at": _iso(c.expires_at),
                 "amount": format_micros(c.amount_micros)}
                for c in self.conversations
            ],
            "totals": {
                category: {"messages": t.messages, "charged": t.charged, "amount": format_micros(t.micros)}
                for category, t in sorted(self.totals.items())
            },
            "total": format_micros(self.total_micros),
            "next_message": {
                q.message: {"allowed": q.allowed, "amount": format_micros(q.amount_micros), "reason": q.reason,
                            "free_within_monthly_allowance": q.free_within_allowance}
                for q in self.next_message
            },
        }


def summarize(state: CustomerState, at: datetime, config: PricingConfig, rates: RateCard) -> ChatPricingSummary:
    _check_aware(at)
    w = state.windows
    reply_by = w.referral_reply_by if w.referral_reply_pending(at) else None
    market = rates.market(state.wa_id)
    return ChatPricingSummary(
        wa_id=state.wa_id,
        at=at,
        pricing_model=config.model,
        market=market,
        market_name=rates.market_name(market),
        currency=rates.currency,
        service_window_until=w.service_until if w.service_open(at) else None,
        free_entry_until=w.free_entry_until if w.free_entry_open(at) else None,
        free_entry_reply_by=reply_by,
        conversations=tuple(state.open_conversations(at)) if config.model == CBP else (),
        totals=dict(state.totals),
        next_message=tuple(quote(state, at, message, config, rates) for message in ("free_form", *TEMPLATE_CATEGORIES)),
    )


def quote(state: CustomerState, at: datetime, message: str, config: PricingConfig, rates: RateCard) -> Quote:
    """The price of a free-form message (`free_form`) or a template of a category, delivered at `at`."""
    kind, category = ("free_form", None) if message == "free_form" else ("template", normalize_category(message))
    decision = _decide(state, SentMessage(kind, category, at), at, config)
    amount = rates.rate(rates.market(state.wa_id), decision.category) if decision.chargeable else 0
    allowed = kind == "template" or state.windows.service_open(at)
    return Quote(message, allowed, amount, decision.reason, decision.allowance is not None)


def format_micros(micros: int) -> str:
    """Micro-units as a decimal amount with 6 places, e.g. 25000 -> "0.025000"."""
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), 1_000_000)
    return f"{sign}{whole}.{fraction:06d}"


# --- times and (de)serialisation --------------------------------------------------------------


def from_timestamp(value: Any) -> datetime:
    """Meta's Unix-seconds timestamps (strings or numbers) as aware UTC datetimes."""
    try:
        seconds = int(value)
    except (TypeError, ValueError) as exc:
        raise PricingInputError(f"{value!r} is not a Unix timestamp") from exc
    return datetime.fromtimestamp(seconds, tz=UTC)


def event_to_dict(event: Event) -> Dict[str, Any]:
    data: Dict[str, Any] = {"event": _EVENT_NAMES[type(event)]}
    for f in fields(event):
        value = getattr(event, f.name)
        data[f.name] = _iso(value) if isinstance(value, datetime) else value
    return data


def event_from_dict(data: Mapping[str, Any]) -> Event:
    data = dict(data)
    kind = _EVENT_TYPES.get(str(data.pop("event", "")))
    if kind is None:
        raise PricingInputError(f"unknown pricing event {data!r}")
    try:
        data["at"] = _parse_time(data["at"])
        return kind(**data)
    except (KeyError, TypeError) as exc:
        raise PricingInputError(f"malformed pricing event {data!r}: {exc}") from exc


def state_to_dict(state: CustomerState) -> Dict[str, Any]:
    return {
        "wa_id": state.wa_id,
        "windows": {f.name: _iso(getattr(state.windows, f.name)) for f in fields(state.windows)},
        "conversations": {
            k: {"id": c.id, "category": c.category, "opened_at": _iso(c.opened_at), "expires_at": _iso(c.expires_at),
                "amount_micros": c.amount_micros}
            for k, c in state.conversations.items()
        },
        "undelivered": {
            k: {"kind": m.kind, "category": m.category, "sent_at": _iso(m.sent_at),
                "phone_number_id": m.phone_number_id, "meta_pricing": m.meta_pricing, "from_status": m.from_status}
            for k, m in state.undelivered.items()
        },
        "delivered": {k: _iso(at) for k, at in state.delivered.items()},
        "totals": {k: {"messages": t.messages, "charged": t.charged, "micros": t.micros}
                   for k, t in state.totals.items()},
    }


def state_from_dict(data: Mapping[str, Any]) -> CustomerState:
    return CustomerState(
        wa_id=data["wa_id"],
        windows=win.Windows(**{k: _parse_time(v) for k, v in data.get("windows", {}).items()}),
        conversations={
            k: Conversation(c["id"], c["category"], _parse_time(c["opened_at"]), _parse_time(c["expires_at"]),
                            int(c["amount_micros"]))
            for k, c in data.get("conversations", {}).items()
        },
        undelivered={
            k: SentMessage(m["kind"], m.get("category"), _parse_time(m["sent_at"]), m.get("phone_number_id", ""),
                           m.get("meta_pricing"), bool(m.get("from_status")))
            for k, m in data.get("undelivered", {}).items()
        },
        delivered={k: _parse_time(v) for k, v in data.get("delivered", {}).items()},
        totals={k: CategoryTotal(int(t["messages"]), int(t["charged"]), int(t["micros"]))
                for k, t in data.get("totals", {}).items()},
    )


def charge_to_dict(charge: Charge) -> Dict[str, Any]:
    data = {f.name: getattr(charge, f.name) for f in fields(charge)}
    data["at"] = _iso(charge.at)
    return data


_EVENT_NAMES = {CustomerMessage: "customer_message", BusinessMessage: "business_message", MessageStatus: "status"}
_EVENT_TYPES = {name: kind for kind, name in _EVENT_NAMES.items()}


def month_of(at: datetime) -> str:
    """The calendar month (UTC) a monthly allowance or total counts `at` in: YYYY-MM."""
    return at.astimezone(UTC).strftime("%Y-%m")


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _parse_time(value: Any) -> Any:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    _check_aware(parsed)
    return parsed


def _check_aware(at: Any) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise PricingInputError(f"times must be timezone-aware datetimes, not {at!r}")


def _check_common(wa_id: str, at: datetime) -> None:
    if not isinstance(wa_id, str) or not wa_id.strip():
        raise PricingInputError("every pricing event needs the customer's wa_id")
    _check_aware(at)
