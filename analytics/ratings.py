"""CSAT ratings from the shop database, in the order they were stored (their id is the aggregator's cursor)."""

import logging
from dataclasses import dataclass
from datetime import timezone
from typing import Callable, List

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from shop.db import ShopUnavailable, engine_for, session_scope
from shop.models import CsatRating

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rating:
    id: int
    wa_id: str
    score: int
    at: float  # Unix seconds


RatingSource = Callable[[int, int], List[Rating]]  # (after id, at most) -> ratings


def from_database(engine: Engine) -> RatingSource:
    def read(after: int, limit: int) -> List[Rating]:
        with session_scope(engine) as session:
            rows = session.execute(
                select(CsatRating.id, CsatRating.wa_id, CsatRating.score, CsatRating.created_at)
                .where(CsatRating.id > after).order_by(CsatRating.id).limit(limit)).all()
        # The shop stores naive UTC times.
        return [Rating(row.id, row.wa_id, int(row.score), row.created_at.replace(tzinfo=timezone.utc).timestamp())
                for row in rows]
    return read


def from_url(url: str) -> RatingSource:
    """Ratings of the database at `url`; while it cannot be read, none (its cursor waits, nothing is lost)."""
    def read(after: int, limit: int) -> List[Rating]:
        try:
            return from_database(engine_for(url, seed=False))(after, limit)
        except (ShopUnavailable, SQLAlchemyError) as exc:
            logger.warning("CSAT ratings not read this time: %s", exc)
            return []
    return read


def none(after: int, limit: int) -> List[Rating]:
    """No ratings (a deployment without the shop database)."""
    return []
