"""Answers to the bot's buttons typed instead of tapped, decided by rule after the intent classifier.

Customers answer "Which order do you mean?" by typing the number ("1002", "#1002 please", "it's
A-10023") and "How did we do today?" with "4" or "4/5" as often as they tap. Such messages have no
words to learn from: Rasa's count featurizers turn every number into the same token, so the classifier
cannot tell "4" from "1002", and numbers also appear in real questions ("will it arrive by 3 March 2026").
So: the order number found by the entity ruler plus nothing but filler words → `choose_order`
(`bot/actions/choice.py` reads which question it answers); nothing but a rating → `csat` with its
`csat_score`; both with confidence 1. Anything else the classifier called `choose_order` gets its
next guess.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlp.ratings import rating_only
from bot.nlp.words import other_words

DEFAULT_FILLER_WORDS = [
    "please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "the", "one", "that", "this", "it",
    "it's", "its", "is", "number", "nr", "no", "i", "mean", "think", "guess", "believe", "ok", "okay",
    "um", "umm", "mmm", "hmm", "yes", "yeah", "ya", "yep", "with", "first", "second", "third", "last",
    "newest", "latest", "older", "oldest", "new", "old",
    # A correction is an answer too: "no, I meant 1003", "sorry, wrong one: order 1003", "actually 1003".
    "meant", "sorry", "actually", "oops", "wrong", "rather", "instead", "oh", "ah", "wait", "that's",
    "thats", "was", "order", "other",
]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TypedReplies(GraphComponent, IntentClassifier):
    """Sets `choose_order` for a bare order number and `csat` for a bare rating."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "choose_order", "entity": "order_id", "filler_words": DEFAULT_FILLER_WORDS,
                "rating_intent": "csat", "rating_entity": "csat_score"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = config["intent"]
        self.entity = config["entity"]
        self.filler_words = {word.lower() for word in config["filler_words"]}
        self.rating_intent = config["rating_intent"]
        self.rating_entity = config["rating_entity"]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TypedReplies:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            score = rating_only(message.get(TEXT) or "")
            if self.is_order_number_only(message):
                self._decide(message, self.intent)
            elif score:
                self._decide(message, self.rating_intent)
                text = message.get(TEXT)
                rating = {"entity": self.rating_entity, "value": score, "start": 0, "end": len(text),
                          "extractor": type(self).__name__}
                # Only the rating: "2/5" is not a date.
                message.set(ENTITIES, [rating], add_to_output=True)
            elif (message.get(INTENT) or {}).get("name") == self.intent:
                self._next_best(message)
        return messages

    def is_order_number_only(self, message: Message) -> bool:
        text = message.get(TEXT) or ""
        spans = [(e["start"], e["end"]) for e in message.get(ENTITIES) or [] if e.get("entity") == self.entity]
        if not spans:
            return False
        rest = "".join(" " if any(start <= i < end for start, end in spans) else ch for i, ch in enumerate(text))
        return not other_words(rest, self.filler_words)

    @staticmethod
    def _decide(message: Message, intent: str) -> None:
        # DIET's guesses stay listed, at half their confidence: next to a rule's decision they must not
        # make the FallbackClassifier call it ambiguous ("no, I meant 1003" is deny 0.97 to DIET).
        ranking = [{**r, "confidence": r.get("confidence", 0.0) / 2}
                   for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent]
        chosen = {"name": intent, "confidence": 1.0}
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen] + ranking, add_to_output=True)

    def _next_best(self, message: Message) -> None:
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != self.intent]
        if ranking:
            message.set(INTENT, {"name": ranking[0]["name"], "confidence": ranking[0]["confidence"]},
                        add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
