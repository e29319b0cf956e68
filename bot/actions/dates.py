"""Dates as customers write them: "friday", "tomorrow", "27 nov", "27/11", "2026-11-27"."""

import re
from datetime import date, datetime, timedelta
from typing import Optional

from dateutil import parser as dateutil_parser

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_date(text: Optional[str], today: Optional[date] = None) -> Optional[date]:
    """The first date in `text`, never in the past for weekday names; None when there is none."""
    if not text:
        return None
    today = today or date.today()
    lowered = text.lower()
    if re.search(r"\bday after tomorrow\b", lowered):
        return today + timedelta(days=2)
    if re.search(r"\btomorrow\b", lowered):
        return today + timedelta(days=1)
    if re.search(r"\byesterday\b", lowered):
        return today - timedelta(days=1)
    if re.search(r"\btoday\b", lowered):
        return today
    for index, name in enumerate(WEEKDAYS):
        if re.search(rf"\b{name[:3]}(?:{name[3:]})?\b", lowered):
            return today + timedelta(days=(index - today.weekday()) % 7 or 7)  # the next one, 1-7 days on
    iso = re.search(r"\b\d{4}-\d{2}-\d{2}\b", lowered)
    if iso:
        try:
            return date.fromisoformat(iso.group(0))
        except ValueError:
            return None
    numeric = re.search(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?\b", lowered)
    if numeric:  # day first, as most of the world writes it
        day, month, year = int(numeric[1]), int(numeric[2]), numeric[3]
        try:
            parsed = date(int(year) + (2000 if len(year) == 2 else 0) if year else today.year, month, day)
        except ValueError:
            return None
        return parsed if year or parsed >= today else parsed.replace(year=parsed.year + 1)
    match = re.search(r"\b\d{1,2}(?:st|nd|rd|th)?\s+[a-z]{3,9}\b|\b[a-z]{3,9}\s+\d{1,2}(?:st|nd|rd|th)?\b", lowered)
    if not match:
        return None
    try:
        default = datetime(today.year, today.month, today.day)
        parsed = dateutil_parser.parse(match.group(0), dayfirst=True, default=default).date()
    except (ValueError, OverflowError):
        return None
    if parsed < today and not re.search(r"\d{4}", match.group(0)):
        parsed = parsed.replace(year=parsed.year + 1)  # "3 jan" written in december means next year
    return parsed

