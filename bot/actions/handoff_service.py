"""Client of the handoff service's escalation API (POST {HANDOFF_URL}/api/escalations)."""

import logging
from dataclasses import dataclass
from typing import Any, Dict, Optional

import httpx

from handoff.contract import ESCALATIONS_PATH, REASONS
from stack import components

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0


class HandoffUnavailable(Exception):
    """The service could not take the escalation (unreachable, 5xx, refused, or an unreadable answer)."""


@dataclass(frozen=True)
class Escalation:
    chat_id: str
    state: str  # contract.QUEUED | contract.AGENT
    position: Optional[int]
    expected_wait_seconds: Optional[int]
    team: str
    office_open: bool
    opens_at: Optional[str]  # ISO-8601


def _settings() -> tuple:
    env = components.environment()
    return (env.get("HANDOFF_URL") or "http://127.0.0.1:5080").rstrip("/"), env.get("HANDOFF_API_TOKEN") or ""


async def escalate(request: Dict[str, Any]) -> Escalation:
    """Opens (or finds the open) escalation for the customer; raises HandoffUnavailable."""
    if request.get("reason") not in REASONS:
        raise ValueError(f"reason must be one of {REASONS}, not {request.get('reason')!r}")
    url, token = _settings()
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.post(
                url + ESCALATIONS_PATH, json=request, headers={"Authorization": f"Bearer {token}"}
            )
    except httpx.HTTPError as exc:
        raise HandoffUnavailable(f"{url} unreachable: {exc!r}") from exc
    if response.status_code not in (200, 201):
        raise HandoffUnavailable(f"{url} answered {response.status_code}: {response.text[:300]}")
    try:
        body = response.json()
        hours = body.get("office_hours") or {}
        return Escalation(
            chat_id=str(body["chat_id"]),
            state=str(body["state"]),
            position=_int_or_none(body.get("position")),
            expected_wait_seconds=_int_or_none(body.get("expected_wait_seconds")),
            team=str(body.get("team") or ""),
            office_open=bool(hours.get("open", True)),
            opens_at=hours.get("opens_at"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HandoffUnavailable(f"{url} answered {response.status_code} with an unreadable body: {exc!r}") from exc


def _int_or_none(value: Any) -> Optional[int]:
    return None if value is None else int(value)
