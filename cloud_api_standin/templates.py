"""The stand-in's message templates: the SAME whatsapp_templates.yml the bot reads, with Meta's answers.

Meta's refusals come from the registry's rules (an unknown name or language, a wrong parameter count or
format, a paused or disabled template), and a customer who stopped marketing gets MarketingStopped for
marketing templates; the errors and their codes are whatsapp_cloud.graph.errors's.
Status and category changes made through the stand-in reach the bot as Meta's webhooks. Templates created
with `POST /{waba-id}/message_templates` are kept beside the file's, with the status their review gave them.
"""

import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Type

from stack import components
from whatsapp_cloud.graph.errors import GraphApiError, MarketingStopped
from whatsapp_cloud.policy.graph_templates import from_graph, to_graph
from whatsapp_cloud.policy.store import SyncPolicyStore
from whatsapp_cloud.policy.templates import TemplateError, TemplateRegistry, template_key


class StandinTemplates:
    def __init__(self, registry: TemplateRegistry) -> None:
        self._file_registry = registry
        self._statuses: Dict[str, str] = {}
        self._categories: Dict[str, str] = {}
        self._marketing_stopped: Set[str] = set()
        self._created: Dict[str, Dict[str, Any]] = {}  # name:language -> a created template as Meta lists it
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "StandinTemplates":
        path = components.policy_config(env).templates_file
        return cls(TemplateRegistry.from_file(Path(path)))

    @property
    def registry(self) -> TemplateRegistry:
        with self._lock:
            created = [dict(item) for item in self._created.values()]
            registry = self._file_registry.with_overrides(dict(self._statuses), dict(self._categories))
        if not created:
            return registry
        return TemplateRegistry([*registry, *TemplateRegistry.from_mapping(from_graph(created, {}))])

    def create(self, listed: Dict[str, Any]) -> bool:
        """Keep a created template (as Meta lists it); False if one with its name and language exists."""
        if self.registry.get(listed["name"], listed["language"]) is not None:
            return False
        with self._lock:
            self._created[template_key(listed["name"], listed["language"])] = dict(listed)
        return True

    def refusal(self, wa_id: str, template_object: Dict[str, Any]) -> Optional[Tuple[Type[GraphApiError], str]]:
        """Meta's error (its class, the message) for sending this template to `wa_id`, or None if Meta takes it."""
        try:
            template = self.registry.check(template_object)
        except TemplateError as exc:
            return exc.refusal, exc.message
        with self._lock:
            stopped = wa_id in self._marketing_stopped
        if template.category == "MARKETING" and stopped:
            return MarketingStopped, "Message failed to send because the user has stopped marketing messages"
        return None

    def category(self, template_object: Dict[str, Any]) -> str:
        template = self.registry.get(str(template_object.get("name")),
                                     str((template_object.get("language") or {}).get("code")))
        return template.category.lower() if template else ""

    def page(self, limit: int, after: int) -> Tuple[List[Dict[str, Any]], Optional[int]]:
        items = to_graph(self.registry)
        chunk = items[after:after + limit]
        return chunk, (after + limit if after + limit < len(items) else None)

    def set_status(self, name: str, language: str, status: str) -> bool:
        key = template_key(name, language)
        with self._lock:
            if key in self._created:
                self._created[key]["status"] = status
                return True
        if self._file_registry.get(name, language) is None:
            return False
        with self._lock:
            self._statuses[key] = status
        return True

    def set_category(self, name: str, language: str, category: str) -> Optional[str]:
        """The previous category, or None if there is no such template."""
        current = self.registry.get(name, language)
        if current is None:
            return None
        with self._lock:
            self._categories[template_key(name, language)] = category
        return current.category

    def marketing(self, wa_id: str, value: str) -> None:
        with self._lock:
            (self._marketing_stopped.add if value == "stop" else self._marketing_stopped.discard)(wa_id)


class StandinClock:
    """Real time; with WHATSAPP_TEST_CLOCK on, real time plus the offset end-to-end tests keep in Redis."""

    def __init__(self, env: Mapping[str, str]) -> None:
        config = components.policy_config(env)
        self._store = (SyncPolicyStore(components.redis_client(env), config)
                       if config.test_clock and env.get("REDIS_URL") else None)

    def time(self) -> float:
        return self._store.now().timestamp() if self._store else time.time()


def change_envelope(waba_id: str, field: str, value: Dict[str, Any]) -> Dict[str, Any]:
    """A WABA-level webhook (template status, template category, user preferences) in Meta's envelope."""
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "time": int(time.time()), "changes": [{"field": field, "value": value}]}]}
