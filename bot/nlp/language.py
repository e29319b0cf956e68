"""Which language a customer message is written in, said only when the text makes it clear.

The detector is lingua (`lingua-language-detector`: its models are inside the package, nothing is
fetched) in low-accuracy mode, restricted to the languages below: about 30 MB instead of several
hundred (README, "Dependencies"). Statistical detectors guess wildly on a few words ("ok thx bye"
looks French to them), and an English message taken for another language would send a customer
to a person for nothing. So a language other than English is named only when:

- the letters are mostly of another script than Latin (Arabic, Cyrillic, Devanagari, ...): then
  English is out of the question and a couple of letters are enough; or
- the message has enough words and letters, fewer than half of them are common English words
  (bot/nlp/english_words.py; names inside a sentence aside), and the detector is sure of the
  language by a clear margin over English (Spanish is also told by its opening ¿ and ¡).

Anything else is undecided (language None), and undecided counts as English.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Set

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from bot.nlp.addresses import looks_like_address
from bot.nlp.english_words import ENGLISH_WORDS

# English, the 15 languages of the reply table (bot/actions/language_replies.py) and neighbours of
# theirs, so that Dutch is not answered in German. ISO 639-1 codes. Not Ukrainian, Marathi nor
# Tagalog: in low-accuracy mode they took many short Russian, Hindi, Indonesian and Spanish messages
# (bench/language_detectors.py); Ukrainian is told by its own letters instead (UKRAINIAN_LETTERS).
DETECTED_LANGUAGES = (
    "en", "es", "pt", "hi", "id", "ar", "ru", "de", "fr", "it", "tr", "ur", "bn", "ms", "sw", "fa",
    "nl", "pl", "ro", "vi", "ta", "te", "zh", "ja", "ko", "th",
)
UKRAINIAN_LETTERS = frozenset("ієїґІЄЇҐ")  # Cyrillic letters that Russian does not have
SPANISH_MARKS = frozenset("¿¡")  # opening question and exclamation marks: only Spanish writes them
# Languages so close that a short message cannot tell them apart; either reply is understood, so
# the detector's certainty is that of the pair.
CLOSE = {"id": "ms", "ms": "id"}

_URL_OR_EMAIL = re.compile(r"(https?://\S+|www\.\S+|\S+@\S+)", re.IGNORECASE)
_WITH_DIGIT = re.compile(r"\S*\d\S*")  # order numbers, prices, dates, phone numbers
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SENTENCE_END = (".", "!", "?", "¿", "¡", ":")


@dataclass(frozen=True)
class Guess:
    language: Optional[str]  # ISO 639-1; None: the text does not say (treat as English)
    confidence: float


UNDECIDED = Guess(None, 0.0)


class LanguageIdentifier:
    def __init__(self, languages: Sequence[str] = DETECTED_LANGUAGES, min_words: int = 3,
                 min_letters: int = 12, threshold: float = 0.75, margin: float = 0.5,
                 english_share: float = 0.5, script_min_letters: int = 2,
                 script_threshold: float = 0.5) -> None:
        codes = sorted({code.lower() for code in languages} | {"en"})
        self.detector = (LanguageDetectorBuilder.from_languages(*(_language(code) for code in codes))
                         .with_low_accuracy_mode().with_preloaded_language_models().build())
        self.languages = tuple(codes)
        self.min_words = min_words
        self.min_letters = min_letters
        self.threshold = threshold
        self.margin = margin
        self.english_share = english_share
        self.script_min_letters = script_min_letters
        self.script_threshold = script_threshold

    def identify(self, text: str) -> Guess:
        cleaned = _WITH_DIGIT.sub(" ", _URL_OR_EMAIL.sub(" ", text or ""))
        letters = [ch for ch in cleaned if ch.isalpha()]
        if not letters:
            return UNDECIDED
        latin = sum(_is_latin(ch) for ch in letters)
        if latin * 2 < len(letters):
            return self._other_script(cleaned, len(letters))
        if looks_like_address(text):  # "Rua das Flores 45, Lisbon": place names, not the customer's language
            return UNDECIDED
        words = _WORD.findall(cleaned)
        if len(words) < self.min_words or len(letters) < self.min_letters:
            return UNDECIDED
        # Names of people, streets and towns in an English message ("deliver to Jalan Sudirman,
        # Jakarta") say nothing of its language: the English share is of the other words.
        plain = [_plain(w.lower()) for w in _WORD.findall(_without_names(cleaned))]
        if not plain or sum(_is_english(w) for w in plain) >= self.english_share * len(plain):
            return Guess("en", 1.0) if plain else UNDECIDED
        scores = self._scores(cleaned)
        top, confidence = max(scores.items(), key=lambda item: item[1])
        if top == "en":
            return Guess("en", confidence)
        if SPANISH_MARKS.intersection(cleaned) and scores.get("en", 0.0) < self.threshold:
            return Guess("es", max(confidence, scores.get("es", 0.0)))
        confidence += scores.get(CLOSE.get(top, ""), 0.0)
        if confidence >= self.threshold and confidence - scores.get("en", 0.0) >= self.margin:
            return Guess(top, confidence)
        return UNDECIDED

    def _other_script(self, text: str, letters: int) -> Guess:
        if letters < self.script_min_letters:
            return UNDECIDED
        top, confidence = max(self._scores(text).items(), key=lambda item: item[1])
        if top == "ru" and UKRAINIAN_LETTERS.intersection(text):
            return Guess("uk", confidence)
        if top != "en" and confidence >= self.script_threshold:
            return Guess(top, confidence)
        return UNDECIDED

    def _scores(self, text: str) -> dict:
        return {value.language.iso_code_639_1.name.lower(): value.value
                for value in self.detector.compute_language_confidence_values(text)}


def _language(code: str) -> Language:
    try:
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except AttributeError:
        raise ValueError(f"unknown language code {code!r} (ISO 639-1, e.g. 'es')") from None


def _without_names(text: str) -> str:
    """The text without capitalised words inside a sentence (names; German nouns too)."""
    kept, opening = [], True
    for token in text.split():
        if opening or not token[0].isupper():
            kept.append(token)
        opening = token.endswith(_SENTENCE_END)
    return " ".join(kept)


def _is_latin(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN")


def _deletions(word: str) -> Set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


# Every English word of four letters or more, and each with one letter left out: a slip of one of them
# shares a form with it ("giift", "selll", "ordre" -> "gift", "sell", "order").
_NEAR_ENGLISH = frozenset().union(*({w} | _deletions(w) for w in ENGLISH_WORDS if len(w) >= 4))


def _is_english(word: str) -> bool:
    """A common English word, or one letter added, left out, changed or swapped in one of five letters or
    more: customers' typing slips are no evidence of another language ("do you selll giift carxs")."""
    if word in ENGLISH_WORDS:
        return True
    return len(word) >= 5 and (word in _NEAR_ENGLISH or not _deletions(word).isdisjoint(_NEAR_ENGLISH))


def _plain(word: str) -> str:
    """Lower case without accents or apostrophes: "didn't" -> "didnt", "café" -> "cafe"."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if ch.isalpha() and not unicodedata.combining(ch))


def supported_languages(setting: Optional[str], default: Iterable[str] = ("en",)) -> tuple:
    """The bot's languages from a setting like "en,de" (BOT_LANGUAGES); English when empty."""
    codes = [code.strip().lower() for code in (setting or "").split(",") if code.strip()]
    for code in codes:
        _language(code)  # an unknown code fails at start-up, not on a customer's message
    return tuple(codes) or tuple(default)
