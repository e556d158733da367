"""Dates and times that staff type, and how recurring dates repeat — in local time.

`read_local` reads what a person would write in a notice, in Chinese or English:
3月1日上午9点 · 明天晚上7点 · 下周三 14:00 · 周六上午十点 · 2027年3月8日 9:00 · 3/1 9:00 ·
2027-03-08 09:00 · Mar 1 9am · tomorrow 7pm · next Wed 14:00. The text is cut into at most
one date, one weekday, one relative day (明天), one part of the day (下午) and one clock
time (2点半); whatever is left must be filler (spaces, commas, 的), or nothing is guessed.

How the pieces are resolved, against the bot's clock in the configured time zone:
- No date: today. No time of day: DEFAULT_HOUR, and the reading says it was assumed.
  A part of the day without an hour (明天下午) is asked about — except 中午, which is noon.
- 周三 alone is the coming Wednesday (today if it is Wednesday); 这周三 is this calendar
  week's, 下周三 next week's (weeks start on Monday), 下下周三 the week after. English
  follows suit: wed, this wed, next wed.
- A month and day without a year is this year's, unless that is more than half a year
  gone: in December 1月5日 is next January, but a day a few weeks back is a slip, and
  saying it has passed is kinder than a silent year's wait. A written year never rolls.
- 下午/晚上 add twelve hours to 1–11 (下午2点 → 14:00, 晚上12点 → midnight after);
  an hour that does not fit its part of the day (上午14点, 凌晨9点) is refused.
- A date with dots needs its year (2027.3.8): 9.30 alone could be a time.
- A moment already past is still read; the caller says it has passed.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import Enum

REPEATS = ("weekly", "monthly", "yearly")
DEFAULT_HOUR = 9  # a date alone: the start of a working morning
ROLLOVER = timedelta(days=183)  # a year-less date further back than this means next year


class Refusal(Enum):
    """Why a typed date and time could not be used."""

    UNREADABLE = "unreadable"  # gibberish, or pieces left over
    NO_SUCH_DAY = "no_such_day"  # 13月1日, 2月30日
    NO_SUCH_HOUR = "no_such_hour"  # 下午25点, 9:75, 上午14点
    NO_HOUR = "no_hour"  # 明天下午: which hour?
    DAYS_DISAGREE = "days_disagree"  # 3月8日周三 when 3月8日 is a Sunday


@dataclass(frozen=True)
class Reading:
    """A typed date and time, read: the moment, and whether its hour was assumed."""

    moment: datetime
    hour_assumed: bool = False


class _Refused(Exception):
    """Raised deep in the reading, caught by `read_local`: keeps each step small."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass
class _Pieces:
    """What the text says, before it is resolved against today."""

    calendar: tuple[int | None, int, int] | None = None  # (year or None, month, day)
    offset: int | None = None  # days from today: 明天 is 1
    weekday: tuple[int, int | None] | None = None  # (Monday 0…, weeks ahead; None: the coming)
    period: str | None = None  # a key of _PERIOD_HOURS
    implied_period: str | None = None  # 今晚, 明早: used when no other is given
    clock: tuple[int, int] | None = None  # (hour as typed, minute)
    ampm: str | None = None  # "am" or "pm" after the clock: wins over any part of the day

    def said_something(self) -> bool:
        return any(
            piece is not None
            for piece in (self.calendar, self.offset, self.weekday, self.period, self.clock)
        )


# ------------------------------------------------------------------ words and numbers

