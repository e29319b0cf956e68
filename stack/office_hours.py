"""Office hours in the business's time zone: are agents working now, when are they back, and how much of a
span fell inside them.

Pure (no settings read here): the handoff service routes by them and analytics measures agents' response
times in them, so both take the same `OfficeHours` from `HANDOFF_OFFICE_HOURS` / `HANDOFF_TIMEZONE`.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class InvalidOfficeHours(ValueError):
    pass


@dataclass(frozen=True)
class OfficeHours:
    """`spec` looks like "mon-fri 09:00-18:00; sat 10:00-14:00" (24:00 ends a day)."""

    hours: Dict[int, List[Tuple[int, int]]]  # weekday -> [(start minute, end minute)]
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, timezone: str = "UTC") -> "OfficeHours":
        hours: Dict[int, List[Tuple[int, int]]] = {day: [] for day in range(7)}
        for part in filter(None, (p.strip() for p in spec.split(";"))):
            try:
                days, span = part.split()
                first, _, last = days.lower().partition("-")
                start, end = (_minutes(t) for t in span.split("-"))
                lo, hi = DAYS.index(first), DAYS.index(last or first)
            except ValueError as exc:
                raise InvalidOfficeHours(f"office hours {part!r}: expected e.g. 'mon-fri 09:00-18:00'") from exc
            if not 0 <= start < end <= 24 * 60:
                raise InvalidOfficeHours(f"office hours {part!r}: the start must come before the end")
            for day in range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(0, hi + 1)]:
                hours[day].append((start, end))
        try:
            zone = ZoneInfo(timezone)
        except Exception as exc:
            raise InvalidOfficeHours(f"unknown time zone {timezone!r}") from exc
        return cls(hours, zone)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.hours[local.weekday()])

    def opens_at(self, at: datetime) -> Optional[datetime]:
        """The next opening after `at` (None when open now or never open)."""
        if self.is_open(at):
            return None
        local = at.astimezone(self.zone)
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            for start, _end in sorted(self.hours[day.weekday()]):
                opening = datetime.combine(day, time(start // 60, start % 60), tzinfo=self.zone)
                if opening > local:
                    return opening
        return None

    def open_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds between `start` and `end` that fall inside office hours (0 when end <= start)."""
        if end <= start:
            return 0.0
        start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        total = 0.0
        day = start.astimezone(self.zone).date() - timedelta(days=1)  # a span may begin on the zone's day before
        last = end.astimezone(self.zone).date()
        while day <= last:
            for opening, closing in self._spans(day):
                overlap = (min(closing, end) - max(opening, start)).total_seconds()
                total += max(0.0, overlap)
            day += timedelta(days=1)
        return total

    def _spans(self, day: date) -> List[Tuple[datetime, datetime]]:
        spans = []
        for start, end in self.hours[day.weekday()]:
            opening = datetime.combine(day, time(start // 60, start % 60), tzinfo=self.zone)
            # 24:00 ends the day: the next midnight, counted in real elapsed time across a DST change.
            closing = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone) if end == 24 * 60
                       else datetime.combine(day, time(end // 60, end % 60), tzinfo=self.zone))
            # In UTC: Python subtracts datetimes of one zone as wall clocks, which is wrong across DST.
            spans.append((opening.astimezone(timezone.utc), closing.astimezone(timezone.utc)))
        return spans


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)
