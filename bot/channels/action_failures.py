"""Whether a custom action failed during the current turn, from what Rasa logs.

Rasa's processor catches any exception of a custom action (the action server unreachable, too slow, or
failing), logs it and goes on without the action's events: the turn ends with no reply and nothing else
tells the channel. A handler on that logger notes each failure in the turn's own context (every turn runs in
a task of its own, and a task keeps its context), so concurrent turns do not see each other's failures.
"""

import contextvars
import logging
from contextlib import contextmanager
from typing import Iterator, List, Optional

RASA_PROCESSOR_LOGGER = "rasa.core.processor"
FAILED_ACTION = "Encountered an exception while running action"  # rasa/core/processor.py, _run_action

_failures: contextvars.ContextVar[Optional[List[str]]] = contextvars.ContextVar("failed_actions", default=None)


class _FailureNotes(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        failures = _failures.get()
        if failures is not None and str(record.msg).startswith(FAILED_ACTION):
            failures.append(record.getMessage())


_NOTES = _FailureNotes(level=logging.ERROR)


@contextmanager
def watch() -> Iterator[List[str]]:
    """The failures Rasa logs for custom actions while the block runs, in this task."""
    logger = logging.getLogger(RASA_PROCESSOR_LOGGER)
    if _NOTES not in logger.handlers:
        logger.addHandler(_NOTES)
    failures: List[str] = []
    token = _failures.set(failures)
    try:
        yield failures
    finally:
        _failures.reset(token)
