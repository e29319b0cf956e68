"""What the WhatsApp channel tells the messaging policy: customers writing, statuses, preferences, templates.

- every inbound message refreshes the customer's windows from its OWN timestamp (per business number);
- an exact opt-out / opt-in keyword (or an opt-out / opt-in button) is recorded in the consent ledger at
  once, with the message's own time, and reaches Rasa as the `/opt_out` / `/opt_in` intent; the button of
  the opt-in confirmation (sent after the opt-in page) notes the confirmation on the opt-in it confirms;
- then what waited for the customer is sent (before the bot answers the new message), except after an
  opt-out: a STOP is answered by its confirmation and nothing else;
- a 131047 in a failed status re-plans that message (its template, or wait for the customer; an agent's
  message is never queued); 131050 and `user_preferences` record marketing opt-outs; a free entry
  conversation's expiration is Meta's to say. Each effect is idempotent, so a status handled again after
  a failure (it is marked done only once handled) repeats nothing;
- template status and category webhooks update the registry's view of Meta, in the order of Meta's own
  times (and are reported); a template submitted from the app follows its review (template_submissions.py).
"""

import asyncio
import logging
from datetime import datetime
from typing import Any, Awaitable, Dict, List, Optional, Tuple

from whatsapp_cloud.events import kinds
from whatsapp_cloud.graph.errors import MarketingStopped, ReEngagementMessage, error_for
from whatsapp_cloud.outbound.sender import OutboundSender
from whatsapp_cloud.policy import consent
from whatsapp_cloud.policy.store import utc
from whatsapp_cloud.policy.template_submissions import TemplateReviews
from whatsapp_cloud.policy.templates import template_key
from whatsapp_cloud.pricing.engine import PricingInputError
from whatsapp_cloud.webhooks import inbound

logger = logging.getLogger(__name__)

FREE_ENTRY_MARKERS = ("referral_conversion", "free_entry_point")
RESTORING_STATUSES = {"REINSTATED": "APPROVED"}  # Meta's word for a template usable again after a pause


