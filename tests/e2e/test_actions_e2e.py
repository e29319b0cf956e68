"""The workflows through the whole system: WhatsApp webhooks in, Rasa, the action server on its
SQLite order database, the handoff service, replies out through the stand-in."""

import re

import pytest
import requests

from tests.e2e.harness import RunningStack

pytestmark = pytest.mark.e2e
SAM, ANA, OMAR = "15551230001", "15551230002", "15551230003"


@pytest.fixture(scope="module")
def stack(workflow_stack: RunningStack) -> RunningStack:
    return workflow_stack  # shared with the other workflow modules


def test_order_status_offers_a_list_then_answers_the_choice(stack: RunningStack) -> None:
    choice = stack.say("where is my order?", SAM)
    assert '- Order 1001  -> /order_status{"order_id": "1001"}' in choice
    assert '- Order A-10023  -> /order_status{"order_id": "A-10023"}' in choice
    answer = stack.say('/order_status{"order_id": "1001"}', SAM)
    assert "UPS" in answer and "1Z999AA10123456784" in answer


def test_an_order_number_typed_instead_of_tapped_answers_the_question(stack: RunningStack) -> None:
    question = stack.say("can i get my invoice", OMAR, "Omar Haddad")
    assert '-> /get_invoice{"order_id": "1008"}' in question
    answer = stack.say("1008", OMAR, "Omar Haddad")
    assert re.search(r"\[document \S+\.pdf\]", answer), answer
    # No question pending: a bare number asks for that order's status.
    status = stack.say("#1003", SAM)
    assert "Order 1003" in status and "delivered" in status.lower()


def test_another_customers_order_is_not_shown(stack: RunningStack) -> None:
    answer = stack.say("where is my order 1001", ANA, "Ana Lima")
    assert "can't find order 1001" in answer and "UPS" not in answer


def test_cancel_with_confirmation_once(stack: RunningStack) -> None:
    question = stack.say("I want to cancel my order", OMAR, "Omar Haddad")
    assert "Cancel order 1005 (USD 30.00)?" in question and "-> /affirm" in question
    done = stack.say("/affirm", OMAR, "Omar Haddad")
    assert "order 1005 is cancelled" in done and "How did we do today?" in done
    rated = stack.say("4/5", OMAR, "Omar Haddad")  # typed instead of tapped
    assert "Thank you for your feedback" in rated
    again = stack.say("cancel order 1005", OMAR, "Omar Haddad")
    assert "already cancelled" in again


def test_invoice_arrives_as_a_document_that_can_be_fetched(stack: RunningStack) -> None:
    answer = stack.say("send me the invoice for 1001", SAM)
    link = re.search(r"\[document (\S+\.pdf)\]", answer).group(1)
    fetched = requests.get(link, timeout=30)
    assert fetched.status_code == 200 and fetched.content.startswith(b"%PDF-")


def test_a_person_is_reached_through_the_handoff_service(stack: RunningStack) -> None:
    answer = stack.say("agent", ANA, "Ana Lima")
    assert "our team" in answer.lower() or "team is offline" in answer
    assert "can't reach" not in answer
