"""What the handoff service asks of Rasa's HTTP API: the conversation so far, and handing the customer back."""

import time
from typing import Any, Dict, List

import requests

from stack.components import scrub

HANDBACK_INTENT = "EXTERNAL_handoff_resolved"
RECORD_TIMEOUT_SECONDS = 3.0
TRANSCRIPT_TIMEOUT_SECONDS = 3.0  # the chat page waits at most this for the bot's transcript
CONNECT_TIMEOUT_SECONDS = 2.0
QUIET_AFTER_FAILURE_SECONDS = 15.0  # after Rasa failed to answer, pages and ticks do not wait for it again


class RasaUnavailable(Exception):
    """Rasa did not answer or refused; the hand back is retried later."""


class RasaRefused(Exception):
    """Rasa answered but refused (4xx: e.g. the model has no EXTERNAL_handoff_resolved); retrying cannot help."""


class RasaApi:
    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()
        self._failed_at = float("-inf")

    def unavailable(self) -> bool:
        """Rasa failed to answer moments ago (down or hung): callers that can do without it skip it."""
        return time.monotonic() - self._failed_at < QUIET_AFTER_FAILURE_SECONDS

    def transcript(self, wa_id: str) -> List[Dict[str, Any]]:
        """The customer's and the bot's messages from the Rasa tracker, oldest first."""
        answer = self._call("GET", f"/conversations/{wa_id}/tracker", params={"include_events": "ALL"},
                            timeout=TRANSCRIPT_TIMEOUT_SECONDS)
        lines = []
        for event in answer.json().get("events", []):
            if event.get("event") == "user" and event.get("text"):
                lines.append({"kind": "customer", "text": event["text"], "at": event.get("timestamp")})
            elif event.get("event") == "bot" and event.get("text"):
                agent = (event.get("metadata") or {}).get("agent")
                lines.append({"kind": "agent" if agent else "bot", "text": event["text"], "agent": agent,
                              "at": event.get("timestamp")})
        return lines

    def record_agent_message(self, wa_id: str, text: str, agent: str, wamid: str) -> None:
        """Keep the agent's message in the conversation's one transcript (not sent again: no side effects)."""
        self._call("POST", f"/conversations/{wa_id}/tracker/events", timeout=RECORD_TIMEOUT_SECONDS,
                   json={"event": "bot", "text": text, "metadata": {"agent": agent, "wamid": wamid}})

    def handed_back_since(self, wa_id: str, since: float) -> bool:
        """Whether Rasa already took a hand back after `since` (an earlier try timed out, yet Rasa ran it)."""
        answer = self._call("GET", f"/conversations/{wa_id}/tracker", params={"include_events": "AFTER_RESTART"})
        for event in answer.json().get("events", []):
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if event.get("event") == "user" and intent == HANDBACK_INTENT and (event.get("timestamp") or 0) >= since:
                return True
        return False

    def hand_back(self, wa_id: str, resolution: str) -> None:
        """Resume the conversation, then let the bot close it (goodbye and CSAT) on WhatsApp."""
        self._call("POST", f"/conversations/{wa_id}/tracker/events", json=[{"event": "resume"}])
        self._call("POST", f"/conversations/{wa_id}/trigger_intent", params={"output_channel": "whatsapp"},
                   json={"name": HANDBACK_INTENT, "entities": {"handoff_resolution": resolution}})

    def trigger(self, wa_id: str, intent: str, entities: Dict[str, str]) -> None:
        """Make the bot speak to the customer on WhatsApp without them writing (an order update, ...)."""
        self._call("POST", f"/conversations/{wa_id}/trigger_intent", params={"output_channel": "whatsapp"},
                   json={"name": intent, "entities": entities})

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        params = {**kwargs.pop("params", {}), "token": self.token}
        timeout = kwargs.pop("timeout", self.timeout)
        try:
            answer = self.http.request(method, self.url + path, params=params,
                                       timeout=(min(CONNECT_TIMEOUT_SECONDS, timeout), timeout), **kwargs)
        except requests.RequestException as exc:
            self._failed_at = time.monotonic()
            raise RasaUnavailable(f"Rasa unreachable: {exc.__class__.__name__}") from exc
        # The error is logged and kept on the chat: the customer's pseudonym instead of the path's number, and
        # Rasa's reason code without its message, which may quote what the customer or agent wrote.
        said = scrub(f"{method} {path} with HTTP {answer.status_code} ({_reason(answer)})")
        if 400 <= answer.status_code < 500:
            raise RasaRefused(f"Rasa refused {said}")
        if answer.status_code >= 300:
            self._failed_at = time.monotonic()
            raise RasaUnavailable(f"Rasa answered {said}")
        return answer


def _reason(answer: requests.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return "no JSON body"
    return str(body.get("reason") or "no reason given")[:80] if isinstance(body, dict) else "no reason given"