class PolicyHooks:
    def __init__(self, sender: OutboundSender, business_name: str,
                 reviews: Optional[TemplateReviews] = None) -> None:
        self.sender = sender
        self.reviews = reviews  # templates submitted from the app: their review, and the registry file
        self.business_name = business_name  # named in the opt-in the customer agreed to
        self.state = sender.policy.state
        self.keywords = sender.policy.config.keywords
        self.events = sender.events
        self.costs = sender.costs
        self._consent_changes: Dict[str, List[str]] = {}  # wamid -> scopes it changed, until its turn

    async def on_inbound(self, message: inbound.InboundMessage) -> None:
        """Every customer message, whoever answers it (bot or agent): windows, consent keywords, what waited."""
        if message.type == "system":  # Meta's notices about the customer are not the customer writing
            return
        state = self.state.for_number(message.phone_number_id)
        sent_at = utc(message.timestamp) if message.timestamp > 0 else await state.now()
        await state.record_inbound(message.sender, sent_at, from_referral=message.referral is not None)
        await self._price(self.costs.record_inbound(message), message.wamid)
        confirmation = consent.confirmation_for(message.text, message.type, inbound.reply_title(message))
        if confirmation is not None:
            # The tap on the opt-in confirmation's button: noted on the opt-in it confirms (once).
            noted = await state.confirm_consent(message.sender, confirmation, at=sent_at)
            if noted:
                await self.events.record(kinds.CONSENT, recipient=message.sender, status="confirmed",
                                         source="button", scopes=",".join(noted))
            self._consent_changes[message.wamid] = list(noted)
        change = consent.change_for(self.keywords, message.text, message.type, self.business_name)
        if change is not None:
            # Consent first: nothing that waited may go out as the answer to a STOP.
            changed = await state.record_consent(message.sender, change.status, change.scopes, change.source,
                                                 change.wording, at=sent_at)
            await self.events.record(kinds.CONSENT, recipient=message.sender, status=change.status,
                                     source=change.source, scopes=",".join(changed))
            self._consent_changes[message.wamid] = list(changed)
            if change.status == "out":
                return
        await self.sender.flush(message.sender)

    def turn_text(self, message: inbound.InboundMessage) -> Tuple[Optional[str], Dict[str, Any]]:
        """What Rasa reads for a message (a consent keyword becomes its intent) and metadata to add: whether
        this very message changed the customer's consent, so the bot confirms once per change."""
        intent = self.keywords.intent_for(message.text, message.type)
        if intent is None:
            return message.text, {}
        changed = self._consent_changes.pop(message.wamid, [])
        return intent, {"wa_consent_changed": changed, "wa_consent_text": message.text}

    async def on_status(self, update: inbound.StatusUpdate) -> None:
        await self._price(self.costs.record_status(update), update.wamid)
        failures = {error_for(code) for code in update.error_codes}
        if update.status == "failed" and ReEngagementMessage in failures:
            await self._replan(update)
        if update.status == "failed" and MarketingStopped in failures:
            await self._record_preference(update.recipient, "out", "error_131050",
                                          "Meta refused a marketing template: the customer stopped marketing",
                                          update.timestamp, update.phone_number_id)
        conversation = update.conversation or {}
        origin = str((conversation.get("origin") or {}).get("type", ""))
        pricing = update.pricing or {}
        if conversation.get("expiration_timestamp") and (
            origin in FREE_ENTRY_MARKERS or pricing.get("type") in FREE_ENTRY_MARKERS
            or pricing.get("category") in FREE_ENTRY_MARKERS
        ):
            await self.state.for_number(update.phone_number_id).record_conversation_expiration(
                update.recipient, utc(int(conversation["expiration_timestamp"])))

    async def on_event(self, event: inbound.Event) -> None:
        if isinstance(event, inbound.PreferenceUpdate) and event.category == "marketing_messages":
            if event.value in ("stop", "resume"):
                await self._record_preference(event.sender, "out" if event.value == "stop" else "in",
                                              "user_preferences", event.detail, event.timestamp,
                                              getattr(event, "phone_number_id", ""))
        elif isinstance(event, inbound.OtherChange) and event.field == "message_template_status_update":
            await self._template_status(event.value, getattr(event, "time", 0))
        elif isinstance(event, inbound.OtherChange) and event.field == "template_category_update":
            await self._template_category(event.value, getattr(event, "time", 0))

    async def flush_for_capacity_every(self, seconds: float) -> None:
        """Background task: what waited for messaging-limit capacity goes out as capacity frees, and what
        waited longer than the maximum age goes to the dead letters."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.sender.flush_waiting_for_capacity()
                await self.sender.expire_deferred()
            except Exception:  # noqa: BLE001 - keep the loop alive; the next round tries again
                logger.exception("sending messages that waited for capacity failed")

    async def _price(self, recording: Awaitable[Any], wamid: str) -> None:
        # Pricing is bookkeeping: a webhook it cannot price is logged, and the conversation goes on.
        try:
            await recording
        except PricingInputError as exc:
            logger.error("cost ledger could not price %s: %s", wamid, exc)

    async def _replan(self, update: inbound.StatusUpdate) -> None:
        plan = await self.state.plan(update.wamid)
        if plan is None:
            logger.warning("message %s failed with 131047 and has no send plan to re-plan it", update.wamid)
            return
        # The key makes the re-plan happen once, however often this status is handled; the plan is dropped
        # only after it. An agent's message (may_queue false) is refused rather than queued.
        delivery = await self.sender.deliver(plan["payload"], key=f"replan:{update.wamid}",
                                             label=plan.get("label", ""), fallback=plan.get("fallback"),
                                             assume_window_closed=True, may_queue=plan.get("may_queue", True))
        await self.events.record(kinds.OUTBOUND_REPLANNED, wamid=update.wamid, recipient=update.recipient,
                                 decision=delivery.decision.action.value if delivery.decision else "")
        await self.state.drop_plan(update.wamid)

    async def _record_preference(self, recipient: str, status: str, source: str, wording: str, at: int,
                                 phone_number_id: str = "") -> None:
        state = self.state.for_number(phone_number_id)
        when: datetime = utc(at) if at > 0 else await state.now()
        changed = await state.record_consent(recipient, status, ("marketing",), source, wording, at=when)
        await self.events.record(kinds.CONSENT, recipient=recipient, status=status, source=source,
                                 scopes=",".join(changed))

    async def _template_status(self, value: Dict[str, Any], at: int = 0) -> None:
        name, language = value.get("message_template_name"), value.get("message_template_language")
        event = str(value.get("event") or "").upper()
        if not name or not language or not event:
            return
        status = RESTORING_STATUSES.get(event, event)
        when = utc(at) if at > 0 else await self.state.now()
        if not await self.state.override_template("status", template_key(str(name), str(language)), status, when):
            logger.info("template %s (%s): %s at %s is older than the status known; ignored", name, language,
                        event, when.isoformat())
            return
        logger.warning("template %s (%s) is now %s: %s", name, language, status, value.get("reason") or "")
        await self.events.record(kinds.TEMPLATE_STATUS, template=str(name), language=str(language), status=status,
                                 reason=str(value.get("reason") or ""))
        if self.reviews is not None:
            await self.reviews.on_status(str(name), str(language), status, _reason(value), when.timestamp())

    async def _template_category(self, value: Dict[str, Any], at: int = 0) -> None:
        name, language = value.get("message_template_name"), value.get("message_template_language")
        new = str(value.get("new_category") or value.get("correct_category") or "").upper()
        if not name or not language or not new:
            return
        when = utc(at) if at > 0 else await self.state.now()
        if not await self.state.override_template("category", template_key(str(name), str(language)), new, when):
            return
        # A new category changes what each send of this template costs: make it visible.
        logger.warning("template %s (%s) recategorised by Meta: %s -> %s", name, language,
                       value.get("previous_category"), new)
        await self.events.record(kinds.TEMPLATE_CATEGORY_UPDATE, template=str(name), language=str(language),
                                 previous_category=str(value.get("previous_category") or ""), new_category=new)


def _reason(value: Dict[str, Any]) -> str:
    """Meta's reason for a rejection or a pause, with its explanation when Meta gives one (`other_info`)."""
    reason = str(value.get("reason") or "")
    reason = "" if reason == "NONE" else reason
    info = value.get("other_info") or {}
    detail = str(info.get("description") or info.get("title") or "") if isinstance(info, dict) else ""
    return ": ".join(part for part in (reason, detail) if part)
