"""The customer's intent from what the message means and the words it uses, as a Rasa 3.6 component.

One multinomial logistic regression over three groups of features of each message:
- the sentence encoder's vector (bot/nlp/sentence_featurizer.py): paraphrases and synonyms;
- tf-idf of its words and word pairs: the shop's own vocabulary ("A-10023", "klarna", "invoice");
- tf-idf of its character 2-4-grams within words: slips the spelling correction left.
All three read the tokens as bot/nlp/spelling.py corrected them. Measured against DIET on the same
features (README, "Understanding customers"), it generalises better to customers' own phrasing,
gives probabilities the FallbackClassifier's threshold can rely on, and trains in seconds
instead of minutes.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Type

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack

from bot.nlp.sentence_featurizer import tokens_text

MODEL_FILE = "intent_classifier.joblib"
RANKING_LENGTH = 10


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression on the sentence vector and word and character tf-idf."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # C: inverse regularisation; the weights scale each group of features against the others.
        return {"C": 20.0, "sentence_weight": 1.0, "word_weight": 0.5, "char_weight": 0.5, "max_iter": 3000}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 parts: Optional[Dict[str, Any]] = None) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.parts = parts

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceIntentClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SentenceIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                parts = joblib.load(directory / MODEL_FILE)
        except ValueError:
            parts = None  # trained without intent examples
        return cls(config, model_storage, resource, parts)

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        examples = [m for m in training_data.intent_examples if self._readable(m)]
        if len({m.get(INTENT) for m in examples}) < 2:
            return self.resource
        texts = [self._text(m) for m in examples]
        words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(texts)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2).fit(texts)
        self.parts = {"words": words, "chars": chars}
        model = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"])
        self.parts["model"] = model.fit(self._features(examples, texts), [m.get(INTENT) for m in examples])
        with self.model_storage.write_to(self.resource) as directory:
            joblib.dump(self.parts, directory / MODEL_FILE)
        return self.resource

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.parts:
            return messages
        readable = [m for m in messages if self._readable(m)]
        if not readable:
            return messages
        model = self.parts["model"]
        probabilities = model.predict_proba(self._features(readable, [self._text(m) for m in readable]))
        for message, row in zip(readable, probabilities, strict=True):
            best = np.argsort(row)[::-1][:RANKING_LENGTH]
            ranking = [{"name": str(model.classes_[i]), "confidence": float(row[i])} for i in best]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    @staticmethod
    def _readable(message: Message) -> bool:
        return bool(message.get(TEXT)) and message.get_dense_features(TEXT)[1] is not None

    @staticmethod
    def _text(message: Message) -> str:
        read = tokens_text(message, TEXT)
        return read[0] if read else message.get(TEXT)

    def _features(self, messages: List[Message], texts: List[str]) -> csr_matrix:
        sentences = np.vstack([m.get_dense_features(TEXT)[1].features for m in messages])
        return hstack([
            csr_matrix(sentences * self.config["sentence_weight"]),
            self.parts["words"].transform(texts) * self.config["word_weight"],
            self.parts["chars"].transform(texts) * self.config["char_weight"],
        ]).tocsr()
