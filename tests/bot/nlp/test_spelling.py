"""Spelling correction of tokens before featurisation (bot/nlp/spelling.py)."""

import pytest
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.nlp.sentence_featurizer import tokens_text
from bot.nlp.spelling import Speller, domain_words


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller(["refund", "invoice", "klarna", "pls", "thx", "dhl"], limit=20000)


@pytest.mark.parametrize("typed, expected", [
    ("refnud", "refund"), ("delviery", "delivery"), ("paclage", "package"), ("invioce", "invoice"),
    ("rfund", "refund"),  # "fund" is as close, the shop's own word wins
    ("ordr", "order"), ("canceleld", "cancelled"),
])
def test_slips_become_the_closest_known_word(speller: Speller, typed: str, expected: str) -> None:
    assert speller.correct(typed) == expected


@pytest.mark.parametrize("word", ["pls", "thx", "klarna", "dhl", "1002", "A-10023", "hi", "u", "reembolso", "where"])
def test_known_words_short_words_numbers_and_far_words_stay(speller: Speller, word: str) -> None:
    assert speller.correct(word) == word


def tokenised(text: str) -> Message:
    message = Message(data={"text": text})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    return message


def test_domain_words_are_the_ones_written_in_several_examples() -> None:
    messages = [tokenised(text) for text in ["pay with klarna", "klarna pls", "is klarna ok", "refnud pls",
                                            "pls help"]]
    assert domain_words(messages) == ["klarna", "pls"]


def test_the_encoder_reads_the_corrected_tokens_in_their_places() -> None:
    message = tokenised("where is my paclage, pls?")
    tokens = message.get("text_tokens")
    tokens[3].text = "package"
    text, spans = tokens_text(message, "text")
    assert text.startswith("where is my package")
    assert [text[start:end] for start, end in spans] == [t.text for t in tokens]
