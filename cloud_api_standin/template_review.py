"""The stand-in's review of new templates, like Meta's: checks at creation, then a verdict.

At creation (`POST /{waba-id}/message_templates`) a request Meta would refuse at once gets its error: the
same checks the platform makes before submitting (whatsapp_cloud/policy/template_drafts.py), read back from
Meta's request shape. Then the review approves, or rejects the obvious policy faults Meta rejects:

- INCORRECT_CATEGORY: a utility or authentication template whose words offer something (a discount, a sale,
  a promotion code...): Meta files offers as MARKETING;
- INVALID_FORMAT: a body that is only parameters, or that starts or ends with one (Meta asks for text around
  parameters, so the message cannot be anything at all).
"""

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping

from whatsapp_cloud.policy.template_drafts import PLACEHOLDER, DraftError, TemplateDraft

OFFER_WORDS = re.compile(
    r"\b(offer|offers|discount|discounts|sale|promo|promotion|coupon|deal|deals|buy now|shop now|limited time|"
    r"special price|free shipping|\d+\s?% off|save \d+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    status: str  # APPROVED | REJECTED
    reason: str = "NONE"
    description: str = ""


def draft_of(request: Mapping[str, Any]) -> TemplateDraft:
    """The request as a draft, checked as Meta checks it at creation; DraftError says what is wrong."""
    if str(request.get("parameter_format", "NAMED")).upper() != "NAMED":
        raise DraftError("parameter_format: this stand-in reviews templates with named parameters")
    parts: Dict[str, Any] = {key: request.get(key) for key in ("name", "language", "category")}
    examples: Dict[str, str] = {}
    buttons: List[str] = []
    for component in request.get("components") or []:
        if not isinstance(component, Mapping):
            raise DraftError("components: a list of objects")
        kind = str(component.get("type", "")).upper()
        if kind in ("HEADER", "BODY", "FOOTER"):
            if kind == "HEADER" and str(component.get("format", "TEXT")).upper() != "TEXT":
                raise DraftError("header: this stand-in reviews text headers")
            parts[kind.lower()] = component.get("text")
            named = (component.get("example") or {}).get(f"{kind.lower()}_text_named_params") or []
            examples.update({str(p.get("param_name")): str(p.get("example") or "") for p in named
                             if isinstance(p, Mapping)})
        elif kind == "BUTTONS":
            for button in component.get("buttons") or []:
                if not isinstance(button, Mapping) or button.get("type") != "QUICK_REPLY":
                    raise DraftError("buttons: this stand-in reviews quick-reply buttons")
                buttons.append(str(button.get("text") or ""))
        else:
            raise DraftError(f"components: unknown type {kind or '(none)'}")
    return TemplateDraft.from_mapping({**parts, "parameters": examples, "buttons": buttons})


def review(draft: TemplateDraft) -> Verdict:
    words = " ".join([draft.header, draft.body, draft.footer, *draft.buttons])
    offer = OFFER_WORDS.search(words)
    if draft.category in ("UTILITY", "AUTHENTICATION") and offer:
        return Verdict("REJECTED", "INCORRECT_CATEGORY",
                       f"The template offers something ({offer.group(0)!r}): promotions are MARKETING templates.")
    body = draft.body.strip()
    if not re.search(r"\w", PLACEHOLDER.sub("", body)):
        return Verdict("REJECTED", "INVALID_FORMAT", "The body is only parameters: add the text around them.")
    if PLACEHOLDER.match(body):
        return Verdict("REJECTED", "INVALID_FORMAT", "The body starts with a parameter.")
    if re.search(r"\{\{[^{}]*\}\}\s*$", body):
        return Verdict("REJECTED", "INVALID_FORMAT", "The body ends with a parameter.")
    return Verdict("APPROVED")
