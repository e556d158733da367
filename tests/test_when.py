"""Typed dates and recurring rules, in local time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.i18n import SUPPORTED_LOCALES, Catalogs
from bot.core.when import Reading, Refusal, next_occurrence, read_local
from bot.features.announcements import _event_time_prompt, _refusal_text, _send_time_prompt

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 2, 25, 1, 30, tzinfo=UTC)  # Wednesday 2026-02-25 09:30 in Shanghai


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def read(typed: str, now: datetime = NOW) -> Reading:
    reading = read_local(typed, SHANGHAI, now)
    assert isinstance(reading, Reading), f"{typed!r} was refused: {reading}"
    return reading


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        # Month and day, in figures or in Chinese numerals
        ("3月1日上午9点", at(2026, 3, 1, 9)),
        ("3月1日下午2点半", at(2026, 3, 1, 14, 30)),
        ("3月1日 9:00", at(2026, 3, 1, 9)),
        ("3月1号下午两点", at(2026, 3, 1, 14)),
        ("三月八日晚上七点", at(2026, 3, 8, 19)),
        ("3月8 晚上7点", at(2026, 3, 8, 19)),
        ("2027年3月8日 9:00", at(2027, 3, 8, 9)),
        ("二〇二七年三月八日上午九点", at(2027, 3, 8, 9)),
        ("3月1日", at(2026, 3, 1, 9)),  # no time of day: DEFAULT_HOUR
        # Days counted from today
        ("明天晚上7点", at(2026, 2, 26, 19)),
        ("今天下午3点", at(2026, 2, 25, 15)),
        ("后天上午10:30", at(2026, 2, 27, 10, 30)),
        ("大后天中午", at(2026, 2, 28, 12)),
        ("明早8点", at(2026, 2, 26, 8)),
        ("今晚8点半", at(2026, 2, 25, 20, 30)),
        ("明天凌晨5点", at(2026, 2, 26, 5)),
        ("明天 下午 3 点", at(2026, 2, 26, 15)),
        # Weekdays: the coming one, or this / next calendar week's (weeks start on Monday)
        ("下周三 14:00", at(2026, 3, 4, 14)),
        ("周六上午十点", at(2026, 2, 28, 10)),
        ("星期五晚上8点", at(2026, 2, 27, 20)),
        ("礼拜天", at(2026, 3, 1, 9)),
        ("周三下午3点", at(2026, 2, 25, 15)),  # today is Wednesday
        ("下个星期一上午9点", at(2026, 3, 2, 9)),
        ("这周日晚上7点", at(2026, 3, 1, 19)),
        ("下下周二 9:00", at(2026, 3, 10, 9)),
        ("3月1日周日 19:00", at(2026, 3, 1, 19)),  # as the bot itself writes dates
        # Parts of the day and ways of saying the time
        ("中午12点", at(2026, 2, 25, 12)),
        ("中午1点", at(2026, 2, 25, 13)),
        ("明天早上8点", at(2026, 2, 26, 8)),
        ("早8点", at(2026, 2, 25, 8)),  # a time alone is today's, even if it has passed
        ("傍晚6点", at(2026, 2, 25, 18)),
        ("晚上12点", at(2026, 2, 26, 0)),  # midnight at the end of today
        ("周六凌晨3点", at(2026, 2, 28, 3)),
        ("十点一刻", at(2026, 2, 25, 10, 15)),
        ("九点三刻", at(2026, 2, 25, 9, 45)),
        ("下午2点15分", at(2026, 2, 25, 14, 15)),
        ("10时30分", at(2026, 2, 25, 10, 30)),
        ("下午14:00", at(2026, 2, 25, 14)),
        ("11点整", at(2026, 2, 25, 11)),
        ("十二点", at(2026, 2, 25, 12)),
        # Figures, full-width characters, spaces and punctuation
        ("3/1 9:00", at(2026, 3, 1, 9)),
        ("03-01 09:00", at(2026, 3, 1, 9)),
        ("2027-03-08 09:00", at(2027, 3, 8, 9)),
        ("2027/3/8 9:00", at(2027, 3, 8, 9)),
        ("2027.3.8 9:00", at(2027, 3, 8, 9)),
        ("2027-03-08T09:00", at(2027, 3, 8, 9)),
        ("2026-03-01 09:00:00", at(2026, 3, 1, 9)),
        ("３月１日 ９：３０", at(2026, 3, 1, 9, 30)),
        ("  3月  1日   上午   9点 ", at(2026, 3, 1, 9)),
        ("3月1日，上午9点。", at(2026, 3, 1, 9)),
        # English
        ("Mar 1 9am", at(2026, 3, 1, 9)),
        ("tomorrow 7pm", at(2026, 2, 26, 19)),
        ("next Wed 14:00", at(2026, 3, 4, 14)),
        ("Sat 10am", at(2026, 2, 28, 10)),
        ("Sun, Mar 1, 19:00", at(2026, 3, 1, 19)),  # as the bot writes dates in English
        ("March 8th, 2027 7pm", at(2027, 3, 8, 19)),
        ("8 March 2027 9:00", at(2027, 3, 8, 9)),
        ("tonight 8pm", at(2026, 2, 25, 20)),
        ("2:30 p.m.", at(2026, 2, 25, 14, 30)),
        ("12am tomorrow", at(2026, 2, 26, 0)),
        ("tomorrow noon", at(2026, 2, 26, 12)),
    ],
)
def test_what_staff_type_is_read(typed: str, meant: datetime) -> None:
    assert read(typed).moment == meant


@pytest.mark.parametrize(
    ("typed", "refusal"),
    [
        ("13月1日", Refusal.NO_SUCH_DAY),
        ("2月30日", Refusal.NO_SUCH_DAY),
        ("2月29日", Refusal.NO_SUCH_DAY),  # 2026 is not a leap year
        ("2026-02-30 09:00", Refusal.NO_SUCH_DAY),
        ("4月31日上午9点", Refusal.NO_SUCH_DAY),
        ("3月0日", Refusal.NO_SUCH_DAY),
        ("Feb 30 9am", Refusal.NO_SUCH_DAY),
        ("0000-01-01 09:00", Refusal.NO_SUCH_DAY),
        ("9999-12-31 晚上12点", Refusal.NO_SUCH_DAY),
        ("下午25点", Refusal.NO_SUCH_HOUR),
        ("2026-03-08 25:00", Refusal.NO_SUCH_HOUR),
        ("9:75", Refusal.NO_SUCH_HOUR),
        ("上午14点", Refusal.NO_SUCH_HOUR),
        ("凌晨9点", Refusal.NO_SUCH_HOUR),
        ("晚上3点", Refusal.NO_SUCH_HOUR),
        ("13pm", Refusal.NO_SUCH_HOUR),
        ("明天下午", Refusal.NO_HOUR),
        ("今晚", Refusal.NO_HOUR),
        ("下午", Refusal.NO_HOUR),
        ("tomorrow morning", Refusal.NO_HOUR),
        ("3月1日周三", Refusal.DAYS_DISAGREE),  # 2026-03-01 is a Sunday
        ("明天3月3日", Refusal.DAYS_DISAGREE),
        ("明天周五", Refusal.DAYS_DISAGREE),  # tomorrow is Thursday
        ("", Refusal.UNREADABLE),
        ("   ", Refusal.UNREADABLE),
        ("随便写点", Refusal.UNREADABLE),
        ("asdf", Refusal.UNREADABLE),
        ("周八", Refusal.UNREADABLE),
        ("十十点", Refusal.UNREADABLE),
        ("9", Refusal.UNREADABLE),
        ("next week", Refusal.UNREADABLE),
        ("3月1日 3月2日", Refusal.UNREADABLE),
        ("3.8 9:00", Refusal.UNREADABLE),  # dots need a year: 9.30 could be a time
        ("下午三点左右", Refusal.UNREADABLE),  # words left over: nothing is guessed
        ("3月8日下午3点到5点", Refusal.UNREADABLE),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_reason(typed: str, refusal: Refusal) -> None:
    assert read_local(typed, SHANGHAI, NOW) == refusal


@pytest.mark.parametrize(
    ("typed", "now", "meant"),
    [
        # Without a year, a date more than half a year gone is next year's ...
        ("1月5日 9:00", at(2026, 12, 20, 10), at(2027, 1, 5, 9)),
        ("6月1日 9:00", at(2026, 12, 20, 10), at(2027, 6, 1, 9)),
        ("2月29日 9:00", at(2027, 12, 1, 10), at(2028, 2, 29, 9)),  # next year is a leap year
        # ... but one a few weeks or months back is a slip: it stays, and the bot says so
        ("12月1日 9:00", at(2026, 12, 20, 10), at(2026, 12, 1, 9)),
        ("2月20日 9:00", NOW, at(2026, 2, 20, 9)),
        ("1月5日 9:00", NOW, at(2026, 1, 5, 9)),
        ("8月1日 9:00", NOW, at(2026, 8, 1, 9)),
        # A year that is written never rolls
        ("2026年1月5日 9:00", at(2026, 12, 20, 10), at(2026, 1, 5, 9)),
        # Today is the local today: 01:00 in Shanghai is still yesterday in UTC
        ("明天上午9点", datetime(2026, 2, 25, 17, tzinfo=UTC), at(2026, 2, 27, 9)),
        ("周一 9:00", at(2026, 3, 2, 8), at(2026, 3, 2, 9)),  # Monday: today, not next week
    ],
)
def test_which_year_and_day_is_meant(typed: str, now: datetime, meant: datetime) -> None:
    assert read(typed, now.astimezone(UTC)).moment == meant


def test_relative_days_follow_the_configured_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 2, 25, 23, 30, tzinfo=UTC)  # already the 26th in Berlin
    reading = read_local("明天上午9点", berlin, now)
    assert isinstance(reading, Reading)
    assert reading.moment == datetime(2026, 2, 27, 9, tzinfo=berlin)


@pytest.mark.parametrize(
    ("typed", "assumed"),
    [
        ("3月1日", True),
        ("礼拜天", True),
        ("明天", True),
        ("2027-03-08", True),
        ("明天中午", False),  # 中午 is noon
        ("3月1日上午9点", False),
        ("9:00", False),
    ],
)
def test_the_reading_says_when_the_hour_was_assumed(typed: str, assumed: bool) -> None:
    assert read(typed).hour_assumed is assumed


def _examples(text: str) -> list[str]:
    """The examples in "…比如：A、B、C。" or "… for example: A, B, C." """
    found = re.search(r"(?:比如|这样写)：(.+?)。|(?:for example|like this): (.+?)\.(?:\s|$)", text)
    assert found is not None, text
    zh, en = found.groups()
    return zh.split("、") if zh else en.split(", ")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_example_the_bot_gives_can_be_read(locale: str) -> None:
    catalogs = Catalogs()
    with catalogs.using(locale):
        texts = [_send_time_prompt(), _event_time_prompt(24)]
        texts += [_refusal_text(refusal) for refusal in Refusal]
    examples = [example for text in texts for example in _examples(text)]
    assert len(examples) >= 10
    for example in examples:
        read(example)


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


TYPED_CHARACTERS = "0123456789:-/.年月日号周星期礼拜天上下午晚早中凌点时半刻分十两一二三九 apmt"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=TYPED_CHARACTERS))
def test_anything_typed_is_read_or_refused_never_raises(typed: str) -> None:
    assert isinstance(read_local(typed, SHANGHAI, NOW), Reading | Refusal)
