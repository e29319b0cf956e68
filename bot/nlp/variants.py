"""Writes bot/data/nlu/variants.yml: customer-like training messages generated from the phrasebook.

    python -m bot.nlp.variants [bot/nlp/phrasebook.yml] [bot/data/nlu/variants.yml]

Each intent's phrases (bot/nlp/phrasebook.yml) are put into frames shared by all intents, then a
share of the messages gets what real typing adds: no apostrophes or punctuation, chat
abbreviations ("pls", "u", "thx"), capitals, and keyboard typos (nlpaug's keyboard and character
augmenters, which need no downloads). The output is the same for the same phrasebook: a fixed
seed, so the model only changes when the phrasebook does.
"""

import random
import re
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

import yaml

PHRASEBOOK = Path(__file__).with_name("phrasebook.yml")
OUTPUT = Path("bot/data/nlu/variants.yml")
SEED = 13
PER_INTENT = 220
# Shares of the generated messages that get each kind of noise (independently).
TYPO_SHARE = 0.45
# Share of the hand-written examples that also get a copy with typos.
HAND_WRITTEN_TYPO_SHARE = 0.35
CASUAL_SHARE = 0.35
ABBREVIATIONS = {
    "please": "pls", "you": "u", "are": "r", "thanks": "thx", "your": "ur", "because": "cuz",
    "don't": "dont", "i'm": "im", "can't": "cant", "what's": "whats", "where's": "wheres",
    "i'd": "id", "haven't": "havent", "doesn't": "doesnt", "it's": "its", "want to": "wanna",
}


def normalise(text: str) -> str:
    """What makes two messages the same for training: not case, punctuation, spacing or entity markup."""
    without_entity_markup = re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", r"\1\2", text)
    return " ".join(re.sub(r"[^\w\s]", " ", without_entity_markup.lower()).split())


def _fill(template: str, slot: str, phrase: str, orders: Sequence[str], rng: random.Random) -> str:
    text = template.replace("{" + slot + "}", phrase)
    while "{order}" in text:
        text = text.replace("{order}", rng.choice(orders), 1)
    return text


def candidates(intent: Dict[str, List[str]], frames: Dict[str, List[str]]) -> List[tuple]:
    """Every (frame, slot, phrase) combination of one intent."""
    kinds = {"vp": "wants", "np": "asks_about", "iq": "wonders", "say": "wraps"}
    return [(frame, slot, phrase) for slot, frame_kind in kinds.items()
            for phrase in intent.get(slot, []) for frame in frames[frame_kind]]


def casual(text: str, rng: random.Random) -> str:
    """Typing as in a chat: abbreviations, no apostrophes or final punctuation, odd capitals."""
    for full, short in ABBREVIATIONS.items():
        if rng.random() < 0.5:
            text = re.sub(rf"\b{re.escape(full)}\b", short, text)
    if rng.random() < 0.5:
        text = text.replace("'", "")
    text = text.rstrip("?.!") if rng.random() < 0.5 else text
    roll = rng.random()
    if roll < 0.15:
        return text.upper()
    if roll < 0.5:
        return text[:1].upper() + text[1:]
    return text


class Typos:
    """Keyboard slips and character swaps, from nlpaug."""

    def __init__(self, seed: int, word_share: float = 0.2, words: int = 1) -> None:
        import nlpaug.augmenter.char as char_augmenters
        import numpy as np

        random.seed(seed)  # nlpaug draws from the global generators
        np.random.seed(seed)
        self.augmenters = [
            char_augmenters.KeyboardAug(aug_char_max=1, aug_word_p=word_share, aug_word_max=words + 1,
                                        include_special_char=False, include_numeric=False, include_upper_case=False),
            char_augmenters.RandomCharAug(action="swap", aug_char_max=1, aug_word_p=word_share, aug_word_max=words),
            char_augmenters.RandomCharAug(action="delete", aug_char_max=1, aug_word_p=word_share, aug_word_max=words),
        ]

    def __call__(self, text: str, rng: random.Random) -> str:
        augmented = rng.choice(self.augmenters).augment(text)
        result = augmented[0] if isinstance(augmented, list) else augmented
        # nlpaug puts spaces around punctuation it tokenised; undo that.
        result = re.sub(r"\s*'\s*", "'", result)
        result = re.sub(r"(\w) - (\w)|# (\d)", lambda m: f"{m[1]}-{m[2]}" if m[1] else f"#{m[3]}", result)
        return re.sub(r"\s+([?,.!])", r"\1", result)


