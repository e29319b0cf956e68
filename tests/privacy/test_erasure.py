"""Export then erasure of a customer who chatted with the bot, escalated, got an invoice and a template; then
every Redis key, stream entry, the tracker, every SQL table, the media directory and Redis's append-only
files are searched for the number, with and without `+`: only the keyed hash may remain.

The history is written through the real components, without starting the whole stack (Rasa takes minutes
to start on the shared machine): Rasa's own RedisTrackerStore, the policy store, the delivery status, the
cost ledger, the event log, the webhook stream, the outbound dead letters, the handoff's ChatStore, the
shop service and the invoice writer, on a real Redis (with its append-only file) and a real SQLite file.
"""

import asyncio
import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import inspect, select, text

from analytics import keys as analytics_keys
from analytics.nlu_records import NluRecords
from analytics.nlu_results import result_of
from handoff.state import ChatStore, Escalation
from privacy import requests
from privacy.identity import Subject
from shop.db import engine_for, session_scope
from shop.invoice_pdf import write_invoice
from shop.models import Customer, Order, OrderItem
from shop.service import Shop
from stack import handoff_keys
from tests.support.redis_process import RedisProcess
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import EventLog
from whatsapp_cloud.graph.errors import error_for
from whatsapp_cloud.outbound.delivery_status import DeliveryStatus
from whatsapp_cloud.outbound.sender import DeadLetters
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import PolicyStore
from whatsapp_cloud.pricing.cost_ledger import CostLedger
from whatsapp_cloud.streams.webhook_stream import WebhookStream

WA = "4915112345678"  # not a demo number, so earlier tests' writes in the shared Redis cannot be mistaken for it
OTHER = "4915187654321"
NUMBER_ID = "100000000000001"
HASH_KEY = "test-privacy-key"
WAMID_IN = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjBCMEY5"
WAMID_OUT = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEjk5QUY2RUQ0"


def webhook_body(wa_id: str, wamid: str, text_body: str) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"phone_number_id": NUMBER_ID},
            "contacts": [{"wa_id": wa_id, "profile": {"name": "Mia Weber"}}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": text_body}}]}}]}]}).encode()


async def bot_history(url: str, wa_id: str, invoice_name: str, config: PolicyConfig) -> None:
    """The bot's side: the customer's message through the stream, their windows, consent (opted in, got a
    template, then opted out), the delivered invoice and template, costs, events and a dead letter."""
    store = aioredis.Redis.from_url(url, decode_responses=True)
    stream = WebhookStream(store, "privacy-test")
    await stream.ensure_group()
    await stream.append(webhook_body(wa_id, WAMID_IN, f"my number is +{wa_id}, where is my invoice?"))
    policy = PolicyStore(store, config)
    now = datetime.now(timezone.utc)
    await policy.record_inbound(wa_id, now, from_referral=False)
    await policy.record_consent(wa_id, "in", ["marketing", "utility"], "checkout_page", "yes please")
    statuses = DeliveryStatus(store)
    await statuses.record_sent(WAMID_OUT, wa_id, kind="template", label="order_update")
    await store.set(redis_keys.outbound_idempotency(f"{WAMID_IN}:0"), WAMID_OUT)
    await CostLedger(store).record_outbound(wa_id, WAMID_OUT, "template", "utility", NUMBER_ID)
    events = EventLog(store)
    await events.record(kinds.INBOUND, wamid=WAMID_IN, sender=wa_id, type="text")
    await events.record(kinds.OUTBOUND, wamid=WAMID_OUT, recipient=wa_id, type="document", label=invoice_name)
    await events.record(kinds.INBOUND, wamid="wamid.other", sender=OTHER, type="text")
    await DeadLetters(store).add({"to": wa_id, "type": "text", "text": {"body": "late reply"}},
                                 error_for(131047)("window closed"), None, "late")
    await policy.record_consent(wa_id, "out", ["marketing", "utility"], "keyword", "STOP")
    # The message fell back: its NLU result, and its text kept for the bot's designers.
    fell_back = {"intent": {"name": "nlu_fallback", "confidence": 0.5},
                 "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.5},
                                    {"name": "invoice", "confidence": 0.4}]}
    turn = [{"event": "user", "text": f"my number is +{wa_id}, where is my invoice?", "message_id": WAMID_IN,
             "parse_data": fell_back}, {"event": "bot", "text": "Sorry, I did not get that"}]
    assert await NluRecords(store).record(wa_id, result_of(turn, WAMID_IN))
    tracker_store = RedisTrackerStore(Domain.empty(), host="127.0.0.1", port=int(url.rsplit(":", 1)[1].split("/")[0]),
                                      key_prefix="wabot")
    await tracker_store.save(DialogueStateTracker.from_events(wa_id, [
        ActionExecuted("action_listen"),
        UserUttered(f"my number is +{wa_id}", {"name": "get_invoice"}, metadata={"wa_id": wa_id, "wamid": WAMID_IN}),
        BotUttered("Here is your invoice", {"custom": {"document": {"link": f"https://shop.test/media/{invoice_name}"}}}),
    ]))
    await store.close()


