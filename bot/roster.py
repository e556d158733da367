"""The duty roster and the routing rules, as pure functions.

The roster is weekly slots in LOCAL wall-clock time (weekday, start–end, mediator) plus dated
overrides (leave, swaps). Every datetime that goes in or comes out is timezone-aware and
returned in UTC; the local zone is always passed in, never assumed.

Wall-clock readings that a DST change makes odd are read this way:

* an ambiguous reading (clocks turned back, the hour happens twice) is its first occurrence;
* a reading that does not exist (clocks jumped forward over it) is the moment of the jump,
  the first real instant after it. A slot lying wholly inside the skipped hour is empty.

An `end` of ``datetime.time.max`` (23:59:59.999999) stands for 24:00, the end of the day.

Nothing here does I/O; the caller loads slots, overrides and mediators and acts on the result.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

DutyMode = Literal["roster", "on", "off"]
OverrideKind = Literal["off", "on"]
Interval = tuple[datetime, datetime]

DEFAULT_HORIZON_DAYS = 14
_LONG_AGO = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Slot:
    """A weekly duty slot: `mediator_id` sits at `area_id`'s desk every `weekday` (0=Monday)
    from `start` to `end`, local wall-clock time, never across midnight."""

    area_id: str
    weekday: int
    start: time
    end: time
    mediator_id: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")
        _require_wall_clock_range(self.start, self.end)


@dataclass(frozen=True)
class Override:
    """A dated exception to the weekly slots, on a LOCAL `day`.

    ``"off"`` removes the mediator's duty that day: all of it when `start`/`end` are None,
    else only that range. ``"on"`` adds duty that day from `start` to `end` (both required).
    A swap is an ``"off"`` for one mediator plus an ``"on"`` for another.
    """

    day: date
    mediator_id: int
    kind: OverrideKind
    area_id: str
    start: time | None = None
    end: time | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("off", "on"):
            raise ValueError(f"override kind must be 'off' or 'on', not {self.kind!r}")
        if self.start is None and self.end is None:
            if self.kind == "on":
                raise ValueError("an 'on' override needs a start and an end")
            return
        if self.start is None or self.end is None:
            raise ValueError("give both start and end, or neither (whole day off)")
        _require_wall_clock_range(self.start, self.end)

    @property
    def whole_day(self) -> bool:
        """True for an "off" override that removes the whole day."""
        return self.start is None


@dataclass(frozen=True)
class Mediator:
    """What routing needs to know about a mediator."""

    id: int
    area_id: str | None
    duty_mode: DutyMode
    active: bool
    open_cases: int
    last_offered_at: datetime | None

    def __post_init__(self) -> None:
        if self.last_offered_at is not None:
            _require_aware(self.last_offered_at, "last_offered_at")


@dataclass(frozen=True)
class Choice:
    """Who gets a new case: on duty `now`, or from `starts_at` (their next duty start)."""

    mediator_id: int
    starts_at: datetime
    now: bool


# --- the roster ---------------------------------------------------------------------------


def duty_intervals(
    mediator_id: int,
    day: date,
    slots: Collection[Slot],
    overrides: Collection[Override],
    zone: ZoneInfo,
) -> list[Interval]:
    """A mediator's rostered duty on a local `day`, as sorted, merged UTC intervals.

    The weekday's slots, minus that day's "off" overrides, plus its "on" overrides.
    Duty modes and the active flag are not considered here (see :func:`is_on_duty`).
    """
    todays = [o for o in overrides if o.mediator_id == mediator_id and o.day == day]
    duty: list[Interval] = []
    if not any(o.kind == "off" and o.whole_day for o in todays):
        duty = [
            _to_utc(day, s.start, s.end, zone)
            for s in slots
            if s.mediator_id == mediator_id and s.weekday == day.weekday()
        ]
    for off in todays:
        if off.kind == "off" and off.start is not None and off.end is not None:
            duty = _subtract(duty, _to_utc(day, off.start, off.end, zone))
    duty += [
        _to_utc(day, on.start, on.end, zone)
        for on in todays
        if on.kind == "on" and on.start is not None and on.end is not None
    ]
    return _merge(duty)


def is_on_duty(
    mediator: Mediator,
    at: datetime,
    slots: Collection[Slot],
    overrides: Collection[Override],
    zone: ZoneInfo,
) -> bool:
    """Whether `mediator` is on duty at the instant `at`.

    Inactive: never. Mode "on": always. Mode "off": never. Mode "roster": when `at` falls in
    one of the day's duty intervals, start inclusive, end exclusive.
    """
    _require_aware(at, "at")
    if not mediator.active or mediator.duty_mode == "off":
        return False
    if mediator.duty_mode == "on":
        return True
    local_day = at.astimezone(zone).date()
    return any(
        start <= at < end
        for start, end in duty_intervals(mediator.id, local_day, slots, overrides, zone)
    )


def next_duty_start(
    mediator: Mediator,
    after: datetime,
    slots: Collection[Slot],
    overrides: Collection[Override],
    zone: ZoneInfo,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> datetime | None:
    """When `mediator` is next on duty: `after` itself if on duty then, else the start of the
    next duty interval, looking `horizon_days` local days ahead.

    Mode "on": `after`. Inactive, mode "off", or no duty within the horizon: None.
    """
    _require_aware(after, "after")
    if not mediator.active or mediator.duty_mode == "off":
        return None
    if mediator.duty_mode == "on":
        return after.astimezone(UTC)
    for start, _end in _duty_from(
        mediator.id, after, slots, overrides, zone, horizon_days=horizon_days
    ):
        return start
    return None


def accept_deadline(  # noqa: PLR0917 - positional order is the module's documented API
    mediator: Mediator,
    offered_at: datetime,
    minutes: int,
    slots: Collection[Slot],
    overrides: Collection[Override],
    zone: ZoneInfo,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> datetime | None:
    """The moment `minutes` of the mediator's DUTY time have passed since `offered_at`.

    Only time on duty counts: offered off duty, the count starts at their next duty start,
    and it runs on across as many slots and days as it needs. Mode "on": `offered_at` plus
    `minutes`. None when inactive, in mode "off", or when `horizon_days` local days pass
    without any duty (so the offer would never time out on its own).
    """
    _require_aware(offered_at, "offered_at")
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, not {minutes}")
    if not mediator.active or mediator.duty_mode == "off":
        return None
    remaining = timedelta(minutes=minutes)
    if mediator.duty_mode == "on":
        return offered_at.astimezone(UTC) + remaining
    for start, end in _duty_from(
        mediator.id, offered_at, slots, overrides, zone, horizon_days=horizon_days
    ):
        if end - start >= remaining:
            return start + remaining
        remaining -= end - start
    return None


# --- routing ------------------------------------------------------------------------------


def choose(  # noqa: PLR0917 - positional order is the module's documented API
    candidates: Sequence[Mediator],
    area_id: str,
    at: datetime,
    slots: Collection[Slot],
    overrides: Collection[Override],
    zone: ZoneInfo,
    exclude: Collection[int] = (),
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> Choice | None:
    """Who of `area_id`'s active mediators (not in `exclude`) gets a new case at `at`.

    Those on duty at `at` come first: fewest open cases, then the one offered a case longest
    ago (never offered counts as longest ago), then the lowest id. If nobody is on duty, the
    one whose next duty starts soonest (same tie-breakers) gets it, with ``now=False`` and
    that start. None when nobody of the area has duty within `horizon_days`.
    """
    _require_aware(at, "at")
    eligible = [m for m in candidates if m.active and m.area_id == area_id and m.id not in exclude]
    on_duty = [m for m in eligible if is_on_duty(m, at, slots, overrides, zone)]
    if on_duty:
        first = min(on_duty, key=fairness)
        return Choice(mediator_id=first.id, starts_at=at.astimezone(UTC), now=True)
    upcoming: list[tuple[datetime, Mediator]] = []
    for mediator in eligible:
        start = next_duty_start(mediator, at, slots, overrides, zone, horizon_days=horizon_days)
        if start is not None:
            upcoming.append((start, mediator))
    if not upcoming:
        return None
    start, first = min(upcoming, key=lambda pair: (pair[0], *fairness(pair[1])))
    return Choice(mediator_id=first.id, starts_at=start, now=False)


def fairness(mediator: Mediator) -> tuple[int, bool, datetime, int]:
    """Sort key among equally available mediators: least loaded, then round-robin (offered
    longest ago, never offered first), then lowest id so the choice is deterministic."""
    offered = mediator.last_offered_at
    return (
        mediator.open_cases,
        offered is not None,
        _LONG_AGO if offered is None else offered.astimezone(UTC),
        mediator.id,
    )


# --- walking duty time --------------------------------------------------------------------


def _duty_from(
    mediator_id: int,
    after: datetime,
    slots: Collection[Slot],
    overrides: Collection[Override],
    zone: ZoneInfo,
    *,
    horizon_days: int,
) -> Iterator[Interval]:
    """The mediator's rostered duty from `after` on, in order, cut to start no earlier than
    `after`. Walks local days and stops once `horizon_days` local days after the start (or
    after the last duty seen) pass without any duty."""
    after = after.astimezone(UTC)
    day = after.astimezone(zone).date()
    idle_days = 0
    while idle_days <= horizon_days:
        found = False
        for start, end in duty_intervals(mediator_id, day, slots, overrides, zone):
            if end > after:
                found = True
                yield max(start, after), end
        idle_days = 0 if found else idle_days + 1
        day += timedelta(days=1)


# --- interval arithmetic ------------------------------------------------------------------


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined and empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(intervals: list[Interval], cut: Interval) -> list[Interval]:
    """`intervals` without the part covered by `cut`."""
    cut_start, cut_end = cut
    kept: list[Interval] = []
    for start, end in intervals:
        if start < cut_start:
            kept.append((start, min(end, cut_start)))
        if end > cut_end:
            kept.append((max(start, cut_end), end))
    return kept


# --- local wall-clock time ----------------------------------------------------------------


def _to_utc(day: date, start: time, end: time, zone: ZoneInfo) -> Interval:
    """The UTC interval a local wall-clock range on `day` covers (possibly empty in a DST gap).

    An `end` of ``time.max`` means "until midnight": the range ends at the next local day's
    00:00, so it touches a range starting at 00:00 the next day.
    """
    end_instant = (
        _local_instant(day + timedelta(days=1), time(0), zone)
        if end == time.max
        else _local_instant(day, end, zone)
    )
    return _local_instant(day, start, zone), end_instant


def _local_instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant that the local wall-clock reading `clock` on `day` names.

    Ambiguous readings are their first occurrence; readings inside a DST gap are the moment
    of the jump (see the module docstring).
    """
    wall = datetime.combine(day, clock, tzinfo=zone)
    first = wall.astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return first
    # Skipped reading: fold=0 reads it with the offset before the jump (an instant after the
    # jump), fold=1 with the offset after it (an instant before the jump).
    return _offset_change(wall.replace(fold=1).astimezone(UTC), first, zone)


def _offset_change(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second in (`before`, `after`] whose UTC offset in `zone` differs from
    the offset at `before`; `after` has a different offset."""
    offset = before.astimezone(zone).utcoffset()
    low = math.floor(before.timestamp())
    high = math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


# --- checks -------------------------------------------------------------------------------


def _require_wall_clock_range(start: time, end: time) -> None:
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("slot and override times are local wall-clock times, without tzinfo")
    if not start < end:
        raise ValueError(f"end {end} must be after start {start} (no overnight ranges)")


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
