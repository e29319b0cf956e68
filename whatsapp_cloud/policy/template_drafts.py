"""A new message template as the business writes it, checked and turned into Meta's creation request.

`TemplateDraft.from_mapping` reads what an administrator filled in (the inbox's form, a YAML or JSON file,
command-line flags) and refuses, with the field named, what Meta refuses at creation: a name other than
lower-case letters, digits and underscores, texts over Meta's lengths, more than one header parameter,
parameters in the footer, a placeholder without an example (Meta needs one per named parameter to review
the template), or an example for no placeholder. `request()` is the body of
`POST /{waba-id}/message_templates` with named parameters (`parameter_format: NAMED`); `listed()` the same
template as `GET /{waba-id}/message_templates` lists it, which the registry file is written from.

What Meta judges in its review (the category fits the wording, enough text around the parameters) is not
checked here: Meta answers that with the template's status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Tuple

from whatsapp_cloud.policy.templates import CATEGORIES

NAME = re.compile(r"[a-z0-9_]{1,512}")
LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
PARAMETER_NAME = re.compile(r"[a-z][a-z0-9_]*")
BODY_LIMIT = 1024
HEADER_LIMIT = 60
FOOTER_LIMIT = 60
BUTTON_LIMIT = 25
MAX_BUTTONS = 10  # quick replies
EXAMPLE_LIMIT = 200


class DraftError(ValueError):
    """A template Meta would refuse to create; the message names the field."""


@dataclass(frozen=True)
class TemplateDraft:
    name: str
    language: str
    category: str
    body: str
    header: str = ""
    footer: str = ""
    buttons: Tuple[str, ...] = ()  # quick-reply button texts
    examples: Mapping[str, str] = field(default_factory=dict)  # parameter name -> example value

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "TemplateDraft":
        """From `{name, language, category, header, body, footer, buttons: [...], parameters: {name: example}}`
        (`parameters` may also be a list of `{name, example}`)."""
        if not isinstance(data, Mapping):
            raise DraftError("a template is a mapping of name, language, category, body, ...")
        text = {key: _text(data, key) for key in ("name", "language", "category", "header", "body", "footer")}
        buttons = data.get("buttons") or []
        if isinstance(buttons, str):
            buttons = [line for line in buttons.splitlines()]
        if not isinstance(buttons, list) or not all(isinstance(b, str) for b in buttons):
            raise DraftError("buttons: a list of button texts")
        draft = cls(name=text["name"], language=text["language"], category=text["category"].upper(),
                    body=text["body"], header=text["header"], footer=text["footer"],
                    buttons=tuple(b.strip() for b in buttons if b.strip()),
                    examples=_examples(data.get("parameters")))
        draft.check()
        return draft

    def check(self) -> None:
        if not NAME.fullmatch(self.name):
            raise DraftError("name: lower-case letters, digits and underscores only (at most 512)")
        if not LANGUAGE.fullmatch(self.language):
            raise DraftError(f"language: a code such as en_US or es, got {self.language!r}")
        if self.category not in CATEGORIES:
            raise DraftError(f"category: one of {', '.join(CATEGORIES)}")
        if not self.body:
            raise DraftError("body: the text is required")
        for part, text, limit in (("body", self.body, BODY_LIMIT), ("header", self.header, HEADER_LIMIT),
                                  ("footer", self.footer, FOOTER_LIMIT)):
            if len(text) > limit:
                raise DraftError(f"{part}: at most {limit} characters, got {len(text)}")
        if "\n" in self.header or "\n" in self.footer:
            raise DraftError("header and footer: one line each")
        if self.placeholders("footer"):
            raise DraftError("footer: parameters are not allowed in the footer")
        if len(self.placeholders("header")) > 1:
            raise DraftError("header: at most one parameter")
        for part in ("header", "body"):
            names = self.placeholders(part)
            for name in names:
                if not PARAMETER_NAME.fullmatch(name):
                    raise DraftError(f"{part}: parameter {{{{{name}}}}} must be named with lower-case letters, "
                                     "digits and underscores, starting with a letter")
                if not self.examples.get(name):
                    raise DraftError(f"parameters: {name} needs an example (Meta reviews the template with it)")
            if len(set(names)) != len(names):
                raise DraftError(f"{part}: each parameter appears once")
        unused = set(self.examples) - set(self.placeholders("header")) - set(self.placeholders("body"))
        if unused:
            raise DraftError(f"parameters: {', '.join(sorted(unused))} appear in no text")
        if len(self.buttons) > MAX_BUTTONS:
            raise DraftError(f"buttons: at most {MAX_BUTTONS}")
        for button in self.buttons:
            if len(button) > BUTTON_LIMIT:
                raise DraftError(f"buttons: {button!r} is longer than {BUTTON_LIMIT} characters")
        if len(set(self.buttons)) != len(self.buttons):
            raise DraftError("buttons: each text once")

    def placeholders(self, part: str) -> List[str]:
        return PLACEHOLDER.findall(getattr(self, part))

    def request(self) -> Dict[str, Any]:
        """The body of POST /{waba-id}/message_templates."""
        components: List[Dict[str, Any]] = []
        if self.header:
            components.append({"type": "HEADER", "format": "TEXT", "text": self.header, **self._example("header")})
        components.append({"type": "BODY", "text": self.body, **self._example("body")})
        if self.footer:
            components.append({"type": "FOOTER", "text": self.footer})
        if self.buttons:
            components.append({"type": "BUTTONS",
                               "buttons": [{"type": "QUICK_REPLY", "text": b} for b in self.buttons]})
        return {"name": self.name, "language": self.language, "category": self.category,
                "parameter_format": "NAMED", "components": components}

    def listed(self, template_id: str, status: str) -> Dict[str, Any]:
        """The template as GET /{waba-id}/message_templates lists it."""
        return {**self.request(), "id": template_id, "status": status}

    def _example(self, part: str) -> Dict[str, Any]:
        names = self.placeholders(part)
        if not names:
            return {}
        return {"example": {f"{part}_text_named_params": [{"param_name": n, "example": self.examples[n]}
                                                          for n in names]}}


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, (str, int)):
        raise DraftError(f"{key}: a text")
    return str(value).strip()


def _examples(parameters: Any) -> Dict[str, str]:
    if not parameters:
        return {}
    if isinstance(parameters, Mapping):
        items = list(parameters.items())
    elif isinstance(parameters, list) and all(isinstance(p, Mapping) for p in parameters):
        items = [(p.get("name"), p.get("example")) for p in parameters]
    else:
        raise DraftError("parameters: a mapping of name -> example, or a list of {name, example}")
    found: Dict[str, str] = {}
    for name, example in items:
        if not isinstance(name, str) or not name:
            raise DraftError("parameters: each one needs a name")
        example = "" if example is None else str(example).strip()
        if len(example) > EXAMPLE_LIMIT:
            raise DraftError(f"parameters: the example of {name} is longer than {EXAMPLE_LIMIT} characters")
        found[name.strip()] = example
    return found
