"""Typed dates and recurring rules, in local time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.when import next_occurrence, parse_local

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 2026-03-02 09:30 in Shanghai


@pytest.mark.parametrize(
    ("typed", "local"),
    [
        ("2026-03-08 09:00", datetime(2026, 3, 8, 9, 0)),
        ("2026/3/8 9:00", datetime(2026, 3, 8, 9, 0)),
        ("2026年3月8日 9:30", datetime(2026, 3, 8, 9, 30)),
        ("3月8日 14:00", datetime(2026, 3, 8, 14, 0)),
        ("3月8日下午", None),
        ("03-01 09:00", datetime(2027, 3, 1, 9, 0)),  # passed this year: next year
        ("2026-02-30 09:00", None),
        ("2026-03-08 25:00", None),
        ("tomorrow", None),
    ],
)
def test_typed_dates(typed: str, local: datetime | None) -> None:
    expected = local.replace(tzinfo=SHANGHAI).astimezone(UTC) if local else None
    assert parse_local(typed, SHANGHAI, NOW) == expected


@pytest.mark.parametrize(
    ("first", "repeat", "then"),
    [
        (datetime(2026, 3, 1, 9), "yearly", datetime(2027, 3, 1, 9)),
        (datetime(2028, 2, 29, 9), "yearly", datetime(2029, 2, 28, 9)),
        (datetime(2026, 1, 31, 9), "monthly", datetime(2026, 2, 28, 9)),
        (datetime(2026, 12, 15, 9), "monthly", datetime(2027, 1, 15, 9)),
        (datetime(2026, 3, 2, 9), "weekly", datetime(2026, 3, 9, 9)),
    ],
)
def test_recurring_dates_keep_the_local_time(first: datetime, repeat: str, then: datetime) -> None:
    start = first.replace(tzinfo=SHANGHAI).astimezone(UTC)
    assert next_occurrence(start, repeat, SHANGHAI) == then.replace(tzinfo=SHANGHAI).astimezone(UTC)


def test_weekly_across_a_dst_change_keeps_the_wall_clock() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    before = datetime(2026, 3, 25, 9, tzinfo=berlin).astimezone(UTC)
    after = next_occurrence(before, "weekly", berlin)
    assert after.astimezone(berlin).hour == 9