_NUMERAL = "[0-9零〇一二两三四五六七八九十]"
_ZH_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("monday", "mon", "一", "1"),
            ("tuesday", "tues", "tue", "二", "2"),
            ("wednesday", "wed", "三", "3"),
            ("thursday", "thurs", "thur", "thu", "四", "4"),
            ("friday", "fri", "五", "5"),
            ("saturday", "sat", "六", "6"),
            ("sunday", "sun", "日", "天", "7"),
        )
    )
    for name in names
}
_EN_WEEKDAYS = [name for name in _WEEKDAYS if name.isascii() and name.isalpha()]
_WEEKS_AHEAD = {"下下": 2, "下": 1, "这": 0, "本": 0, "上": -1, "next": 1, "this": 0, "last": -1}
# (days from today, the part of the day the word carries)
_RELATIVE_DAYS: dict[str, tuple[int, str | None]] = {
    "大后天": (3, None),
    "后天": (2, None),
    "明天": (1, None),
    "明儿": (1, None),
    "明早": (1, "早上"),
    "明晚": (1, "晚上"),
    "今天": (0, None),
    "今儿": (0, None),
    "今早": (0, "早上"),
    "今晚": (0, "晚上"),
    "昨天": (-1, None),
    "day after tomorrow": (2, None),
    "tomorrow": (1, None),
    "today": (0, None),
    "tonight": (0, "晚上"),
    "yesterday": (-1, None),
}
_PERIODS = {
    "凌晨": "凌晨",
    "早上": "早上",
    "早晨": "早上",
    "清晨": "早上",
    "早": "早上",
    "上午": "上午",
    "morning": "上午",
    "中午": "中午",
    "noon": "中午",
    "midday": "中午",
    "下午": "下午",
    "午后": "下午",
    "afternoon": "下午",
    "傍晚": "傍晚",
    "黄昏": "傍晚",
    "晚上": "晚上",
    "晚间": "晚上",
    "夜里": "晚上",
    "夜晚": "晚上",
    "晚": "晚上",
    "evening": "晚上",
    "night": "晚上",
}
# Hours each part of the day takes as typed, and what they add: 下午3点 is 15:00, 下午15点
# too; 晚上12点 is 24, midnight at the end of that day.
_PERIOD_HOURS: dict[str, tuple[tuple[range, int], ...]] = {
    "": ((range(24), 0),),
    "凌晨": ((range(7), 0), (range(12, 13), -12)),
    "早上": ((range(12), 0),),
    "上午": ((range(13), 0),),
    "中午": ((range(1, 3), 12), (range(11, 15), 0)),
    "下午": ((range(1, 12), 12), (range(12, 24), 0)),
    "傍晚": ((range(4, 9), 12), (range(16, 21), 0)),
    "晚上": ((range(5, 13), 12), (range(17, 24), 0)),
    "am": ((range(1, 12), 0), (range(12, 13), -12)),
    "pm": ((range(1, 12), 12), (range(12, 13), 0)),
}


def _words(names: Iterable[str]) -> str:
    """A regex alternation of words, longest first so that "march" wins over "mar"."""
    return "|".join(sorted(map(re.escape, names), key=len, reverse=True))


# ------------------------------------------------------------------ patterns

_EN_MONTH = rf"(?P<month_name>{_words(_MONTHS)})\b\.?"
_EN_YEAR = r"(?:\s*,?\s*(?P<year>\d{4})\b)?"
_CALENDAR_PATTERNS = (
    # 2027-03-08 · 2027/3/8 · 2027.3.8
    re.compile(
        r"(?<![\d:])(?P<year>\d{4})\s*(?P<sep>[-/.])\s*(?P<month>\d{1,2})\s*(?P=sep)\s*"
        r"(?P<day>\d{1,2})(?![\d:])"
    ),
    # 2027年3月8日 · 3月8日 · 三月八号 · 3月8
    re.compile(
        rf"(?<!\d)(?:(?P<year>\d{{4}}|[零〇一二三四五六七八九]{{4}})\s*年\s*)?"
        rf"(?P<month>{_NUMERAL}{{1,3}})\s*月\s*(?P<day>{_NUMERAL}{{1,3}})\s*[日号]?"
    ),
    # Mar 8 · March 8th, 2027 · 8 March 2027
    re.compile(rf"\b{_EN_MONTH}\s*(?P<day>\d{{1,2}})(?![\d:])(?:st|nd|rd|th)?\b{_EN_YEAR}"),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_EN_MONTH}{_EN_YEAR}"),
    # 3/8 · 03-08: month first, as in China
    re.compile(r"(?<![\d:./-])(?P<month>\d{1,2})\s*[-/]\s*(?P<day>\d{1,2})(?![\d:/-])"),
)
_RELATIVE = re.compile(_words(_RELATIVE_DAYS))
_WEEKDAY_PATTERNS = (
    # 周三 · 下周三 · 下个星期三 · 这礼拜天
    re.compile(
        r"(?:(?P<which>下下|下|这|本|上)个?)?\s*(?:周|星期|礼拜)(?P<day>[一二三四五六日天1-7])"
    ),
    # wed · next wednesday
    re.compile(rf"\b(?:(?P<which>next|this|last)\s+)?(?P<day>{_words(_EN_WEEKDAYS)})\b\.?"),
)
_AMPM = r"(?P<ampm>[ap])\.?m\b\.?"
_CLOCK_PATTERNS = (
    # 9:30 · 09:30:00 · 2:30pm
    re.compile(
        rf"(?<![\d:])(?P<hour>\d{{1,2}})\s*:\s*(?P<minute>\d{{2}})(?::\d{{2}})?(?![\d:])"
        rf"(?:\s*{_AMPM})?"
    ),
    # 7pm · 9 am
    re.compile(rf"(?<![\d:])(?P<hour>\d{{1,2}})\s*{_AMPM}"),
    # 9点 · 九点半 · 十点一刻 · 2点15分 · 9时30分 · 8点整
    re.compile(
        rf"(?P<hour>{_NUMERAL}{{1,3}})\s*[点时](?:\s*(?:(?P<half>半)|(?P<quarter>[一三])刻|整|钟"
        rf"|(?P<minute>{_NUMERAL}{{1,3}})\s*分?))?"
    ),
)
_PERIOD = re.compile(
    "|".join(
        rf"\b{word}\b" if word.isascii() else word
        for word in sorted(_PERIODS, key=len, reverse=True)
    )
)
_FILLER = re.compile(r"(?:[\s,、。.()]|的|\b(?:at|on|in the)\b)*")


