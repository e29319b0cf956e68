"""While a customer is queued for or talking to a human agent, their messages go to the handoff service.

The handoff service keeps who owns each customer in Redis (`handoff:owner:{wa_id}`, handoff/contract.py). When it is
not the bot, the WhatsApp consumer hands the message to the handoff service (HTTP, a few tries within
FORWARD_TIMEOUT each, outside the bot's turn slots; then the stream entry is tried again later) and
records it in the Rasa tracker without running the bot: the bot never answers over an agent, and
neither a session expiry nor a typed /restart can wake it up, since neither reaches Rasa's processor.
"""

import asyncio
import logging
from typing import Any, Callable, Dict, Optional

import httpx
import redis.asyncio as aioredis
from rasa.shared.core.events import UserUttered

from handoff import contract
from whatsapp_cloud.redis_values import as_text
from whatsapp_cloud.streams.consumer import HandoffUnreachable
from whatsapp_cloud.webhooks import inbound

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 2.0)
FORWARD_TIMEOUT = 5.0  # seconds per try: at most ~18 s per attempt, so an outage costs little waiting
RASA_APP_NAMES = ("rasa_server", "rasa_core_no_api")


def running_rasa_agent() -> Any:
    """The Rasa Agent of this process (its tracker and lock stores), from Rasa's Sanic app."""
    from sanic import Sanic

    for name in RASA_APP_NAMES:
        try:
            return Sanic.get_app(name).ctx.agent
        except Exception:  # not this app name, or the agent is not loaded yet
            continue
    return None


class HandoffRouting:
    def __init__(self, store: aioredis.Redis, handoff_url: str, token: str,
                 agent: Callable[[], Any] = running_rasa_agent, http: Optional[httpx.AsyncClient] = None,
                 timeout: float = FORWARD_TIMEOUT) -> None:
        self.store = store
        self.url = handoff_url.rstrip("/")
        self.token = token
        self.agent = agent
        self.http = http or httpx.AsyncClient(timeout=timeout)

    async def divert(self, message: inbound.InboundMessage) -> bool:
        """True when the message belonged to a human handoff and was handled here (the bot must not run)."""
        state = await self.store.hget(contract.owner_key(message.sender), "state")
        if state is None or as_text(state) not in contract.WITH_HANDOFF:
            return False
        if not await self._forward(message):
            return False  # the chat was resolved meanwhile: the bot answers
        if message.starts_turn:
            await self._record_in_tracker(message)
        return True

    async def _forward(self, message: inbound.InboundMessage) -> bool:
        body = {"wamid": message.wamid, "text": _shown_text(message), "type": message.type,
                "timestamp": message.timestamp, "profile_name": message.profile_name}
        url = self.url + contract.customer_messages_path(message.sender)
        problem = ""
        for delay in (*RETRY_DELAYS, None):
            try:
                answer = await self.http.post(url, json=body, headers={"Authorization": f"Bearer {self.token}"})
            except httpx.HTTPError as exc:
                problem = f"{exc.__class__.__name__}: {exc}"
            else:
                if answer.status_code == 200:
                    return True
                if answer.status_code == 409:
                    return False
                problem = f"HTTP {answer.status_code}: {answer.text[:200]}"
            if delay is not None:
                await asyncio.sleep(delay)
        raise HandoffUnreachable(f"handoff service did not take {message.wamid}: {problem}")

    async def _record_in_tracker(self, message: inbound.InboundMessage) -> None:
        agent = self.agent()
        if agent is None or agent.tracker_store is None:
            raise HandoffUnreachable("the Rasa agent is not loaded yet")
        parse_data: Dict[str, Any] = {"text": message.text, "intent": {}, "entities": []}
        try:
            parse_data = await agent.parse_message(message.text or "")
        except Exception:  # NLU is for the record only here; the text is what matters
            logger.debug("NLU failed on a handoff message", exc_info=True)
        async with agent.lock_store.lock(message.sender):
            tracker = await agent.tracker_store.get_or_create_tracker(message.sender)
            if any(getattr(e, "message_id", None) == message.wamid for e in tracker.events):
                return  # recorded before a crash; Meta or the stream delivered it again
            tracker.update(UserUttered(
                message.text, parse_data.get("intent"), parse_data.get("entities"), parse_data,
                input_channel="whatsapp", message_id=message.wamid,
                metadata={**message.metadata(), "handoff": True},
            ))
            await agent.tracker_store.save(tracker)


def _shown_text(message: inbound.InboundMessage) -> str:
    """What the agent reads: the customer's words, or what kind of message it was."""
    if message.type in ("text", "interactive", "button"):
        return message.text or ""
    caption = (message.media or {}).get("caption") or ""
    return f"[{message.type}] {caption}".strip()