def handoff_history(client: redis.Redis, wa_id: str) -> str:
    chats = ChatStore(client)
    chat_id = chats.escalate(Escalation(wa_id, "Mia Weber", "customer_request", "human_handoff",
                                        {"phone": f"+{wa_id}"}, "wants a person"), "orders", time.time() + 3600)[0]
    chats.claim(chat_id, "alice", capacity=5)
    chats.customer_message(wa_id, "wamid.handoff1", {"kind": "customer", "text": "call me on +" + wa_id}, None)
    chats.add_message(chat_id, {"kind": "agent", "text": "Will do", "by": "alice"}, agent="alice")
    chats.resolve(chat_id, "alice", "invoice sent")
    return chat_id


def shop_history(engine, wa_id: str, media: Path) -> str:
    with session_scope(engine) as session:
        customer = Customer(wa_id=wa_id, name="Mia Weber", email="mia@example.test")
        order = Order(number="7001", customer=customer, status="paid", shipping_address="Hauptstr. 1, Berlin",
                      paid_at=datetime(2026, 11, 1))
        order.items.append(OrderItem(description="Lamp", quantity=1, unit_price_cents=4900))
        session.add_all([customer, order, Customer(wa_id=OTHER, name="Someone Else")])
    shop = Shop(engine)
    outcome = shop.invoice(wa_id, "7001")
    name = write_invoice(outcome.order, "Harbour Home Goods", media)
    shop.open_ticket(wa_id, "complaint", f"customer +{wa_id} is unhappy", "wamid.t1", "7001")
    shop.record_csat(wa_id, 4, "handoff", "wamid.r1")
    return name


@pytest.fixture()
def history(redis_url, tmp_path):
    media = tmp_path / "media"
    engine = engine_for(f"sqlite:///{tmp_path / 'app.db'}", seed=False)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    config = PolicyConfig(phone_number_id=NUMBER_ID, hash_key=HASH_KEY)
    invoice = shop_history(engine, WA, media)
    chat_id = handoff_history(client, WA)
    asyncio.run(bot_history(redis_url, WA, invoice, config))
    stores = requests.Stores(redis=client, shop=engine, media_dir=media, policy=config)
    yield stores, invoice, chat_id
    client.close()


READERS = {"string": lambda c, k: c.get(k), "hash": lambda c, k: c.hgetall(k),
           "list": lambda c, k: c.lrange(k, 0, -1), "set": lambda c, k: c.smembers(k),
           "zset": lambda c, k: c.zrange(k, 0, -1, withscores=True), "stream": lambda c, k: c.xrange(k)}


def traces_in_redis(client: redis.Redis, forms) -> list:
    """Every key's name and whole content, of every type (an unknown type fails the test)."""
    found = []
    for key in client.scan_iter(count=1000):
        content = READERS[client.type(key)](client, key)
        text_ = key + json.dumps(content, default=sorted)
        found += [(key, form) for form in forms if form in text_]
    return found


def traces_in_sql(engine, forms) -> list:
    found = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                found += [(table, form) for form in forms if form in json.dumps(list(row), default=str)]
    return found


