"""A campaign's states, its recipients' statuses and the guardrail that pauses it. Pure: no I/O.

What this module leaves out: where campaigns are kept (store.py) and how messages go out (sending.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

# Campaign states.
DRAFT, SCHEDULED, SENDING, PAUSED, COMPLETED, CANCELLED = (
    "draft", "scheduled", "sending", "paused", "completed", "cancelled")
STATES = (DRAFT, SCHEDULED, SENDING, PAUSED, COMPLETED, CANCELLED)
# Which state each move may start from.
MOVES: Dict[str, tuple] = {
    SCHEDULED: (DRAFT,),
    SENDING: (DRAFT, SCHEDULED, PAUSED, COMPLETED),  # COMPLETED: after retry-failed
    PAUSED: (SCHEDULED, SENDING),
    COMPLETED: (SENDING,),
    CANCELLED: (DRAFT, SCHEDULED, SENDING, PAUSED),
}

# Recipient statuses. `sending` is internal: a send was started and its outcome is not recorded yet.
QUEUED, SENDING_NOW, SENT, DELIVERED, READ, REPLIED, FAILED, BLOCKED = (
    "queued", "sending", "sent", "delivered", "read", "replied", "failed", "blocked")
STATUSES = (QUEUED, SENDING_NOW, SENT, DELIVERED, READ, REPLIED, FAILED, BLOCKED)
HANDED_TO_META = (SENT, DELIVERED, READ, REPLIED, FAILED)
# From which statuses a delivery status (or a reply) may move a recipient: never backwards.
FORWARD: Dict[str, tuple] = {
    DELIVERED: (SENT,),
    READ: (SENT, DELIVERED),
    REPLIED: (SENT, DELIVERED, READ),
    FAILED: (SENT,),  # Meta accepted it, then reported it failed
}

# Meta's codes the guardrail watches (whatsapp_cloud.graph.errors: SpamRateLimitHit, EcosystemEngagement,
# MarketingStopped), and the code of a send interrupted by a crash.
SPAM_RATE_LIMIT = "131048"
MARKETING_REFUSALS = ("131049", "131050")
INTERRUPTED = "interrupted"
# Never sent again by retry-failed: the customer stopped marketing messages.
NEVER_RETRIED = ("131050",)
# Only retried when named: Meta's per-user marketing cap, and sends whose outcome is unknown.
RETRIED_ONLY_WHEN_NAMED = ("131049", INTERRUPTED)


@dataclass(frozen=True)
class Guardrail:
    min_attempts: int = 50  # no ratio is judged on fewer messages handed to Meta
    failure_rate: float = 0.2  # failed / handed to Meta
    marketing_refusal_rate: float = 0.05  # (131049 + 131050) / handed to Meta

    def reason_to_pause(self, counts: Mapping[str, int], codes: Mapping[str, int]) -> Optional[str]:
        """Why the campaign must pause now, or None. `counts`: recipients per status; `codes`: failures per code."""
        if codes.get(SPAM_RATE_LIMIT, 0) > 0:
            return ("Meta's spam rate limit (131048): too many of this number's messages were blocked or "
                    "reported; improve the audience or content before resuming")
        attempted = sum(counts.get(s, 0) for s in HANDED_TO_META)
        if attempted < self.min_attempts:
            return None
        refused = sum(codes.get(c, 0) for c in MARKETING_REFUSALS)
        if refused / attempted >= self.marketing_refusal_rate:
            return (f"{refused} of {attempted} messages refused by Meta as unwanted marketing (131049 per-user "
                    f"limit, 131050 marketing stopped): at least {self.marketing_refusal_rate:.0%}")
        failed = counts.get(FAILED, 0)
        if failed / attempted >= self.failure_rate:
            return f"{failed} of {attempted} messages failed: at least {self.failure_rate:.0%}"
        return None


@dataclass(frozen=True)
class Outcome:
    """A recipient's status record (the JSON kept per recipient)."""

    status: str
    wamid: str = ""
    code: str = ""  # Meta's error code of a failure, or INTERRUPTED
    reason: str = ""  # the policy's reason of a block, Meta's message of a failure, a note while queued
    attempt: int = 0  # bumped by retry-failed: a new idempotency key, so the message may go again
    at: float = 0.0
    extra: Dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        data = {"status": self.status, "wamid": self.wamid, "code": self.code, "reason": self.reason,
                "attempt": self.attempt, "at": self.at, **self.extra}
        return {k: v for k, v in data.items() if v not in ("", None) or k in ("status", "attempt")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Outcome":
        known = {"status", "wamid", "code", "reason", "attempt", "at"}
        return cls(str(data.get("status", QUEUED)), str(data.get("wamid", "")), str(data.get("code", "")),
                   str(data.get("reason", "")), int(data.get("attempt", 0)), float(data.get("at", 0.0)),
                   {k: v for k, v in data.items() if k not in known})


def idempotency_key(campaign_id: str, wa_id: str, attempt: int) -> str:
    """One key per campaign, recipient and attempt: the governor sends each at most once."""
    return f"campaign:{campaign_id}:{wa_id}:{attempt}"
