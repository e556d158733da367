"""Queries behind the staff's overview and the deactivation of a mediator.

Only what a staff screen shows: numbers, states, areas, categories, case numbers and the
team's own members. Never message contents or who a resident is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.cases import OPEN_STATES
from storage.db import Database
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class WaitingOffer:
    """An open offer nobody has answered yet."""

    offer_id: int
    case_id: int
    number: str
    area_id: str | None
    mediator_id: int
    offered_at: datetime


@dataclass(frozen=True)
class WaitingCase:
    """A case that no mediator could be offered yet."""

    number: str
    area_id: str | None
    since: datetime


@dataclass(frozen=True)
class OverdueRevisit:
    number: str
    n: int
    mediator_id: int | None
    sent_at: datetime


@dataclass(frozen=True)
class CaseLine:
    """One open case in the head's list: no resident, no message."""

    number: str
    area_id: str | None
    category: str
    state: str
    mediator_id: int | None  # the mediator it is with, or offered to
    created_at: datetime


class StaffRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def count_by_state(self) -> dict[str, int]:
        rows = await self._db.fetch_all("SELECT state, count(*) FROM cases GROUP BY state")
        return {str(row[0]): int(row[1]) for row in rows}

    async def open_count_by_area(self) -> dict[str | None, int]:
        rows = await self._db.fetch_all(
            f"SELECT area_id, count(*) FROM cases WHERE state IN {OPEN_STATES} GROUP BY area_id"
        )
        return {row[0]: int(row[1]) for row in rows}

    async def open_count_by_category(self) -> dict[str, int]:
        rows = await self._db.fetch_all(
            f"SELECT category, count(*) FROM cases WHERE state IN {OPEN_STATES} GROUP BY category"
        )
        return {str(row[0]): int(row[1]) for row in rows}

    async def waiting_offers(self, mediator_id: int | None = None) -> list[WaitingOffer]:
        """Open offers, oldest first: of everyone, or of one mediator."""
        rows = await self._db.fetch_all(
            """SELECT o.id, o.case_id, c.number, c.area_id, o.mediator_id, o.offered_at
               FROM offers o JOIN cases c ON c.id = o.case_id
               WHERE o.state = 'open' AND (? IS NULL OR o.mediator_id = ?)
               ORDER BY o.offered_at, o.id""",
            (mediator_id, mediator_id),
        )
        return [
            WaitingOffer(
                offer_id=int(row[0]),
                case_id=int(row[1]),
                number=str(row[2]),
                area_id=row[3],
                mediator_id=int(row[4]),
                offered_at=from_db(row[5]),
            )
            for row in rows
        ]

    async def unassigned(self) -> list[WaitingCase]:
        rows = await self._db.fetch_all(
            """SELECT number, area_id, created_at FROM cases
               WHERE state IN ('new', 'unassigned') ORDER BY created_at, id"""
        )
        return [WaitingCase(str(row[0]), row[1], from_db(row[2])) for row in rows]

    async def overdue_revisits(self, sent_before: datetime) -> list[OverdueRevisit]:
        """Revisit cards sent before `sent_before` and still unanswered, oldest first."""
        rows = await self._db.fetch_all(
            """SELECT c.number, v.n, c.mediator_id, v.sent_at
               FROM revisits v JOIN cases c ON c.id = v.case_id
               WHERE v.answer IS NULL AND v.sent_at < ?
               ORDER BY v.sent_at""",
            (to_db(sent_before),),
        )
        return [OverdueRevisit(str(r[0]), int(r[1]), r[2], from_db(r[3])) for r in rows]

    async def open_cases(self) -> list[CaseLine]:
        """Every open case with its mediator (or the one it is offered to), oldest first."""
        rows = await self._db.fetch_all(
            f"""SELECT c.number, c.area_id, c.category, c.state, c.created_at,
                       coalesce(c.mediator_id, o.mediator_id)
                FROM cases c LEFT JOIN offers o ON o.case_id = c.id AND o.state = 'open'
                WHERE c.state IN {OPEN_STATES}
                ORDER BY c.created_at, c.id"""
        )
        return [
            CaseLine(
                number=str(r[0]),
                area_id=r[1],
                category=str(r[2]),
                state=str(r[3]),
                mediator_id=r[5],
                created_at=from_db(r[4]),
            )
            for r in rows
        ]

    async def accepted_case_ids(self, mediator_id: int) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT id FROM cases WHERE state = 'accepted' AND mediator_id = ? ORDER BY id",
            (mediator_id,),
        )
        return [int(row[0]) for row in rows]

    async def awaiting_revisit(self, mediator_id: int) -> list[int]:
        """Settled cases of the mediator with a revisit still to come or unanswered."""
        rows = await self._db.fetch_all(
            """SELECT c.id FROM cases c WHERE c.state = 'settled' AND c.mediator_id = ?
               AND (EXISTS (SELECT 1 FROM reminders r WHERE r.case_id = c.id
                            AND r.kind = 'revisit' AND r.state IN ('pending', 'claimed'))
                    OR EXISTS (SELECT 1 FROM revisits v WHERE v.case_id = c.id
                               AND v.answer IS NULL))
               ORDER BY c.id""",
            (mediator_id,),
        )
        return [int(row[0]) for row in rows]

    async def hand_over(self, case_ids: Sequence[int], to_id: int, now: datetime) -> None:
        """Give settled cases (their revisits) to another team member."""
        async with self._db.transaction() as conn:
            await conn.executemany(
                "UPDATE cases SET mediator_id = ?, updated_at = ? WHERE id = ?",
                [(to_id, to_db(now), case_id) for case_id in case_ids],
            )
