"""Two bot workers (BOT_WORKERS=2) behind the intake, as `make run` starts them: both answer customers,
and each customer's messages are taken in the order they were sent, whichever worker runs each turn."""

import re
import socket
from typing import Iterator

import pytest
import requests

from stack.background import free_port
from tests.e2e.harness import Stack, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.proof]  # make proof: two Rasa processes
CUSTOMERS = [f"155577700{n:02d}" for n in range(8)]
WORDS = ("first", "second", "third")


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


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("var"), BOT_WORKERS="2", RASA_PORT=str(two_free_ports()))
    running.start(timeout=420)
    try:
        yield running
    finally:
        running.stop()


def turns_taken(stack: Stack, port: int) -> float:
    metrics = requests.get(f"http://127.0.0.1:{port}/webhooks/whatsapp/metrics", timeout=10).text
    return sum(float(value) for value in re.findall(
        r'^whatsapp_inbound_messages_total\{[^}]*result="turn"[^}]*\} (\S+)$', metrics, re.M))


def test_both_workers_answer_and_each_customer_is_taken_in_order(stack: Stack) -> None:
    for word in WORDS:  # interleaved: every customer's first message, then every second one, ...
        for customer in CUSTOMERS:
            stack.customer_writes(customer, f"{word} message")

    def in_tracker(customer: str) -> list:
        events = stack.tracker(customer).get("events", [])
        return [e["text"].split()[0] for e in events if e["event"] == "user"]

    for customer in CUSTOMERS:
        assert wait_until(lambda c=customer: len(in_tracker(c)) >= len(WORDS), timeout=180)
        assert in_tracker(customer) == list(WORDS), customer
    port = int(stack.env_["RASA_PORT"])
    assert turns_taken(stack, port) > 0 and turns_taken(stack, port + 1) > 0
