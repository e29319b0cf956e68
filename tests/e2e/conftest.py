"""Fixtures of the end-to-end tests: whole stacks. The two shared ones live while this package runs (each
load of the Rasa model costs most of a minute); the modules that use them write as customers of their own."""

from typing import Any, Iterator

import pytest

from tests.e2e.harness import RunningStack, Stack
from tests.support import chaos


@pytest.fixture(scope="package")
def handoff_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A conversation ends after 30 s without a message, and the policy and the stand-in read a shared test clock:
    # the scripted day of tests/e2e/test_analytics_day_e2e.py sees its conversations end and a day pass.
    running = Stack(tmp_path_factory.mktemp("var"), HANDOFF_SLA_FIRST_RESPONSE_SECONDS="3600",
                    ANALYTICS_SESSION_GAP_MINUTES="0.5", WHATSAPP_TEST_CLOCK="true")
    running.start(timeout=300)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="package")
def workflow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = RunningStack(tmp_path_factory.mktemp("var"))
    running.start(timeout=300)
    try:
        yield running
    finally:
        running.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The chaos proofs' table (tests/e2e/test_chaos.py), when they ran."""
    if chaos.ROWS:
        terminalreporter.write_sep("=", "chaos proofs")
        terminalreporter.write_line(chaos.table(chaos.ROWS))
