"""Which answer of a retrieval intent (`faq/opening_hours`, `faq/warranty`, ...) a message asks for: a Rasa 3.6
component in place of Rasa's ResponseSelector, with the same output, so `utter_faq` works unchanged.

It is bot/nlp/sentence_model.py trained on the retrieval intent's examples, labelled with their response
keys. Rasa's ResponseSelector is a TensorFlow model of its own that held about 480 MB in each bot worker
(more than a third of the process) and took most of the training time; this one holds a few MB, trains in
seconds and selects as well or better on the held-out questions (README, "Understanding customers").
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Text

import joblib
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.nlu.training_data.util import intent_response_key_to_template_key

from bot.nlp.sentence_model import DEFAULT_CONFIG, SentenceModel, SentenceModelComponent, readable

MODEL_FILE = "faq_selector.joblib"
# Rasa's recipe validator knows only its own ResponseSelector and warns that the FAQ's examples train
# nothing; this component is what trains on them.
warnings.filterwarnings("ignore", message="You have defined training data with examples for training a response "
                        "selector")
RANKING_LENGTH = 10


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqSelector(SentenceModelComponent):
    """Logistic regression on the sentence vector and word and character tf-idf, over response keys."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DEFAULT_CONFIG, "retrieval_intent": "faq"}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 saved: Optional[Dict[str, Any]] = None) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        saved = saved or {}
        self.model = SentenceModel(config, saved["parts"]) if saved.get("parts") else None
        self.responses: Dict[str, List[Dict[str, Any]]] = saved.get("responses", {})
        self.retrieval_intents: List[str] = saved.get("retrieval_intents", [])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> FaqSelector:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> FaqSelector:
        try:
            with model_storage.read_from(resource) as directory:
                saved = joblib.load(directory / MODEL_FILE)
        except ValueError:
            saved = None  # trained without examples of the retrieval intent
        return cls(config, model_storage, resource, saved)

    def train(self, training_data: TrainingData) -> Resource:
        intent = self.config["retrieval_intent"]
        examples = [m for m in training_data.intent_examples
                    if m.get(INTENT) == intent and m.get(INTENT_RESPONSE_KEY) and readable(m)]
        self.model = SentenceModel.fit(self.config, examples, [m.get(INTENT_RESPONSE_KEY) for m in examples])
        self.responses = {key: responses for key, responses in training_data.responses.items()
                          if key.startswith(f"utter_{intent}/")}
        self.retrieval_intents = sorted(training_data.retrieval_intents)
        with self.model_storage.write_to(self.resource) as directory:
            joblib.dump({"parts": self.model.parts if self.model else None, "responses": self.responses,
                         "retrieval_intents": self.retrieval_intents}, directory / MODEL_FILE)
        return self.resource

    def process(self, messages: List[Message]) -> List[Message]:
        readable_messages = [m for m in messages if readable(m)]
        if not self.model or not readable_messages:
            return messages
        for message, ranked in zip(readable_messages, self.model.rank(readable_messages, RANKING_LENGTH),
                                   strict=True):
            key, confidence = ranked[0]
            utter_action = intent_response_key_to_template_key(key)
            selected = message.get(RESPONSE_SELECTOR_PROPERTY_NAME, {})
            selected[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = self.retrieval_intents
            selected[self.config["retrieval_intent"]] = {
                RESPONSE_SELECTOR_PREDICTION_KEY: {
                    RESPONSE_SELECTOR_RESPONSES_KEY: self.responses.get(utter_action, [{TEXT: key}]),
                    PREDICTED_CONFIDENCE_KEY: confidence,
                    INTENT_RESPONSE_KEY: key,
                    RESPONSE_SELECTOR_UTTER_ACTION_KEY: utter_action,
                },
                RESPONSE_SELECTOR_RANKING_KEY: [
                    {PREDICTED_CONFIDENCE_KEY: c, INTENT_RESPONSE_KEY: k} for k, c in ranked],
            }
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selected, add_to_output=True)
        return messages
