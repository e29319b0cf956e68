"""The public opt-in page over real HTTP with a real Redis and the Cloud API stand-in: a sign-up is in the
consent ledger with its exact wording and gets the confirmation template; bad input, a missing CSRF token
and too many sign-ups are refused and record nothing; the page may be framed only where the setting says."""

import re
from typing import Iterator

import pytest
import redis
import requests

from handoff.app import create_app
from handoff.opt_in_page import CONFIRMATION_TEMPLATE
from tests.support.handoff_env import Handoff, csrf, running_handoff
from tests.support.redis_process import RedisProcess
from whatsapp_cloud import redis_keys

PRIVACY = "https://shop.example.com/privacy"
WORDING = ("Yes, I want Corner Bakery to send me order updates and offers on WhatsApp at this number. "
           "I can reply STOP at any time to stop them.")
CUSTOMER = "15554440101"


@pytest.fixture(scope="module")
def service(redis_proc: RedisProcess) -> Iterator[Handoff]:
    """One service for the module (starting it is most of the time these tests take)."""
    with running_handoff(redis_proc.url, with_agents=False, SHOP_NAME="Corner Bakery",
                         OPT_IN_PRIVACY_POLICY_URL=PRIVACY, OPT_IN_LIMIT="3 per hour", HANDOFF_TRUSTED_PROXIES="1",
                         OPT_IN_FRAME_ANCESTORS="https://shop.example.com") as running:
        yield running


@pytest.fixture()
def handoff(service: Handoff, redis_url: str) -> Handoff:
    """The service with an empty Redis after each test (redis_url flushes it), the limits' counts included."""
    return service


def page(handoff: Handoff, client: str = "203.0.113.7") -> tuple[requests.Session, str]:
    """A visitor's browser (its address as the trusted proxy reports it) with the form's CSRF token."""
    browser = requests.Session()
    browser.headers["X-Forwarded-For"] = client
    shown = browser.get(handoff.url + "/opt-in", timeout=10)
    assert shown.status_code == 200
    return browser, csrf(shown.text)


def sign_up(browser: requests.Session, handoff: Handoff, token: str, phone: str, **changes: str) -> requests.Response:
    form = {"csrf_token": token, "wording": WORDING, "phone": phone, "agree": "yes", **changes}
    return browser.post(handoff.url + "/opt-in", data=form, timeout=30, allow_redirects=False)


def ledger(handoff: Handoff, wa_id: str) -> dict:
    return handoff.policy.snapshot(wa_id).state.consent.records


def test_a_sign_up_is_in_the_ledger_with_its_wording_and_gets_the_confirmation(handoff: Handoff) -> None:
    browser, token = page(handoff)
    shown = browser.get(handoff.url + "/opt-in", timeout=10)
    assert WORDING in shown.text and f'href="{PRIVACY}"' in shown.text and 'aria-label="WhatsApp logo"' in shown.text
    assert "frame-ancestors 'self' https://shop.example.com" in shown.headers["Content-Security-Policy"]
    answer = sign_up(browser, handoff, token, "+1 (555) 444-0101")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/opt-in/done")
    records = ledger(handoff, CUSTOMER)
    assert set(records) == {"utility", "marketing"}
    for record in records.values():
        assert (record.status, record.source, record.wording) == ("in", "website", WORDING)
    store = redis.Redis.from_url(handoff.env["REDIS_URL"], decode_responses=True)
    [(_, logged)] = store.xrange(redis_keys.CONSENT_LOG)
    assert (logged["recipient"], logged["source"], logged["wording"]) == (CUSTOMER, "website", WORDING)
    events = [f for _, f in store.xrange(redis_keys.EVENT_STREAM) if f["kind"] == "consent"]
    assert [(e["recipient"], e["status"], e["source"]) for e in events] == [(CUSTOMER, "in", "website")]
    [sent] = handoff.outbox(CUSTOMER)
    template = sent["message"]["template"]
    assert template["name"] == CONFIRMATION_TEMPLATE
    assert [p["text"] for p in template["components"][0]["parameters"]] == ["Corner Bakery", "order updates and offers"]
    assert template["components"][1]["parameters"] == [{"type": "payload", "payload": "WA_OPT_IN_CONFIRM"}]
    # Signing up again changes nothing and sends no second confirmation; the answer is the same.
    assert sign_up(browser, handoff, token, "001 555 444 0101").status_code == 303
    assert len(handoff.outbox(CUSTOMER)) == 1 and len(store.xrange(redis_keys.CONSENT_LOG)) == 1


BAD = [("555 0101", {}, 400, "with its country code"),
       ("call me", {}, 400, "with its country code"),
       ("+1 555 444 0111", {"agree": ""}, 400, "Tick the box"),
       ("+1 555 444 0111", {"wording": "I agree to anything"}, 409, "The wording changed")]


def test_bad_input_is_refused_with_the_reason_and_records_nothing(handoff: Handoff) -> None:
    for n, (phone, changes, status, says) in enumerate(BAD):
        browser, token = page(handoff, client=f"203.0.113.{n}")
        answer = sign_up(browser, handoff, token, phone, **changes)
        assert answer.status_code == status and says in answer.text, (phone, changes)
        assert f'value="{phone}"' in answer.text  # the number typed is kept
    assert ledger(handoff, "15554440111") == {} and handoff.outbox("15554440111") == []


def test_a_post_without_the_forms_csrf_token_is_refused(handoff: Handoff) -> None:
    browser, _ = page(handoff)
    answer = sign_up(browser, handoff, "", "+1 555 444 0121")
    assert answer.status_code == 400 and "form has expired" in answer.text
    forged = requests.post(handoff.url + "/opt-in", data={"phone": "+1 555 444 0121", "agree": "yes",
                                                          "wording": WORDING}, timeout=10)
    assert forged.status_code == 400
    assert ledger(handoff, "15554440121") == {}


def test_sign_ups_are_limited_per_address_and_per_number(handoff: Handoff) -> None:
    browser, token = page(handoff, client="203.0.113.7")
    for n in range(3):
        assert sign_up(browser, handoff, token, f"+1 555 444 02{n:02}").status_code == 303
    refused = sign_up(browser, handoff, token, "+1 555 444 0299")
    assert refused.status_code == 429 and "Too many sign-ups" in refused.text
    assert ledger(handoff, "15554440299") == {}
    # One number from three other addresses (its spellings count as one number), then a fourth: refused.
    for n, spelling in enumerate(("+1 555 444 0300", "15554440300", "001-555-444-0300")):
        other, other_token = page(handoff, client=f"198.51.100.{n}")
        assert sign_up(other, handoff, other_token, spelling).status_code == 303
    last, last_token = page(handoff, client="198.51.100.9")
    assert sign_up(last, handoff, last_token, "+1 555 444 0300").status_code == 429


def test_without_a_privacy_policy_the_page_is_not_offered(service: Handoff, redis_url: str) -> None:
    env = {k: v for k, v in service.env.items() if not k.startswith("OPT_IN_")}
    app = create_app(env)
    for answer in (app.test_client().get("/opt-in"), app.test_client().post("/opt-in")):
        assert answer.status_code == 503 and "OPT_IN_PRIVACY_POLICY_URL" in answer.text
    assert re.search(r"frame-ancestors 'self'$", answer.headers["Content-Security-Policy"])
