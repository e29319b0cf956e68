"""Consent: who agreed to receive business-initiated messages, for which scope, and who opted out.

Pure: the ledger (store.py) keeps the records; this module says what a record means.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, Iterable, Mapping, Optional, Tuple

SCOPES = ("utility", "marketing")
SOURCES = ("website", "sms", "whatsapp_thread", "ivr", "paper", "checkout_page",
           "keyword", "button", "user_preferences", "error_131050", "agent")
OPT_IN_SOURCES = ("website", "sms", "whatsapp_thread", "ivr", "paper", "checkout_page", "keyword",
                  "button", "user_preferences", "agent")

DEFAULT_OPT_OUT_KEYWORDS = (
    "STOP", "STOP ALL", "UNSUBSCRIBE", "CANCEL MESSAGES", "OPT OUT", "OPTOUT",  # en
    "PARAR", "BAJA", "DARSE DE BAJA", "CANCELAR SUSCRIPCION",  # es, pt
    "ARRET", "ARRÊT", "DESABONNER", "DÉSABONNER",  # fr
    "STOPP", "ABMELDEN",  # de
    "ANNULLA ISCRIZIONE", "DISISCRIVITI",  # it
    "SAIR",  # pt
)
DEFAULT_OPT_IN_KEYWORDS = ("START", "SUBSCRIBE", "UNSTOP", "ALTA", "INICIAR", "COMMENCER", "ANMELDEN")
DEFAULT_OPT_OUT_PAYLOADS = ("STOP_PROMOTIONS",)
# The "yes" button of the bot's opt-in question (bot/actions/consent.py), which names the business and
# the kind of messages: tapping it is an explicit opt-in.
OPT_IN_PAYLOAD = "WA_OPT_IN_YES"
# The button of the confirmation template (`optin_confirmation`) sent after an opt-in outside WhatsApp (the
# opt-in page): tapping it confirms that the number's owner gave the consent; the ledger notes it.
OPT_IN_CONFIRM_PAYLOAD = "WA_OPT_IN_CONFIRM"
OPT_IN_QUESTION = ("Would you like {business} to send you order updates and offers here on WhatsApp? "
                   "You can reply STOP at any time.")


def scope_of(category: str) -> str:
    """Marketing consent covers marketing templates; utility consent covers utility and authentication."""
    return "marketing" if category.upper() == "MARKETING" else "utility"


@dataclass(frozen=True)
class ConsentRecord:
    status: str  # "in" | "out"
    at: datetime
    source: str
    wording: str = ""
    confirmed_at: Optional[datetime] = None  # the customer confirmed it on WhatsApp (the confirmation's button)
    confirmation: str = ""  # how they confirmed it
    recorded_by: str = ""  # the agent who recorded what the customer told them; "" for the customer's own act


@dataclass(frozen=True)
class Consent:
    """One customer's latest consent record per scope."""

    records: Mapping[str, ConsentRecord] = field(default_factory=dict)

    def opted_in(self, scope: str) -> bool:
        record = self.records.get(scope)
        return record is not None and record.status == "in"

    def opted_out(self, scope: str) -> bool:
        record = self.records.get(scope)
        return record is not None and record.status == "out"

    @property
    def opted_out_anywhere(self) -> bool:
        return any(r.status == "out" for r in self.records.values())

    def with_record(self, scope: str, record: ConsentRecord) -> "Consent":
        """Apply a record unless a newer one for the scope is already known (late webhooks change nothing)."""
        current = self.records.get(scope)
        if current is not None and current.at > record.at:
            return self
        return Consent({**self.records, scope: record})


def changes(consent: Consent, status: str, scopes: Iterable[str]) -> Tuple[str, ...]:
    """The scopes whose status a new record would change: empty when it repeats the current state."""
    return tuple(s for s in scopes if (consent.opted_in(s) if status == "in" else consent.opted_out(s)) is False)


