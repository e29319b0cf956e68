"""The policy at the send path: load a recipient's state, decide, and record what a decision changes.

Used by OutboundSender for every message; logs and counts every defer and block with its reason.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, Dict, Optional, Tuple

import redis
import redis.asyncio as aioredis

from whatsapp_cloud import metrics
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import EventLog
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.decision import Action, Decision, Outbound, TemplateUse, Until, decide
from whatsapp_cloud.policy.store import PolicyStore, Snapshot, SyncPolicyStore
from whatsapp_cloud.policy.templates import TemplateError, TemplateRegistry, template_key
from whatsapp_cloud.policy.windows import Windows

logger = logging.getLogger(__name__)


def template_use(registry: TemplateRegistry, template_object: Dict[str, Any], snapshot: Snapshot) -> TemplateUse:
    """A template body as the decision sees it, with Meta's latest status and category for it."""
    name = str(template_object.get("name") or "")
    language = str((template_object.get("language") or {}).get("code") or "")
    current = registry.with_overrides(snapshot.template_status, snapshot.template_category)
    key = template_key(name, language)
    try:
        template = current.check(template_object)
    except TemplateError as exc:
        known = current.get(name, language)
        return TemplateUse(name, language, known.category if known else "UTILITY", template_object, str(exc))
    return TemplateUse(name, language, snapshot.template_category.get(key, template.category), template_object)


def plan_message(
    snapshot: Snapshot, payload: Dict[str, Any], fallback: Optional[Dict[str, Any]], registry: TemplateRegistry,
    config: PolicyConfig, assume_window_closed: bool = False, ignore_waiting: bool = False,
) -> Decision:
    """The decision for one Cloud API payload (and its template fallback) given a recipient's snapshot.

    `ignore_waiting`: the message is itself the first one waiting (for capacity), so no earlier message
    has asked the customer to reply yet.
    """
    state = snapshot.state
    if assume_window_closed:  # Meta said so (131047): trust it over our own record
        state = replace(state, windows=replace(state.windows, service_until=None))
    if ignore_waiting:
        state = replace(state, waiting=0)
    outbound = Outbound(
        template=template_use(registry, payload["template"], snapshot) if payload.get("type") == "template" else None,
        fallback=template_use(registry, fallback["template"], snapshot) if fallback else None,
        fallback_only_reopens=bool(fallback and fallback.get("keep_original")),
    )
    return decide(state, outbound, snapshot.now, config.rules)


class SyncPolicyCheck:
    """For blocking code (the handoff service's agent inbox): what the policy would do with a message now."""

    def __init__(self, store: redis.Redis, config: Optional[PolicyConfig] = None,
                 registry: Optional[TemplateRegistry] = None) -> None:
        self.config = config or PolicyConfig()
        self.state = SyncPolicyStore(store, self.config)
        self.registry = registry or TemplateRegistry.from_file(self.config.templates_file)

    def plan(self, recipient: str, payload: Dict[str, Any], fallback: Optional[Dict[str, Any]] = None) -> Decision:
        return plan_message(self.state.snapshot(recipient), payload, fallback, self.registry, self.config)


class PolicyGate:
    def __init__(
        self, store: aioredis.Redis, config: Optional[PolicyConfig] = None,
        registry: Optional[TemplateRegistry] = None, events: Optional[EventLog] = None,
    ) -> None:
        self.config = config or PolicyConfig()
        self.state = PolicyStore(store, self.config)
        self.registry = registry or TemplateRegistry.from_file(self.config.templates_file)
        self.events = events or EventLog(store)

    async def plan(
        self, recipient: str, payload: Dict[str, Any], fallback: Optional[Dict[str, Any]] = None,
        assume_window_closed: bool = False, ignore_waiting: bool = False,
    ) -> Tuple[Decision, Snapshot]:
        snapshot = await self.state.snapshot(recipient)
        decision = plan_message(snapshot, payload, fallback, self.registry, self.config, assume_window_closed,
                                ignore_waiting)
        metrics.POLICY_DECISIONS.labels(decision.action.value).inc()
        return decision, snapshot

    async def sent(self, recipient: str, decision: Decision, at: datetime) -> Windows:
        return await self.state.record_business_message(recipient, at, decision.outside_window)

    async def defer(self, recipient: str, decision: Decision, item: Dict[str, Any]) -> None:
        until = decision.until.value if decision.until else Until.CUSTOMER_WRITES.value
        await self.state.defer(recipient, {**item, "reason": decision.reason, "until": until},
                               until == Until.CAPACITY.value)
        self._log(recipient, decision, item.get("label", ""))
        await self.events.record(kinds.OUTBOUND_DEFERRED, recipient=recipient, reason=decision.reason,
                                 until=decision.until.value if decision.until else "", label=item.get("label", ""))

    async def block(self, recipient: str, decision: Decision, label: str) -> None:
        self._log(recipient, decision, label)
        await self.events.record(kinds.OUTBOUND_BLOCKED, recipient=recipient, reason=decision.reason, label=label)

    @staticmethod
    def _log(recipient: str, decision: Decision, label: str) -> None:
        metrics.POLICY_HELD.labels(decision.action.value, _reason_kind(decision.reason)).inc()
        level = logging.WARNING if decision.action == Action.BLOCK else logging.INFO
        logger.log(level, "%s message to %s (%s): %s", decision.action.value, recipient, label or "-",
                   decision.reason)


def _reason_kind(reason: str) -> str:
    """A short, bounded label for metrics (the full reason is in the log and the event stream)."""
    for needle, kind in (("opted out", "opted_out"), ("opt-in", "no_opt_in"), ("messaging limit", "messaging_limit"),
                         ("window closed", "window_closed"), ("template", "template_unusable")):
        if needle in reason:
            return kind
    return "other"