# ------------------------------------------------------------------ reading


def read_local(text: str, zone: tzinfo, now: datetime) -> Reading | Refusal:
    """A typed local date and time as a moment in `now`'s time zone, or why it is not one.

    Relative words (明天, 下周三, a missing date) count from today in `zone`. A moment
    already past is still a reading: the caller says it has passed.
    """
    try:
        pieces = _pieces(_normalized(text))
        day = _day(pieces, now.astimezone(zone).date())
        hour, minute, assumed = _time_of_day(pieces)
        moment = datetime.combine(day, time(hour % 24, minute), tzinfo=zone)
        moment = (moment + timedelta(days=hour // 24)).astimezone(now.tzinfo)  # 晚上12点
    except _Refused as refused:
        return refused.refusal
    except OverflowError:  # 9999-12-31 晚上12点: past the end of the calendar
        return Refusal.NO_SUCH_DAY
    return Reading(moment, hour_assumed=assumed)


def _normalized(text: str) -> str:
    """Full-width digits and colons (９：３０) as ASCII, lower case, ISO's T as a space."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"(?<=\d)t(?=\d)", " ", folded)


def _pieces(text: str) -> _Pieces:
    """Cut out each piece in turn: the date first, so its figures are never read as an hour."""
    pieces = _Pieces()
    rest = _take_calendar(text, pieces)
    rest = _take_relative(rest, pieces)
    rest = _take_weekday(rest, pieces)
    rest = _take_clock(rest, pieces)
    rest = _take_period(rest, pieces)
    if not pieces.said_something() or _FILLER.fullmatch(rest) is None:
        raise _Refused(Refusal.UNREADABLE)
    return pieces


def _cut(patterns: tuple[re.Pattern[str], ...], text: str) -> tuple[re.Match[str] | None, str]:
    """The first pattern's first match, and the text with it cut out."""
    for pattern in patterns:
        match = pattern.search(text)
        if match is not None:
            return match, text[: match.start()] + " " + text[match.end() :]
    return None, text


def _take_calendar(text: str, pieces: _Pieces) -> str:
    match, rest = _cut(_CALENDAR_PATTERNS, text)
    if match is not None:
        found = match.groupdict()
        year = _number(found["year"]) if found.get("year") else None
        name = found.get("month_name")
        month = _MONTHS[name] if name else _number(found["month"])
        pieces.calendar = (year, month, _number(found["day"]))
    return rest


def _take_relative(text: str, pieces: _Pieces) -> str:
    match, rest = _cut((_RELATIVE,), text)
    if match is not None:
        pieces.offset, pieces.implied_period = _RELATIVE_DAYS[match[0]]
    return rest


def _take_weekday(text: str, pieces: _Pieces) -> str:
    match, rest = _cut(_WEEKDAY_PATTERNS, text)
    if match is not None:
        which = match["which"]
        pieces.weekday = (_WEEKDAYS[match["day"]], _WEEKS_AHEAD[which] if which else None)
    return rest


def _take_clock(text: str, pieces: _Pieces) -> str:
    match, rest = _cut(_CLOCK_PATTERNS, text)
    if match is not None:
        found = match.groupdict()
        if found.get("half"):
            minute = 30
        elif found.get("quarter"):
            minute = 15 if found["quarter"] == "一" else 45
        else:
            minute = _number(found["minute"]) if found.get("minute") else 0
        pieces.clock = (_number(found["hour"]), minute)
        pieces.ampm = found["ampm"] + "m" if found.get("ampm") else None
    return rest


def _take_period(text: str, pieces: _Pieces) -> str:
    match, rest = _cut((_PERIOD,), text)
    if match is not None:
        pieces.period = _PERIODS[match[0]]
    return rest


def _number(text: str) -> int:
    """12, 十二, 二十五, 两, 零五, 二〇二七 as numbers."""
    if text.isascii() and text.isdigit():
        return int(text)
    tens, ten, ones = text.partition("十")
    if ten:
        return (_digit(tens) if tens else 1) * 10 + (_digit(ones) if ones else 0)
    return int("".join(str(_digit(character)) for character in text))


def _digit(text: str) -> int:
    if text not in _ZH_DIGITS:
        raise _Refused(Refusal.UNREADABLE)
    return _ZH_DIGITS[text]


# ------------------------------------------------------------------ resolving


def _day(pieces: _Pieces, today: date) -> date:
    """The day meant; a date and a weekday (or 明天) given together must agree."""
    named = [
        day
        for day in (
            _calendar_day(pieces.calendar, today) if pieces.calendar else None,
            today + timedelta(days=pieces.offset) if pieces.offset is not None else None,
        )
        if day is not None
    ]
    if len(set(named)) > 1:
        raise _Refused(Refusal.DAYS_DISAGREE)
    if pieces.weekday is None:
        return named[0] if named else today
    weekday, weeks = pieces.weekday
    if named and named[0].weekday() != weekday:
        raise _Refused(Refusal.DAYS_DISAGREE)
    return named[0] if named else _weekday_day(today, weekday, weeks)


def _calendar_day(calendar_day: tuple[int | None, int, int], today: date) -> date:
    year, month, day = calendar_day
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise _Refused(Refusal.NO_SUCH_DAY)
    try:
        meant = year if year is not None else _year_meant(month, day, today)
        return date(meant, month, day)
    except ValueError:  # 2月30日
        raise _Refused(Refusal.NO_SUCH_DAY) from None


def _year_meant(month: int, day: int, today: date) -> int:
    """This year, unless the date is more than half a year gone (see the module's notes)."""
    this_year = date(today.year, month, min(day, calendar.monthrange(today.year, month)[1]))
    return today.year + 1 if today - this_year > ROLLOVER else today.year


def _weekday_day(today: date, weekday: int, weeks: int | None) -> date:
    """周三: the coming Wednesday, today included; 下周三: Wednesday of next week."""
    if weeks is None:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(weeks=weeks, days=weekday)


def _time_of_day(pieces: _Pieces) -> tuple[int, int, bool]:
    """(hour, minute, whether the hour was assumed); the hour may be 24 (晚上12点)."""
    period = pieces.ampm or pieces.period or pieces.implied_period
    if pieces.clock is None:
        if period == "中午":
            return 12, 0, False
        if period is not None:
            raise _Refused(Refusal.NO_HOUR)
        return DEFAULT_HOUR, 0, True
    hour, minute = pieces.clock
    if minute >= 60:
        raise _Refused(Refusal.NO_SUCH_HOUR)
    return _hour_in(period or "", hour), minute, False


def _hour_in(period: str, hour: int) -> int:
    """The hour on a 24-hour clock (下午 and 3: 15); an hour its period lacks is refused."""
    for hours, shift in _PERIOD_HOURS[period]:
        if hour in hours:
            return hour + shift
    raise _Refused(Refusal.NO_SUCH_HOUR)


# ------------------------------------------------------------------ repeating


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