def test_export_holds_the_customer_in_every_store(history):
    stores, invoice, chat_id = history
    document = requests.export(stores, Subject.of("+" + WA, HASH_KEY))
    stored = {k["store"] for k in document["redis"]["keys"]}
    assert {"rasa tracker", "consent", "windows", "delivery records", "cost ledger", "handoff chats",
            "handoff messages", "handoff history", "sent messages", "messages kept for the bot's designers"} <= stored
    streams = {e["stream"] for e in document["redis"]["stream_entries"]}
    assert {redis_keys.EVENT_STREAM, redis_keys.CONSENT_LOG, redis_keys.PRICING_LOG, redis_keys.DEAD_LETTERS,
            redis_keys.WEBHOOK_STREAM, handoff_keys.FEED} <= streams
    senders = {e["fields"].get("sender") for e in document["redis"]["stream_entries"]}
    assert OTHER not in senders  # another customer's event is not theirs
    tracker = next(k for k in document["redis"]["keys"] if k["store"] == "rasa tracker")["value"]
    assert [e["event"] for e in tracker["events"]][-2:] == ["user", "bot"]
    messages = next(k for k in document["redis"]["keys"] if k["key"] == handoff_keys.messages(chat_id))["value"]
    assert any(m.get("text") == "Will do" for m in messages)
    # In shared keys: the pending hand back, the message in the designers' index, the open window.
    assert sorted(m["key"] for m in document["redis"]["members"]) == sorted([
        analytics_keys.REVIEW, handoff_keys.HANDBACK_PENDING, redis_keys.open_windows(NUMBER_ID)])
    sql = document["order_database"]
    assert [c["name"] for c in sql["customers"]] == ["Mia Weber"]
    assert len(sql["orders"]) == len(sql["invoices"]) == len(sql["tickets"]) == len(sql["csat_ratings"]) == 1
    assert document["media"] == [{"name": invoice, "bytes": (stores.media_dir / invoice).stat().st_size}]
    json.dumps(document)  # one JSON document


def test_after_erasure_only_the_keyed_hash_remains(history, redis_proc, tmp_path):
    stores, invoice, _ = history
    subject = Subject.of(WA, HASH_KEY)
    forms = (WA, "+" + WA)
    assert traces_in_redis(stores.redis, forms) and traces_in_sql(stores.shop, forms)  # the scans see them

    requests.export(stores, subject)
    receipt = requests.erase(stores, subject, by="admin")

    assert traces_in_redis(stores.redis, forms) == []
    assert traces_in_sql(stores.shop, forms) == []
    assert not (stores.media_dir / invoice).exists()
    assert [p for p in redis_proc.data_dir.rglob("*") if p.is_file() and WA.encode() in p.read_bytes()] == []
    # The files may hold a binary snapshot (RDB preamble), where a byte search proves little: start a second
    # Redis on a copy of them, as a restart would, and search what it read back.
    copy = tmp_path / "redis-copy"
    shutil.copytree(redis_proc.data_dir, copy)
    restarted = RedisProcess(copy).start()
    try:
        client = restarted.client()
        assert any(e[1].get("sender") == OTHER for e in client.xrange(redis_keys.EVENT_STREAM))  # it read them
        assert traces_in_redis(client, forms) == []
        client.close()
    finally:
        restarted.stop()
    assert WA not in json.dumps(receipt) and receipt["customer"] == subject.keyed_hash
    assert receipt["by"] == "admin" and receipt["append_only_file"]["status"] == "ok"
    assert receipt["redis"]["rasa tracker"] == {"keys": 1}
    assert receipt["order_database"]["tickets"] == {"deleted": 1}
    assert receipt["media"] == {"files deleted": 1}
    assert receipt["suppression_list"] == {"scopes": ["marketing", "utility"]}
    # Another customer's data stays.
    assert any(e[1].get("sender") == OTHER for e in stores.redis.xrange(redis_keys.EVENT_STREAM))
    with session_scope(stores.shop) as session:
        assert session.execute(select(Customer.name).where(Customer.wa_id == OTHER)).scalar() == "Someone Else"
        assert session.execute(select(Order.shipping_address)).scalar() == "erased"


def test_erasure_waits_for_an_open_chat(history):
    stores, _, _ = history
    ChatStore(stores.redis).escalate(Escalation(WA, None, "customer_request", None, {}, ""), "orders", time.time())
    with pytest.raises(requests.CustomerWithAgent):
        requests.erase(stores, Subject.of(WA, HASH_KEY), by="admin")
    assert stores.redis.exists(f"wabot:tracker:{WA}")
