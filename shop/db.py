"""The database connection: one engine per URL, schema created on first use, demo data seeded."""

import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Set

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shop.models import Base

logger = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///var/app.db"


class ShopUnavailable(Exception):
    """The order database cannot be reached or read; the customer gets an honest answer."""


_engines: Dict[str, Engine] = {}
_seeded: Set[str] = set()  # URLs whose demo data this process has added (an engine may first be made unseeded)
_lock = threading.Lock()


def engine_for(url: str, seed: bool = True) -> Engine:
    """The engine for `url`, with the schema created (and demo data seeded) the first time.

    A failed start is not cached: the next call tries again, so the bot recovers on its own
    once the database is back.
    """
    with _lock:
        engine = _engines.get(url)
        if engine is not None and (not seed or url in _seeded):
            return engine
        try:
            if engine is None:
                engine = _create(url)
                Base.metadata.create_all(engine)
            if seed:
                from shop.seed import seed_demo_data

                with session_scope(engine) as session:
                    seed_demo_data(session)
                _seeded.add(url)
        except (SQLAlchemyError, OSError) as exc:
            raise ShopUnavailable(f"order database {_safe(url)} unavailable: {exc}") from exc
        _engines[url] = engine
        return engine


def dispose(url: str) -> None:
    """Close the engine of `url` and its connections; the next `engine_for(url)` starts afresh."""
    with _lock:
        engine = _engines.pop(url, None)
        _seeded.discard(url)
    if engine is not None:
        engine.dispose()


def _create(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"timeout": 15} if url.startswith("sqlite") else {}
    return create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    session = sessionmaker(engine, future=True, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _safe(url: str) -> str:
    """The URL without its password, for logs and messages."""
    from sqlalchemy.engine import make_url

    try:
        return repr(make_url(url))
    except Exception:  # noqa: BLE001 - a malformed URL is reported as such
        return "<malformed URL>"
