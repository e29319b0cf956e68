"""The FAQ selector trained and loaded through Rasa's graph component interface, on real features, and its
answer read by Rasa's own `utter_faq` action."""

from pathlib import Path
from typing import List

import pytest
from rasa.core.actions.action import ActionRetrieveResponse
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.faq_selector import FaqSelector
from bot.nlp.sentence_featurizer import SentenceFeaturizer

EXAMPLES = {
    "faq/opening_hours": ["what are your opening hours", "when are you open", "are you open on sunday",
                          "what time do you close", "store hours", "are you open today"],
    "faq/gift_cards": ["do you sell gift cards", "gift card balance", "can i buy a voucher",
                       "do gift cards expire", "how do i use my gift card", "e-gift card"],
    "faq/warranty": ["how long is the warranty", "is it under guarantee", "warranty claim",
                     "my product broke, is it covered", "what does the warranty cover", "do you repair for free"],
}
RESPONSES = {key.replace("faq/", "utter_faq/"): [{"text": f"the answer about {key[4:]}"}] for key in EXAMPLES}


def featurised(texts: List[str], intents: List[str] = ()) -> List[Message]:
    messages = []
    for text, full_intent in zip(texts, intents or [None] * len(texts), strict=True):
        data = {"text": text}
        if full_intent:
            data["intent"] = full_intent.split("/")[0]
        if full_intent and "/" in full_intent:
            data["intent_response_key"] = full_intent
        messages.append(Message(data=data))
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    SentenceFeaturizer("dense", SentenceFeaturizer.get_default_config()).process(messages)
    return messages


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> FaqSelector:
    storage = LocalModelStorage(Path(tmp_path_factory.mktemp("model")))
    resource = Resource("faq_selector")
    context = ExecutionContext(graph_schema=None, model_id="test")
    config = FaqSelector.get_default_config()
    texts = [text for texts in EXAMPLES.values() for text in texts]
    keys = [key for key, texts in EXAMPLES.items() for _ in texts]
    others = featurised(["where is my order", "track my parcel"], ["order_status", "order_status"])
    FaqSelector.create(config, storage, resource, context).train(
        TrainingData(featurised(texts, keys) + others, responses=RESPONSES))
    return FaqSelector.load(config, storage, resource, context)


@pytest.mark.parametrize("text, key", [
    ("till what time is the shop open tonight", "faq/opening_hours"),
    ("can i get a voucher for my sister", "faq/gift_cards"),
    ("the kettle stopped working after a month, is that covered", "faq/warranty"),
])
def test_a_question_never_seen_gets_its_answer(trained: FaqSelector, text: str, key: str) -> None:
    selected = trained.process(featurised([text]))[0].get("response_selector")
    assert selected["all_retrieval_intents"] == ["faq"]
    prediction = selected["faq"]["response"]
    assert prediction["intent_response_key"] == key
    assert prediction["utter_action"] == key.replace("faq/", "utter_faq/")
    assert prediction["responses"] == RESPONSES[prediction["utter_action"]]
    ranking = selected["faq"]["ranking"]
    assert ranking[0]["intent_response_key"] == key and len(ranking) == 3  # trained only on the FAQ's examples
    assert sum(entry["confidence"] for entry in ranking) == pytest.approx(1.0)
    assert prediction["confidence"] == ranking[0]["confidence"]


def test_rasas_utter_faq_action_finds_the_selected_answer(trained: FaqSelector) -> None:
    message = trained.process(featurised(["do your products have a guarantee"]))[0]
    tracker = DialogueStateTracker.from_events("customer", [UserUttered(
        "do your products have a guarantee", intent={"name": "faq", "confidence": 0.9},
        parse_data={"response_selector": message.get("response_selector")})])
    assert ActionRetrieveResponse("utter_faq").get_full_retrieval_name(tracker) == "utter_faq/warranty"


def test_a_message_without_text_is_left_alone(trained: FaqSelector) -> None:
    message = Message(data={"intent": {"name": "csat", "confidence": 1.0}})
    trained.process([message])
    assert message.get("response_selector") is None
