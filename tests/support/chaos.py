"""The chaos proofs' load and its reckoning (tests/e2e/test_chaos.py): customers writing interleaved through
the stand-in, some webhooks delivered twice, every refused webhook delivered again as Meta does; then what
each customer got back, and the summary table `make proof` prints at the end.

Every message is "hi" under a profile name that numbers it (`Seq3`): the bot greets by that name, so each
reply says which message it answers, and the order of a customer's replies can be checked.
"""

import random
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import requests

from cloud_api_standin import webhooks
from stack.background import free_port
from whatsapp_cloud.outbound.sender import SenderSettings

GREETED = re.compile(r"^Hi Seq(\d+)!")
ROWS: List[Dict[str, Any]] = []  # one per scenario, printed by tests/e2e/conftest.py at the end
COLUMNS = ("scenario", "sent", "acked", "replies", "duplicates", "missing", "out of order", "result")


@dataclass
class Load:
    customers: List[str]
    messages: int
    twice_share: float = 0.2  # webhooks Meta delivers a second time
    seed: int = 15
    sent: int = 0  # webhook deliveries, second copies and re-deliveries after a refusal included
    acked: int = 0  # deliveries answered 200
    wamids: Dict[str, List[str]] = field(default_factory=dict)  # customer -> wamid of each message, in order

    @property
    def expected(self) -> int:
        return len(self.customers) * self.messages


def two_free_ports() -> int:
    """A free port whose next one is free too (worker 2 listens on RASA_PORT + 1)."""
    while True:
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def customers(prefix: str, count: int) -> List[str]:
    return [f"{prefix}{n:05d}" for n in range(count)]


def deliver_until_acked(standin_url: str, envelope: Dict[str, Any], load: Load, give_up_after: float = 300) -> None:
    """POST one webhook as Meta does: again and again (backing off) until it is answered 200."""
    deadline, pause = time.monotonic() + give_up_after, 0.2
    while True:
        load.sent += 1
        try:
            answer = requests.post(f"{standin_url}/_standin/replay", json=envelope, timeout=30)
            status = answer.json().get("webhook_status") if answer.status_code == 200 else answer.status_code
        except (requests.RequestException, ValueError):
            status = None
        if status == 200:
            load.acked += 1
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"a webhook was refused for {give_up_after} s (last: {status})")
        time.sleep(pause)
        pause = min(pause * 2, 5)


def send_interleaved(env: Dict[str, str], load: Load, between_rounds: Optional[Callable[[int], None]] = None,
                     threads: int = 8) -> None:
    """Round k sends every customer's message k (customers in parallel, each customer's messages in order);
    `between_rounds(k)` runs before round k (the faults)."""
    chance = random.Random(load.seed)
    for index in range(load.messages):
        if between_rounds:
            between_rounds(index)
        batch = []
        for wa_id in load.customers:
            message = webhooks.text_message(wa_id, "hi")
            load.wamids.setdefault(wa_id, []).append(message["id"])
            envelope = webhooks.message_envelope(
                waba_id="100000000000002", phone_number_id=env["WHATSAPP_PHONE_NUMBER_ID"],
                display_phone_number="15550100000",
                wa_id=wa_id, profile_name=f"Seq{index}", message=message)
            batch.append((envelope, chance.random() < load.twice_share))

        def one(item: Any) -> None:
            envelope, twice = item
            deliver_until_acked(env["STANDIN_URL"], envelope, load)
            if twice:
                deliver_until_acked(env["STANDIN_URL"], envelope, load)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, batch))


def replies_to(standin_url: str, wa_ids: List[str], expected: int, quiet: float = 20,
               timeout: float = 900) -> Dict[str, List[Dict[str, Any]]]:
    """Everything sent to these customers, once each has `expected` replies and `quiet` more seconds brought
    nothing (so a late duplicate is seen), or at `timeout`."""
    wanted, got = set(wa_ids), {wa_id: [] for wa_id in wa_ids}
    seq, deadline, last_change = 0, time.monotonic() + timeout, time.monotonic()
    while time.monotonic() < deadline:
        answer = requests.get(f"{standin_url}/_standin/outbox", params={"after": seq, "wait": 2}, timeout=40).json()
        for record_ in answer["messages"]:
            seq = max(seq, record_["seq"])
            if record_["to"] in wanted:
                got[record_["to"]].append(record_)
                last_change = time.monotonic()
        complete = all(len(greeted(sent)) >= expected for sent in got.values())
        if time.monotonic() - last_change > (quiet if complete else max(quiet, RETRY_SPAN)):
            break
    return got


def retry_span(settings: SenderSettings, request_seconds: float = 12) -> float:
    """The longest one reply can take to go out: every try refused slowly and the longest backoff after each
    (a reply still in backoff is late, not lost; the proof waits that long for a change before it reckons)."""
    waits = sum(min(settings.backoff_base_seconds * 4 ** n, settings.backoff_max_seconds)
                for n in range(settings.max_attempts - 1))
    return waits + settings.max_attempts * request_seconds


RETRY_SPAN = retry_span(SenderSettings())  # the stack's defaults


def greeted(outbox: List[Dict[str, Any]]) -> List[int]:
    """The message numbers a customer's replies answer, in the order they were sent."""
    found = []
    for record in outbox:
        body = (record["message"].get("text") or {}).get("body", "")
        match = GREETED.match(body)
        if match:
            found.append(int(match.group(1)))
    return found


