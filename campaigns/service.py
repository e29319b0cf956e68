"""Campaigns for blocking callers (the handoff service's API, the command line): create, read, plan,
pause, resume, cancel, retry-failed. The worker (worker.py) does the sending.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import redis

from campaigns import replies
from campaigns import store as programs
from campaigns.model import (
    CANCELLED,
    DRAFT,
    FAILED,
    NEVER_RETRIED,
    PAUSED,
    QUEUED,
    RETRIED_ONLY_WHEN_NAMED,
    SCHEDULED,
    SENDING,
    STATUSES,
    Outcome,
)
from campaigns.planning import InvalidCampaign, plan, plan_recipients
from campaigns.settings import CampaignSettings
from campaigns.store import SyncRunner
from stack import components
from whatsapp_cloud.policy.store import SyncPolicyStore
from whatsapp_cloud.policy.templates import TemplateRegistry
from whatsapp_cloud.pricing.cost_ledger import SyncCostLedger


class CampaignNotFound(KeyError):
    def __str__(self) -> str:
        return f"no campaign {self.args[0]}"


class WrongState(ValueError):
    """The campaign is not in a state that allows this (e.g. resuming a cancelled one)."""


class Campaigns:
    def __init__(self, store: redis.Redis, env: Mapping[str, str],
                 registry: Optional[TemplateRegistry] = None) -> None:
        self.config = components.policy_config(env)
        self.settings = CampaignSettings.from_env(env)
        self.registry = registry or TemplateRegistry.from_file(self.config.templates_file)
        self.policy = SyncPolicyStore(store, self.config)
        self.costs = SyncCostLedger(store, *components.pricing(env), retention=self.config.retention)
        self.run = SyncRunner(store)
        self.events_max = self.config.retention.event_stream_max

    def notification_sent(self, wamid: str, template: str, language: str) -> None:
        """Remember where a notification came from, so a reply to it names its template (replies.py)."""
        self.run(replies.record_origin_program(wamid, "notification", template, language,
                                               self.settings.retention_seconds))

    def create(self, name: str, template: str, language: str, rows: Iterable[Mapping[str, Any]],
               start_at: Optional[str] = None, draft: bool = False, created_by: str = "") -> Dict[str, Any]:
        """Plan and store a campaign (parameters frozen now); it starts at once unless draft or start_at says."""
        now = time.time()
        start = _start_time(start_at)
        planned = plan_recipients(self.registry, template, language, rows, now)
        state = DRAFT if draft else SCHEDULED if start and start > now else SENDING
        cid = secrets.token_hex(8)
        fields = {"id": cid, "name": name or cid, "template": template, "language": language,
                  "category": planned.template.category, "state": state, "reason": "", "created_at": repr(now),
                  "updated_at": repr(now), "start_at": repr(start or now), "created_by": created_by,
                  "phone_number_id": self.config.phone_number_id, "total": str(len(planned.recipients)),
                  "duplicates_dropped": str(planned.duplicates)}
        self.run(programs.create_program(fields, planned.recipients, self.events_max))
        return self.get(cid)

    def get(self, cid: str) -> Dict[str, Any]:
        found = self.run(programs.campaign_program(cid))
        if found is None:
            raise CampaignNotFound(cid)
        return public(found)

    def list(self, count: int = 100) -> List[Dict[str, Any]]:
        return [self.get(cid) for cid in self.run(programs.list_program(count))]

    def recipients(self, cid: str, offset: int = 0, limit: int = 500,
                   status: Optional[str] = None) -> List[Dict[str, Any]]:
        self.get(cid)
        if status is not None and status not in STATUSES:
            raise InvalidCampaign(f"status must be one of {', '.join(STATUSES)}")
        found: List[Dict[str, Any]] = []
        position = offset
        while len(found) < limit:
            batch = self.run(programs.slice_program(cid, position, programs.CHUNK))
            if not batch:
                break
            position += len(batch)
            found += [{"wa_id": wa_id, **o.as_dict()} for wa_id, o in batch if status is None or o.status == status]
        return found[:limit]

    def plan(self, cid: str) -> Dict[str, Any]:
        campaign = self.get(cid)
        queued = [r["wa_id"] for r in self.recipients(cid, limit=campaign["total"], status=QUEUED)]
        values = {}
        for chunk in programs.chunks(queued):
            values.update(self.run(programs.values_program(cid, chunk)))
        return plan(self.policy, self.costs, self.registry, self.config, campaign,
                    [(w, values.get(w, {})) for w in queued], self.settings.messages_per_second)

    def start(self, cid: str) -> Dict[str, Any]:
        return self._move(cid, SENDING, "started", (DRAFT, SCHEDULED))

    def pause(self, cid: str, reason: str = "paused by an operator") -> Dict[str, Any]:
        return self._move(cid, PAUSED, reason)

    def resume(self, cid: str) -> Dict[str, Any]:
        return self._move(cid, SENDING, "resumed", (PAUSED,))

    def cancel(self, cid: str) -> Dict[str, Any]:
        campaign = self._move(cid, CANCELLED, "cancelled by an operator")
        self.run(programs.expire_program(cid, self.settings.retention_seconds))
        return campaign

    def retry_failed(self, cid: str, codes: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        """Queue failed recipients again (a new attempt, so a new idempotency key) and send the campaign."""
        codes = [str(c) for c in codes] if codes else None
        refused = sorted(set(codes or ()) & set(NEVER_RETRIED))
        if refused:
            raise InvalidCampaign(f"{', '.join(refused)}: the customer stopped marketing messages; never retried")
        campaign = self.get(cid)
        if campaign["state"] in (CANCELLED, DRAFT):
            raise WrongState(f"campaign {cid} is {campaign['state']}")
        queued = 0
        for record in self.recipients(cid, limit=campaign["total"], status=FAILED):
            code = record.get("code", "")
            wanted = code in codes if codes else code not in NEVER_RETRIED + RETRIED_ONLY_WHEN_NAMED
            again = Outcome(QUEUED, reason=f"retry after {code or 'failure'}", attempt=int(record["attempt"]) + 1,
                            at=time.time())
            if wanted and self.run(programs.set_status_program(cid, record["wa_id"], again, [FAILED])):
                queued += 1
        if queued and campaign["state"] != SENDING:
            self.run(programs.set_state_program(cid, SENDING, f"retrying {queued} failed recipients", None,
                                                self.events_max, (PAUSED, "completed")))
        return {**self.get(cid), "requeued": queued}

    def _move(self, cid: str, state: str, reason: str, allowed: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        current = self.get(cid)
        if self.run(programs.set_state_program(cid, state, reason, None, self.events_max, allowed)) is None:
            raise WrongState(f"campaign {cid} is {current['state']}; it cannot become {state}")
        return self.get(cid)


def public(found: Mapping[str, Any]) -> Dict[str, Any]:
    """A campaign as the API shows it."""
    number = lambda name: float(found[name]) if found.get(name) else None  # noqa: E731
    return {"id": found["id"], "name": found["name"], "template": found["template"], "language": found["language"],
            "category": found["category"], "state": found["state"], "reason": found.get("reason") or None,
            "created_at": number("created_at"), "updated_at": number("updated_at"), "start_at": number("start_at"),
            "created_by": found.get("created_by") or None, "total": found["total"],
            "duplicates_dropped": int(found.get("duplicates_dropped") or 0),
            "counts": found["counts"], "failures_by_code": found["failures_by_code"]}


def _start_time(start_at: Optional[str]) -> Optional[float]:
    if not start_at:
        return None
    try:
        moment = datetime.fromisoformat(str(start_at).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidCampaign(f"start_at {start_at!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise InvalidCampaign("start_at needs a time zone (e.g. 2026-12-01T09:00:00+01:00 or ...Z)")
    return moment.timestamp()
