"""The registry of approved message templates (whatsapp_templates.yml) and the rules of sending one.

One place answers "may this template body go out?" for the bot, the handoff service and the local
Cloud API stand-in alike, with Meta's own errors (whatsapp_cloud.graph.errors): TemplateNotExists (no such
template in that language), TemplateParamCountMismatch (wrong parameter count), TemplateParamValueInvalid
(a parameter's format), TemplatePaused / TemplateDisabled.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Type

import yaml

from whatsapp_cloud.graph.errors import (
    TemplateDisabled,
    TemplateNotExists,
    TemplateParamCountMismatch,
    TemplateParamValueInvalid,
    TemplatePaused,
    TemplateSendError,
)

logger = logging.getLogger(__name__)

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
USABLE_STATUSES = ("APPROVED",)
TEXT_PARAMETER_LIMIT = 1024
COMPONENTS = ("header", "body")


class TemplateError(ValueError):
    """A template send that Meta would refuse, with the error (and so the code) Meta would answer."""

    def __init__(self, refusal: Type[TemplateSendError], message: str) -> None:
        super().__init__(f"({refusal.code}) {message}")
        self.refusal = refusal
        self.code = refusal.code
        self.message = message


class RegistryFileError(ValueError):
    """whatsapp_templates.yml is not a valid registry; the message names the entry and the problem."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = "text"  # text | number | code
    max_length: int = TEXT_PARAMETER_LIMIT
    example: str = ""

    def problem(self, value: Any) -> Optional[str]:
        if not isinstance(value, str) or not value.strip():
            return f"parameter {self.name} is empty"
        if len(value) > self.max_length:
            return f"parameter {self.name} is longer than {self.max_length} characters"
        if re.search(r"[\n\t]| {5,}", value):  # Meta refuses new lines, tabs and runs of spaces
            return f"parameter {self.name} contains a new line, a tab or more than 4 spaces in a row"
        if self.type == "number" and not re.fullmatch(r"-?\d+([.,]\d+)?", value):
            return f"parameter {self.name} must be a number, got {value!r}"
        if self.type == "code" and not re.fullmatch(r"[0-9A-Za-z-]{4,15}", value):
            return f"parameter {self.name} must be a 4-15 character code"
        return None


@dataclass(frozen=True)
class QuickReply:
    text: str
    payload: str


@dataclass(frozen=True)
class Template:
    """One approved template in one language."""

    name: str
    language: str
    category: str
    status: str
    body: str
    header: str = ""
    footer: str = ""
    parameter_format: str = "named"  # named ({{order_id}}) | positional ({{1}})
    parameters: Mapping[str, Tuple[Parameter, ...]] = field(default_factory=dict)  # component -> ordered
    quick_replies: Tuple[QuickReply, ...] = ()
    copy_code_button: bool = False  # authentication: a button that copies the body's code
    id: str = ""

    @property
    def key(self) -> str:
        return template_key(self.name, self.language)

    @property
    def usable(self) -> bool:
        return self.status in USABLE_STATUSES

    def expected(self, component: str) -> Tuple[Parameter, ...]:
        return tuple(self.parameters.get(component, ()))


def template_key(name: str, language: str) -> str:
    return f"{name}:{language}"


