"""The one timer mechanism, with the real APScheduler and a clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.messaging import TransientDeliveryError
from bot.features.timers import Timers
from storage.db import Database
from storage.reminders import Reminder, ReminderRepository

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


class Recorder:
    """A reminder handler that records what it was asked to do."""

    def __init__(self) -> None:
        self.fired: list[Reminder] = []
        self.event = asyncio.Event()

    async def __call__(self, reminder: Reminder) -> None:
        self.fired.append(reminder)
        self.event.set()

    async def wait(self, count: int, timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.fired) < count:
                self.event.clear()
                await self.event.wait()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


async def _timers(db: Database, clock: FakeClock, recorder: Recorder) -> Timers:
    timers = Timers(ReminderRepository(db), clock)
    timers.register("ping", recorder)
    await timers.start()
    return timers


async def test_fires_when_the_clock_reaches_it_and_not_before(
    db: Database, clock: FakeClock
) -> None:
    recorder = Recorder()
    timers = await _timers(db, clock, recorder)
    try:
        await timers.at("ping:1", "ping", START + timedelta(days=7))
        clock.advance(timedelta(days=7) - timedelta(seconds=1))
        await asyncio.sleep(0.2)
        assert recorder.fired == []
        clock.advance(timedelta(seconds=1))
        await recorder.wait(1)
        assert recorder.fired[0].job_id == "ping:1"
        assert not recorder.fired[0].late
        reminders = ReminderRepository(db)
        async with asyncio.timeout(3):
            while (row := await reminders.get("ping:1")) is None or row.state != "done":
                await asyncio.sleep(0.01)
    finally:
        await timers.stop()


async def test_a_double_fire_sends_once(db: Database, clock: FakeClock) -> None:
    recorder = Recorder()
    timers = await _timers(db, clock, recorder)
    try:
        await timers.at("ping:2", "ping", START)
        await asyncio.gather(timers._fire("ping:2"), timers._fire("ping:2"))
        await asyncio.sleep(0.2)  # and the scheduler's own fire
        assert len(recorder.fired) == 1
    finally:
        await timers.stop()


async def test_cancelled_reminders_never_fire(db: Database, clock: FakeClock) -> None:
    recorder = Recorder()
    timers = await _timers(db, clock, recorder)
    try:
        await timers.at("ping:3", "ping", START + timedelta(hours=1), case_id=None)
        await timers.cancel("ping:3")
        clock.advance(timedelta(hours=2))
        await asyncio.sleep(0.2)
        assert recorder.fired == []
    finally:
        await timers.stop()


async def test_due_while_down_is_sent_once_at_start_marked_late(
    db: Database, clock: FakeClock
) -> None:
    await ReminderRepository(db).add("ping:4", "ping", START + timedelta(days=1), START)
    clock.advance(timedelta(days=2))  # the bot was down when it fell due
    recorder = Recorder()
    timers = await _timers(db, clock, recorder)
    try:
        await recorder.wait(1)
        assert recorder.fired[0].late
    finally:
        await timers.stop()
    again = Recorder()
    timers = await _timers(db, clock, again)  # a second start: nothing left to send
    try:
        await asyncio.sleep(0.2)
        assert again.fired == []
    finally:
        await timers.stop()


async def test_a_claimed_row_left_by_a_crash_is_sent_again_at_start(
    db: Database, clock: FakeClock
) -> None:
    reminders = ReminderRepository(db)
    await reminders.add("ping:5", "ping", START, START)
    assert await reminders.claim("ping:5", START) is not None  # then the process died
    recorder = Recorder()
    timers = await _timers(db, clock, recorder)
    try:
        await recorder.wait(1)
        assert recorder.fired[0].attempts == 2
    finally:
        await timers.stop()


async def test_a_handler_may_re_arm_its_own_reminder(db: Database, clock: FakeClock) -> None:
    timers = Timers(ReminderRepository(db), clock)
    weeks: list[datetime] = []

    async def weekly(reminder: Reminder) -> None:
        weeks.append(reminder.due_at)
        await timers.at("weekly", "weekly", reminder.due_at + timedelta(days=7))

    timers.register("weekly", weekly)
    await timers.start()
    try:
        await timers.at("weekly", "weekly", START + timedelta(days=1))
        for week in range(3):
            clock.advance(timedelta(days=7))
            async with asyncio.timeout(3):
                while len(weeks) < week + 1:
                    await asyncio.sleep(0.01)
        assert [w - weeks[0] for w in weeks] == [timedelta(0), timedelta(7), timedelta(14)]
        row = await ReminderRepository(db).get("weekly")
        assert row is not None and row.state == "pending"
    finally:
        await timers.stop()


async def test_transient_failures_are_retried_later(db: Database, clock: FakeClock) -> None:
    timers = Timers(ReminderRepository(db), clock)
    attempts: list[int] = []

    async def flaky(reminder: Reminder) -> None:
        attempts.append(reminder.attempts)
        if len(attempts) == 1:
            raise TransientDeliveryError(retry_after=60)

    timers.register("flaky", flaky)
    await timers.start()
    try:
        await timers.at("flaky:1", "flaky", START)
        async with asyncio.timeout(3):
            while not attempts:
                await asyncio.sleep(0.01)
        clock.advance(timedelta(seconds=59))
        await asyncio.sleep(0.2)
        assert attempts == [1]
        clock.advance(timedelta(seconds=1))
        async with asyncio.timeout(3):
            while len(attempts) < 2:
                await asyncio.sleep(0.01)
        assert attempts == [1, 2]
    finally:
        await timers.stop()


async def test_stop_lets_a_reminder_in_flight_finish(db: Database, clock: FakeClock) -> None:
    timers = Timers(ReminderRepository(db), clock)
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow(reminder: Reminder) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.set()

    timers.register("slow", slow)
    await timers.start()
    await timers.at("slow:1", "slow", START)
    await asyncio.wait_for(started.wait(), 3)
    await timers.stop()
    assert finished.is_set()
    row = await ReminderRepository(db).get("slow:1")
    assert row is not None and row.state == "done"


async def test_only_a_day_of_reminders_is_scheduled_and_later_ones_still_fire(
    db: Database, clock: FakeClock
) -> None:
    """A district's year of revisits stays in the table; the window moves on with time."""
    reminders = ReminderRepository(db)
    rows = [
        (f"ping:{n}", "ping", START + timedelta(hours=6 * n), None, None) for n in range(1, 400)
    ]
    await reminders.add_many(rows, START)
    recorder = Recorder()
    timers = await _timers(db, clock, recorder)
    try:
        assert timers.scheduled == 1 + 4  # the refill job, and 6 h, 12 h, 18 h, 24 h
        clock.advance(timedelta(days=30))
        await recorder.wait(4 * 30, timeout=10)
        assert {r.job_id for r in recorder.fired} == {f"ping:{n}" for n in range(1, 4 * 30 + 1)}
        assert timers.scheduled < 10
    finally:
        await timers.stop()
