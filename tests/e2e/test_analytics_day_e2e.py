"""A scripted day of traffic through the whole stack, and the analytics after it, against figures computed by hand.

Customers write through the stand-in, the real bot answers, agents work through the handoff API, the shop's
systems post order events; then `GET /api/analytics?from=today&to=today` must give what the script below
implies. The stack is the package's `handoff_stack` (tests/e2e/conftest.py), started with
ANALYTICS_SESSION_GAP_MINUTES=0.5 (so a conversation ends after 30 s without a message, and the day's
conversations end within the test) and WHATSAPP_TEST_CLOCK (so "a day later" is one moment for the policy
and the stand-in). Other modules write to the same stack as customers of their own, never at the same time
(each test process starts its own stack and runs one test at a time): the figures compared are the difference
between the analytics before and after the day, taken once every earlier conversation has ended.

The script (fresh numbers 155588800NN; their orders are imported as the business imports its own):

  A  "where is my order 7101" (shipped): the bot answers; A types "5/5": a rating of a bot-settled chat
  B  "cancel order 7102" (paid): the bot asks to confirm, B taps "Yes, cancel it"; cancelled, refund told, rating asked;
     B taps "Good" (5)
  N  "the thing with the other thing": the NLU falls back (nlu_fallback); the bot asks which topic it is
  H  "I want to speak to a human": escalated (customer_request). Alice claims it, waits 2 s, replies, resolves;
     the bot closes and asks for a rating; H taps "OK" (3)
  K  "I need to talk to a person please": escalated (customer_request). Bob claims it, replies, resolves; the
     bot closes and asks for a rating; K does not answer
  F  Meta refuses every message to F (131026, the stand-in's `permanent` fault): F writes "hi", the bot's
     greeting is refused at once (never accepted)
  S  writes "STOP" (opted out; the confirmation goes out); a day later (the test clock) the shop reports
     S's order 7104 delivered: S's window is closed and its template is not possible after an opt-out, so it
     is held (deferred)
  T  never writes; opted in to utility messages at the checkout; the shop reports T's order 7103 delivered:
     it goes out as the `order_update` template, outside any window
  -- 30 s without a message: every conversation above ends --
  Z  writes "hi" and is greeted: a conversation open now

By hand (the README's "Analytics" defines each; the test compares what the day added):
  conversations: customer-initiated A B N H K F S = 7, and Z = 8; proactive T = 1; ended 7 (all but Z)
  containment: A B N F S contained, H K handed = 5 / 7 = 0.7143, durably too (nobody came back); handoff rate
    2 / 8 = 0.25 (Z counts as started); handoffs 2, both customer_request, both resolved; their intent
    `unknown` (the customer asked for a person in their first message: no topic before it)
  CSAT: bot asked 1 (B), ratings 2 (A 5 unasked, B 5), answered 1: response rate 1.0, average 5.0; agent asked
    2 (H, K), rating 1 (H 3), answered 1: response rate 0.5, average 3.0
  NLU (`nlu_result`, messages the bot read): A 2, B 3 (cancel, the Yes tap, the rating tap), N 1, H 2 (before
    the escalation, and the rating tap after), K 1, F 1, S 1, Z 1 = 12; fell back 1 (N, nlu): 1 / 12 = 0.0833
  delivery: accepted A 2 (the status, the thanks for the rating), B 5 (the question, cancelled, the refund, the
    rating question, the thanks), N 1, H 5 (the queue position, Alice, the closing, the rating question, the
    thanks), K 4 (the same without the thanks), S 1, T 1, Z 1 = 20; each is then delivered and read (the
    stand-in's normal statuses): 20, 20; failed 0; refused 1 (F's greeting), by code 131026: 1
  template fallbacks: order_update 1 (T); policy holds: deferred 1 (S: "window closed; template order_update
    not possible: customer opted out of utility", the reason's first 80 characters)
  cost: T's utility template is the one charged message, 0.0034 USD (rate_card.yml, +1); the 19 others are
    free service replies; per contained conversation 0.0034 / 5, per resolved 0.0034 / (5 + 2)
  open now: conversations 1 (Z); service windows 8 (everyone who wrote, all in the last 24 h: all but T)
  agent first response: Alice's ≥ 2 s (her wait before replying); each agent's first response, resolution and
    queue wait within the seconds measured from the customer's message to the reply (the resolve) being done
"""

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

import pytest
import redis
import requests
from playwright.sync_api import expect, sync_playwright

