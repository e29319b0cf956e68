"""The intent classifier trained and loaded through Rasa's graph component interface, on real features."""

from pathlib import Path
from typing import List

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.intent_classifier import SentenceIntentClassifier
from bot.nlp.sentence_featurizer import SentenceFeaturizer

EXAMPLES = {
    "get_refund": ["i want my money back", "refund me please", "i need a refund for my order",
                   "can i get reimbursed", "give me a refund", "return it and refund me"],
    "order_status": ["where is my order", "track my parcel", "has my package shipped",
                     "status of my order", "my order hasn't arrived", "where is my stuff"],
    "out_of_scope": ["what's the weather today", "book me a flight", "tell me something funny",
                     "who won the game", "order me a pizza", "how tall is the eiffel tower"],
}


def featurised(texts: List[str], intents: List[str] = ()) -> List[Message]:
    messages = [Message(data={"text": text, **({"intent": intent} if intents else {})})
                for text, intent in zip(texts, intents or [None] * len(texts), strict=True)]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    SentenceFeaturizer("dense", SentenceFeaturizer.get_default_config()).process(messages)
    return messages


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> SentenceIntentClassifier:
    storage = LocalModelStorage(Path(tmp_path_factory.mktemp("model")))
    resource = Resource("intent_classifier")
    context = ExecutionContext(graph_schema=None, model_id="test")
    config = SentenceIntentClassifier.get_default_config()
    texts = [text for texts in EXAMPLES.values() for text in texts]
    intents = [intent for intent, texts in EXAMPLES.items() for _ in texts]
    SentenceIntentClassifier.create(config, storage, resource, context).train(
        TrainingData(featurised(texts, intents)))
    return SentenceIntentClassifier.load(config, storage, resource, context)


@pytest.mark.parametrize("text, intent", [
    ("could you send my cash back", "get_refund"),
    ("where has my delivery got to", "order_status"),
    ("will it rain tomorrow", "out_of_scope"),
])
def test_messages_never_seen_get_the_intent_of_what_they_mean(trained: SentenceIntentClassifier, text: str,
                                                              intent: str) -> None:
    message = trained.process(featurised([text]))[0]
    assert message.get("intent")["name"] == intent
    ranking = message.get("intent_ranking")
    assert [entry["name"] for entry in ranking][0] == intent and len(ranking) == 3
    assert sum(entry["confidence"] for entry in ranking) == pytest.approx(1.0)


def test_a_message_without_text_is_left_alone(trained: SentenceIntentClassifier) -> None:
    message = Message(data={"intent": {"name": "csat", "confidence": 1.0}})
    trained.process([message])
    assert message.get("intent") == {"name": "csat", "confidence": 1.0}
