"""Planning a campaign: recipients read and checked, parameters frozen, and the plan before sending.

The plan asks the same policy the governor applies (whatsapp_cloud.policy.gate.plan_message) what it would
do with each queued recipient now, counts the messaging limit as the campaign would use it up, and prices
what would go with the cost ledger's engine. What this module leaves out: sending (sending.py).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from campaigns.model import BLOCKED, QUEUED, Outcome
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.decision import Action, Until
from whatsapp_cloud.policy.gate import plan_message
from whatsapp_cloud.policy.store import SyncPolicyStore
from whatsapp_cloud.policy.templates import Template, TemplateError, TemplateRegistry
from whatsapp_cloud.pricing.cost_ledger import SyncCostLedger
from whatsapp_cloud.pricing.engine import format_micros

WA_ID = re.compile(r"^\d{6,15}$")
MAX_RECIPIENTS = 100_000


class InvalidCampaign(ValueError):
    """The request cannot make a campaign; the message says what to fix."""


@dataclass(frozen=True)
class Planned:
    """Recipients ready to store: (wa_id, frozen values, first status), duplicates dropped."""

    template: Template
    recipients: List[Tuple[str, Dict[str, str], Outcome]]
    duplicates: int


def template_payload(wa_id: str, template_object: Mapping[str, Any]) -> Dict[str, Any]:
    return {"recipient_type": "individual", "to": wa_id, "type": "template", "template": dict(template_object)}


def plan_recipients(registry: TemplateRegistry, name: str, language: str, rows: Iterable[Mapping[str, Any]],
                    at: float) -> Planned:
    try:
        template = registry.usable(name, language)
    except TemplateError as exc:
        raise InvalidCampaign(exc.message) from exc
    names = [p.name for component in ("header", "body") for p in template.expected(component)]
    seen: set = set()
    planned: List[Tuple[str, Dict[str, str], Outcome]] = []
    duplicates = 0
    for position, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            raise InvalidCampaign(f"recipient {position}: expected an object with wa_id and values")
        wa_id = re.sub(r"[\s+()-]", "", str(row.get("wa_id") or ""))
        if not WA_ID.match(wa_id):
            raise InvalidCampaign(f"recipient {position}: wa_id {row.get('wa_id')!r} is not a phone number in "
                                  "international format (digits, country code first)")
        if wa_id in seen:
            duplicates += 1  # one message per customer, whatever the list says
            continue
        seen.add(wa_id)
        given = row.get("values") or {}
        if not isinstance(given, Mapping):
            raise InvalidCampaign(f"recipient {position}: values must be an object of parameter name -> text")
        values = {n: str(given[n]) for n in names if given.get(n) is not None}
        try:
            registry.build(name, language, values)
            outcome = Outcome(QUEUED, at=at)
        except TemplateError as exc:
            outcome = Outcome(BLOCKED, reason=f"parameters: {exc.message}", at=at)
        planned.append((wa_id, values, outcome))
    if not planned:
        raise InvalidCampaign("the campaign has no recipients")
    if len(planned) > MAX_RECIPIENTS:
        raise InvalidCampaign(f"at most {MAX_RECIPIENTS:,} recipients per campaign")
    return Planned(template, planned, duplicates)


def rows_from_csv(text: str) -> List[Dict[str, Any]]:
    """A CSV with a `wa_id` column and one column per template parameter, named as in whatsapp_templates.yml."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "wa_id" not in [f.strip() for f in reader.fieldnames]:
        raise InvalidCampaign("the CSV needs a header line with a wa_id column and one column per parameter")
    rows = []
    for line in reader:
        line = {(k or "").strip(): (v or "").strip() for k, v in line.items()}
        rows.append({"wa_id": line.pop("wa_id"), "values": {k: v for k, v in line.items() if k and v}})
    return rows


def plan(policy: SyncPolicyStore, costs: SyncCostLedger, registry: TemplateRegistry, config: PolicyConfig,
         campaign: Mapping[str, Any], queued: Sequence[Tuple[str, Mapping[str, str]]],
         messages_per_second: int) -> Dict[str, Any]:
    """What would happen to the queued recipients if the campaign were sent now."""
    name, language = campaign["template"], campaign["language"]
    allowed, over_limit = 0, 0
    blocked: Counter = Counter()
    cost: Counter = Counter()
    currency = ""
    tier: Optional[int] = config.tier
    used: Optional[int] = None
    for wa_id, values in queued:
        snapshot = policy.snapshot(wa_id)
        try:
            payload = template_payload(wa_id, registry.build(name, language, values))
        except TemplateError as exc:
            blocked[f"template {name}: {exc.message}"] += 1
            continue
        decision = plan_message(snapshot, payload, None, registry, config)
        if used is None:
            used = snapshot.state.limit.used
        if decision.action == Action.BLOCK:
            blocked[decision.reason] += 1
            continue
        counts_against_limit = decision.outside_window and not snapshot.state.limit.recipient_counted
        full = tier is not None and counts_against_limit and used >= tier
        if decision.action == Action.DEFER and decision.until == Until.CAPACITY or full:
            over_limit += 1
            continue
        if counts_against_limit:
            used += 1  # this campaign's own sends use the limit up as it goes
        allowed += 1
        category = (decision.template.category if decision.template else "UTILITY").lower()
        summary = costs.summary(wa_id, at=snapshot.now, windows=snapshot.state.windows)
        quote = next((q for q in summary.next_message if q.message == category), None)
        cost[category] += quote.amount_micros if quote else 0
        currency = summary.currency
    return {
        "queued": len(queued),
        "allowed": allowed,
        "blocked": sum(blocked.values()),
        "blocked_by_reason": dict(blocked.most_common()),
        "over_todays_limit": over_limit,
        "messaging_limit": {"tier": tier, "used_last_24h": used or 0},
        "estimated_cost": {"currency": currency, "by_category": {c: format_micros(m) for c, m in cost.items()},
                           "total": format_micros(sum(cost.values()))},
        "estimated_seconds": math.ceil(allowed / messages_per_second) if allowed else 0,
    }
