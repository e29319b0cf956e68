"""The customer service window and the free entry point window: the one place for their rules.

Pure: no I/O, no clock. Every datetime is timezone-aware UTC. Inbound messages move windows from
their OWN timestamp (a webhook delivered late is not fresh); nothing ever moves a window backwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Optional


@dataclass(frozen=True)
class WindowConfig:
    service: timedelta = timedelta(hours=24)
    free_entry: timedelta = timedelta(hours=72)
    free_entry_reply_deadline: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Windows:
    """One customer's windows; each field is the instant the window (or deadline) ends."""

    service_until: Optional[datetime] = None
    referral_reply_by: Optional[datetime] = None
    free_entry_until: Optional[datetime] = None

    def service_open(self, at: datetime) -> bool:
        return _before(at, self.service_until)

    def free_entry_open(self, at: datetime) -> bool:
        return _before(at, self.free_entry_until)

    def referral_reply_pending(self, at: datetime) -> bool:
        return _before(at, self.referral_reply_by)


def after_inbound(w: Windows, sent_at: datetime, from_referral: bool, config: WindowConfig) -> Windows:
    """A customer message (sent by the customer at `sent_at`) opens or refreshes the service window.

    A message from a Click-to-WhatsApp ad or a Page call-to-action also starts the deadline by which a
    business reply opens the free entry point window.
    """
    _require_aware(sent_at)
    updated = replace(w, service_until=_later(w.service_until, sent_at + config.service))
    if from_referral:
        updated = replace(
            updated, referral_reply_by=_later(w.referral_reply_by, sent_at + config.free_entry_reply_deadline)
        )
    return updated


def after_business_message(w: Windows, at: datetime, config: WindowConfig) -> Windows:
    """A business message sent at `at`: a reply before the referral deadline opens the free entry window.

    Business messages never extend the service window. The free entry window opens once per referral:
    the deadline is spent by the reply that opened it.
    """
    _require_aware(at)
    if not w.referral_reply_pending(at):
        return w
    return replace(w, referral_reply_by=None, free_entry_until=_later(w.free_entry_until, at + config.free_entry))


def with_conversation_expiration(w: Windows, expires_at: datetime) -> Windows:
    """Meta's `conversation.expiration_timestamp` of a free entry point conversation is authoritative."""
    _require_aware(expires_at)
    return replace(w, free_entry_until=expires_at)


def _before(at: datetime, until: Optional[datetime]) -> bool:
    _require_aware(at)
    return until is not None and at < until


def _later(current: Optional[datetime], candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"window times must be timezone-aware, got naive {moment.isoformat()}")
