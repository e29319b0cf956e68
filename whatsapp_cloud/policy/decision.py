"""The one decision every outbound message passes, bot or agent: send it, send a template, defer, or block.

Pure: the recipient's state and the clock come in, a Decision goes out; store.py loads the state and
gate.py acts on the decision. Rules (whatsapp-platform.md §3.3, §4):
- free-form (session) messages only inside the customer service window;
- outside it, the approved template that replaces the message, if there is one;
- every template needs the customer's opt-in for its scope; marketing never after an opt-out, and (when
  configured strict) no template at all after any opt-out;
- templates outside a service window reach at most the messaging-limit tier of unique customers per
  rolling 24 h; beyond that they wait for capacity;
- what cannot go now waits (until the customer writes, or until capacity frees) and is never lost;
  what must never go is blocked with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Dict, Optional

from whatsapp_cloud.policy.consent import Consent, scope_of
from whatsapp_cloud.policy.windows import Windows


class Action(str, Enum):
    SEND_SESSION = "send_session"
    SEND_TEMPLATE = "send_template"
    DEFER = "defer"
    BLOCK = "block"


class Until(str, Enum):
    CUSTOMER_WRITES = "customer_writes"
    CAPACITY = "capacity"


TIERS = {"250": 250, "2000": 2000, "10000": 10000, "100000": 100000, "unlimited": None}


@dataclass(frozen=True)
class TemplateUse:
    """A template message as the policy sees it: which one, its category, whether Meta would take it."""

    name: str
    language: str
    category: str  # MARKETING | UTILITY | AUTHENTICATION, as Meta currently classifies it
    payload: Dict[str, Any] = field(default_factory=dict, compare=False)  # the Cloud API `template` object
    problem: Optional[str] = None  # why Meta would refuse it (unknown, paused, bad parameters), if so


@dataclass(frozen=True)
class Outbound:
    """What is to be sent: session content, or a template; plus the template replacing session content."""

    template: Optional[TemplateUse] = None  # None: session (free-form) content
    fallback: Optional[TemplateUse] = None
    fallback_only_reopens: bool = False  # the fallback asks the customer to reply; the message follows

    @property
    def is_session(self) -> bool:
        return self.template is None


@dataclass(frozen=True)
class LimitUsage:
    """Unique customers reached outside a window in the last 24 h, and whether this one is among them."""

    used: int = 0
    recipient_counted: bool = False
    tier: Optional[int] = 250  # None: unlimited


@dataclass(frozen=True)
class RecipientState:
    windows: Windows = Windows()
    consent: Consent = Consent()
    limit: LimitUsage = LimitUsage()
    waiting: int = 0  # messages already deferred for this customer


@dataclass(frozen=True)
class PolicyRules:
    opted_out_blocks_all_templates: bool = True


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    template: Optional[TemplateUse] = None  # the template to send (SEND_TEMPLATE)
    until: Optional[Until] = None  # what a DEFER waits for
    outside_window: bool = False  # the send counts against the messaging limit

    @property
    def sends(self) -> bool:
        return self.action in (Action.SEND_SESSION, Action.SEND_TEMPLATE)


DEFAULT_RULES = PolicyRules()


def decide(state: RecipientState, message: Outbound, now: datetime, rules: PolicyRules = DEFAULT_RULES) -> Decision:
    if message.is_session:
        if state.windows.service_open(now):
            return Decision(Action.SEND_SESSION, "customer service window open")
        if message.fallback is None:
            return Decision(Action.DEFER, "customer service window closed and no template replaces this message",
                            until=Until.CUSTOMER_WRITES)
        if message.fallback_only_reopens and state.waiting:
            # The customer was already asked to reply; one such template is enough.
            return Decision(Action.DEFER, "window closed; earlier messages already wait for the customer's reply",
                            until=Until.CUSTOMER_WRITES)
        via_fallback = _template(state, message.fallback, now, rules)
        if via_fallback.action == Action.BLOCK:
            # The session content can still go once the customer writes again.
            return Decision(Action.DEFER, f"window closed; template {message.fallback.name} not possible: "
                            f"{via_fallback.reason}", until=Until.CUSTOMER_WRITES)
        return via_fallback
    return _template(state, message.template, now, rules)  # type: ignore[arg-type]


def _template(state: RecipientState, template: TemplateUse, now: datetime, rules: PolicyRules) -> Decision:
    if template.problem:
        return Decision(Action.BLOCK, f"template {template.name}: {template.problem}")
    scope = scope_of(template.category)
    consent = state.consent
    if consent.opted_out(scope):
        return Decision(Action.BLOCK, f"customer opted out of {scope} messages")
    if rules.opted_out_blocks_all_templates and consent.opted_out_anywhere:
        return Decision(Action.BLOCK, "customer opted out; no business-initiated messages until they opt in again")
    if not consent.opted_in(scope):
        return Decision(Action.BLOCK, f"no {scope} opt-in for template {template.name}")
    outside = not state.windows.service_open(now)
    limit = state.limit
    if outside and not limit.recipient_counted and limit.tier is not None and limit.used >= limit.tier:
        return Decision(Action.DEFER, f"messaging limit of {limit.tier} customers per 24 h reached",
                        template=template, until=Until.CAPACITY, outside_window=True)
    return Decision(Action.SEND_TEMPLATE, f"template {template.name} ({template.category.lower()})",
                    template=template, outside_window=outside)