class TemplateRegistry:
    def __init__(self, templates: Iterable[Template]) -> None:
        self._templates: Dict[str, Template] = {t.key: t for t in templates}

    @classmethod
    def from_file(cls, path: Path) -> "TemplateRegistry":
        """The registry file, read again whenever it is replaced (FileTemplateRegistry)."""
        return FileTemplateRegistry(Path(path))

    @classmethod
    def read_file(cls, path: Path) -> "TemplateRegistry":
        """The registry file as it is now."""
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RegistryFileError(f"cannot read the template registry {path}: {exc}") from exc
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "TemplateRegistry":
        entries = data.get("templates") if isinstance(data, Mapping) else None
        if not isinstance(entries, Mapping):
            raise RegistryFileError("the template registry needs a `templates:` mapping of name -> template")
        return cls(t for name, entry in entries.items() for t in _parse_entry(str(name), entry))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._templates.values())

    def __len__(self) -> int:
        return len(self._templates)

    def get(self, name: str, language: str) -> Optional[Template]:
        return self._templates.get(template_key(name, language))

    def with_overrides(self, statuses: Mapping[str, str], categories: Mapping[str, str]) -> "TemplateRegistry":
        """The registry as Meta's webhooks left it: paused/disabled statuses, changed categories."""
        return TemplateRegistry(
            replace(t, status=statuses.get(t.key, t.status), category=categories.get(t.key, t.category))
            for t in self
        )

    def build(self, name: str, language: str, values: Mapping[str, Any]) -> Dict[str, Any]:
        """The Cloud API `template` object for `name` filled with `values`; TemplateError if it cannot go."""
        template = self.usable(name, language)
        components: List[Dict[str, Any]] = []
        for component in COMPONENTS:
            expected = template.expected(component)
            if not expected:
                continue
            parameters = []
            for parameter in expected:
                value = values.get(parameter.name)
                value = None if value is None else str(value)
                problem = parameter.problem(value)
                if problem:
                    raise TemplateError(TemplateParamValueInvalid, f"{name}: {problem}")
                item: Dict[str, Any] = {"type": "text", "text": value}
                if template.parameter_format == "named":
                    item["parameter_name"] = parameter.name
                parameters.append(item)
            components.append({"type": component, "parameters": parameters})
        if template.copy_code_button:  # authentication: the button copies the body's first value, the code
            code = components[-1]["parameters"][0]["text"]
            components.append({"type": "button", "sub_type": "url", "index": "0",
                               "parameters": [{"type": "text", "text": code}]})
        for index, reply in enumerate(template.quick_replies):
            components.append({"type": "button", "sub_type": "quick_reply", "index": str(index),
                               "parameters": [{"type": "payload", "payload": reply.payload}]})
        built: Dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            built["components"] = components
        return built

    def usable(self, name: str, language: str) -> Template:
        template = self.get(name, language)
        if template is None:
            raise TemplateError(TemplateNotExists, f"template {name} does not exist in {language}")
        if template.status == "PAUSED":
            raise TemplateError(TemplatePaused, f"template {name} ({language}) is paused")
        if template.status == "DISABLED":
            raise TemplateError(TemplateDisabled, f"template {name} ({language}) is disabled")
        if not template.usable:
            raise TemplateError(TemplateNotExists, f"template {name} ({language}) is {template.status}, not approved")
        return template

    def check(self, template_object: Mapping[str, Any]) -> Template:
        """Validate a Cloud API `template` object as Meta does; the template it uses, or TemplateError."""
        name = str(template_object.get("name") or "")
        language = str((template_object.get("language") or {}).get("code") or "")
        template = self.usable(name, language)
        given: Dict[str, List[Dict[str, Any]]] = {}
        for component in template_object.get("components") or []:
            if isinstance(component, Mapping) and component.get("type") in COMPONENTS:
                given.setdefault(str(component["type"]), []).extend(component.get("parameters") or [])
        for component in COMPONENTS:
            expected, parameters = template.expected(component), given.get(component, [])
            if len(parameters) != len(expected):
                raise TemplateError(
                    TemplateParamCountMismatch,
                    f"{name}: {component} expects {len(expected)} parameters, got {len(parameters)}",
                )
            for position, (parameter, item) in enumerate(zip(expected, parameters, strict=True)):
                if template.parameter_format == "named" and item.get("parameter_name") != parameter.name:
                    raise TemplateError(
                        TemplateParamValueInvalid,
                        f"{name}: {component} parameter {position + 1} must be named {parameter.name}",
                    )
                problem = parameter.problem(item.get("text") if item.get("type") == "text" else None)
                if problem:
                    raise TemplateError(TemplateParamValueInvalid, f"{name}: {problem}")
        return template

    def render(self, template_object: Mapping[str, Any]) -> str:
        """The text a customer reads, for logs, the outbox and the agent inbox."""
        template = self.check(template_object)
        values: Dict[str, str] = {}
        for component in template_object.get("components") or []:
            if component.get("type") in COMPONENTS:
                for position, item in enumerate(component.get("parameters") or [], 1):
                    values[item.get("parameter_name") or str(position)] = str(item.get("text", ""))
        text = "\n".join(part for part in (template.header, template.body, template.footer) if part)
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), text)


