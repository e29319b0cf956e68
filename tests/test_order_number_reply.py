"""The NLU rule for messages that are only an order number, with the real entity ruler."""

from typing import List, Tuple

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlp.order_number_reply import OrderNumberReply
from bot.nlp.spacy_pipeline import build

NLP = build()
DIET_RANKING = [("order_status", 0.55), ("choose_order", 0.3), ("delivery_period", 0.15)]


def parsed(text: str, ranking: List[Tuple[str, float]]) -> Message:
    """A message as it reaches the component: entities from the ruler, DIET's ranking."""
    entities = [{"entity": e.label_, "start": e.start_char, "end": e.end_char, "value": e.text}
                for e in NLP(text).ents]
    intents = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    return Message(data={"text": text, "entities": entities, "intent": intents[0], "intent_ranking": intents})


@pytest.fixture()
def component() -> OrderNumberReply:
    return OrderNumberReply(OrderNumberReply.get_default_config())


@pytest.mark.parametrize("text", ["1002", "#1002", "A-10023", "ord-1004", "1002 please", "it's #1003",
                                  "the 1002 one", "no. 1016", "1018?", "ok 1054, thanks", "1039 the newest one"])
def test_only_an_order_number_is_choose_order(component: OrderNumberReply, text: str) -> None:
    [message] = component.process([parsed(text, DIET_RANKING)])
    assert message.get("intent") == {"name": "choose_order", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == ["choose_order", "order_status", "delivery_period"]


@pytest.mark.parametrize("text", ["where is order 1002", "cancel #1002", "1002 hasn't arrived",
                                  "will it arrive by 3 March 2026", "my card was charged 3 times", "5"])
def test_anything_more_is_left_to_the_classifier_without_choose_order(component: OrderNumberReply, text: str) -> None:
    guessed = [("choose_order", 0.6), ("delivery_period", 0.3), ("order_status", 0.1)]
    [message] = component.process([parsed(text, guessed)])
    assert message.get("intent") == {"name": "delivery_period", "confidence": 0.3}
    assert [r["name"] for r in message.get("intent_ranking")] == ["delivery_period", "order_status"]

    [message] = component.process([parsed(text, DIET_RANKING)])
    assert message.get("intent") == {"name": "order_status", "confidence": 0.55}  # untouched


def test_filler_words_come_from_the_config() -> None:
    strict = OrderNumberReply({**OrderNumberReply.get_default_config(), "filler_words": []})
    assert strict.is_order_number_only(parsed("1002", DIET_RANKING))
    assert not strict.is_order_number_only(parsed("1002 please", DIET_RANKING))
