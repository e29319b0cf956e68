"""The template registry in the Graph API's shape (GET /{waba-id}/message_templates) and back.

`to_graph` lets the local stand-in serve whatsapp_templates.yml as Meta serves a WABA's templates;
`from_graph` turns Meta's answer into the registry file's mapping, keeping what only the file knows
(parameter types and lengths, quick-reply payloads) for templates that exist in both.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Dict, List, Mapping

from whatsapp_cloud.policy.templates import Template, TemplateRegistry

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def to_graph(registry: TemplateRegistry) -> List[Dict[str, Any]]:
    return [_graph_template(t) for t in registry]


def _graph_template(t: Template) -> Dict[str, Any]:
    components: List[Dict[str, Any]] = []
    for kind, text in (("HEADER", t.header), ("BODY", t.body)):
        if not text:
            continue
        component: Dict[str, Any] = {"type": kind, "text": text}
        if kind == "HEADER":
            component["format"] = "TEXT"
        examples = [p.example or p.name for p in t.expected(kind.lower())]
        if examples and t.parameter_format == "named":
            component["example"] = {f"{kind.lower()}_text_named_params": [
                {"param_name": p.name, "example": p.example or p.name} for p in t.expected(kind.lower())]}
        elif examples:
            component["example"] = {f"{kind.lower()}_text": [examples] if kind == "BODY" else examples}
        components.append(component)
    if t.footer:
        components.append({"type": "FOOTER", "text": t.footer})
    buttons = [{"type": "QUICK_REPLY", "text": r.text} for r in t.quick_replies]
    if t.copy_code_button:
        buttons.append({"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"})
    if buttons:
        components.append({"type": "BUTTONS", "buttons": buttons})
    return {
        "name": t.name, "language": t.language, "status": t.status, "category": t.category,
        "parameter_format": t.parameter_format.upper(), "components": components,
        "id": t.id or str(int(hashlib.sha1(t.key.encode()).hexdigest(), 16) % 10**15),
    }


def from_graph(data: List[Mapping[str, Any]], current: Mapping[str, Any]) -> Dict[str, Any]:
    """Registry-file mapping for Meta's templates; `current` is the file as it is (its `templates:`)."""
    known = (current or {}).get("templates") or {}
    merged: Dict[str, Dict[str, Any]] = {}
    for item in data:
        name, language = str(item["name"]), str(item["language"])
        local = known.get(name) or {}
        entry = merged.setdefault(name, {"category": str(item.get("category", "UTILITY")).upper()})
        texts: Dict[str, Any] = {"status": str(item.get("status", "PENDING")).upper()}
        if item.get("id"):
            texts["id"] = str(item["id"])
        parameters: Dict[str, List[Any]] = {}
        quick_replies: List[str] = []
        for component in item.get("components") or []:
            kind = str(component.get("type", "")).upper()
            if kind in ("HEADER", "BODY") and component.get("text"):
                texts[kind.lower()] = component["text"]
                names = PLACEHOLDER.findall(component["text"])
                if names:
                    parameters[kind.lower()] = _parameters(names, local.get("parameters", {}).get(kind.lower()),
                                                           _examples(component, kind.lower()))
            elif kind == "FOOTER" and component.get("text"):
                texts["footer"] = component["text"]
            elif kind == "BUTTONS":
                for button in component.get("buttons") or []:
                    if button.get("type") == "QUICK_REPLY":
                        quick_replies.append(str(button.get("text", "")))
                    elif button.get("type") == "OTP" and button.get("otp_type") == "COPY_CODE":
                        entry["copy_code_button"] = True
        if str(item.get("parameter_format", "NAMED")).upper() == "POSITIONAL":
            entry["parameter_format"] = "positional"
        if parameters:
            entry["parameters"] = parameters
        if quick_replies:
            payloads = {r.get("text"): r.get("payload") for r in local.get("quick_replies") or []}
            entry["quick_replies"] = [{"text": text, "payload": payloads.get(text) or _payload(text)}
                                      for text in quick_replies]
        entry.setdefault("languages", {})[language] = texts
    return {"templates": merged}


def _parameters(names: List[str], local: Any, examples: Mapping[str, str]) -> List[Any]:
    by_name = {p["name"]: p for p in local or [] if isinstance(p, Mapping) and p.get("name")}
    ordered = list(local or [])
    if names and all(n.isdigit() for n in names):  # positional: keep the file's names and types, in order
        return [ordered[int(n) - 1] if int(n) - 1 < len(ordered) else {"name": f"p{n}"} for n in names]
    return [by_name.get(n) or {"name": n, **({"example": examples[n]} if examples.get(n) else {})} for n in names]


def _examples(component: Mapping[str, Any], kind: str) -> Dict[str, str]:
    """Meta's examples of named parameters (`body_text_named_params`): a new template keeps them."""
    named = (component.get("example") or {}).get(f"{kind}_text_named_params") or []
    return {str(p.get("param_name")): str(p.get("example") or "") for p in named if isinstance(p, Mapping)}


def _payload(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")
