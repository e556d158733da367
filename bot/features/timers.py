"""The one timer mechanism: reminder rows in the database, woken up by APScheduler.

* The database is the source of truth. Each reminder is a row; the scheduler holds those
  due within the next WINDOW (a district has some 100,000 revisits pending over the year:
  loading them all would take seconds and a hundred MB), and every REFILL it takes in the
  next ones. One that fell due while the bot was down is sent at once, marked late.
* A job re-reads and claims its row before sending and marks it done after, so a restart,
  a misfire or a double fire never sends twice. A crash between claim and done leaves the
  row claimed: it is sent again at the next start. Reminders go one at a time, so that is
  at most the one message in flight (a kill test checks it). Kinds that keep their own
  per-recipient rows (a broadcast) are registered `exclusive=False` and run alongside.
* Job ids are predictable (`revisit:{case}:{n}`, `offer:{id}`): the same id re-arms the
  same reminder instead of adding a second one.
* Time comes from the injected clock. APScheduler runs on real time, so a job's run time is
  "now + (due − clock.now())"; when a test or the playground moves a fake clock, every job
  is re-timed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core.clock import Clock
from bot.core.messaging import TransientDeliveryError
from bot.features.outbox import redone_after_a_crash
from storage.reminders import Reminder, ReminderRepository

log = logging.getLogger(__name__)

Handler = Callable[[Reminder], Awaitable[None]]


class Interrupted(Exception):
    """A handler stopped halfway because the bot is shutting down: its row stays claimed,
    and the next start carries on where it stopped."""


MAX_ATTEMPTS = 8
WINDOW = timedelta(days=1)  # reminders due within this are in the scheduler
REFILL = timedelta(hours=1)  # how often the window moves on (real time)
REFILL_JOB = "timers:refill"
STOP_GRACE_SECONDS = 10
JOB_DEFAULTS = {
    "coalesce": True,  # several missed runs of one job are one run
    "misfire_grace_time": None,  # late is better than never: the row decides
    # The row's claim, not APScheduler, prevents double sends; a re-armed job (the weekly
    # digest) may start again while its previous run is still finishing.
    "max_instances": 5,
}


class Timers:
    def __init__(
        self,
        reminders: ReminderRepository,
        clock: Clock,
        real_now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._reminders = reminders
        self._clock = clock
        self._real_now = real_now
        self._handlers: dict[str, Handler] = {}
        self._shared: set[str] = set()  # kinds that need not wait for the one-at-a-time lock
        self._in_flight = asyncio.Lock()
        self._stopping = False
        self._due: dict[str, datetime] = {}  # job id → due, in clock time
        self._horizon: datetime | None = None  # rows due by then are scheduled
        self._refilling: set[asyncio.Task[None]] = set()
        self._running: set[asyncio.Task[None]] = set()
        self._scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)

    def register(self, kind: str, handler: Handler, *, exclusive: bool = True) -> None:
        """What to do when a reminder of this kind falls due.

        Exclusive kinds run one at a time (at most one message in flight at a crash); a
        kind that tracks each recipient itself, like a broadcast, may run alongside.
        """
        self._handlers[kind] = handler
        if not exclusive:
            self._shared.add(kind)

    async def start(self) -> int:
        """Schedule the open reminders of the window and start the scheduler; returns how
        many reminders are open in all."""
        await self._reminders.recover_claimed()
        late = await self._reminders.mark_late(self._clock.now())
        scheduled = await self._refill()
        self._scheduler.add_job(
            self._refill_quietly, "interval", seconds=REFILL.total_seconds(), id=REFILL_JOB
        )
        self._scheduler.start()
        self._clock.subscribe(self._clock_moved)
        pending = await self._reminders.count_open()
        log.info("timers started", extra={"pending": pending, "scheduled": scheduled, "late": late})
        return pending

    async def _refill(self) -> int:
        """Move the window on: schedule the open rows due by now + WINDOW; how many."""
        horizon = self._clock.now() + WINDOW
        rows = await self._reminders.open_until(horizon)
        self._horizon = horizon
        for reminder in rows:
            if reminder.job_id not in self._due:
                self._schedule(reminder.job_id, reminder.due_at)
        return len(rows)

    async def stop(self) -> None:
        """Stop firing, and let a reminder that is being sent finish (its row stays true)."""
        self._stopping = True  # those queued for the lock stay pending for the next start
        self._clock.unsubscribe(self._clock_moved)
        if not self._scheduler.running:
            return
        self._scheduler.pause()  # nothing new starts…
        if self._running:  # …and what runs may finish: shutdown() would cancel it mid-send
            await asyncio.wait(self._running, timeout=STOP_GRACE_SECONDS)
        self._scheduler.shutdown(wait=False)

    async def at(
        self,
        job_id: str,
        kind: str,
        due: datetime,
        case_id: int | None = None,
        ref: int | None = None,
    ) -> None:
        """Do `kind` at `due` (clock time). The row commits with the caller's transaction."""
        await self._reminders.add(job_id, kind, due, self._clock.now(), case_id=case_id, ref=ref)
        self._arm(job_id, due)

    async def row(self, job_id: str) -> Reminder | None:
        """The stored reminder with this job id (self-re-arming jobs check they exist)."""
        return await self._reminders.get(job_id)

    async def cancel(self, job_id: str) -> None:
        await self._reminders.cancel(job_id, self._clock.now())
        self._unschedule(job_id)

    async def cancel_case(self, case_id: int, kinds: tuple[str, ...] | None = None) -> int:
        """Cancel a case's open reminders (all, or of these kinds)."""
        cancelled = 0
        for reminder in await self._reminders.open_of_case(case_id):
            if kinds is None or reminder.kind in kinds:
                await self.cancel(reminder.job_id)
                cancelled += 1
        return cancelled

    async def run_due(self) -> int:
        """Fire now, one after another, every job due by the clock; how many there were.
        For a caller that moved a fake clock and wants its effects before it looks (the
        scheduler would fire them too, a moment later: a claim runs a job once)."""
        now = self._clock.now()
        due = sorted((at, job_id) for job_id, at in self._due.items() if at <= now)
        for _at, job_id in due:
            await self._fire(job_id)
        return len(due)

    # ------------------------------------------------------------------ firing

    async def _fire(self, job_id: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await self._fire_once(job_id)
        finally:
            self._running.discard(task)

    async def _fire_once(self, job_id: str) -> None:
        self._due.pop(job_id, None)
        stored = await self._reminders.get(job_id)
        if stored is not None and stored.kind in self._shared:
            await self._claim_and_run(job_id)
            return
        async with self._in_flight:
            if not self._stopping:
                await self._claim_and_run(job_id)

    async def _claim_and_run(self, job_id: str) -> None:
        reminder = await self._reminders.claim(job_id, self._clock.now())
        if reminder is None:
            return  # done, cancelled, re-armed for later, or claimed by a double fire
        handler = self._handlers.get(reminder.kind)
        if handler is None:
            log.error("no handler for reminder", extra={"job": job_id})
            return
        try:
            with redone_after_a_crash():  # a claim a crash leaves is fired again at start
                await handler(reminder)
        except Interrupted:
            log.info("reminder interrupted by shutdown", extra={"job": job_id})
            return
        except TransientDeliveryError as error:
            await self._retry(reminder, timedelta(seconds=max(error.retry_after, 30)))
            return
        except Exception:  # a bug must not stop the other reminders; retried a few times
            log.exception("reminder failed", extra={"job": job_id})
            await self._retry(reminder, timedelta(minutes=2**reminder.attempts))
            return
        await self._reminders.finish(reminder, self._clock.now())

    async def _retry(self, reminder: Reminder, delay: timedelta) -> None:
        if reminder.attempts >= MAX_ATTEMPTS:
            log.error("reminder given up", extra={"job": reminder.job_id})
            await self._reminders.cancel(reminder.job_id, self._clock.now())
            return
        due = self._clock.now() + delay
        await self._reminders.release(reminder.job_id, due)
        self._arm(reminder.job_id, due)

    # ------------------------------------------------------------------ scheduling

    def _arm(self, job_id: str, due: datetime) -> None:
        """Schedule it if it is due within the window; a later one waits for a refill (and
        a re-armed job's earlier run goes)."""
        if self._horizon is None or due <= self._horizon:
            self._schedule(job_id, due)
        else:
            self._unschedule(job_id)

    def _schedule(self, job_id: str, due: datetime) -> None:
        self._due[job_id] = due
        self._scheduler.add_job(
            self._fire,
            "date",
            run_date=self._real_time(due),
            id=job_id,
            args=[job_id],
            replace_existing=True,
        )

    def _unschedule(self, job_id: str) -> None:
        self._due.pop(job_id, None)
        with suppress(JobLookupError):  # already fired, or never scheduled in this run
            self._scheduler.remove_job(job_id)

    def _real_time(self, due: datetime) -> datetime:
        wait = max(due - self._clock.now(), timedelta(0))
        return self._real_now() + wait

    def _clock_moved(self) -> None:
        """A fake clock jumped: re-time every job against the new 'now'."""
        for job_id, due in list(self._due.items()):
            try:
                self._scheduler.reschedule_job(
                    job_id, trigger="date", run_date=self._real_time(due)
                )
            except JobLookupError:
                self._due.pop(job_id, None)
        if self._horizon is not None and self._clock.now() + WINDOW > self._horizon:
            task = asyncio.get_running_loop().create_task(self._refill_quietly())
            self._refilling.add(task)
            task.add_done_callback(self._refilling.discard)

    async def _refill_quietly(self) -> None:
        """A refill from the clock or the hourly job; a failure is logged, and the next
        refill (within the hour, before the window runs out) tries again."""
        try:
            await self._refill()
        except Exception:
            log.exception("timers refill failed")

    @property
    def scheduled(self) -> int:
        return len(self._scheduler.get_jobs())
