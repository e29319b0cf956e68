"""Spelling correction of customers' words before they are featurised, as a Rasa 3.6 component.

Customers type on phones: "refnud", "delviery", "paclage". The character n-grams only know the
slips of the training data, and the sentence encoder cuts an unknown word into meaningless
pieces. So each word that is neither in the training data nor among the most frequent English
words gets the closest word of either list (symspellpy, whose English frequency list ships in
the package): within one edit for words of up to five letters, two for longer ones; at the same
distance a word of the training data wins, then the more frequent. Short words (under three
letters), words with digits and words written in several training examples are never changed, so
order numbers, "pls" and "klarna" stay as they are.

Only the tokens change (their text and lemma): the message's own text, its entities and what the
tracker records stay as the customer wrote them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from importlib.resources import files
from typing import Any, Dict, Iterable, List, Optional, Set, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

WORD = re.compile(r"^[a-z][a-z']*$")
VOCABULARY_FILE = "vocabulary.json"
# The most frequent English words are enough to tell a slip from a word; the whole list of 82,765
# would double the memory and the start-up time.
ENGLISH_WORDS = 30000
# Training-data words outrank any English word at the same edit distance.
DOMAIN_COUNT = 10**12


@lru_cache(maxsize=4)
def english_words(limit: int = ENGLISH_WORDS) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    with (files("symspellpy") / "frequency_dictionary_en_82_765.txt").open(encoding="utf-8") as lines:
        for line in lines:
            word, count = line.split()
            counts[word] = int(count)
            if len(counts) >= limit:
                break
    return counts


class Speller:
    """Closest known word for a slip; known words and ones too unlike any stay as they are."""

    def __init__(self, domain_words: Iterable[str], limit: int = ENGLISH_WORDS) -> None:
        from symspellpy import SymSpell

        self.symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in english_words(limit).items():
            self.symspell.create_dictionary_entry(word, count)
        self.domain: Set[str] = set(domain_words)
        for word in self.domain:
            self.symspell.create_dictionary_entry(word, DOMAIN_COUNT)

    def correct(self, word: str) -> str:
        from symspellpy import Verbosity

        lower = word.lower()
        if len(lower) < 3 or not WORD.match(lower) or lower in self.domain or lower in self.symspell.words:
            return word
        distance = 1 if len(lower) <= 5 else 2
        suggestions = self.symspell.lookup(lower, Verbosity.CLOSEST, max_edit_distance=distance)
        return suggestions[0].term if suggestions else word


def domain_words(messages: Iterable[Message], min_count: int = 3) -> List[str]:
    """Words of the training data written in several examples: a shop's own words ("klarna",
    "pls") repeat, the slips of the typo variants do not."""
    counts: Counter = Counter()
    for message in messages:
        counts.update({token.text.lower() for token in message.get(TOKENS_NAMES[TEXT]) or []})
    return sorted(word for word, count in counts.items() if count >= min_count and WORD.match(word))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SpellingCorrector(GraphComponent):
    """Replaces misspelt tokens by the closest word of the training data or of English."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["symspellpy"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"english_words": ENGLISH_WORDS}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 vocabulary: Optional[List[str]] = None) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.speller = Speller(vocabulary or [], config["english_words"]) if vocabulary is not None else None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SpellingCorrector:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SpellingCorrector:
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = json.loads((directory / VOCABULARY_FILE).read_text())
        except ValueError:
            vocabulary = []  # trained without examples
        return cls(config, model_storage, resource, vocabulary)

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary = domain_words(training_data.training_examples)
        with self.model_storage.write_to(self.resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(vocabulary))
        self.speller = Speller(vocabulary, self.config["english_words"])
        return self.resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if self.speller is None:
            return messages
        for message in messages:
            for token in message.get(TOKENS_NAMES[TEXT]) or []:
                corrected = self.speller.correct(token.text)
                if corrected != token.text:
                    token.text = token.lemma = corrected
        return messages
