"""The spaCy pipeline Rasa's SpacyNLP loads, built in code (no model downloads).

A blank English tokenizer plus an entity ruler that finds order numbers, e-mail addresses and
phone numbers in messy customer text ("#1002", "A-10023", "+1 555 123 4567").

    python -m bot.nlp.spacy_pipeline models/spacy-en
"""

import sys
from pathlib import Path
from typing import Any, Dict, List

import spacy
from spacy.language import Language

ORDER_NUMBER = r"^[A-Za-z]{0,2}-?\d{4,6}$"
DIGIT_GROUP = r"^\d{2,4}$"

PATTERNS: List[Dict[str, Any]] = [
    {"label": "order_id", "pattern": [{"TEXT": {"REGEX": ORDER_NUMBER}}]},
    {"label": "order_id", "pattern": [{"ORTH": "#"}, {"TEXT": {"REGEX": r"^\d{4,6}$"}}]},
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


def build() -> Language:
    nlp = spacy.blank("en")
    # Overlapping matches resolve to the longest span, so a phone number's last group
    # is never also taken for an order number.
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
