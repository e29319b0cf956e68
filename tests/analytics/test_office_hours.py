"""Office time inside a span: what agents' response times are measured in besides wall time."""

from datetime import datetime, timezone

from stack.office_hours import OfficeHours


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)  # 2026-11-06 is a Friday


def test_a_span_over_a_weekend_counts_only_the_open_hours() -> None:
    hours = OfficeHours.parse("mon-fri 09:00-17:00", "UTC")
    assert hours.open_seconds(utc(6, 16), utc(9, 10)) == 2 * 3600  # Fri 16-17, Mon 9-10


def test_hours_are_in_the_business_time_zone_across_a_clock_change() -> None:
    # New York leaves daylight saving on Sunday 2026-11-01 (02:00 -> 01:00): that day lasts 25 hours.
    hours = OfficeHours.parse("mon-sun 00:00-24:00", "America/New_York")
    start = datetime(2026, 11, 1, 4, 0, tzinfo=timezone.utc)  # midnight in New York
    end = datetime(2026, 11, 2, 5, 0, tzinfo=timezone.utc)  # the next midnight
    assert hours.open_seconds(start, end) == 25 * 3600
    lunch = OfficeHours.parse("mon-fri 09:00-12:00; mon-fri 13:00-17:00", "America/New_York")
    assert lunch.open_seconds(datetime(2026, 11, 2, 16, 0, tzinfo=timezone.utc),  # 11:00 local
                              datetime(2026, 11, 2, 19, 0, tzinfo=timezone.utc)) == 2 * 3600  # 11-12, 13-14


def test_an_empty_or_reversed_span_is_zero() -> None:
    hours = OfficeHours.parse("mon-sun 00:00-24:00")
    assert hours.open_seconds(utc(6, 10), utc(6, 10)) == 0
    assert hours.open_seconds(utc(6, 11), utc(6, 10)) == 0