from shop.import_orders import COLUMNS, import_file
from tests.browser.harness import sign_in
from tests.e2e.harness import Stack, wait_until
from tests.support.chromium import ARGS, CHROMIUM, SHOTS
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.consent import SCOPES
from whatsapp_cloud.policy.store import SyncPolicyStore

pytestmark = pytest.mark.e2e

A, B, N, H, K, F, S, T, Z = (f"155588800{n:02d}" for n in range(1, 10))
GAP = 30  # ANALYTICS_SESSION_GAP_MINUTES=0.5 (tests/e2e/conftest.py)
ALICE_WAITS = 2.0
ORDERS = ",".join(COLUMNS) + """
7101,{A},Ada Day,shipped,2026-11-20,1 Day Street,Teapot,1,30.00,USD,UPS,1Z999AA10123450001,2026-12-30
7102,{B},Ben Day,paid,2026-11-28,2 Day Street,Mug,2,12.50,USD,,,
7103,{T},Tia Day,out_for_delivery,2026-11-25,3 Day Street,Bowl,1,46.00,USD,FedEx,794612340003,2026-12-03
7104,{S},Sol Day,shipped,2026-11-24,4 Day Street,Jar,4,7.50,USD,DHL,JD014600000004,2026-12-04
"""


@pytest.fixture(scope="module")
def stack(handoff_stack: Stack) -> Stack:
    return handoff_stack  # shared with the other handoff modules


