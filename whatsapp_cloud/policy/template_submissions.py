"""Templates created from the app: submitted to Meta, followed through Meta's review, written to the registry.

`TemplateSubmissions.submit` sends a checked draft (template_drafts.py) with `POST /{waba-id}/message_templates`
and keeps it in Redis with Meta's id and status. `TemplateReviews.on_status` is called for every
`message_template_status_update` webhook (PolicyHooks): it records the status, and the rejection reason, on
the template's submission, by Meta's own time (a late PENDING never undoes a newer APPROVED); when Meta says
APPROVED it writes the template into whatsapp_templates.yml with the registry file's one writer
(registry_file.py). Every process follows the file (templates.FileTemplateRegistry), so the new template can
be sent at once.

Templates this platform did not submit are left alone here: their status webhooks only change the
registry's overrides (store.py), as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import redis
import redis.asyncio as aioredis

from whatsapp_cloud import redis_keys
from whatsapp_cloud.graph.client import SyncGraphApiClient
from whatsapp_cloud.policy import registry_file
from whatsapp_cloud.policy.template_drafts import TemplateDraft
from whatsapp_cloud.policy.templates import RegistryFileError, template_key
from whatsapp_cloud.redis_programs import Program, run_async, run_sync
from whatsapp_cloud.redis_values import as_text

logger = logging.getLogger(__name__)


# KEYS[1] the submission's hash. ARGV: status, reason, Meta's time (Unix seconds).
# Applies a status unless the submission is unknown or already holds a newer one; 1 if applied.
STATUS_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local known = tonumber(redis.call('HGET', KEYS[1], 'status_at') or '0')
if known > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'reason', ARGV[2], 'status_at', ARGV[3])
return 1
"""


class SubmissionError(ValueError):
    """A template that cannot be submitted (already submitted in that language)."""


def record_program(draft: TemplateDraft, answer: Mapping[str, Any], by: str, at: float) -> Program:
    key = template_key(draft.name, draft.language)
    fields = {"name": draft.name, "language": draft.language, "category": str(answer.get("category") or draft.category),
              "id": str(answer["id"]), "status": str(answer.get("status") or "PENDING").upper(), "reason": "",
              "request": json.dumps(draft.request()), "examples": json.dumps(dict(draft.examples)),
              "submitted_by": by, "submitted_at": repr(at),
              # Meta's answer carries no time of its own, and its review webhook can be timed (by Meta's clock, in
              # whole seconds) before ours kept the answer: any review is newer than the answer.
              "status_at": "0"}
    yield [("hset_many", (redis_keys.template_submission(key), fields)),
           ("zadd", (redis_keys.TEMPLATE_SUBMISSIONS, {key: at}))]
    return _decoded(fields)


def status_program(key: str, status: str, reason: str, at: float) -> Program:
    hash_key = redis_keys.template_submission(key)
    (applied,) = yield [("eval", (STATUS_SCRIPT, 1, hash_key, status, reason, repr(at)))]
    if not applied:
        return None
    (stored,) = yield [("hgetall", (hash_key,))]
    return _decoded(stored)


def get_program(key: str) -> Program:
    (stored,) = yield [("hgetall", (redis_keys.template_submission(key),))]
    return _decoded(stored) if stored else None


def list_program() -> Program:
    (keys,) = yield [("zrevrange", (redis_keys.TEMPLATE_SUBMISSIONS, 0, -1))]
    if not keys:
        return []
    found = yield [("hgetall", (redis_keys.template_submission(as_text(k)),)) for k in keys]
    return [_decoded(stored) for stored in found if stored]


def _decoded(stored: Mapping[Any, Any]) -> Dict[str, Any]:
    record: Dict[str, Any] = {as_text(k): as_text(v) for k, v in stored.items()}
    record["request"] = json.loads(record.get("request") or "{}")
    record["examples"] = json.loads(record.get("examples") or "{}")
    for field in ("submitted_at", "status_at"):
        record[field] = float(record.get(field) or 0)
    return record


def approved_listing(submission: Mapping[str, Any]) -> Dict[str, Any]:
    """The submitted template as Meta lists it once approved (what the registry file is written from)."""
    return {**submission["request"], "id": submission["id"], "status": "APPROVED",
            "category": submission.get("category") or submission["request"]["category"]}


class TemplateSubmissions:
    """Submitting templates and listing them, for the inbox and the command line (blocking Redis)."""

    def __init__(self, store: redis.Redis, templates_file: Path, client: Optional[SyncGraphApiClient] = None,
                 waba_id: str = "") -> None:
        self.store = store
        self.templates_file = Path(templates_file)
        self.client = client
        self.waba_id = waba_id

    def submit(self, draft: TemplateDraft, by: str) -> Dict[str, Any]:
        """Send the draft to Meta for review and keep it; GraphApiError when Meta refuses it at once."""
        if self.client is None or not self.waba_id:
            raise SubmissionError("templates are submitted to a WhatsApp Business Account: set WHATSAPP_WABA_ID")
        if self.get(draft.name, draft.language) is not None:
            raise SubmissionError(f"{draft.name} ({draft.language}) was already submitted")
        answer = self.client.create_template(self.waba_id, draft.request())
        submission = run_sync(self.store, record_program(draft, answer, by, time.time()))
        if submission["status"] == "APPROVED":  # Meta may approve some templates at once
            add_to_registry(self.templates_file, submission)
        return submission

    def get(self, name: str, language: str) -> Optional[Dict[str, Any]]:
        return run_sync(self.store, get_program(template_key(name, language)))

    def list(self) -> List[Dict[str, Any]]:
        """Newest first."""
        return run_sync(self.store, list_program())


class TemplateReviews:
    """Meta's review of the templates submitted from the app, applied from its status webhooks (async)."""

    def __init__(self, store: aioredis.Redis, templates_file: Path) -> None:
        self.store = store
        self.templates_file = Path(templates_file)

    async def on_status(self, name: str, language: str, status: str, reason: str,
                        at: float) -> Optional[Dict[str, Any]]:
        """The submission as it now stands, or None (not submitted from the app, or an older status)."""
        submission = await run_async(self.store, status_program(template_key(name, language), status, reason, at))
        if submission is not None and status == "APPROVED":
            await asyncio.to_thread(add_to_registry, self.templates_file, submission)
        return submission


def add_to_registry(path: Path, submission: Mapping[str, Any]) -> None:
    try:
        registry_file.add(path, approved_listing(submission))
    except RegistryFileError as exc:  # cannot happen for a checked draft; say so rather than lose the approval
        logger.error("template %s (%s) approved but not written to %s: %s", submission["name"],
                     submission["language"], path, exc)
        return
    logger.warning("template %s (%s) approved by Meta: written to %s", submission["name"], submission["language"], path)
