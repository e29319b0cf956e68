"""The spaCy pipeline Rasa's SpacyNLP loads, built in code (no model downloads).

A blank English tokenizer plus an entity ruler that finds order numbers, e-mail addresses,
phone numbers and dates in messy customer text ("#1002", "ord-1004", "+1 555 123 4567",
"next monday", "3rd of March", "12/03", "2026-03-12").

    python -m bot.nlp.spacy_pipeline models/spacy-en
"""

import sys
from pathlib import Path
from typing import Any, Dict, List

import spacy
from spacy.language import Language

Pattern = Dict[str, Any]

ORDER_NUMBER = r"^[A-Za-z]{0,3}-?\d{4,6}$"
DIGIT_GROUP = r"^\d{2,4}$"

ORDER_PATTERNS: List[Pattern] = [
    {"label": "order_id", "pattern": [{"TEXT": {"REGEX": ORDER_NUMBER}}]},
    {"label": "order_id", "pattern": [{"ORTH": "#"}, {"TEXT": {"REGEX": r"^\d{4,6}$"}}]},
]

CONTACT_PATTERNS: List[Pattern] = [
    {"label": "email", "pattern": [{"LIKE_EMAIL": True}]},
    {"label": "phone", "pattern": [{"TEXT": {"REGEX": r"^\+?\d{7,15}$"}}]},
    # Grouped numbers: "+1 555 123 4567", "555-123-4567", "(555) 123 4567".
    {
        "label": "phone",
        "pattern": [
            {"TEXT": {"REGEX": r"^\+?\d{1,3}$"}, "OP": "?"},
            {"ORTH": "(", "OP": "?"},
            {"TEXT": {"REGEX": r"^\d{3}$"}},
            {"ORTH": ")", "OP": "?"},
            {"ORTH": "-", "OP": "?"},
            {"TEXT": {"REGEX": r"^\d{3}$"}},
            {"ORTH": "-", "OP": "?"},
            {"TEXT": {"REGEX": DIGIT_GROUP}},
        ],
    },
]

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# Abbreviations only count after "next", "this"...: alone they are too often other words.
# "sat", "sun" and "wed" (the tokenizer reads "we'd") are left out altogether.
WEEKDAY_ABBREVIATIONS = ["mon", "tue", "tues", "thu", "thur", "thurs", "fri"]
# "may" is only a month next to a day number, which every month pattern below requires.
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december",
          "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"]
DAY_NUMBER = r"^(0?[1-9]|[12]\d|3[01])(st|nd|rd|th)?$"
YEAR = r"^(19|20)\d{2}$"
DAY_OR_MONTH = r"(0?[1-9]|[12]\d|3[01])"

WEEKDAY = {"LOWER": {"IN": WEEKDAYS}}
ANY_WEEKDAY = {"LOWER": {"IN": WEEKDAYS + WEEKDAY_ABBREVIATIONS}}
MONTH = {"LOWER": {"IN": MONTHS}}
DAY = {"TEXT": {"REGEX": DAY_NUMBER}}
YEAR_TOKEN = {"TEXT": {"REGEX": YEAR}}
COMMA = {"ORTH": ","}
RELATIVE = {"LOWER": {"IN": ["next", "this", "last", "coming"]}}


def _dates(*token_patterns: List[Pattern]) -> List[Pattern]:
    return [{"label": "date", "pattern": tokens} for tokens in token_patterns]


DATE_PATTERNS: List[Pattern] = _dates(
    [{"LOWER": {"IN": ["today", "tonight", "tomorrow", "tmrw", "tmr", "yesterday"]}}],
    [{"LOWER": "the", "OP": "?"}, {"LOWER": "day"}, {"LOWER": {"IN": ["after", "before"]}},
     {"LOWER": {"IN": ["tomorrow", "yesterday"]}}],
    [WEEKDAY],
    [RELATIVE, ANY_WEEKDAY],
    [RELATIVE, {"LOWER": {"IN": ["week", "weekend", "month", "year"]}}],
    [{"LOWER": "in"}, {"TEXT": {"REGEX": r"^\d{1,2}$"}}, {"LOWER": {"IN": ["day", "days", "week", "weeks"]}}],
    # 12/03, 12/03/2026, 3.3.2026, 2026/03/12
    [{"TEXT": {"REGEX": rf"^{DAY_OR_MONTH}/{DAY_OR_MONTH}(/(\d{{2}}|\d{{4}}))?$"}}],
    [{"TEXT": {"REGEX": rf"^{DAY_OR_MONTH}\.{DAY_OR_MONTH}\.(\d{{2}}|\d{{4}})$"}}],
    [{"TEXT": {"REGEX": r"^(19|20)\d{2}/\d{1,2}/\d{1,2}$"}}],
    # 2026-03-12 and 12-03-2026 (the tokenizer splits them at the hyphens)
    [YEAR_TOKEN, {"ORTH": "-"}, {"TEXT": {"REGEX": r"^\d{1,2}$"}}, {"ORTH": "-"}, {"TEXT": {"REGEX": r"^\d{1,2}$"}}],
    [{"TEXT": {"REGEX": r"^\d{1,2}$"}}, {"ORTH": "-"}, {"TEXT": {"REGEX": r"^\d{1,2}$"}}, {"ORTH": "-"}, YEAR_TOKEN],
    # March 3rd, Mar 3 2026, March 3, 2026
    [MONTH, DAY],
    [MONTH, DAY, YEAR_TOKEN],
    [MONTH, DAY, COMMA, YEAR_TOKEN],
    # 3 March, 3rd of March, the 3rd of March 2026
    [{"LOWER": "the", "OP": "?"}, DAY, {"LOWER": "of", "OP": "?"}, MONTH],
    [{"LOWER": "the", "OP": "?"}, DAY, {"LOWER": "of", "OP": "?"}, MONTH, YEAR_TOKEN],
    [{"LOWER": "the", "OP": "?"}, DAY, {"LOWER": "of", "OP": "?"}, MONTH, COMMA, YEAR_TOKEN],
)

PATTERNS: List[Pattern] = ORDER_PATTERNS + CONTACT_PATTERNS + DATE_PATTERNS


def build() -> Language:
    nlp = spacy.blank("en")
    # Overlapping matches resolve to the longest span, so a phone number's last group or the
    # year of a date is never also taken for an order number.
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True})
    ruler.add_patterns(PATTERNS)
    return nlp


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "models/spacy-en")
    target.parent.mkdir(parents=True, exist_ok=True)
    build().to_disk(target)
    print(f"spaCy pipeline written to {target}")


if __name__ == "__main__":
    main()