class FileTemplateRegistry(TemplateRegistry):
    """whatsapp_templates.yml, followed: when the file is replaced (a template Meta approved is written into it,
    `sync_templates` ran), the next use reads it again, so running processes send a new template without a
    restart. A file that no longer loads is reported and the last good registry stays in use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp = _stamp(path)
        self._loaded = TemplateRegistry.read_file(path)._templates  # a bad file at start is an error

    @property
    def _templates(self) -> Dict[str, Template]:  # type: ignore[override]
        stamp = _stamp(self.path)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        self._loaded = TemplateRegistry.read_file(self.path)._templates
                    except RegistryFileError as exc:
                        logger.error("template registry not reloaded, the last good one stays in use: %s", exc)
                    self._stamp = stamp
        return self._loaded


def _stamp(path: Path) -> Tuple[int, int, int]:
    # The writer replaces the file (a new inode), so a change within the clock's resolution is still seen.
    try:
        status = os.stat(path)
    except OSError:
        return (0, 0, 0)
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def _parse_entry(name: str, entry: Any) -> List[Template]:
    if not isinstance(entry, Mapping):
        raise RegistryFileError(f"template {name}: expected a mapping")
    category = str(entry.get("category", "")).upper()
    if category not in CATEGORIES:
        raise RegistryFileError(f"template {name}: category must be one of {', '.join(CATEGORIES)}")
    parameter_format = str(entry.get("parameter_format", "named"))
    if parameter_format not in ("named", "positional"):
        raise RegistryFileError(f"template {name}: parameter_format must be named or positional")
    parameters = {c: tuple(_parameter(name, p) for p in entry.get("parameters", {}).get(c) or [])
                  for c in COMPONENTS}
    replies = tuple(QuickReply(str(b["text"]), str(b["payload"])) for b in entry.get("quick_replies") or [])
    languages = entry.get("languages")
    if not isinstance(languages, Mapping) or not languages:
        raise RegistryFileError(f"template {name}: `languages:` must map language codes to their text")
    templates = []
    for language, text in languages.items():
        if not isinstance(text, Mapping) or not text.get("body"):
            raise RegistryFileError(f"template {name} ({language}): a body text is required")
        template = Template(
            name=name, language=str(language), category=category,
            status=str(text.get("status", entry.get("status", "APPROVED"))).upper(),
            body=str(text["body"]), header=str(text.get("header", "")), footer=str(text.get("footer", "")),
            parameter_format=parameter_format, parameters=parameters, quick_replies=replies,
            copy_code_button=bool(entry.get("copy_code_button", False)), id=str(text.get("id", "")),
        )
        _check_placeholders(template)
        templates.append(template)
    return templates


def _parameter(template: str, spec: Any) -> Parameter:
    if isinstance(spec, str):
        return Parameter(spec)
    if not isinstance(spec, Mapping) or not spec.get("name"):
        raise RegistryFileError(f"template {template}: each parameter needs a name")
    kind = str(spec.get("type", "text"))
    if kind not in ("text", "number", "code"):
        raise RegistryFileError(f"template {template}: parameter {spec['name']} has unknown type {kind}")
    return Parameter(str(spec["name"]), kind, int(spec.get("max_length", TEXT_PARAMETER_LIMIT)),
                     str(spec.get("example", "")))


def _check_placeholders(template: Template) -> None:
    """Every declared parameter appears in its text, and nothing undeclared does: counted parameters."""
    for component, text in (("header", template.header), ("body", template.body)):
        found = re.findall(r"\{\{\s*(\w+)\s*\}\}", text)
        expected = [p.name for p in template.expected(component)]
        if template.parameter_format == "positional":
            expected = [str(i) for i in range(1, len(expected) + 1)]
        if sorted(set(found)) != sorted(expected) or len(found) != len(expected):
            raise RegistryFileError(
                f"template {template.name} ({template.language}): {component} placeholders {found} "
                f"do not match its declared parameters {expected}"
            )
