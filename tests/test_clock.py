"""Clocks: the fake one tests move, and the playground's real time that can jump forward."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.clock import FakeClock, MovableClock
from bot.features.timers import Timers
from storage.db import Database
from storage.reminders import Reminder, ReminderRepository

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


class Stopwatch:
    """Real elapsed seconds, moved by the test."""

    def __init__(self) -> None:
        self.seconds = 100.0

    def __call__(self) -> float:
        return self.seconds


def test_fake_clock_stands_still_until_moved_and_only_moves_forward() -> None:
    clock = FakeClock(START)
    assert clock.now() == START
    assert clock.advance(timedelta(hours=2)) == START + timedelta(hours=2)
    assert clock.now() == START + timedelta(hours=2)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="aware"):
        FakeClock(datetime(2026, 3, 2))


def test_movable_clock_follows_real_time_from_its_start() -> None:
    watch = Stopwatch()
    clock = MovableClock(START, elapsed=watch)
    assert clock.now() == START
    watch.seconds += 90
    assert clock.now() == START + timedelta(seconds=90)
    assert clock.offset == timedelta(0)


def test_movable_clock_starts_at_real_now_by_default() -> None:
    before = datetime.now(UTC)
    now = MovableClock().now()
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is not None


def test_a_jump_adds_to_real_time_and_keeps_following_it() -> None:
    watch = Stopwatch()
    clock = MovableClock(START, elapsed=watch)
    watch.seconds += 10
    assert clock.advance(timedelta(days=1)) == START + timedelta(days=1, seconds=10)
    watch.seconds += 5
    assert clock.now() == START + timedelta(days=1, seconds=15)
    assert clock.offset == timedelta(days=1)
    clock.set(START + timedelta(days=3))
    assert clock.now() == START + timedelta(days=3)
    assert clock.offset == timedelta(days=3, seconds=-15)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(minutes=-1))


def test_a_jump_tells_the_subscribers_once_each_until_they_unsubscribe() -> None:
    clock = MovableClock(START, elapsed=Stopwatch())
    heard: list[datetime] = []

    def listener() -> None:
        heard.append(clock.now())

    clock.subscribe(listener)
    clock.advance(timedelta(hours=1))
    assert heard == [START + timedelta(hours=1)]
    clock.unsubscribe(listener)
    clock.unsubscribe(listener)  # twice is harmless
    clock.advance(timedelta(hours=1))
    assert heard == [START + timedelta(hours=1)]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


async def test_timers_fire_when_a_movable_clock_jumps_past_the_due_time(db: Database) -> None:
    clock = MovableClock()
    fired: list[Reminder] = []

    async def record(reminder: Reminder) -> None:
        fired.append(reminder)

    timers = Timers(ReminderRepository(db), clock)
    timers.register("ping", record)
    await timers.start()
    try:
        await timers.at("ping:1", "ping", clock.now() + timedelta(days=1))
        clock.advance(timedelta(hours=23))
        await asyncio.sleep(0.2)
        assert fired == []
        clock.advance(timedelta(hours=1))
        async with asyncio.timeout(3):
            while not fired:
                await asyncio.sleep(0.01)
        assert fired[0].job_id == "ping:1"
    finally:
        await timers.stop()
