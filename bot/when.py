"""Dates and times that staff type, and how recurring dates repeat — in local time."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, tzinfo

# 2027-03-01 09:00 · 2027/3/1 9:00 · 2027年3月1日 9:00 · 3月1日 9:00 · 03-01 09:00
_PATTERN = re.compile(
    r"^\s*(?:(?P<year>\d{4})\s*[-/年.]\s*)?(?P<month>\d{1,2})\s*[-/月.]\s*(?P<day>\d{1,2})\s*日?"
    r"\s*(?:[T\s,]\s*)?(?P<hour>\d{1,2})\s*[:：点时]\s*(?P<minute>\d{2})?\s*分?\s*$"
)
REPEATS = ("weekly", "monthly", "yearly")


def parse_local(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    """A typed local date and time as an aware UTC moment; None if it is not one.

    Without a year, the next such date is meant (this year, or next if it has passed).
    """
    match = _PATTERN.match(text)
    if match is None:
        return None
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    local_now = now.astimezone(zone)
    year = parts.get("year", local_now.year)
    try:
        moment = datetime(
            year, parts["month"], parts["day"], parts["hour"], parts.get("minute", 0), tzinfo=zone
        )
    except ValueError:
        return None
    if "year" not in parts and moment <= local_now:
        moment = moment.replace(year=year + 1)
    return moment.astimezone(now.tzinfo)


def next_occurrence(previous: datetime, repeat: str, zone: tzinfo) -> datetime:
    """The next date of a weekly, monthly or yearly rule, at the same local time of day."""
    local = previous.astimezone(zone)
    if repeat == "weekly":
        following = local + timedelta(days=7)
    elif repeat == "monthly":
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        following = local.replace(
            year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1])
        )
    elif repeat == "yearly":
        year = local.year + 1
        day = min(local.day, calendar.monthrange(year, local.month)[1])  # 29 Feb → 28 Feb
        following = local.replace(year=year, day=day)
    else:
        raise ValueError(repeat)
    # Same wall-clock time even across a DST change.
    return following.replace(tzinfo=None).replace(tzinfo=zone).astimezone(previous.tzinfo)
