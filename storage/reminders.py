"""Reminders: one row per thing the bot must do at a time; the database is the truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

import aiosqlite

from storage.db import Database
from storage.timefmt import from_db, to_db

ReminderState = Literal["pending", "claimed", "done", "cancelled"]


@dataclass(frozen=True)
class Reminder:
    id: int
    job_id: str
    kind: str
    case_id: int | None
    ref: int | None
    due_at: datetime
    state: ReminderState
    late: bool
    attempts: int


class ReminderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        job_id: str,
        kind: str,
        due_at: datetime,
        now: datetime,
        *,
        case_id: int | None = None,
        ref: int | None = None,
    ) -> Reminder:
        """Create (or re-arm, if it exists) the reminder with this job id."""
        await self._db.execute(
            """INSERT INTO reminders (job_id, kind, case_id, ref, due_at, created_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (job_id) DO UPDATE SET due_at = excluded.due_at,
                   state = 'pending', late = 0, attempts = 0, done_at = NULL""",
            (job_id, kind, case_id, ref, to_db(due_at), to_db(now)),
        )
        reminder = await self.get(job_id)
        assert reminder is not None
        return reminder

    async def add_many(
        self, reminders: Sequence[tuple[str, str, datetime, int | None, int | None]], now: datetime
    ) -> None:
        """Many new reminders at once: (job id, kind, due, case id, ref) each (an import, or a
        benchmark's district); an existing job id is re-armed as `add` does."""
        await self._db.execute_many(
            """INSERT INTO reminders (job_id, kind, case_id, ref, due_at, created_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (job_id) DO UPDATE SET due_at = excluded.due_at,
                   state = 'pending', late = 0, attempts = 0, done_at = NULL""",
            [
                (job_id, kind, case_id, ref, to_db(due), to_db(now))
                for job_id, kind, due, case_id, ref in reminders
            ],
        )

    async def get(self, job_id: str) -> Reminder | None:
        row = await self._db.fetch_one("SELECT * FROM reminders WHERE job_id = ?", (job_id,))
        return _reminder(row) if row else None

    async def open(self) -> list[Reminder]:
        """Everything still to do, whenever it is due (the timers take a day at a time)."""
        rows = await self._db.fetch_all(
            "SELECT * FROM reminders WHERE state IN ('pending', 'claimed') ORDER BY due_at"
        )
        return [_reminder(row) for row in rows]

    async def open_until(self, horizon: datetime) -> list[Reminder]:
        """Everything still to do by `horizon`: pending, and claimed by a run that died
        mid-send (the timers hold a day's worth; the rest waits here)."""
        rows = await self._db.fetch_all(
            """SELECT * FROM reminders WHERE state IN ('pending', 'claimed') AND due_at <= ?
               ORDER BY due_at""",
            (to_db(horizon),),
        )
        return [_reminder(row) for row in rows]

    async def count_open(self) -> int:
        row = await self._db.fetch_one(
            "SELECT count(*) FROM reminders WHERE state IN ('pending', 'claimed')"
        )
        return int(row[0]) if row else 0

    async def mark_late(self, now: datetime) -> int:
        """Those due by `now` fell due while the bot was down; how many."""
        return await self._db.execute(
            """UPDATE reminders SET late = 1
               WHERE state IN ('pending', 'claimed') AND due_at <= ? AND late = 0""",
            (to_db(now),),
        )

    async def claim(self, job_id: str, now: datetime) -> Reminder | None:
        """Take the reminder for sending; None if it is not due, taken, done or cancelled."""
        async with self._db.transaction():
            changed = await self._db.execute(
                """UPDATE reminders SET state = 'claimed', attempts = attempts + 1
                   WHERE job_id = ? AND state = 'pending' AND due_at <= ?""",
                (job_id, to_db(now)),
            )
            return await self.get(job_id) if changed else None

    async def recover_claimed(self) -> int:
        """At start: rows a crashed run had claimed were in flight; they are sent again
        (at most that one message twice — the price of never losing one)."""
        return await self._db.execute(
            "UPDATE reminders SET state = 'pending' WHERE state = 'claimed'"
        )

    async def finish(self, claimed: Reminder, now: datetime) -> None:
        """Done — unless it was re-armed for another time meanwhile (the weekly digest)."""
        await self._db.execute(
            """UPDATE reminders SET state = 'done', done_at = ?
               WHERE job_id = ? AND state = 'claimed' AND due_at = ?""",
            (to_db(now), claimed.job_id, to_db(claimed.due_at)),
        )

    async def release(self, job_id: str, due_at: datetime) -> None:
        """A send failed for a passing reason: try again at `due_at`."""
        await self._db.execute(
            "UPDATE reminders SET state = 'pending', due_at = ? WHERE job_id = ?",
            (to_db(due_at), job_id),
        )

    async def cancel(self, job_id: str, now: datetime) -> bool:
        changed = await self._db.execute(
            """UPDATE reminders SET state = 'cancelled', done_at = ?
               WHERE job_id = ? AND state IN ('pending', 'claimed')""",
            (to_db(now), job_id),
        )
        return changed == 1

    async def open_of_case(self, case_id: int) -> list[Reminder]:
        rows = await self._db.fetch_all(
            """SELECT * FROM reminders WHERE case_id = ? AND state IN ('pending', 'claimed')
               ORDER BY due_at""",
            (case_id,),
        )
        return [_reminder(row) for row in rows]


def _reminder(row: aiosqlite.Row) -> Reminder:
    return Reminder(
        id=row["id"],
        job_id=row["job_id"],
        kind=row["kind"],
        case_id=row["case_id"],
        ref=row["ref"],
        due_at=from_db(row["due_at"]),
        state=cast(ReminderState, row["state"]),
        late=bool(row["late"]),
        attempts=row["attempts"],
    )
