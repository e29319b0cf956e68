"""LOG_FORMAT: text by default, json switches every root handler to JSON lines, anything else stops the start."""

import io
import json
import logging
from typing import Iterator

import pytest

from stack import log_format, settings
from stack.setting_values import ConfigError


@pytest.fixture()
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    kept = list(root.handlers)
    yield
    root.handlers[:] = kept


def test_json_makes_the_root_handlers_write_json_lines(root_handlers: None) -> None:
    out = io.StringIO()
    logging.getLogger().handlers[:] = [logging.StreamHandler(out)]
    log_format.configure({"LOG_FORMAT": "json", "HANDOFF_SECRET_KEY": "k"}, "ingest")
    logging.getLogger("ingest").warning("intake up", extra={"wamid": "wamid.X"})
    got = json.loads(out.getvalue().strip().splitlines()[-1])
    assert got["service"] == "ingest" and got["wamid"] == "wamid.X" and got["message"] == "intake up"


def test_text_is_the_default_and_leaves_handlers_alone(root_handlers: None) -> None:
    handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().handlers[:] = [handler]
    log_format.configure({}, "ingest")
    assert handler.formatter is None


def test_an_unknown_format_stops_the_start_with_the_reason(tmp_path) -> None:
    with pytest.raises(ConfigError, match="LOG_FORMAT='xml' must be one of text, json"):
        settings.resolve({"VAR_DIR": str(tmp_path), "ENV_FILE": str(tmp_path / "none"), "LOG_FORMAT": "xml"})