@dataclass
class Reckoning:
    replies: int = 0
    duplicates: int = 0
    missing: int = 0
    out_of_order: int = 0  # customers whose replies are not in the order of their messages
    problems: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.missing or self.out_of_order or self.problems)


def reckon(numbers_of: Dict[str, List[int]], messages: int) -> Reckoning:
    """Each customer must have got exactly one reply to each of `messages` messages, in order."""
    result = Reckoning()
    for wa_id, numbers in numbers_of.items():
        result.replies += len(numbers)
        result.duplicates += len(numbers) - len(set(numbers))
        result.missing += len(set(range(messages)) - set(numbers))
        if numbers != sorted(numbers):
            result.out_of_order += 1
            result.problems.append(f"{wa_id}: replies in the order {numbers}")
    return result


def tracker_problems(trackers: Dict[str, Dict[str, Any]], wamids: Dict[str, List[str]]) -> List[str]:
    """Each tracker must hold each message once, in the order sent, each followed by the bot's turn."""
    problems = []
    for wa_id, tracker in trackers.items():
        events = tracker.get("events", [])
        turns = [e.get("message_id") for e in events if e["event"] == "user"]
        if turns != wamids[wa_id]:
            problems.append(f"{wa_id}: tracker turns {len(turns)} (distinct {len(set(turns))}), "
                            f"sent {len(wamids[wa_id])}, same order: {turns == wamids[wa_id]}")
        answered = sum(1 for e in events if e["event"] == "bot")
        if answered < len(wamids[wa_id]):
            problems.append(f"{wa_id}: {answered} bot utterances for {len(wamids[wa_id])} messages")
    return problems


def diagnose(redis_url: str, missing: Dict[str, List[str]]) -> List[str]:
    """What Redis says about messages that got no reply: their claim, the reservation of their first reply,
    the events that name them, dead letters that carry them."""
    from redis import Redis

    from whatsapp_cloud import redis_keys

    store = Redis.from_url(redis_url, decode_responses=True)
    events = store.xrange(redis_keys.EVENT_STREAM)
    dead = store.xrange(redis_keys.WEBHOOK_DEAD)
    waiting = store.xrange(redis_keys.WEBHOOK_STREAM)
    pending = {row["message_id"]: row for row in store.xpending_range(
        redis_keys.WEBHOOK_STREAM, redis_keys.WEBHOOK_GROUP, "-", "+", 10000)}
    unsent = store.xrange(redis_keys.DEAD_LETTERS)
    lines = []
    for wa_id, wamids in missing.items():
        lines.append(f"{wa_id}: order {store.hgetall(redis_keys.customer_order(wa_id))}")
        for wamid in wamids:
            # The stream entry that still carries it: its ticket, and which consumer holds it how often.
            held = [f"{entry_id} tickets={f.get('tickets')} {_holder(pending.get(entry_id))}"
                    for entry_id, f in waiting if wamid in f.get("body", "")]
            kinds = [f["kind"] + (f":{f.get('reason', '')[:80]}" if f.get("reason") else "")
                     for _, f in events if f.get("wamid") == wamid]
            buried = [f.get("reason", "")[:120] for _, f in dead if wamid in f.get("body", "")]
            # A reply given up on is in the outbound dead letters under the turn's key (wamid:position).
            replies = [f"{f['code']} {f['reason'][:80]}" for _, f in unsent if f.get("key", "").startswith(wamid)]
            lines.append(f"{wa_id} {wamid[-12:]}: claim={store.get(redis_keys.inbound_claim(wamid))!r} "
                         f"reply reserved={store.get(redis_keys.outbound_idempotency(wamid + ':1'))!r} "
                         f"events={kinds} dead={buried} reply dead={replies} entries={held}")
    return lines


def _holder(row: Optional[Dict[str, Any]]) -> str:
    if row is None:
        return "not read yet"
    return f"held by {row['consumer']} (read {row['times_delivered']} times, {row['time_since_delivered']} ms ago)"


def history(redis_url: str, trackers: Dict[str, Dict[str, Any]], wa_ids: List[str]) -> List[str]:
    """The tracker's user turns and what wa:events says happened to these customers' messages."""
    from redis import Redis

    from whatsapp_cloud import redis_keys

    store = Redis.from_url(redis_url, decode_responses=True)
    events = store.xrange(redis_keys.EVENT_STREAM)
    lines = []
    for wa_id in wa_ids:
        turns = [(e.get("message_id") or "-")[-8:] + "@" + str(e.get("timestamp"))
                 for e in trackers[wa_id].get("events", []) if e["event"] == "user"]
        lines.append(f"{wa_id} tracker turns: {turns}")
        for entry_id, fields in events:
            if wa_id in (fields.get("sender"), fields.get("recipient"), fields.get("to")):
                detail = {k: v[-40:] for k, v in fields.items() if k in ("wamid", "reason", "why", "status")}
                lines.append(f"   {entry_id} {fields['kind']} {detail}")
    return lines


def record(scenario: str, load: Load, result: Reckoning, extra_problems: Sequence[str] = ()) -> None:
    ROWS.append({
        "scenario": scenario, "sent": load.sent, "acked": load.acked, "replies": result.replies,
        "duplicates": result.duplicates, "missing": result.missing, "out of order": result.out_of_order,
        "result": "pass" if result.ok and not extra_problems else "FAIL",
    })


def table(rows: List[Dict[str, Any]]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in COLUMNS) for r in rows]
    return "\n".join(lines)
