"""The language of each customer message, and `other_language` for one the bot does not speak.

Sets `language` on every parse result: {"code": ISO 639-1 or None when the text does not say,
"confidence", "supported"}. When the language is clearly one the bot does not speak (setting
`BOT_LANGUAGES`, default "en"), the intent becomes `other_language` with the entity `language`:
a rule answers once in that language and passes the customer to a person who speaks it
(bot/actions/other_language.py). Undecided counts as supported: a short or unclear English message
is never sent to a person for its language (bot/nlp/language.py says when a language is clear).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlp.language import DETECTED_LANGUAGES, LanguageIdentifier, supported_languages

logger = logging.getLogger(__name__)

LANGUAGE = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageDetection(GraphComponent, IntentClassifier):
    """Detects the message's language; a clear unsupported one becomes `other_language`."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # `supported: null` reads BOT_LANGUAGES when the model is loaded: no retraining to change it.
        return {"intent": "other_language", "entity": LANGUAGE, "supported": None,
                "detected": list(DETECTED_LANGUAGES)}

    def __init__(self, config: Dict[Text, Any], identifier: Optional[LanguageIdentifier] = None) -> None:
        self.intent = config["intent"]
        self.entity = config["entity"]
        setting = config["supported"]
        if isinstance(setting, list):
            setting = ",".join(setting)
        self.supported = supported_languages(setting if setting is not None else os.environ.get("BOT_LANGUAGES"))
        self.identifier = identifier or LanguageIdentifier(list(config["detected"]) + list(self.supported))
        logger.info("languages the bot speaks: %s", ", ".join(self.supported))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetection:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):  # a button's payload or the channel's intent: no language
                continue
            guess = self.identifier.identify(text)
            supported = guess.language is None or guess.language in self.supported
            message.set(LANGUAGE, {"code": guess.language, "confidence": round(guess.confidence, 3),
                                   "supported": supported}, add_to_output=True)
            if not supported:
                self._other_language(message, guess.language or "")
        return messages

    def _other_language(self, message: Message, code: str) -> None:
        chosen = {"name": self.intent, "confidence": 1.0}
        message.set(INTENT, chosen, add_to_output=True)
        # Only this intent in the ranking: the classifier's guesses on a foreign text say nothing, and a close
        # second would make the FallbackClassifier call it ambiguous.
        message.set(INTENT_RANKING_KEY, [chosen], add_to_output=True)
        entity = {"entity": self.entity, "value": code, "start": 0, "end": len(message.get(TEXT) or ""),
                  "extractor": type(self).__name__}
        # Only the language: the entity ruler's English patterns say little about a foreign text.
        message.set(ENTITIES, [entity], add_to_output=True)
