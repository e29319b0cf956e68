"""The customer's intent, as a Rasa 3.6 component: bot/nlp/sentence_model.py on the intent examples.

Measured against DIET on the same features (README, "Understanding customers"), the model generalises
better to customers' own phrasing, gives probabilities the FallbackClassifier's threshold can rely on,
and trains in seconds instead of minutes.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import joblib
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.sentence_model import DEFAULT_CONFIG, SentenceModel, SentenceModelComponent, readable

MODEL_FILE = "intent_classifier.joblib"
RANKING_LENGTH = 10


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(SentenceModelComponent, IntentClassifier):
    """Logistic regression on the sentence vector and word and character tf-idf."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return dict(DEFAULT_CONFIG)

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[SentenceModel] = None) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.model = model

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceIntentClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SentenceIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                model = SentenceModel(config, joblib.load(directory / MODEL_FILE))
        except ValueError:
            model = None  # trained without intent examples
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if readable(m)]
        self.model = SentenceModel.fit(self.config, examples, [m.get(INTENT) for m in examples])
        if self.model:
            with self.model_storage.write_to(self.resource) as directory:
                joblib.dump(self.model.parts, directory / MODEL_FILE)
        return self.resource

    def process(self, messages: List[Message]) -> List[Message]:
        readable_messages = [m for m in messages if readable(m)]
        if not self.model or not readable_messages:
            return messages
        for message, ranked in zip(readable_messages, self.model.rank(readable_messages, RANKING_LENGTH),
                                   strict=True):
            ranking = [{"name": name, "confidence": confidence} for name, confidence in ranked]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
