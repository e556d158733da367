"""The duty roster and the routing rules (bot.domain.roster): pure functions, table-driven tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.roster import (
    Choice,
    DutyMode,
    Mediator,
    Override,
    Slot,
    accept_deadline,
    choose,
    duty_intervals,
    is_on_duty,
    next_duty_start,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")  # UTC+8 all year
BERLIN = ZoneInfo("Europe/Berlin")  # CET +1, CEST +2 from 2024-03-31 to 2024-10-27
NEW_YORK = ZoneInfo("America/New_York")  # EST -5 in January

MONDAY = date(2024, 1, 1)  # 2024-01-01 is a Monday
WEEKDAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def local(day: date, h: int, mi: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
    """A local wall-clock moment, converted to UTC (like every input of the module)."""
    return datetime.combine(day, time(h, mi), tzinfo=zone).astimezone(UTC)


def slot(weekday: int, start: str, end: str, mediator_id: int = 1, area: str = "A") -> Slot:
    return Slot(area, weekday, time.fromisoformat(start), time.fromisoformat(end), mediator_id)


def off(
    day: date, mediator_id: int = 1, start: str | None = None, end: str | None = None
) -> Override:
    return Override(
        day,
        mediator_id,
        "off",
        "A",
        None if start is None else time.fromisoformat(start),
        None if end is None else time.fromisoformat(end),
    )


def on(day: date, start: str, end: str, mediator_id: int = 1) -> Override:
    return Override(day, mediator_id, "on", "A", time.fromisoformat(start), time.fromisoformat(end))


def mediator(
    mediator_id: int = 1,
    *,
    open_cases: int = 0,
    offered: datetime | None = None,
    area: str | None = "A",
    mode: DutyMode = "roster",
    active: bool = True,
) -> Mediator:
    return Mediator(mediator_id, area, mode, active, open_cases, offered)


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: slot(0, "12:00", "09:00"), id="slot-end-before-start"),
        pytest.param(lambda: slot(0, "09:00", "09:00"), id="slot-empty"),
        pytest.param(lambda: slot(7, "09:00", "12:00"), id="slot-weekday-7"),
        pytest.param(lambda: slot(-1, "09:00", "12:00"), id="slot-weekday-negative"),
        pytest.param(
            lambda: Slot("A", 0, time(9, tzinfo=UTC), time(12, tzinfo=UTC), 1),
            id="slot-aware-times",
        ),
        pytest.param(lambda: off(MONDAY, start="10:00"), id="off-start-without-end"),
        pytest.param(lambda: off(MONDAY, start="11:00", end="10:00"), id="off-reversed"),
        pytest.param(lambda: Override(MONDAY, 1, "on", "A"), id="on-without-range"),
        pytest.param(
            lambda: Override(MONDAY, 1, "maybe", "A"),  # type: ignore[arg-type]
            id="unknown-kind",
        ),
        pytest.param(
            lambda: mediator(offered=datetime(2024, 1, 1, 9)), id="mediator-naive-offered"
        ),
    ],
)
def test_invalid_data_is_refused(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda: is_on_duty(mediator(), datetime(2024, 1, 1, 9), [], [], SHANGHAI),
            id="is_on_duty",
        ),
        pytest.param(
            lambda: next_duty_start(mediator(), datetime(2024, 1, 1, 9), [], [], SHANGHAI),
            id="next_duty_start",
        ),
        pytest.param(
            lambda: accept_deadline(mediator(), datetime(2024, 1, 1, 9), 30, [], [], SHANGHAI),
            id="accept_deadline",
        ),
        pytest.param(
            lambda: choose([mediator()], "A", datetime(2024, 1, 1, 9), [], [], SHANGHAI),
            id="choose",
        ),
        pytest.param(
            lambda: accept_deadline(mediator(), utc(2024, 1, 1), -1, [], [], SHANGHAI),
            id="negative-minutes",
        ),
    ],
)
def test_naive_datetimes_and_negative_minutes_are_refused(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


# --- duty_intervals -------------------------------------------------------------------------


@pytest.mark.parametrize("weekday", range(7), ids=WEEKDAY_NAMES)
def test_a_weekly_slot_applies_on_its_weekday_only(weekday: int) -> None:
    slots = [slot(weekday, "09:00", "12:00")]
    for offset in range(7):
        day = MONDAY + timedelta(days=offset)
        expected = [(local(day, 9), local(day, 12))] if day.weekday() == weekday else []
        assert duty_intervals(1, day, slots, [], SHANGHAI) == expected, WEEKDAY_NAMES[offset]
        # and again a week later: the slot is weekly
        later = day + timedelta(days=7)
        expected_later = [(s + timedelta(days=7), e + timedelta(days=7)) for s, e in expected]
        assert duty_intervals(1, later, slots, [], SHANGHAI) == expected_later


WEEK_SLOTS = [
    slot(0, "09:00", "12:00"),
    slot(0, "14:00", "17:00"),
    slot(1, "09:00", "12:00"),
    slot(0, "09:00", "12:00", mediator_id=2),
]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param([], [("09:00", "12:00"), ("14:00", "17:00")], id="slots-only"),
        pytest.param([off(MONDAY)], [], id="whole-day-off"),
        pytest.param(
            [off(MONDAY, start="10:00", end="11:00")],
            [("09:00", "10:00"), ("11:00", "12:00"), ("14:00", "17:00")],
            id="partial-off-inside-a-slot",
        ),
        pytest.param(
            [off(MONDAY, start="08:00", end="15:00")],
            [("15:00", "17:00")],
            id="partial-off-across-slots",
        ),
        pytest.param(
            [off(MONDAY, start="12:00", end="14:00")],
            [("09:00", "12:00"), ("14:00", "17:00")],
            id="partial-off-in-the-gap-changes-nothing",
        ),
        pytest.param(
            [off(MONDAY, start="09:00", end="12:00"), off(MONDAY, start="16:00", end="17:00")],
            [("14:00", "16:00")],
            id="two-partial-offs",
        ),
        pytest.param(
            [off(MONDAY + timedelta(days=7))],
            [("09:00", "12:00"), ("14:00", "17:00")],
            id="off-another-date",
        ),
        pytest.param(
            [off(MONDAY, mediator_id=2)],
            [("09:00", "12:00"), ("14:00", "17:00")],
            id="off-of-another-mediator",
        ),
        pytest.param(
            [on(MONDAY, "19:00", "21:00")],
            [("09:00", "12:00"), ("14:00", "17:00"), ("19:00", "21:00")],
            id="on-adds-a-range",
        ),
        pytest.param(
            [on(MONDAY, "12:00", "14:00")],
            [("09:00", "17:00")],
            id="on-bridging-two-slots-merges",
        ),
        pytest.param(
            [on(MONDAY, "11:00", "13:00")],
            [("09:00", "13:00"), ("14:00", "17:00")],
            id="on-overlapping-a-slot-merges",
        ),
        pytest.param(
            [off(MONDAY), on(MONDAY, "18:00", "20:00")],
            [("18:00", "20:00")],
            id="whole-day-off-then-on-elsewhere",
        ),
        pytest.param(
            [off(MONDAY, start="09:00", end="17:00"), on(MONDAY, "10:00", "11:00")],
            [("10:00", "11:00")],
            id="on-wins-over-off-of-the-same-day",
        ),
    ],
)
def test_overrides_reshape_a_day(
    overrides: list[Override], expected: list[tuple[str, str]]
) -> None:
    def at(text: str) -> datetime:
        clock = time.fromisoformat(text)
        return local(MONDAY, clock.hour, clock.minute)

    got = duty_intervals(1, MONDAY, WEEK_SLOTS, overrides, SHANGHAI)
    assert got == [(at(start), at(end)) for start, end in expected]


def test_a_swap_moves_the_duty_from_one_mediator_to_another() -> None:
    swap = [off(MONDAY, mediator_id=1), on(MONDAY, "09:00", "12:00", mediator_id=3)]
    morning = (local(MONDAY, 9), local(MONDAY, 12))
    assert duty_intervals(1, MONDAY, WEEK_SLOTS, swap, SHANGHAI) == []
    assert duty_intervals(3, MONDAY, WEEK_SLOTS, swap, SHANGHAI) == [morning]
    assert duty_intervals(2, MONDAY, WEEK_SLOTS, swap, SHANGHAI) == [morning]  # untouched
    ten = local(MONDAY, 10)
    assert not is_on_duty(mediator(1), ten, WEEK_SLOTS, swap, SHANGHAI)
    assert is_on_duty(mediator(3), ten, WEEK_SLOTS, swap, SHANGHAI)


# --- time zones and DST ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "slots", "day", "expected"),
    [
        pytest.param(
            BERLIN,
            [slot(6, "09:00", "12:00")],
            date(2024, 3, 24),
            [(utc(2024, 3, 24, 8), utc(2024, 3, 24, 11))],
            id="berlin-winter-sunday-cet",
        ),
        pytest.param(
            BERLIN,
            [slot(6, "09:00", "12:00")],
            date(2024, 3, 31),
            [(utc(2024, 3, 31, 7), utc(2024, 3, 31, 10))],
            id="berlin-spring-forward-day-cest",
        ),
        pytest.param(
            BERLIN,
            [slot(6, "01:00", "04:00")],
            date(2024, 3, 31),
            [(utc(2024, 3, 31, 0), utc(2024, 3, 31, 2))],
            id="berlin-slot-across-the-gap-is-two-real-hours",
        ),
        pytest.param(
            BERLIN,
            [slot(6, "02:15", "02:45")],
            date(2024, 3, 31),
            [],
            id="berlin-slot-inside-the-gap-is-empty",
        ),
        pytest.param(
            BERLIN,
            [slot(6, "02:30", "03:30")],
            date(2024, 3, 31),
            [(utc(2024, 3, 31, 1), utc(2024, 3, 31, 1, 30))],
            id="berlin-slot-starting-in-the-gap-starts-at-the-jump",
        ),
        pytest.param(
            BERLIN,
            [slot(6, "09:00", "12:00")],
            date(2024, 10, 27),
            [(utc(2024, 10, 27, 8), utc(2024, 10, 27, 11))],
            id="berlin-fall-back-day-cet",
        ),
        pytest.param(
            BERLIN,
            [slot(6, "01:00", "04:00")],
            date(2024, 10, 27),
            [(utc(2024, 10, 26, 23), utc(2024, 10, 27, 3))],
            id="berlin-slot-across-the-repeated-hour-is-four-real-hours",
        ),
        pytest.param(
            BERLIN,
            [slot(6, "02:30", "03:30")],
            date(2024, 10, 27),
            [(utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 2, 30))],
            id="berlin-ambiguous-start-is-its-first-occurrence",
        ),
        pytest.param(
            SHANGHAI,
            [slot(0, "03:00", "05:00")],
            date(2024, 1, 8),
            [(utc(2024, 1, 7, 19), utc(2024, 1, 7, 21))],
            id="shanghai-monday-morning-is-sunday-in-utc",
        ),
        pytest.param(
            NEW_YORK,
            [slot(0, "20:00", "22:00")],
            date(2024, 1, 8),
            [(utc(2024, 1, 9, 1), utc(2024, 1, 9, 3))],
            id="new-york-monday-evening-is-tuesday-in-utc",
        ),
    ],
)
def test_local_wall_clock_slots_become_utc_intervals(
    zone: ZoneInfo, slots: list[Slot], day: date, expected: list[tuple[datetime, datetime]]
) -> None:
    assert duty_intervals(1, day, slots, [], zone) == expected


@pytest.mark.parametrize(
    ("zone", "slots", "at", "expected"),
    [
        pytest.param(
            SHANGHAI,
            [slot(0, "03:00", "05:00")],
            utc(2024, 1, 7, 20),  # Sunday 20:00 UTC = Monday 04:00 in Shanghai
            True,
            id="sunday-utc-instant-matches-a-monday-slot",
        ),
        pytest.param(
            SHANGHAI,
            [slot(6, "20:00", "21:00")],
            utc(2024, 1, 7, 20),
            False,
            id="sunday-utc-instant-does-not-match-a-sunday-20h-slot",
        ),
        pytest.param(
            BERLIN,
            [slot(6, "09:00", "12:00")],
            utc(2024, 3, 31, 7, 30),  # 09:30 CEST
            True,
            id="berlin-dst-day-09h30-summer-time",
        ),
        pytest.param(
            BERLIN,
            [slot(6, "09:00", "12:00")],
            utc(2024, 3, 24, 7, 30),  # 08:30 CET a week earlier
            False,
            id="berlin-week-before-same-utc-is-08h30",
        ),
        pytest.param(
            BERLIN,
            [slot(6, "09:00", "12:00")],
            utc(2024, 3, 31, 10),  # 12:00 CEST: end is exclusive
            False,
            id="berlin-dst-day-slot-end",
        ),
    ],
)
def test_on_duty_is_judged_in_local_time(
    zone: ZoneInfo, slots: list[Slot], at: datetime, expected: bool
) -> None:
    assert is_on_duty(mediator(), at, slots, [], zone) is expected


def test_any_aware_input_is_accepted_and_outputs_are_utc() -> None:
    slots = [slot(0, "09:00", "12:00")]
    at_local = datetime(2024, 1, 1, 9, 30, tzinfo=SHANGHAI)
    assert is_on_duty(mediator(), at_local, slots, [], SHANGHAI)
    start = next_duty_start(mediator(), at_local, slots, [], SHANGHAI)
    assert start == at_local
    assert start is not None
    assert start.tzinfo is UTC


# --- is_on_duty -----------------------------------------------------------------------------

EDGE_SLOTS = [slot(0, "09:00", "12:00")]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(local(MONDAY, 8, 59), False, id="one-minute-before-start"),
        pytest.param(local(MONDAY, 9), True, id="at-start-inclusive"),
        pytest.param(local(MONDAY, 9, 1), True, id="one-minute-after-start"),
        pytest.param(local(MONDAY, 11, 59), True, id="one-minute-before-end"),
        pytest.param(local(MONDAY, 12) - timedelta(microseconds=1), True, id="just-before-end"),
        pytest.param(local(MONDAY, 12), False, id="at-end-exclusive"),
        pytest.param(local(MONDAY, 12, 1), False, id="one-minute-after-end"),
        pytest.param(local(MONDAY + timedelta(days=1), 10), False, id="same-time-tuesday"),
        pytest.param(local(MONDAY + timedelta(days=7), 10), True, id="same-time-next-monday"),
    ],
)
def test_slot_edges(at: datetime, expected: bool) -> None:
    assert is_on_duty(mediator(), at, EDGE_SLOTS, [], SHANGHAI) is expected


@pytest.mark.parametrize(
    ("mode", "active", "at", "expected"),
    [
        pytest.param("roster", True, local(MONDAY, 10), True, id="roster-in-slot"),
        pytest.param("roster", True, local(MONDAY, 13), False, id="roster-out-of-slot"),
        pytest.param("on", True, local(MONDAY, 10), True, id="on-in-slot"),
        pytest.param("on", True, local(MONDAY, 23), True, id="on-out-of-slot"),
        pytest.param("off", True, local(MONDAY, 10), False, id="off-in-slot"),
        pytest.param("off", True, local(MONDAY, 13), False, id="off-out-of-slot"),
        pytest.param("roster", False, local(MONDAY, 10), False, id="inactive-roster-in-slot"),
        pytest.param("on", False, local(MONDAY, 10), False, id="inactive-mode-on"),
    ],
)
def test_duty_modes_and_inactive(
    mode: DutyMode, active: bool, at: datetime, expected: bool
) -> None:
    who = mediator(mode=mode, active=active)
    assert is_on_duty(who, at, EDGE_SLOTS, [], SHANGHAI) is expected


# --- next_duty_start ------------------------------------------------------------------------

NEXT_SLOTS = [slot(0, "09:00", "12:00"), slot(0, "14:00", "17:00"), slot(2, "09:00", "10:00")]
WEDNESDAY = MONDAY + timedelta(days=2)


@pytest.mark.parametrize(
    ("who", "after", "overrides", "horizon", "expected"),
    [
        pytest.param(
            mediator(), local(MONDAY, 10), [], 14, local(MONDAY, 10), id="on-duty-now-is-now"
        ),
        pytest.param(
            mediator(), local(MONDAY, 9), [], 14, local(MONDAY, 9), id="at-slot-start-is-now"
        ),
        pytest.param(
            mediator(), local(MONDAY, 7), [], 14, local(MONDAY, 9), id="before-first-slot"
        ),
        pytest.param(
            mediator(), local(MONDAY, 12), [], 14, local(MONDAY, 14), id="at-slot-end-next-slot"
        ),
        pytest.param(
            mediator(), local(MONDAY, 18), [], 14, local(WEDNESDAY, 9), id="evening-next-day"
        ),
        pytest.param(
            mediator(),
            local(WEDNESDAY, 10),
            [],
            14,
            local(MONDAY + timedelta(days=7), 9),
            id="wraps-to-next-week",
        ),
        pytest.param(
            mediator(),
            local(MONDAY, 18),
            [off(WEDNESDAY)],
            14,
            local(MONDAY + timedelta(days=7), 9),
            id="skips-a-day-off",
        ),
        pytest.param(
            mediator(),
            local(MONDAY, 18),
            [on(MONDAY + timedelta(days=1), "20:00", "21:00")],
            14,
            local(MONDAY + timedelta(days=1), 20),
            id="an-on-override-comes-first",
        ),
        pytest.param(
            mediator(mode="on"), local(MONDAY, 23), [], 14, local(MONDAY, 23), id="mode-on"
        ),
        pytest.param(mediator(mode="off"), local(MONDAY, 7), [], 14, None, id="mode-off"),
        pytest.param(mediator(active=False), local(MONDAY, 7), [], 14, None, id="inactive"),
        pytest.param(mediator(9), local(MONDAY, 7), [], 14, None, id="no-slots-at-all"),
    ],
)
def test_next_duty_start(
    who: Mediator,
    after: datetime,
    overrides: list[Override],
    horizon: int,
    expected: datetime | None,
) -> None:
    assert (
        next_duty_start(who, after, NEXT_SLOTS, overrides, SHANGHAI, horizon_days=horizon)
        == expected
    )


@pytest.mark.parametrize(
    ("horizon", "expected"),
    [
        pytest.param(14, None, id="beyond-a-14-day-horizon"),
        pytest.param(19, None, id="one-day-short"),
        pytest.param(20, local(MONDAY + timedelta(days=20), 9), id="within-a-20-day-horizon"),
    ],
)
def test_next_duty_start_looks_no_further_than_the_horizon(
    horizon: int, expected: datetime | None
) -> None:
    far = [on(MONDAY + timedelta(days=20), "09:00", "10:00", mediator_id=9)]
    assert (
        next_duty_start(mediator(9), local(MONDAY, 8), [], far, SHANGHAI, horizon_days=horizon)
        == expected
    )


# --- accept_deadline ------------------------------------------------------------------------

DEADLINE_SLOTS = [
    slot(0, "09:00", "10:00"),
    slot(0, "14:00", "16:00"),
    slot(2, "09:00", "10:00"),
]


@pytest.mark.parametrize(
    ("who", "offered_at", "minutes", "overrides", "expected"),
    [
        pytest.param(
            mediator(), local(MONDAY, 9, 10), 30, [], local(MONDAY, 9, 40), id="within-one-slot"
        ),
        pytest.param(
            mediator(), local(MONDAY, 9, 30), 30, [], local(MONDAY, 10), id="exactly-at-slot-end"
        ),
        pytest.param(
            mediator(),
            local(MONDAY, 9, 50),
            30,
            [],
            local(MONDAY, 14, 20),
            id="spans-two-slots-same-day",
        ),
        pytest.param(
            mediator(),
            local(MONDAY, 15, 50),
            30,
            [],
            local(WEDNESDAY, 9, 20),
            id="spans-two-slots-across-days",
        ),
        pytest.param(
            mediator(),
            local(MONDAY, 9, 50),
            200,
            [],
            local(MONDAY + timedelta(days=7), 9, 10),
            id="spans-several-slots-and-a-week",
        ),
        pytest.param(
            mediator(), local(MONDAY, 7), 30, [], local(MONDAY, 9, 30), id="offered-before-duty"
        ),
        pytest.param(
            mediator(),
            local(MONDAY, 11),
            30,
            [],
            local(MONDAY, 14, 30),
            id="offered-between-slots",
        ),
        pytest.param(
            mediator(),
            local(MONDAY, 20),
            30,
            [],
            local(WEDNESDAY, 9, 30),
            id="offered-in-the-evening",
        ),
        pytest.param(
            mediator(),
            local(MONDAY, 15, 50),
            30,
            [off(WEDNESDAY)],
            local(MONDAY + timedelta(days=7), 9, 20),
            id="skips-a-day-off",
        ),
        pytest.param(
            mediator(),
            local(MONDAY, 15, 50),
            30,
            [on(MONDAY + timedelta(days=1), "20:00", "21:00")],
            local(MONDAY + timedelta(days=1), 20, 20),
            id="counts-an-on-override",
        ),
        pytest.param(
            mediator(), local(MONDAY, 7), 0, [], local(MONDAY, 9), id="zero-minutes-off-duty"
        ),
        pytest.param(
            mediator(mode="on"),
            local(MONDAY, 23),
            30,
            [],
            local(MONDAY, 23, 30),
            id="mode-on-counts-wall-time",
        ),
        pytest.param(mediator(mode="off"), local(MONDAY, 9), 30, [], None, id="mode-off"),
        pytest.param(mediator(active=False), local(MONDAY, 9), 30, [], None, id="inactive"),
        pytest.param(mediator(9), local(MONDAY, 9), 30, [], None, id="no-duty-at-all"),
    ],
)
def test_accept_deadline_counts_duty_time_only(
    who: Mediator,
    offered_at: datetime,
    minutes: int,
    overrides: list[Override],
    expected: datetime | None,
) -> None:
    got = accept_deadline(who, offered_at, minutes, DEADLINE_SLOTS, overrides, SHANGHAI)
    assert got == expected


def test_accept_deadline_across_a_dst_change() -> None:
    daily = [slot(weekday, "09:00", "10:00") for weekday in range(7)]
    saturday_0950_cet = utc(2024, 3, 30, 8, 50)
    sunday_0920_cest = utc(2024, 3, 31, 7, 20)
    assert accept_deadline(mediator(), saturday_0950_cet, 30, daily, [], BERLIN) == (
        sunday_0920_cest
    )


def test_accept_deadline_gives_up_after_a_horizon_without_duty() -> None:
    # 10 minutes on Monday, then a 20-day gap before the remaining 5 minutes.
    slots = [slot(0, "09:00", "09:10", mediator_id=9)]
    overrides = [off(MONDAY + timedelta(days=d), mediator_id=9) for d in (7, 14)]
    who = mediator(9)
    assert accept_deadline(who, local(MONDAY, 9), 15, slots, overrides, SHANGHAI) is None
    assert accept_deadline(
        who, local(MONDAY, 9), 15, slots, overrides, SHANGHAI, horizon_days=21
    ) == local(MONDAY + timedelta(days=21), 9, 5)


# --- choose ---------------------------------------------------------------------------------

# Monday in area A: 1 and 2 sit 09-12, 3 sits 14-17, 4 sits Tuesday 14-17, 6 Tuesday 09-12;
# area B: 5 sits Monday 09-12.
CHOOSE_SLOTS = [
    slot(0, "09:00", "12:00", mediator_id=1),
    slot(0, "09:00", "12:00", mediator_id=2),
    slot(0, "14:00", "17:00", mediator_id=3),
    slot(1, "14:00", "17:00", mediator_id=4),
    slot(1, "09:00", "12:00", mediator_id=6),
    slot(0, "09:00", "12:00", mediator_id=5, area="B"),
]
TUESDAY = MONDAY + timedelta(days=1)
MORNING = local(MONDAY, 10)
EVENING = local(MONDAY, 20)
EARLY = utc(2023, 12, 1)
LATER = utc(2023, 12, 20)


def now(mediator_id: int) -> Choice:
    return Choice(mediator_id=mediator_id, starts_at=MORNING, now=True)


def later(mediator_id: int, starts_at: datetime) -> Choice:
    return Choice(mediator_id=mediator_id, starts_at=starts_at, now=False)


@pytest.mark.parametrize(
    ("candidates", "at", "exclude", "expected"),
    [
        pytest.param(
            [mediator(1, open_cases=2), mediator(2, open_cases=1)],
            MORNING,
            (),
            now(2),
            id="fewest-open-cases",
        ),
        pytest.param(
            [mediator(1, open_cases=1, offered=LATER), mediator(2, open_cases=1, offered=EARLY)],
            MORNING,
            (),
            now(2),
            id="tie-round-robin-offered-longest-ago",
        ),
        pytest.param(
            [mediator(1, offered=EARLY), mediator(2, offered=None)],
            MORNING,
            (),
            now(2),
            id="tie-never-offered-counts-as-longest-ago",
        ),
        pytest.param(
            [mediator(2, offered=EARLY), mediator(1, offered=EARLY)],
            MORNING,
            (),
            now(1),
            id="full-tie-lowest-id",
        ),
        pytest.param(
            [mediator(2), mediator(1)], MORNING, (), now(1), id="full-tie-never-offered-lowest-id"
        ),
        pytest.param(
            [mediator(1, open_cases=0, offered=LATER), mediator(2, open_cases=1, offered=EARLY)],
            MORNING,
            (),
            now(1),
            id="load-before-round-robin",
        ),
        pytest.param(
            [mediator(1), mediator(2, open_cases=3)], MORNING, (1,), now(2), id="exclusion-list"
        ),
        pytest.param(
            [mediator(1, active=False), mediator(2, open_cases=3)],
            MORNING,
            (),
            now(2),
            id="inactive-skipped",
        ),
        pytest.param(
            [mediator(1, mode="off"), mediator(2, open_cases=3)],
            MORNING,
            (),
            now(2),
            id="mode-off-skipped",
        ),
        pytest.param(
            [mediator(5, area="B"), mediator(2, open_cases=3)],
            MORNING,
            (),
            now(2),
            id="other-area-skipped",
        ),
        pytest.param(
            [mediator(7, area=None), mediator(2, open_cases=3)],
            MORNING,
            (),
            now(2),
            id="no-area-skipped",
        ),
        pytest.param(
            [mediator(3, open_cases=0), mediator(1, open_cases=5)],
            MORNING,
            (),
            now(1),
            id="on-duty-beats-less-loaded-off-duty",
        ),
        pytest.param(
            [mediator(4, mode="on", open_cases=1), mediator(1, open_cases=2)],
            MORNING,
            (),
            now(4),
            id="mode-on-counts-as-on-duty",
        ),
        pytest.param(
            [mediator(1), mediator(2), mediator(3), mediator(4)],
            local(MONDAY, 12, 30),
            (),
            later(3, local(MONDAY, 14)),
            id="nobody-on-duty-next-to-come-on",
        ),
        pytest.param(
            [mediator(4), mediator(6, open_cases=4)],
            EVENING,
            (),
            later(6, local(TUESDAY, 9)),
            id="nobody-on-duty-soonest-start-beats-load",
        ),
        pytest.param(
            [mediator(1, open_cases=2), mediator(2, open_cases=1), mediator(3)],
            EVENING,
            (),
            later(2, local(TUESDAY + timedelta(days=6), 9)),
            id="nobody-on-duty-same-start-fewest-cases",
        ),
        pytest.param(
            [mediator(1, offered=LATER), mediator(2, offered=EARLY)],
            EVENING,
            (),
            later(2, local(MONDAY + timedelta(days=7), 9)),
            id="nobody-on-duty-same-start-round-robin",
        ),
        pytest.param(
            [mediator(2), mediator(1)],
            EVENING,
            (),
            later(1, local(MONDAY + timedelta(days=7), 9)),
            id="nobody-on-duty-same-start-lowest-id",
        ),
        pytest.param(
            [mediator(1), mediator(2), mediator(6)],
            EVENING,
            (6,),
            later(1, local(MONDAY + timedelta(days=7), 9)),
            id="nobody-on-duty-exclusion-list",
        ),
        pytest.param([], MORNING, (), None, id="no-candidates"),
        pytest.param([mediator(8), mediator(9)], MORNING, (), None, id="nobody-has-any-duty"),
        pytest.param([mediator(1), mediator(2)], MORNING, (1, 2), None, id="everyone-excluded"),
        pytest.param(
            [mediator(1, mode="off"), mediator(2, active=False)],
            MORNING,
            (),
            None,
            id="everyone-off-or-inactive",
        ),
        pytest.param([mediator(5, area="B")], MORNING, (), None, id="only-other-area-on-duty"),
    ],
)
def test_choose(
    candidates: list[Mediator], at: datetime, exclude: tuple[int, ...], expected: Choice | None
) -> None:
    assert choose(candidates, "A", at, CHOOSE_SLOTS, [], SHANGHAI, exclude) == expected


def test_choose_follows_overrides() -> None:
    # 1 is on leave today; 3 swapped in for the morning.
    swap = [off(MONDAY, mediator_id=1), on(MONDAY, "09:00", "12:00", mediator_id=3)]
    candidates = [mediator(1), mediator(2, open_cases=2), mediator(3, open_cases=1)]
    assert choose(candidates, "A", MORNING, CHOOSE_SLOTS, swap, SHANGHAI) == now(3)


def test_choose_in_local_time() -> None:
    # Sunday 20:00 UTC is Monday 04:00 in Shanghai: only the Monday early-bird is on duty.
    slots = [slot(0, "03:00", "05:00", mediator_id=1), slot(6, "19:00", "22:00", mediator_id=2)]
    at = utc(2024, 1, 7, 20)
    got = choose([mediator(1, open_cases=3), mediator(2)], "A", at, slots, [], SHANGHAI)
    assert got == Choice(mediator_id=1, starts_at=at, now=True)


def test_time_max_ends_at_midnight_so_evening_and_early_slots_join_up() -> None:
    # storage keeps 24:00 as time.max; duty until midnight then on from 00:00 is continuous.
    slots = [slot(0, "20:00", "23:59:59.999999"), slot(1, "00:00", "01:00")]
    assert duty_intervals(1, MONDAY, slots, [], SHANGHAI) == [
        (local(MONDAY, 20), local(TUESDAY, 0))
    ]
    assert is_on_duty(mediator(), local(TUESDAY, 0), slots, [], SHANGHAI)
    assert accept_deadline(mediator(), local(MONDAY, 23, 45), 30, slots, [], SHANGHAI) == (
        local(TUESDAY, 0, 15)
    )
