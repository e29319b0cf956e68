"""The NLU rules for typed answers to buttons (an order number, a rating), with the real entity ruler."""

from typing import List, Tuple

import pytest
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message

from bot.nlp.spacy_pipeline import build
from bot.nlp.typed_replies import TypedReplies

NLP = build()
DIET_RANKING = [("order_status", 0.55), ("choose_order", 0.3), ("delivery_period", 0.15)]


def parsed(text: str, ranking: List[Tuple[str, float]]) -> Message:
    """A message as it reaches the component: entities from the ruler, DIET's ranking."""
    entities = [{"entity": e.label_, "start": e.start_char, "end": e.end_char, "value": e.text}
                for e in NLP(text).ents]
    intents = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    return Message(data={"text": text, "entities": entities, "intent": intents[0], "intent_ranking": intents})


@pytest.fixture()
def component() -> TypedReplies:
    return TypedReplies(TypedReplies.get_default_config())


@pytest.mark.parametrize("text", ["1002", "#1002", "A-10023", "ord-1004", "1002 please", "it's #1003",
                                  "the 1002 one", "no. 1016", "1018?", "ok 1054, thanks", "1039 the newest one"])
def test_only_an_order_number_is_choose_order(component: TypedReplies, text: str) -> None:
    [message] = component.process([parsed(text, DIET_RANKING)])
    assert message.get("intent") == {"name": "choose_order", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == ["choose_order", "order_status", "delivery_period"]


@pytest.mark.parametrize("text", ["no, I meant 1003", "sorry, wrong one: order 1003", "actually 1003",
                                  "oops, the other one, #1003", "no wait, 1003 instead"])
def test_a_corrected_order_number_is_choose_order(component: TypedReplies, text: str) -> None:
    [message] = component.process([parsed(text, [("deny", 0.97), ("order_status", 0.03)])])
    assert message.get("intent") == {"name": "choose_order", "confidence": 1.0}
    # The pipeline's FallbackClassifier (config.yml's thresholds) keeps the rule's decision.
    fallback = FallbackClassifier({**FallbackClassifier.get_default_config(), "threshold": 0.5,
                                   "ambiguity_threshold": 0.1})
    [message] = fallback.process([message])
    assert message.get("intent")["name"] == "choose_order"


@pytest.mark.parametrize("text", ["where is order 1002", "cancel #1002", "1002 hasn't arrived",
                                  "will it arrive by 3 March 2026", "my card was charged 3 times", "17"])
def test_anything_more_is_left_to_the_classifier_without_choose_order(component: TypedReplies, text: str) -> None:
    guessed = [("choose_order", 0.6), ("delivery_period", 0.3), ("order_status", 0.1)]
    [message] = component.process([parsed(text, guessed)])
    assert message.get("intent") == {"name": "delivery_period", "confidence": 0.3}
    assert [r["name"] for r in message.get("intent_ranking")] == ["delivery_period", "order_status"]

    [message] = component.process([parsed(text, DIET_RANKING)])
    assert message.get("intent") == {"name": "order_status", "confidence": 0.55}  # untouched


def test_filler_words_come_from_the_config() -> None:
    strict = TypedReplies({**TypedReplies.get_default_config(), "filler_words": []})
    assert strict.is_order_number_only(parsed("1002", DIET_RANKING))
    assert not strict.is_order_number_only(parsed("1002 please", DIET_RANKING))


@pytest.mark.parametrize("text, score", [("4", "4"), ("5!", "5"), ("2/5", "2"), ("3 out of 5", "3"), ("1 star", "1"),
                                         ("\u2b50\u2b50\u2b50\u2b50", "4")])
def test_only_a_rating_is_csat_with_its_score(component: TypedReplies, text: str, score: str) -> None:
    [message] = component.process([parsed(text, DIET_RANKING)])
    assert message.get("intent") == {"name": "csat", "confidence": 1.0}
    assert [(e["entity"], e["value"]) for e in message.get("entities")] == [("csat_score", score)]


@pytest.mark.parametrize("text", ["6", "10/10", "i give it 4 stars", "4 items missing"])
def test_a_sentence_or_another_number_is_not_decided_as_a_rating(component: TypedReplies, text: str) -> None:
    [message] = component.process([parsed(text, DIET_RANKING)])
    assert message.get("intent")["name"] == "order_status"  # DIET's, untouched
