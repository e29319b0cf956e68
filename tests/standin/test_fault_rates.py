"""Faults drawn at random by the stand-in (the chaos proofs): shares, 131056 bursts, permanent refusals."""

from collections import Counter
from typing import Any, Dict

import pytest

from tests.standin.harness import AUTH, CUSTOMER, URL, make_standin

OTHER = "16505559999"


@pytest.fixture()
def standin(receiver: tuple) -> Any:
    """No rate limits of its own: only the drawn faults refuse."""
    return make_standin(receiver[1], STANDIN_STATUSES="off", STANDIN_PAIR_BURST="100000",
                        STANDIN_THROUGHPUT="100000")


def open_window(standin: Any, wa_id: str) -> None:
    assert standin.post(f"/_standin/customers/{wa_id}/messages", json={"text": "hi"}).status_code == 200


def send(standin: Any, to: str) -> Any:
    return standin.post(URL, headers=AUTH, json={"messaging_product": "whatsapp", "to": to, "type": "text",
                                                 "text": {"body": "hello"}})


def outcome(answer: Any) -> str:
    if answer.status_code == 200:
        return "sent"
    body = answer.get_json(silent=True)
    return str(body["error"]["code"]) if body else str(answer.status_code)


def test_faults_come_in_their_shares_and_faulted_sends_are_not_delivered(standin: Any) -> None:
    open_window(standin, CUSTOMER)
    shares: Dict[str, Any] = {"http_500": 0.2, "throughput": 0.1, "timeout": 0.1, "timeout_seconds": 0.001,
                              "seed": 7}
    assert standin.post("/_standin/fault-rates", json=shares).status_code == 200
    seen = Counter(outcome(send(standin, CUSTOMER)) for _ in range(1000))
    assert 150 < seen["500"] < 250 and 60 < seen["130429"] < 140 and 60 < seen["503"] < 140
    assert seen["sent"] == 1000 - seen["500"] - seen["130429"] - seen["503"]
    outbox = standin.get("/_standin/outbox", query_string={"to": CUSTOMER}).get_json()["messages"]
    assert len(outbox) == seen["sent"]
    served = standin.get("/_standin/fault-rates").get_json()["served"]
    assert served == {"500": seen["500"], "130429": seen["130429"], "timeout": seen["503"]}


def test_a_pair_burst_refuses_its_customer_several_times_and_a_permanent_error_every_time(standin: Any) -> None:
    open_window(standin, CUSTOMER)
    open_window(standin, OTHER)
    standin.post("/_standin/fault-rates", json={"pair_burst": 1.0, "burst_length": 3, "permanent": {OTHER: 131026}})
    assert [outcome(send(standin, CUSTOMER)) for _ in range(3)] == ["131056"] * 3
    assert {outcome(send(standin, OTHER)) for _ in range(5)} == {"131026"}
    standin.post("/_standin/fault-rates", json={})
    assert outcome(send(standin, CUSTOMER)) == "sent"


def test_shares_out_of_range_are_refused_with_the_reason(standin: Any) -> None:
    for bad in ({"http_500": 1.5}, {"http_500": 0.6, "throughput": 0.6}, {"permanent": {OTHER: "x"}}, [0.1]):
        answer = standin.post("/_standin/fault-rates", json=bad)
        assert answer.status_code == 400 and answer.get_json()["error"]
    open_window(standin, CUSTOMER)
    assert outcome(send(standin, CUSTOMER)) == "sent"  # the refused shares changed nothing
