"""The designers' page's work: messages that fell back or scored low, grouped by the intent they most
resemble, and a selection of them as a Rasa NLU training-data file (`version: "3.1"`) under one intent.

No customer number ever leaves here: anything that looks like a phone number is taken out of each text
(`<phone>` in its place), on the page and in the file alike. Texts become single lines, as NLU examples are.
"""

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence

import yaml

# A number of 7 to 15 digits, with the spaces, dots, dashes and brackets people write them with
# (+1 650 555 0199, (650) 555-0199, 0151-2345678); a date (2026-11-02) is no phone number.
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().\-/]{5,}\d\)?(?!\w)")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PLACEHOLDER = "<phone>"
BRACKETS = str.maketrans("[]", "()")
INTENT_LINE = re.compile(r"^\s*-\s*intent:\s*([\w.-]+)\s*$", re.MULTILINE)


def without_numbers(text: str) -> str:
    def replace(match: re.Match) -> str:
        found = match.group(0)
        digits = sum(c.isdigit() for c in found)
        if DATE.fullmatch(found.strip()) or not 7 <= digits <= 15:
            return found
        return PLACEHOLDER + (" " if found.endswith(" ") else "")

    return " ".join(PHONE.sub(replace, text).split())


def grouped(messages: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """[{"intent", "messages"}] by the intent each message most resembles, the largest group first; texts and
    the conversation around them without numbers."""
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for message in messages:
        shown = {**message, "text": without_numbers(message["text"]),
                 "before": [{**m, "text": without_numbers(m["text"])} for m in message["before"]],
                 "after": [{**m, "text": without_numbers(m["text"])} for m in message["after"]]}
        groups.setdefault(message["resembles"] or "unknown", []).append(shown)
    return [{"intent": name, "messages": found}
            for name, found in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))]


def training_intents(domain_file: Path, nlu_dir: Path) -> List[str]:
    """The domain's intents that have NLU examples already (those a designer trains; not the channel's
    own `media_received`, the triggered `EXTERNAL_*` or the retrieval intent's `faq/...`)."""
    domain = yaml.safe_load(domain_file.read_text()) or {}
    declared = [next(iter(i)) if isinstance(i, dict) else str(i) for i in domain.get("intents") or []]
    # The `- intent:` lines only: the generated variants run to thousands of examples, slow to parse as YAML.
    trained = {match.group(1) for path in sorted(nlu_dir.glob("*.yml"))
               for match in INTENT_LINE.finditer(path.read_text())}
    return [name for name in declared if name in trained]


def training_file(intent: str, texts: Sequence[str], now: datetime = None) -> str:
    """Rasa NLU YAML with the texts (numbers taken out, duplicates once) as examples of `intent`. Square
    brackets become round ones: in an example, `[text](name)` would annotate an entity the customer never meant."""
    examples = list(dict.fromkeys(t for t in (without_numbers(text).translate(BRACKETS) for text in texts) if t))
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# Candidate training examples for {intent} from real messages that fell back or scored low,",
             f"# exported {stamp}. Review them, then move the good ones into bot/data/nlu/.",
             'version: "3.1"', "", "nlu:", f"  - intent: {intent}", "    examples: |"]
    lines += [f"      - {text}" for text in examples]
    return "\n".join(lines) + "\n"
