"""The numpy encoder gives the sentence vectors of the original model.

tests/fixtures/encoder/minilm_reference.json holds vectors that sentence-transformers (PyTorch)
computed with the same packaged weights: model.encode(texts, normalize_embeddings=True).
"""

import json

import numpy as np
import pytest

from bot.nlp.sentence_encoder import SentenceEncoder, packaged_model_dir
from bot.nlp.sentence_featurizer import SentenceFeaturizer, token_vectors
from stack.settings import ROOT

REFERENCE = ROOT / "tests" / "fixtures" / "encoder" / "minilm_reference.json"


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(packaged_model_dir())


def test_sentence_vectors_match_sentence_transformers(encoder: SentenceEncoder) -> None:
    reference = json.loads(REFERENCE.read_text())
    encoded = encoder.encode(reference["texts"])
    for expected, result in zip(reference["vectors"], encoded, strict=False):
        assert np.allclose(result.sentence_vector, expected, atol=2e-4)


def test_batching_and_padding_do_not_change_a_vector(encoder: SentenceEncoder) -> None:
    alone = encoder.encode(["ok"])[0].sentence_vector
    padded = encoder.encode(["ok", "a much longer message that makes the short one padded in its batch"])[0]
    assert np.allclose(alone, padded.sentence_vector, atol=1e-5)


def test_word_pieces_keep_their_place_in_the_text(encoder: SentenceEncoder) -> None:
    text = "refund for #1002 pls"
    encoded = encoder.encode([text])[0]
    assert len(encoded.spans) == len(encoded.token_vectors)
    # "refund" is two word pieces, "ref" and "und"; offsets point into the original text.
    assert [text[start:end] for start, end in encoded.spans][:3] == ["ref", "und", "for"]


def test_each_rasa_token_gets_the_mean_of_its_word_pieces(encoder: SentenceEncoder) -> None:
    text = "refund for #1002 🙂"
    encoded = encoder.encode([text])[0]
    tokens = [(0, 6), (7, 10), (11, 16), (17, 18)]  # "refund", "for", "#1002", the emoji
    vectors = token_vectors(encoded, tokens)
    pieces = {text[start:end]: encoded.token_vectors[i] for i, (start, end) in enumerate(encoded.spans)}
    assert np.allclose(vectors[0], (pieces["ref"] + pieces["und"]) / 2)
    assert np.allclose(vectors[1], pieces["for"])
    assert vectors.shape == (4, encoder.dimension)


def test_the_featurizer_adds_sentence_and_sequence_features_to_a_message() -> None:
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": "where is my parcel"})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    featurizer = SentenceFeaturizer("dense", SentenceFeaturizer.get_default_config())
    featurizer.process([message])
    sequence, sentence = message.get_dense_features("text")
    assert sequence.features.shape == (4, 384)
    assert sentence.features.shape == (1, 384)
    assert np.isclose(np.linalg.norm(sentence.features), 1.0, atol=1e-5)
