"""Fixtures of the actions' tests."""

from pathlib import Path

import pytest

from shop.db import engine_for
from shop.service import Shop


@pytest.fixture
def shop(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shop:
    """The demo shop, on SQLite and on PostgreSQL (each test runs on both)."""
    url = database_url
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("PUBLIC_MEDIA_URL", "https://bot.example.com/webhooks/whatsapp/media")
    return Shop(engine_for(url))
