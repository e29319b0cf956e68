"""An opt-in a customer gives an agent in the chat goes into the consent ledger with source `agent`, the
agent's name and the exact wording; it shows in the chat and opens the templates of its scope."""

import pytest

from tests.handoff.harness import chat_with
from tests.support.handoff_env import Handoff
from whatsapp_cloud import redis_keys

WORDING = "Can we send you offers here on WhatsApp? Reply YES to agree."


@pytest.fixture()
def handoff(shared_handoff: Handoff) -> Handoff:
    return shared_handoff


def test_an_agent_records_an_opt_in_with_scope_wording_and_their_name(handoff: Handoff, alice: str) -> None:
    customer, chat_id = chat_with(handoff, alice)
    answer = handoff.api("POST", f"/api/chats/{chat_id}/consent", alice,
                         json={"scopes": ["marketing"], "wording": WORDING})
    assert answer.status_code == 201, answer.text
    assert answer.json()["changed"] == ["marketing"]
    record = handoff.policy.snapshot(customer).state.consent.records["marketing"]
    assert (record.status, record.source, record.wording, record.recorded_by) == ("in", "agent", WORDING, "alice")
    assert "utility" not in handoff.policy.snapshot(customer).state.consent.records
    [logged] = [fields for _id, fields in handoff.service.redis.xrange(redis_keys.CONSENT_LOG)
                if fields["recipient"] == customer]
    assert (logged["source"], logged["by"], logged["wording"], logged["scopes"]) == ("agent", "alice", WORDING,
                                                                                      "marketing")

    view = handoff.api("GET", f"/api/chats/{chat_id}", alice).json()
    assert [(c["scope"], c["status"], c["recorded_by"], c["wording"]) for c in view["consent"]] == [
        ("marketing", "in", "alice", WORDING)]
    assert view["messages"][-1]["kind"] == "system" and "alice recorded an opt-in (marketing)" in \
        view["messages"][-1]["text"]
    again = handoff.api("POST", f"/api/chats/{chat_id}/consent", alice,
                        json={"scopes": ["marketing"], "wording": WORDING})
    assert again.status_code == 201 and again.json()["changed"] == []  # already so: the ledger keeps the first


def test_an_opt_in_without_wording_or_scope_is_refused_and_records_nothing(handoff: Handoff, alice: str) -> None:
    customer, chat_id = chat_with(handoff, alice)
    for body, why in [({"scopes": ["marketing"], "wording": "  "}, "wording"),
                      ({"scopes": ["marketing"]}, "wording"),
                      ({"scopes": [], "wording": WORDING}, "scopes"),
                      ({"scopes": ["newsletters"], "wording": WORDING}, "scopes"),
                      ({"scopes": ["utility"], "wording": "x" * 1001}, "1000")]:
        answer = handoff.api("POST", f"/api/chats/{chat_id}/consent", alice, json=body)
        assert answer.status_code == 400 and why in answer.json()["error"], (body, answer.text)
    assert handoff.policy.snapshot(customer).state.consent.records == {}
    integration = handoff.api("POST", f"/api/chats/{chat_id}/consent", json={"scopes": ["utility"], "wording": WORDING})
    assert integration.status_code == 403  # a person records what a customer told them
    rita = handoff.login("rita")  # refunds only: not her team's chat
    other_team = handoff.api("POST", f"/api/chats/{chat_id}/consent", rita,
                             json={"scopes": ["utility"], "wording": WORDING})
    assert other_team.status_code == 403 and handoff.policy.snapshot(customer).state.consent.records == {}
