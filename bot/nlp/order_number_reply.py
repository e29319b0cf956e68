"""A message that is only an order number is the intent `choose_order`, whatever the classifier thought.

Customers answer "Which order do you mean?" by typing the number ("1002", "#1002 please", "it's
A-10023") as often as by tapping. Such a message has no words to learn from, only a number, and a
number also appears in real questions ("will it arrive by 3 March 2026", "my card was charged 3
times"). So this decides it by rule, after DIET: the order number found by the entity ruler plus
nothing but filler words → `choose_order` with confidence 1; anything else that DIET called
`choose_order` gets DIET's next guess. `bot/actions/choice.py` then reads which question it answers.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")

DEFAULT_FILLER_WORDS = [
    "please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "the", "one", "that", "this", "it",
    "it's", "its", "is", "number", "nr", "no", "i", "mean", "think", "guess", "believe", "ok", "okay",
    "um", "umm", "mmm", "hmm", "yes", "yeah", "ya", "yep", "with", "first", "second", "third", "last",
    "newest", "latest", "older", "oldest", "new", "old",
]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OrderNumberReply(GraphComponent, IntentClassifier):
    """Sets `choose_order` for messages that hold an order number and nothing else of substance."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "choose_order", "entity": "order_id", "filler_words": DEFAULT_FILLER_WORDS}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = config["intent"]
        self.entity = config["entity"]
        self.filler_words = {word.lower() for word in config["filler_words"]}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OrderNumberReply:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if self.is_order_number_only(message):
                self._choose(message)
            elif (message.get(INTENT) or {}).get("name") == self.intent:
                self._next_best(message)
        return messages

    def is_order_number_only(self, message: Message) -> bool:
        text = message.get(TEXT) or ""
        spans = [(e["start"], e["end"]) for e in message.get(ENTITIES) or [] if e.get("entity") == self.entity]
        if not spans:
            return False
        rest = "".join(" " if any(start <= i < end for start, end in spans) else ch for i, ch in enumerate(text))
        return all(word in self.filler_words for word in WORD.findall(rest.lower()))

    def _choose(self, message: Message) -> None:
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != self.intent]
        chosen = {"name": self.intent, "confidence": 1.0}
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen] + ranking, add_to_output=True)

    def _next_best(self, message: Message) -> None:
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != self.intent]
        if ranking:
            message.set(INTENT, {"name": ranking[0]["name"], "confidence": ranking[0]["confidence"]},
                        add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