class Day:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.env = stack.env_
        number = self.env["WHATSAPP_PHONE_NUMBER_ID"]
        self.policy = SyncPolicyStore(redis.Redis.from_url(self.env["REDIS_URL"]),
                                      PolicyConfig(test_clock=True, phone_number_id=number))
        self.supervisor = stack.agent_token("sam")
        self.agents = {name: stack.agent_token(name) for name in ("alice", "bob")}
        # agent -> (the wait before the reply, seconds from the customer's message until the reply was sent,
        # and until the resolve was done)
        self.bounds: Dict[str, Tuple[float, float, float]] = {}

    def everyone_offline(self) -> None:
        """As the stack starts: nobody takes chats (signing in to the inbox sets a person online)."""
        for token in (*self.agents.values(), self.supervisor):
            assert self.stack.handoff("PUT", "/api/me/status", token, json={"status": "offline"}).status_code == 200

    def seen(self) -> Dict[str, Any]:
        """Per customer of the day: what the bot sent them and the intents its NLU read, for a failure's message."""
        events = redis.Redis.from_url(self.env["REDIS_URL"], decode_responses=True).xrange(redis_keys.EVENT_STREAM)
        read = [(e["sender"], e["intent"]) for _, e in events if e["kind"] == kinds.NLU_RESULT]
        return {wa_id: {"sent": [text_of(m["message"]) or m["message"]["type"] for m in self.stack.outbox(wa_id)],
                        "read": [intent for sender, intent in read if sender == wa_id]}
                for wa_id in (A, B, N, H, K, F, S, T, Z)}

    def figures(self) -> Dict[str, Any]:
        today = date.today().isoformat()
        answer = self.stack.handoff("GET", "/api/analytics", self.supervisor, params={"from": today, "to": today})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def standin(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = requests.request(method, self.env["STANDIN_URL"] + path, timeout=30, **kwargs)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def tick(self) -> None:
        """A webhook of a field the platform does not handle: an event that counts nothing, so the analytics'
        clock reaches now and closes the conversations idle longer than the gap."""
        self.standin("POST", "/_standin/replay", json={"object": "whatsapp_business_account", "entry": [{
            "id": "100000000000002", "changes": [{"field": "account_alerts", "value": {"alert": "none"}}]}]})

    def settle(self) -> Dict[str, Any]:
        """The figures once everything written before has ended (the gap passed since the newest event)."""
        earlier = self.figures()
        newest = earlier["aggregated_until"]
        if newest is not None and earlier["open_now"]["conversations"]:
            idle = time.time() - datetime.fromisoformat(newest).timestamp()
            time.sleep(max(0.0, GAP + 1 - idle))
        self.tick()
        return self.figures()

    # -- the customer's side ------------------------------------------------------------------------

    def writes(self, wa_id: str, text: str) -> int:
        answer = self.standin("POST", f"/_standin/customers/{wa_id}/messages", json={"text": text, "name": "Day"})
        return answer["outbox_seq"]

    def taps(self, wa_id: str, question: Dict[str, Any], title: str) -> int:
        [button] = [b for b in question["message"]["interactive"]["action"]["buttons"]
                    if b["reply"]["title"] == title]
        answer = self.standin("POST", f"/_standin/customers/{wa_id}/messages", json={
            "button_reply": {"id": button["reply"]["id"], "title": title}, "context": question["wamid"]})
        return answer["outbox_seq"]

    def until(self, wa_id: str, after: int, found: Callable[[Dict[str, Any]], bool]) -> Dict[str, Any]:
        """The first message to `wa_id` after `after` for which `found` is true (waiting up to 60 s)."""
        deadline, seen = time.monotonic() + 60, after
        while time.monotonic() < deadline:
            for sent in self.stack.outbox(wa_id, after=seen, wait=5):
                seen = sent["seq"]
                if found(sent["message"]):
                    return sent
        raise AssertionError(f"no such message to {wa_id}")

    def escalated(self, wa_id: str) -> str:
        return wait_until(lambda: self.stack.handoff("GET", f"/api/customers/{wa_id}").json()["owner"].get("chat_id"))

    # -- the customers of the day ---------------------------------------------------------------------

    def bot_answers_an_order_status(self) -> None:
        self.until(A, self.writes(A, "where is my order 7101"), lambda m: "7101" in text_of(m))
        self.until(A, self.writes(A, "5/5"), lambda m: True)  # the thanks for the rating

    def bot_cancels_an_order(self) -> None:
        confirm = self.until(B, self.writes(B, "cancel order 7102"), is_buttons)
        rating = self.until(B, self.taps(B, confirm, "Yes, cancel it"), lambda m: text_of(m) == "How did we do today?")
        self.until(B, self.taps(B, rating, "Good"), lambda m: True)

    def bot_does_not_understand(self) -> None:
        self.until(N, self.writes(N, "the thing with the other thing"), lambda m: True)

    def an_agent_settles(self, wa_id: str, text: str, agent: str, waits: float, rating: str) -> None:
        token = self.agents[agent]
        started = time.time()
        self.writes(wa_id, text)
        chat_id = self.escalated(wa_id)
        claimed = self.stack.handoff("POST", f"/api/chats/{chat_id}/claim", token)
        assert claimed.status_code == 200, claimed.text
        time.sleep(waits)
        seq = self.stack.outbox(wa_id, wait=0)[-1]["seq"] if self.stack.outbox(wa_id) else 0
        sent = self.stack.handoff("POST", f"/api/chats/{chat_id}/messages", token, json={"text": f"Hi, {agent} here."})
        assert sent.status_code == 201, sent.text
        replied = time.time() - started
        self.until(wa_id, seq, lambda m: text_of(m) == f"Hi, {agent} here.")
        resolved = self.stack.handoff("POST", f"/api/chats/{chat_id}/resolve", token, json={"resolution": "done"})
        assert resolved.status_code == 200, resolved.text
        self.bounds[agent] = (waits, replied, time.time() - started)
        question = self.until(wa_id, seq, lambda m: text_of(m) == "How did we do today?")
        if rating:
            self.until(wa_id, self.taps(wa_id, question, rating), lambda m: True)

    def meta_refuses(self) -> None:
        self.writes(F, "hi")
        wait_until(lambda: self.standin("GET", "/_standin/fault-rates")["served"].get("131026"), timeout=60)

    def opts_out(self) -> None:
        self.until(S, self.writes(S, "STOP"), lambda m: text_of(m).startswith("Done: we won't send you"))

    def order_event(self, order_id: str) -> None:
        answer = self.stack.handoff("POST", "/api/order-events",
                                    json={"order_id": order_id, "state": "delivered", "update_shop": True})
        assert answer.status_code == 201, answer.text

    def run(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            orders = Path(folder) / "orders.csv"
            orders.write_text(ORDERS.format(A=A, B=B, T=T, S=S))
            import_file(orders, self.env["DATABASE_URL"])
        self.everyone_offline()  # no chat goes to anyone by itself: the agents claim them
        self.policy.record_consent(T, "in", SCOPES, "checkout_page", "Send me order updates")
        self.standin("POST", "/_standin/fault-rates", json={"permanent": {F: 131026}})
        try:
            flows = [self.bot_answers_an_order_status, self.bot_cancels_an_order, self.bot_does_not_understand,
                     lambda: self.an_agent_settles(H, "I want to speak to a human", "alice", ALICE_WAITS, "OK"),
                     lambda: self.an_agent_settles(K, "I need to talk to a person please", "bob", 0, ""),
                     self.meta_refuses, self.opts_out]
            with ThreadPoolExecutor(len(flows)) as pool:
                for done in [pool.submit(flow) for flow in flows]:
                    done.result()
        finally:
            self.standin("POST", "/_standin/fault-rates", json={})
        seq = self.stack.outbox(T)[-1]["seq"] if self.stack.outbox(T) else 0
        self.order_event("7103")
        self.until(T, seq, lambda m: m.get("type") == "template")
        self.policy.set_clock_offset(25 * 3600)  # a day later for the policy and Meta; nobody else writes now
        try:
            self.order_event("7104")
            wait_until(lambda: self.policy.deferred(S))
        finally:
            self.policy.set_clock_offset(0)


def text_of(message: Dict[str, Any]) -> str:
    if message.get("type") == "text":
        return message["text"]["body"]
    if message.get("type") == "interactive":
        return message["interactive"]["body"]["text"]
    return ""


def is_buttons(message: Dict[str, Any]) -> bool:
    return message.get("type") == "interactive" and message["interactive"]["type"] == "button"


def delta(after: Any, before: Any) -> Any:
    """What the day added: counts subtracted, dicts key by key (keys with nothing added left out)."""
    if isinstance(after, dict):
        found = {k: delta(v, (before or {}).get(k)) for k, v in after.items()}
        return {k: v for k, v in found.items() if v not in (0, {}, None)}
    if isinstance(after, bool) or not isinstance(after, (int, float)):
        return None
    return after - (before or 0)


@pytest.fixture(scope="module")
def day(stack: Stack) -> Dict[str, Any]:
    script = Day(stack)
    before = script.settle()
    started = time.monotonic()
    script.run()
    time.sleep(GAP + 1)  # every conversation of the day ends...
    script.tick()
    z = script.writes(Z, "hi")  # ...and Z starts one that stays open
    script.until(Z, z, lambda m: True)
    # Z's turn is recorded once its NLU result is (written after the replies went out, and their events).
    wait_until(lambda: script.seen()[Z]["read"])
    # Every accepted message is read in the end (the stand-in's statuses trail the sends by 0.2 s each).
    after = wait_until(lambda: _all_read(script.figures(), before), timeout=60)
    return {"before": before, "after": after, "script": script, "seconds": time.monotonic() - started,
            "seen": script.seen()}


def _all_read(after: Dict[str, Any], before: Dict[str, Any]) -> Any:
    sent = delta(after["delivery"], before["delivery"])
    return after if sent.get("sent") and sent.get("sent") == sent.get("read") == sent.get("delivered") else None


def part(figures: Dict[str, Any], rate: float, whole: int) -> int:
    """The count behind a rate (rates are rounded to 4 places: exact for these small counts)."""
    return round((rate or 0) * whole)


def test_the_days_figures_are_those_computed_by_hand(day: Dict[str, Any]) -> None:
    before, after, script = day["before"], day["after"], day["script"]
    added = delta(after, before)
    # The rates, percentiles and averages below are the day's alone only on a stack nothing else used first:
    # this module sorts first among those sharing the package's handoff stack.
    assert not before["conversations"]["customer_initiated"] and not before["agents"], before
    print(f"the day took {day['seconds']:.0f} s; the analytics added: {added}; each customer: {day['seen']}")

    conversations = added["conversations"]
    assert (conversations["customer_initiated"], conversations["proactive"], conversations["ended"]) == (8, 1, 7)
    ended = (before["conversations"]["ended"], after["conversations"]["ended"])
    contained = part(after, after["containment_rate"], ended[1]) - part(before, before["containment_rate"], ended[0])
    assert contained == 5  # A B N F S of 7 ended: 0.7143 on a stack of its own
    durable = (part(after, after["durable_containment_rate"], ended[1])
               - part(before, before["durable_containment_rate"], ended[0]))
    assert durable == 5  # nobody came back
    started = (before["conversations"]["customer_initiated"], after["conversations"]["customer_initiated"])
    handed = part(after, after["handoff_rate"], started[1]) - part(before, before["handoff_rate"], started[0])
    assert handed == 2  # H K of 8: 0.25
    assert added["handoffs"] == 2 and added["handoff_reasons"] == {"customer_request": 2}
    assert added["handoff_intents"] == {"unknown": 2}  # asked for a person at once: no topic before it

    # Wall-time bounds: Alice replied after her 2 s wait, and everything happened within what we measured.
    for agent, (waited, replied, resolved) in script.bounds.items():
        times = after["agents"][agent]
        assert times["handoffs"] == 1
        assert waited <= times["first_response_seconds"]["p50"] <= replied, (agent, times)
        assert times["first_response_seconds"]["p50"] <= times["resolution_seconds"]["p50"] <= resolved
    assert after["queue_wait_seconds"]["count"] == 2
    assert 0 <= after["queue_wait_seconds"]["p90"] <= max(b[1] for b in script.bounds.values())

    bot, agent = added["csat"]["bot"], added["csat"]["agent"]
    assert (bot["asked"], bot["ratings"], bot["answered"]) == (1, 2, 1)  # B asked; A (unasked) and B rated
    assert (agent["asked"], agent["ratings"], agent["answered"]) == (2, 1, 1)  # H and K asked; H rated
    assert (after["csat"]["bot"]["average"], after["csat"]["bot"]["response_rate"]) == (5.0, 1.0)
    assert (after["csat"]["agent"]["average"], after["csat"]["agent"]["response_rate"]) == (3.0, 0.5)

    nlu = added["nlu"]
    assert (nlu["messages"], nlu["fell_back"], nlu["fell_back_by"]) == (12, 1, {"nlu": 1}), day["seen"]
    assert after["fallback_rate"] == round(1 / 12, 4)

    # Accepted: A 2 (the status, the thanks), B 5 (confirm, cancelled, refund, rating question, thanks), N 1,
    # H 5 (queue position, Alice, closing, rating question, thanks), K 4 (the same but the thanks), S 1, T 1, Z 1.
    assert added["delivery"] == {"sent": 20, "delivered": 20, "read": 20, "refused": 1,
                                 "failed_by_code": {"131026": 1}}, day["seen"]
    assert added["template_fallbacks"] == {"order_update": 1}
    assert added["policy_holds"] == {"deferred": {
        "window closed; template order_update not possible: customer opted out of utility": 1}}  # cut at 80

    cost = added["cost"]
    assert cost["by_category"] == {"utility": {"messages": 1, "charged": 1, "amount": 0.0034},  # rate_card.yml, +1
                                   "service": {"messages": 19}}  # the free replies: nothing charged
    assert cost["meta_priced"] == {"utility": 1, "service": 19}
    assert after["cost"]["per_contained"] == round(0.0034 / 5, 6)
    assert after["cost"]["per_resolved"] == round(0.0034 / 7, 6)  # 5 contained + 2 resolved handoffs

    assert added["open_now"] == {"conversations": 1, "windows": 8}  # Z; everyone who wrote


# Per chart: pygal's drawn data elements, those with a size (a value above 0), and whether it says "No data".
DRAWN = """() => Object.fromEntries([...document.querySelectorAll('figure.chart')].map(f => [
  f.id.replace('chart-', ''),
  {bars: f.querySelectorAll('svg .series .reactive').length,
   sized: [...f.querySelectorAll('svg .series .reactive')].filter(r => r.getBoundingClientRect().width > 0
                                                                      && r.getBoundingClientRect().height > 0).length,
   noData: f.querySelectorAll('svg .no_data').length}]))"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
CHARTS = ("conversations", "containment", "handoff-reasons", "first-response", "csat", "delivery", "failures",
          "cost", "cost-per-conversation", "fallback", "intents")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs chromium first")
def test_the_dashboard_draws_every_chart_of_the_day(day: Dict[str, Any], stack: Stack) -> None:
    """After the day above: a supervisor opens today's dashboard at laptop and phone widths (screenshots in
    var/screenshots/); every chart has drawn bars with values, none says it has no data."""
    url, today = stack.env_["HANDOFF_URL"], date.today().isoformat()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for name, (width, height) in (("laptop", (1366, 768)), ("phone", (390, 844))):
                page = browser.new_page(viewport={"width": width, "height": height})
                sign_in(page, url, "sam", stack.env_["HANDOFF_DEMO_PASSWORD"])
                page.goto(f"{url}/inbox/analytics?from={today}&to={today}")
                expect(page.locator(".dashboard-head .meta")).to_contain_text(f"{today} to {today}")
                drawn = page.evaluate(DRAWN)
                assert sorted(drawn) == sorted(CHARTS), drawn
                for chart, found in drawn.items():
                    assert found["bars"] > 0 and found["sized"] > 0 and found["noData"] == 0, (name, chart, found)
                expect(page.locator("#chart-failures svg")).to_contain_text("131026")
                expect(page.locator("#chart-handoff-reasons svg")).to_contain_text("customer_request")
                windows = page.locator("#table-summary tr", has_text="service windows open now").locator("td").nth(1)
                expect(windows).to_have_text(str(day["after"]["open_now"]["windows"]))
                assert page.evaluate(SIDEWAYS) <= 0, name  # nothing wider than the screen
                page.screenshot(path=str(SHOTS / f"analytics-day-{name}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
            day["script"].everyone_offline()
