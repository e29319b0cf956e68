"""Which approved template replaces a bot response when the customer service window is closed.

Declared in template_fallbacks.yml (beside domain.yml): per response, the template, its language and
how its parameters are filled from slots (`"{order_id}"`). `keep_original: true` marks a template that
only re-opens the conversation: the response itself is then delivered when the customer writes.
`default:` is that kind of template for every other message (an action's own text, a reply to a webhook
that arrived too late), so nothing waits silently for a customer who may never write again.
"""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

from whatsapp_cloud.policy.templates import RegistryFileError, TemplateError, TemplateRegistry

logger = logging.getLogger(__name__)


class FallbackFileError(ValueError):
    """template_fallbacks.yml names a template or parameter that does not exist, or is malformed."""


@dataclass(frozen=True)
class Fallback:
    response: str
    template: str
    language: str
    parameters: Mapping[str, str]
    keep_original: bool = False


class Fallbacks:
    def __init__(self, fallbacks: Mapping[str, Fallback], registry: TemplateRegistry,
                 default: Optional[Fallback] = None) -> None:
        self.by_response = dict(fallbacks)
        self.registry = registry
        self.default = default

    @classmethod
    def from_file(cls, path: Path, registry: TemplateRegistry) -> "Fallbacks":
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise FallbackFileError(f"cannot read template fallbacks {path}: {exc}") from exc
        return cls.from_mapping(data, registry)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], registry: TemplateRegistry) -> "Fallbacks":
        language = str(data.get("language", "en_US"))
        entries = data.get("fallbacks") or {}
        if not isinstance(entries, Mapping):
            raise FallbackFileError("template fallbacks need a `fallbacks:` mapping of response -> template")
        parsed = {}
        for response, entry in entries.items():
            if not isinstance(entry, Mapping) or not entry.get("template"):
                raise FallbackFileError(f"{response}: name the `template:` that replaces it")
            fallback = Fallback(
                response=str(response), template=str(entry["template"]),
                language=str(entry.get("language", language)),
                parameters={str(k): str(v) for k, v in (entry.get("parameters") or {}).items()},
                keep_original=bool(entry.get("keep_original", False)),
            )
            _check(fallback, registry)
            parsed[fallback.response] = fallback
        default = None
        if data.get("default"):
            entry = data["default"]
            if not isinstance(entry, Mapping) or not entry.get("template"):
                raise FallbackFileError("default: name the `template:` that re-opens the conversation")
            default = Fallback("default", str(entry["template"]), str(entry.get("language", language)),
                               {str(k): str(v) for k, v in (entry.get("parameters") or {}).items()},
                               keep_original=True)
            if any(_fields(v) for v in default.parameters.values()):
                raise FallbackFileError("default: its parameters are fixed text (no slots are known there)")
            _check(default, registry)
        return cls(parsed, registry, default)

    def default_candidate(self) -> Optional[Dict[str, Any]]:
        """The template that re-opens the conversation for any other message; the message follows the reply."""
        if self.default is None:
            return None
        template = self.registry.build(self.default.template, self.default.language, dict(self.default.parameters))
        return {"template": template, "keep_original": True}

    def candidate(self, response: str, slots: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
        """The filled template that can replace `response`, or None (the reason is logged)."""
        fallback = self.by_response.get(response)
        if fallback is None:
            return None
        values: Dict[str, str] = {}
        for name, pattern in fallback.parameters.items():
            missing = [f for f in _fields(pattern) if slots.get(f) in (None, "")]
            if missing:
                logger.info("no template fallback for %s: slot %s is empty", response, ", ".join(missing))
                return None
            values[name] = pattern.format(**{f: slots[f] for f in _fields(pattern)})
        try:
            template = self.registry.build(fallback.template, fallback.language, values)
        except TemplateError as exc:
            logger.warning("no template fallback for %s: %s", response, exc)
            return None
        return {"template": template, "keep_original": fallback.keep_original}


def _fields(pattern: str) -> list:
    return [field for _, field, _, _ in string.Formatter().parse(pattern) if field]


def _check(fallback: Fallback, registry: TemplateRegistry) -> None:
    template = registry.get(fallback.template, fallback.language)
    if template is None:
        raise FallbackFileError(
            f"{fallback.response}: template {fallback.template} ({fallback.language}) is not in the registry")
    wanted = {p.name for component in ("header", "body") for p in template.expected(component)}
    if set(fallback.parameters) != wanted:
        raise FallbackFileError(
            f"{fallback.response}: template {fallback.template} takes parameters {sorted(wanted)}, "
            f"the fallback fills {sorted(fallback.parameters)}")


def load(templates_file: Path, fallbacks_file: Path) -> Fallbacks:
    try:
        registry = TemplateRegistry.from_file(templates_file)
    except RegistryFileError as exc:
        raise FallbackFileError(str(exc)) from exc
    return Fallbacks.from_file(fallbacks_file, registry)
