"""HANDOFF_TEMPLATES_IN_WINDOW: off by default, agents send templates only outside the service window; an
administrator may allow them inside it. The composer shows each template's category and its price now."""

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from handoff.settings import HandoffSettings
from stack.setting_values import ConfigError
from tests.handoff.harness import chat_with
from tests.support.handoff_env import Handoff, signed_in

UPDATE = {"template": "order_update", "language": "en_US", "values": {"order_id": "1001", "status": "shipped"}}
ENV = {"REDIS_URL": "redis://127.0.0.1:1/0", "HANDOFF_API_TOKEN": "t", "HANDOFF_SECRET_KEY": "k"}


@pytest.fixture()
def handoff(shared_handoff: Handoff) -> Iterator[Handoff]:
    settings = shared_handoff.service.settings
    yield shared_handoff
    shared_handoff.service.settings = settings


def allow_templates_in_window(handoff: Handoff, allowed: bool) -> None:
    handoff.service.settings = dataclasses.replace(handoff.service.settings, templates_in_window=allowed)


def test_the_setting_is_off_by_default_and_a_wrong_word_stops_the_start() -> None:
    assert HandoffSettings.from_env(ENV).templates_in_window is False
    assert HandoffSettings.from_env({**ENV, "HANDOFF_TEMPLATES_IN_WINDOW": "true"}).templates_in_window is True
    with pytest.raises(ConfigError, match="HANDOFF_TEMPLATES_IN_WINDOW"):
        HandoffSettings.from_env({**ENV, "HANDOFF_TEMPLATES_IN_WINDOW": "sometimes"})


def test_inside_the_window_a_template_waits_for_the_setting(handoff: Handoff, alice: str) -> None:
    customer, chat_id = chat_with(handoff, alice)  # the customer wrote: the window is open
    handoff.policy.record_consent(customer, "in", ["utility"], "whatsapp_thread", "order updates: yes")
    refused = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json=UPDATE)
    assert refused.status_code == 422 and "HANDOFF_TEMPLATES_IN_WINDOW" in refused.json()["error"]
    assert handoff.outbox(customer) == []
    composer = handoff.api("GET", f"/api/chats/{chat_id}", alice).json()["composer"]
    assert composer["mode"] == "session" and composer["templates_in_window"] is False

    allow_templates_in_window(handoff, True)
    sent = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json=UPDATE)
    assert sent.status_code == 201, sent.text
    [delivered] = handoff.outbox(customer)
    assert delivered["message"]["template"]["name"] == "order_update"


def test_the_composer_shows_each_templates_category_and_price_from_the_rate_card(handoff: Handoff,
                                                                                 alice: str) -> None:
    allow_templates_in_window(handoff, True)
    _customer, chat_id = chat_with(handoff, alice)  # +1 555...: the North America rates
    card = yaml.safe_load(Path("rate_card.yml").read_text())
    composer = handoff.api("GET", f"/api/chats/{chat_id}", alice).json()["composer"]
    prices = {t["name"]: (t["category"], t["cost"]["amount"]) for t in composer["templates"]}
    # Under per-message pricing, after 2026-09-30 a utility template costs its rate inside the window too.
    assert prices["order_update"] == ("UTILITY", f"{card['markets']['1']['utility']:.6f}")
    browser, _csrf = signed_in(handoff, "alice")
    page = browser.get(f"{handoff.url}/inbox/chats/{chat_id}", timeout=10).text
    assert f"Category utility · costs {card['markets']['1']['utility']:.6f} USD if sent now" in page
    assert "data-templates-in-window" in page and "a free-text reply is free" in page


def test_in_the_windows_last_minute_a_template_is_accepted_without_the_setting(handoff: Handoff,
                                                                               alice: str) -> None:
    customer, chat_id = chat_with(handoff, alice, customer_wrote=False)
    # The customer wrote 23 h 59 min 30 s ago: the page may already show templates by its own clock.
    handoff.policy.record_inbound(customer, handoff.policy.now() - timedelta(hours=24) + timedelta(seconds=30),
                                  from_referral=False)
    handoff.policy.record_consent(customer, "in", ["utility"], "whatsapp_thread", "order updates: yes")
    assert handoff.api("GET", f"/api/chats/{chat_id}", alice).json()["composer"]["mode"] == "session"
    sent = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json=UPDATE)
    assert sent.status_code == 201, sent.text
