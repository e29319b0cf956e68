"""Fixtures of the actions' tests."""

from pathlib import Path

import pytest

from shop.db import engine_for
from shop.service import Shop


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shop:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("PUBLIC_MEDIA_URL", "https://bot.example.com/webhooks/whatsapp/media")
    return Shop(engine_for(url))