@dataclass(frozen=True)
class Keywords:
    """Exact messages that opt a customer out or back in (case, accents and punctuation at the ends ignored)."""

    opt_out: Tuple[str, ...] = DEFAULT_OPT_OUT_KEYWORDS
    opt_in: Tuple[str, ...] = DEFAULT_OPT_IN_KEYWORDS
    opt_out_payloads: Tuple[str, ...] = DEFAULT_OPT_OUT_PAYLOADS

    def intent_for(self, text: Optional[str], message_type: str = "text") -> Optional[str]:
        """"/opt_out", "/opt_in" or None for an inbound message's text (or a button's payload)."""
        if not text:
            return None
        if message_type in ("button", "interactive") and text in self.opt_out_payloads:
            return "/opt_out"
        if message_type in ("button", "interactive") and text in (OPT_IN_PAYLOAD, OPT_IN_CONFIRM_PAYLOAD):
            return "/opt_in"
        if message_type != "text":
            return None
        said = _normal(text)
        if said in {_normal(k) for k in self.opt_out}:
            return "/opt_out"
        if said in {_normal(k) for k in self.opt_in}:
            return "/opt_in"
        return None


@dataclass(frozen=True)
class ConsentChange:
    """What one customer message says about consent: the new status, the scopes it covers, how and in what
    words it was given (kept in the ledger as the proof)."""

    status: str  # "in" | "out"
    scopes: Tuple[str, ...]
    source: str  # "keyword" | "button"
    wording: str


KEYWORD_WORDING = "Customer sent the keyword {text!r} on WhatsApp"
BUTTON_WORDING = "Customer tapped {text!r} on WhatsApp"
OPT_IN_BUTTON_WORDING = "Customer tapped yes on WhatsApp to: " + OPT_IN_QUESTION


def change_for(keywords: Keywords, text: Optional[str], message_type: str, business: str) -> Optional[ConsentChange]:
    """The consent change a customer's message makes, or None. A keyword changes every scope; the opt-out
    button (on marketing templates) stops promotions only; the yes to the bot's question records what it asked."""
    intent = keywords.intent_for(text, message_type)
    if intent is None or not text or text == OPT_IN_CONFIRM_PAYLOAD:  # a confirmation is no new choice
        return None
    status = "out" if intent == "/opt_out" else "in"
    source = "keyword" if message_type == "text" else "button"
    scopes = ("marketing",) if source == "button" and status == "out" else SCOPES
    wording = (KEYWORD_WORDING if source == "keyword" else BUTTON_WORDING).format(text=text)
    if text == OPT_IN_PAYLOAD:
        wording = OPT_IN_BUTTON_WORDING.format(business=business)
    return ConsentChange(status, scopes, source, wording)


CONFIRMATION_WORDING = "Customer tapped {title!r} on WhatsApp in the confirmation of their opt-in"


def confirmation_for(text: Optional[str], message_type: str, title: Optional[str] = None) -> Optional[str]:
    """The wording noted in the ledger when a message is the tap on the opt-in confirmation's button, else None."""
    if message_type not in ("button", "interactive") or text != OPT_IN_CONFIRM_PAYLOAD:
        return None
    return CONFIRMATION_WORDING.format(title=title or text)


def _normal(text: str) -> str:
    stripped = text.strip().strip(".!¡¿?").strip().upper()
    return "".join(c for c in unicodedata.normalize("NFKD", stripped) if not unicodedata.combining(c))


def records_from_hash(fields: Mapping[str, str]) -> Consent:
    records: Dict[str, ConsentRecord] = {}
    for scope, raw in fields.items():
        data = json.loads(raw)
        confirmed = data.get("confirmed_at")
        records[scope] = ConsentRecord(data["status"], datetime.fromisoformat(data["at"]), data["source"],
                                       data.get("wording", ""),
                                       datetime.fromisoformat(confirmed) if confirmed else None,
                                       data.get("confirmation", ""), data.get("by", ""))
    return Consent(records)
