"""Revisits, surveys and the queries of the weekly digest."""

from __future__ import annotations

from datetime import datetime

from bot.domain.cases import OPEN_STATES, CaseRecord
from storage.cases import _case
from storage.db import Database
from storage.timefmt import to_db

SURVEY_COMMENT = "survey_comment"


class FollowUpRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def revisit_sent(self, case_id: int, n: int, now: datetime) -> None:
        await self._db.execute(
            """INSERT INTO revisits (case_id, n, sent_at) VALUES (?, ?, ?)
               ON CONFLICT (case_id, n) DO UPDATE SET sent_at = excluded.sent_at""",
            (case_id, n, to_db(now)),
        )

    async def revisit_open(self, case_id: int, n: int) -> bool:
        """Sent and not answered yet."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM revisits WHERE case_id = ? AND n = ? AND answer IS NULL",
            (case_id, n),
        )
        return row is not None

    async def revisit_answered(self, case_id: int, n: int, answer: str, now: datetime) -> None:
        await self._db.execute(
            "UPDATE revisits SET answer = ?, answered_at = ? WHERE case_id = ? AND n = ?",
            (answer, to_db(now), case_id, n),
        )

    async def survey_rating(self, case_id: int, rating: int, now: datetime) -> None:
        await self._db.execute(
            """INSERT INTO surveys (case_id, rating, answered_at) VALUES (?, ?, ?)
               ON CONFLICT (case_id) DO UPDATE SET rating = excluded.rating,
                   answered_at = excluded.answered_at""",
            (case_id, rating, to_db(now)),
        )

    async def survey_resolved(self, case_id: int, resolved: bool, now: datetime) -> None:
        await self._db.execute(
            "UPDATE surveys SET resolved = ?, answered_at = ? WHERE case_id = ?",
            (int(resolved), to_db(now), case_id),
        )

    async def survey_comment(self, case_id: int, comment: str, now: datetime) -> None:
        async with self._db.transaction():
            await self._db.execute(
                "UPDATE surveys SET comment = ?, answered_at = ? WHERE case_id = ?",
                (comment, to_db(now), case_id),
            )
            await self._db.execute(
                "DELETE FROM pending_inputs WHERE case_id = ? AND kind = ?",
                (case_id, SURVEY_COMMENT),
            )

    async def survey(self, case_id: int) -> tuple[int | None, bool | None, str | None] | None:
        row = await self._db.fetch_one("SELECT * FROM surveys WHERE case_id = ?", (case_id,))
        if row is None:
            return None
        resolved = None if row["resolved"] is None else bool(row["resolved"])
        return row["rating"], resolved, row["comment"]

    async def await_comment(self, user_id: int, case_id: int, now: datetime) -> None:
        await self._db.execute(
            """INSERT OR REPLACE INTO pending_inputs (user_id, kind, case_id, data, created_at)
               VALUES (?, ?, ?, '{}', ?)""",
            (user_id, SURVEY_COMMENT, case_id, to_db(now)),
        )

    async def awaited_comment(self, user_id: int) -> int | None:
        row = await self._db.fetch_one(
            "SELECT case_id FROM pending_inputs WHERE user_id = ? AND kind = ?",
            (user_id, SURVEY_COMMENT),
        )
        return int(row[0]) if row else None

    async def clear_comment(self, user_id: int) -> None:
        await self._db.execute(
            "DELETE FROM pending_inputs WHERE user_id = ? AND kind = ?", (user_id, SURVEY_COMMENT)
        )

    async def open_cases(self, mediator_id: int | None) -> list[CaseRecord]:
        """Open cases: of one mediator (assigned, offered to them, or urgent and waiting for
        someone they were alerted with), or of the society."""
        if mediator_id is None:
            sql = f"SELECT * FROM cases WHERE state IN {OPEN_STATES} ORDER BY id"
            rows = await self._db.fetch_all(sql)
        else:
            rows = await self._db.fetch_all(
                """SELECT * FROM cases WHERE (state = 'accepted' AND mediator_id = ?)
                   OR id IN (SELECT case_id FROM offers WHERE state = 'open' AND mediator_id = ?)
                   OR (urgent = 1 AND state IN ('new', 'unassigned', 'offered')
                       AND id IN (SELECT case_id FROM urgent_alerts
                                  WHERE user_id = ? AND can_take = 1))
                   ORDER BY id""",
                (mediator_id, mediator_id, mediator_id),
            )
        return [_case(row) for row in rows]

    async def revisits_due(
        self, mediator_id: int | None, start: datetime, end: datetime
    ) -> list[tuple[str, int]]:
        """(case number, revisit number) of revisit reminders falling due in [start, end)."""
        rows = await self._db.fetch_all(
            """SELECT c.number, r.ref FROM reminders r JOIN cases c ON c.id = r.case_id
               WHERE r.kind = 'revisit' AND r.state = 'pending' AND r.due_at >= ?
                 AND r.due_at < ? AND (? IS NULL OR c.mediator_id = ?)
               ORDER BY r.due_at""",
            (to_db(start), to_db(end), mediator_id, mediator_id),
        )
        return [(str(row[0]), int(row[1])) for row in rows]

    async def revisits_overdue(
        self, mediator_id: int | None, sent_before: datetime
    ) -> list[tuple[str, int]]:
        rows = await self._db.fetch_all(
            """SELECT c.number, v.n FROM revisits v JOIN cases c ON c.id = v.case_id
               WHERE v.answer IS NULL AND v.sent_at < ? AND (? IS NULL OR c.mediator_id = ?)
               ORDER BY v.sent_at""",
            (to_db(sent_before), mediator_id, mediator_id),
        )
        return [(str(row[0]), int(row[1])) for row in rows]
