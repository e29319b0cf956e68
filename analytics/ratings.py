"""CSAT ratings from the shop database, in the order they were stored (their id is the aggregator's cursor)."""

from dataclasses import dataclass
from datetime import timezone
from typing import Callable, List

from sqlalchemy import select
from sqlalchemy.engine import Engine

from shop.db import session_scope
from shop.models import CsatRating


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


def none(after: int, limit: int) -> List[Rating]:
    """No ratings (a deployment without the shop database)."""
    return []
