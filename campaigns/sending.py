"""Sending a campaign: each queued recipient through the one outbound governor, paced, at most once.

A recipient is marked `sending` before its message goes out; the governor's idempotency key (campaign,
recipient, attempt) is reserved before the request to Meta. After a crash, a `sending` recipient is
delivered again under the same key: the governor answers with the wamid of a message that went out, sends
one that never started, and reports a send interrupted half-way, which is recorded as failed
(`interrupted`) rather than risk a second message. Delivery statuses and replies are read back from the
platform's own records (`wa:out:{wamid}`, the policy's windows) by `settle`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, Mapping, Optional, Tuple

import redis.asyncio as aioredis

from campaigns import replies
from campaigns import store as programs
from campaigns.model import (
    BLOCKED,
    COMPLETED,
    DELIVERED,
    FAILED,
    FORWARD,
    INTERRUPTED,
    PAUSED,
    QUEUED,
    READ,
    REPLIED,
    SENDING,
    SENDING_NOW,
    SENT,
    Outcome,
    idempotency_key,
)
from campaigns.pacing import Pacer
from campaigns.planning import template_payload
from campaigns.settings import CampaignSettings
from campaigns.store import AsyncRunner, chunks
from whatsapp_cloud.outbound.sender import Delivery, OutboundSender
from whatsapp_cloud.policy.decision import Action, Until
from whatsapp_cloud.policy.templates import TemplateError

logger = logging.getLogger(__name__)

# What one recipient's send came to, besides a status: wait for capacity, or stop for the template.
WAIT_FOR_CAPACITY = "wait_for_capacity"
TEMPLATE_UNUSABLE = "template_unusable"
SETTLE_EVERY_SECONDS = 2.0  # while sending, read delivery statuses this often (Meta reports 131049/131050 there)


def outcome_of(delivery: Delivery, attempt: int) -> Optional[Outcome]:
    """The recipient's record after a delivery; None when the policy holds it for messaging-limit capacity."""
    now = time.time()
    decision, result = delivery.decision, delivery.result
    if result is not None:
        return Outcome(SENT, wamid=result.wamid, attempt=attempt, at=now)
    if decision is None:  # the key was taken by a send that never recorded its end: it may have gone out
        return Outcome(FAILED, code=INTERRUPTED, attempt=attempt, at=now,
                       reason="a worker stopped during this send; it is not sent again so that nobody gets it twice")
    if decision.action == Action.DEFER and decision.until == Until.CAPACITY:
        return None
    if not decision.sends:
        return Outcome(BLOCKED, reason=decision.reason, attempt=attempt, at=now)
    error = delivery.error
    code = "" if error is None or error.code is None else str(error.code)
    return Outcome(FAILED, code=code, reason=error.message if error else "not sent", attempt=attempt, at=now)


