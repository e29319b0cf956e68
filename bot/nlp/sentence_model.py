"""A label for a message from what it means and the words it uses: the model behind the intent classifier
and the FAQ selector.

One multinomial logistic regression over three groups of features of each message:
- the sentence encoder's vector (bot/nlp/sentence_featurizer.py): paraphrases and synonyms;
- tf-idf of its words and word pairs: the shop's own vocabulary ("A-10023", "klarna", "invoice");
- tf-idf of its character 2-4-grams within words: slips the spelling correction left.
All three read the tokens as bot/nlp/spelling.py corrected them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Text, Tuple, Type

import numpy as np
from rasa.engine.graph import GraphComponent
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix, hstack

from bot.nlp.sentence_featurizer import tokens_text

# C: inverse regularisation; the weights scale each group of features against the others.
DEFAULT_CONFIG = {"C": 20.0, "sentence_weight": 1.0, "word_weight": 0.5, "char_weight": 0.5, "max_iter": 3000}

Ranking = List[Tuple[str, float]]


def readable(message: Message) -> bool:
    """A message with text and a sentence vector (buttons' payloads and media have neither)."""
    return bool(message.get(TEXT)) and message.get_dense_features(TEXT)[1] is not None


class SentenceModelComponent(GraphComponent):
    """What the Rasa components built on this model share: the features they read and the package they need."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn"]


class SentenceModel:
    def __init__(self, config: Dict[str, Any], parts: Dict[str, Any]) -> None:
        self.config = config
        self.parts = parts  # the two vectorizers and the regression, as saved with joblib

    @classmethod
    def fit(cls, config: Dict[str, Any], messages: Sequence[Message], labels: Sequence[str]) -> Optional[SentenceModel]:
        """Trained on readable messages and their labels; None when there are fewer than two labels."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if len(set(labels)) < 2:
            return None
        texts = [_text(m) for m in messages]
        words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(texts)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2).fit(texts)
        model = cls(config, {"words": words, "chars": chars})
        regression = LogisticRegression(C=config["C"], max_iter=config["max_iter"])
        model.parts["model"] = regression.fit(model._features(messages, texts), list(labels))
        return model

    def rank(self, messages: Sequence[Message], length: int) -> List[Ranking]:
        """For each readable message, its `length` likeliest labels with their probabilities, best first."""
        regression = self.parts["model"]
        probabilities = regression.predict_proba(self._features(messages, [_text(m) for m in messages]))
        rankings = []
        for row in probabilities:
            best = np.argsort(row)[::-1][:length]
            rankings.append([(str(regression.classes_[i]), float(row[i])) for i in best])
        return rankings

    def _features(self, messages: Sequence[Message], texts: List[str]) -> csr_matrix:
        sentences = np.vstack([m.get_dense_features(TEXT)[1].features for m in messages])
        return hstack([
            csr_matrix(sentences * self.config["sentence_weight"]),
            self.parts["words"].transform(texts) * self.config["word_weight"],
            self.parts["chars"].transform(texts) * self.config["char_weight"],
        ]).tocsr()


def _text(message: Message) -> str:
    read = tokens_text(message, TEXT)
    return read[0] if read else message.get(TEXT)