def generate(phrasebook: Dict, hand_written: Dict[str, List[str]], seed: int = SEED) -> Dict[str, List[str]]:
    """Messages per intent, then typo copies of some hand-written examples; none repeats a
    hand-written example or a message of another intent, since Rasa refuses one text under two.

    Intents are drawn in rounds (an intent's `round` in the phrasebook, 1 when not given; intents
    with only hand-written examples are in round 1): all of a round's messages and typo copies
    before the next round's. An intent added in a later round thus leaves the examples of the
    earlier rounds exactly as they were drawn."""
    rng = random.Random(seed)
    typos = Typos(seed)
    frames, orders = phrasebook["frames"], phrasebook["orders"]
    intents = phrasebook["intents"]
    seen = {normalise(text) for texts in hand_written.values() for text in texts}
    result: Dict[str, List[str]] = {}

    def round_of(name: str) -> int:
        return int(intents.get(name, {}).get("round", 1))

    for current in sorted({round_of(name) for name in [*intents, *hand_written]}):
        for name, intent in intents.items():
            if round_of(name) != current:
                continue
            combos = candidates(intent, frames)
            rng.shuffle(combos)
            messages: List[str] = []
            for frame, slot, phrase in combos:
                if len(messages) >= intent.get("count", PER_INTENT):
                    break
                text = _fill(frame, slot, phrase, orders, rng)
                if rng.random() < CASUAL_SHARE:
                    text = casual(text, rng)
                if rng.random() < TYPO_SHARE:
                    text = typos(text, rng)
                key = normalise(text)
                if key not in seen:
                    seen.add(key)
                    messages.append(text)
            result[name] = messages
        for name, texts in hand_written.items():
            if round_of(name) != current:
                continue
            for text in texts:
                if "[" not in text and rng.random() < HAND_WRITTEN_TYPO_SHARE:  # entity markup stays intact
                    misspelt = typos(text, rng)
                    if normalise(misspelt) not in seen:
                        seen.add(normalise(misspelt))
                        result.setdefault(name, []).append(misspelt)
    return result


def hand_written(folder: Path, besides: Path) -> Dict[str, List[str]]:
    """The examples of the other NLU files in `folder`, by intent."""
    texts: Dict[str, List[str]] = {}
    for path in sorted(folder.glob("*.yml")):
        if path.resolve() != besides.resolve():
            for block in yaml.safe_load(path.read_text()).get("nlu", []):
                lines = block.get("examples", "").splitlines()
                texts.setdefault(block["intent"], []).extend(line[2:] for line in lines if line.startswith("- "))
    return texts


def to_yaml(generated: Dict[str, List[str]]) -> str:
    lines = ['version: "3.1"', "", "# Generated by `make nlu-variants` from bot/nlp/phrasebook.yml: edit that file.",
             "", "nlu:"]
    for intent, messages in generated.items():
        lines += [f"  - intent: {intent}", "    examples: |"]
        lines += [f"      - {message}" for message in messages]
    return "\n".join(lines) + "\n"


def main(argv: Iterable[str] = ()) -> int:
    args = list(argv)
    source = Path(args[0]) if args else PHRASEBOOK
    target = Path(args[1]) if len(args) > 1 else OUTPUT
    phrasebook = yaml.safe_load(source.read_text())
    generated = generate(phrasebook, hand_written(target.parent, besides=target))
    target.write_text(to_yaml(generated))
    print(f"{target}: {sum(map(len, generated.values()))} messages for {len(generated)} intents")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