class CampaignSender:
    def __init__(self, sender: OutboundSender, store: aioredis.Redis, settings: CampaignSettings) -> None:
        self.sender = sender
        self.run = AsyncRunner(store)
        self.settings = settings
        self.registry = sender.policy.registry
        self.phone_number_id = sender.client.config.phone_number_id
        self.pacer = Pacer(store, self.phone_number_id, settings.messages_per_second)
        self.events_max = sender.retention.event_stream_max
        self._settled_at = 0.0

    async def send_pass(self, cid: str, still_ours: Any = lambda: True) -> str:
        """Send every queued recipient once; what the pass ended with (a campaign state, or 'waiting')."""
        campaign = await self.run(programs.campaign_program(cid))
        if not campaign or campaign["state"] != SENDING:
            return campaign["state"] if campaign else "missing"
        start = 0
        while True:
            batch = await self.run(programs.slice_program(cid, start, programs.CHUNK))
            if not batch:
                break
            start += len(batch)
            todo = [(w, o) for w, o in batch if o.status in (QUEUED, SENDING_NOW)]
            while todo:
                group, todo = await self._next_group(todo)
                state = await self.run(programs.state_program(cid))
                if state != SENDING or not still_ours():
                    return state or "missing"
                values = await self.run(programs.values_program(cid, [w for w, _ in group]))
                results = await asyncio.gather(*(self._send_one(cid, campaign, w, o, values.get(w, {}))
                                                 for w, o in group))
                if TEMPLATE_UNUSABLE in results:
                    reason = f"template {campaign['template']} ({campaign['language']}) cannot be used now"
                    await self._pause(cid, reason)
                    return PAUSED
                if WAIT_FOR_CAPACITY in results:
                    await self.run(programs.set_due_program(cid, time.time() + self.settings.capacity_retry_seconds))
                    return "waiting"
                if time.monotonic() - self._settled_at > SETTLE_EVERY_SECONDS:
                    await self.settle(cid)
                if await self.guardrail(cid):
                    return PAUSED
        await self.settle(cid)
        if await self.guardrail(cid):
            return PAUSED
        campaign = await self.run(programs.campaign_program(cid))
        if campaign["counts"].get(QUEUED) or campaign["counts"].get(SENDING_NOW):
            return "waiting"  # e.g. retry-failed queued recipients behind this pass
        if await self.run(programs.set_state_program(cid, COMPLETED, "every recipient handled", None,
                                                     self.events_max)):
            await self.run(programs.expire_program(cid, self.settings.retention_seconds))
            await self.run(programs.settling_program(cid, time.time() + self.settings.reply_window_seconds))
        return COMPLETED

    async def _next_group(self, todo: list) -> Tuple[list, list]:
        """The next sends to run at once. The policy checks the messaging limit per message, not atomically
        with the send: near the tier, concurrent sends could all see room for one more, so they go one by one."""
        size = self.settings.concurrency
        limit = (await self.sender.policy.state.snapshot(todo[0][0])).state.limit
        if limit.tier is not None and limit.tier - limit.used < size:
            size = 1
        return todo[:size], todo[size:]

    async def _send_one(self, cid: str, campaign: Mapping[str, Any], wa_id: str, outcome: Outcome,
                        values: Mapping[str, str]) -> str:
        attempt = outcome.attempt
        if outcome.status == QUEUED and not await self.run(programs.set_status_program(
                cid, wa_id, Outcome(SENDING_NOW, attempt=attempt, at=time.time()), [QUEUED])):
            return "skipped"  # changed meanwhile (retry-failed, another worker)
        try:
            template = self.registry.build(campaign["template"], campaign["language"], values)
        except TemplateError as exc:
            await self._set(cid, wa_id, Outcome(BLOCKED, reason=f"parameters: {exc.message}", attempt=attempt,
                                                at=time.time()))
            return BLOCKED
        async with self.pacer.slot():
            delivery = await self.sender.deliver(template_payload(wa_id, template),
                                                 key=idempotency_key(cid, wa_id, attempt),
                                                 label=f"campaign:{cid}", may_queue=False)
        new = outcome_of(delivery, attempt)
        if new is None:
            await self._set(cid, wa_id, Outcome(QUEUED, reason="waiting for messaging-limit capacity",
                                                attempt=attempt, at=time.time()))
            return WAIT_FOR_CAPACITY
        if new.status == BLOCKED and new.reason.startswith("template "):
            # Paused, disabled or recategorised by Meta: the campaign stops instead of blocking everyone.
            await self._set(cid, wa_id, Outcome(QUEUED, reason=new.reason, attempt=attempt, at=time.time()))
            return TEMPLATE_UNUSABLE
        if new.status == SENT:  # a reply quoting it names the campaign and its template (replies.py)
            await self.run(replies.record_origin_program(new.wamid, "campaign", campaign["template"],
                                                         campaign["language"], self.settings.retention_seconds,
                                                         cid, campaign.get("name", "")))
        await self._set(cid, wa_id, new)
        return new.status

    async def _set(self, cid: str, wa_id: str, outcome: Outcome) -> None:
        await self.run(programs.set_status_program(cid, wa_id, outcome, [SENDING_NOW]))

    async def guardrail(self, cid: str) -> Optional[str]:
        campaign = await self.run(programs.campaign_program(cid))
        reason = self.settings.guardrail.reason_to_pause(campaign["counts"], campaign["failures_by_code"])
        if reason:
            await self._pause(cid, reason)
        return reason

    async def _pause(self, cid: str, reason: str) -> None:
        if await self.run(programs.set_state_program(cid, PAUSED, reason, None, self.events_max, [SENDING])):
            logger.warning("campaign %s paused: %s", cid, reason)

    async def settle(self, cid: str) -> int:
        """Move recipients forward from the delivery records and the customers' messages; how many moved."""
        self._settled_at = time.monotonic()
        moved = 0
        service = self.sender.policy.config.windows.service.total_seconds()
        for group in chunks(await self.run(programs.tracking_program(cid))):
            records = await self.run(programs.records_program(cid, group))
            ids = [w for w in group if records.get(w) and records[w].wamid]
            deliveries = await self.run(programs.delivery_program([records[w].wamid for w in ids]))
            windows = await self.run(programs.service_until_program(ids, self.phone_number_id))
            for wa_id, delivery, service_until in zip(ids, deliveries, windows, strict=True):
                new = self._next(records[wa_id], delivery, service_until, service)
                if new is not None and await self.run(
                        programs.set_status_program(cid, wa_id, new, FORWARD[new.status])):
                    moved += 1
        return moved

    def _next(self, current: Outcome, delivery: Dict[str, str], service_until: Optional[float],
              service_seconds: float) -> Optional[Outcome]:
        wrote_at = service_until - service_seconds if service_until else None
        if wrote_at is not None and current.at <= wrote_at <= current.at + self.settings.reply_window_seconds:
            return _moved(current, REPLIED)
        status = delivery.get("status")
        if status == "failed" and current.status == SENT:
            return _moved(current, FAILED, code=delivery.get("error_code", ""),
                          reason=delivery.get("error_details", ""))
        target = {"delivered": DELIVERED, "read": READ, "played": READ}.get(status or "")
        if target and current.status in FORWARD[target]:
            return _moved(current, target)
        return None


def _moved(current: Outcome, status: str, **changes: Any) -> Outcome:
    return Outcome(status, wamid=current.wamid, code=changes.get("code", current.code),
                   reason=changes.get("reason", current.reason), attempt=current.attempt, at=current.at)

