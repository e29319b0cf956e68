"""Office hours in the business's time zone: are agents working now, and if not, when are they back."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
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


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)
