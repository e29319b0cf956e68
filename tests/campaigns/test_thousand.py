"""Done when: a campaign to 1,000 customers with mixed consent, through the stand-in over HTTP, sent by the
worker process, killed half-way (SIGKILL) and started again."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.campaigns.conftest import by_status, numbers, pairs, rows, running

ROOT = Path(__file__).resolve().parents[2]
RATE = 50
OPTED_OUT = "customer opted out of marketing messages"


def start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "campaigns.worker"], cwd=ROOT, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def most_in_one_second(stamps: list) -> int:
    """The most messages the stand-in accepted within any window [t, t + 1 s)."""
    stamps = sorted(stamps)
    most, first = 0, 0
    for last, at in enumerate(stamps):
        while stamps[first] <= at - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_a_thousand_customers_mixed_consent_rate_kept_killed_and_resumed_nobody_twice(redis_url):
    with running(redis_url, statuses=False, CAMPAIGN_MESSAGES_PER_SECOND=str(RATE), CAMPAIGN_CONCURRENCY="8",
                 CAMPAIGN_LEASE_SECONDS="2") as s:
        opted_in, opted_out = numbers("4411", 400), numbers("4412", 200)
        never_asked, stopped_in_whatsapp = numbers("4413", 200), numbers("4414", 200)
        for wa_id in opted_in:
            s.consent(wa_id, "in", ("utility", "marketing"))
        for wa_id in opted_out:
            s.consent(wa_id, "in", ("utility", "marketing"))
            s.consent(wa_id, "out", ("utility", "marketing"), source="keyword")
        for wa_id in stopped_in_whatsapp:  # stopped marketing in WhatsApp; the channel recorded the webhook
            s.consent(wa_id, "in", ("utility", "marketing"))
            s.consent(wa_id, "out", ("marketing",), source="user_preferences")
            s.stop_marketing_at_meta(wa_id)
        everyone = opted_in + opted_out + never_asked + stopped_in_whatsapp
        cid = s.campaigns.create("black friday", "weekend_promo", "en_US", rows(everyone, discount="30%"))["id"]

        worker = start_worker(s.env)
        try:
            wait_for(lambda: len(s.outbox()) >= 120, 120, "the first sends")
        finally:
            worker.send_signal(signal.SIGKILL)  # no clean-up of any kind
            worker.wait(10)
        at_kill = len(s.outbox())
        assert 0 < at_kill < len(opted_in), "killed half-way"

        worker = start_worker(s.env)
        try:
            wait_for(lambda: s.campaigns.get(cid)["state"] == "completed", 180, "the campaign to complete")
        finally:
            worker.terminate()
            worker.wait(20)

        sent_to = [r["to"] for r in s.outbox()]
        assert [wa_id for wa_id, n in Counter(sent_to).items() if n > 1] == [], "someone got it twice"
        status = by_status(s.campaigns, cid)
        interrupted = [r["wa_id"] for r in status.get("failed", []) if r["code"] == "interrupted"]
        assert set(sent_to) <= set(opted_in)
        assert set(sent_to) | set(interrupted) == set(opted_in)
        assert len(interrupted) <= 8  # at most the sends in flight when it was killed
        assert pairs(status["blocked"], "reason") == sorted(
            [(w, OPTED_OUT) for w in opted_out + stopped_in_whatsapp]
            + [(w, "no marketing opt-in for template weekend_promo") for w in never_asked])
        assert s.campaigns.get(cid)["counts"] == {"sent": len(opted_in) - len(interrupted), "blocked": 600,
                                                  **({"failed": len(interrupted)} if interrupted else {})}
        assert most_in_one_second([r["sent_at"] for r in s.outbox()]) <= RATE
