"""The duty roster: weekly slots and dated overrides, stored in local minutes of the day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

import aiosqlite

from bot.domain.roster import Override, Slot
from storage.db import Database


class RosterRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def slots(self) -> list[Slot]:
        rows = await self._db.fetch_all("SELECT * FROM roster_slots ORDER BY id")
        return [_slot(row) for row in rows]

    async def overrides(self, first_day: date) -> list[Override]:
        """Overrides from `first_day` on: older ones no longer change anything."""
        rows = await self._db.fetch_all(
            "SELECT * FROM roster_overrides WHERE day >= ? ORDER BY id", (first_day.isoformat(),)
        )
        return [_override(row) for row in rows]

    async def is_empty(self) -> bool:
        return await self._db.fetch_one("SELECT 1 FROM roster_slots LIMIT 1") is None

    async def add_slots(self, slots: Iterable[Slot]) -> None:
        async with self._db.transaction() as conn:
            await conn.executemany(
                """INSERT INTO roster_slots
                       (area_id, weekday, start_minute, end_minute, mediator_id)
                   VALUES (?, ?, ?, ?, ?)""",
                [
                    (s.area_id, s.weekday, _minutes(s.start), _minutes(s.end), s.mediator_id)
                    for s in slots
                ],
            )

    async def replace_slots(self, slots: Iterable[Slot]) -> None:
        """The whole weekly roster at once (a confirmed import): all of it or nothing."""
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM roster_slots")
            await self.add_slots(slots)

    async def remove_mediator(self, mediator_id: int, first_day: date) -> tuple[int, int]:
        """Drop a mediator's weekly slots and their overrides from `first_day` on.

        Returns how many slots and overrides were removed.
        """
        async with self._db.transaction() as conn:
            async with conn.execute(
                "DELETE FROM roster_slots WHERE mediator_id = ?", (mediator_id,)
            ) as cursor:
                slots = cursor.rowcount
            async with conn.execute(
                "DELETE FROM roster_overrides WHERE mediator_id = ? AND day >= ?",
                (mediator_id, first_day.isoformat()),
            ) as cursor:
                overrides = cursor.rowcount
        return slots, overrides

    async def add_override(self, override: Override) -> None:
        await self._db.execute(
            """INSERT INTO roster_overrides
                   (day, mediator_id, kind, area_id, start_minute, end_minute)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (
                override.day.isoformat(),
                override.mediator_id,
                override.kind,
                override.area_id,
                _minutes(override.start) if override.start is not None else None,
                _minutes(override.end) if override.end is not None else None,
            ),
        )


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _time(minutes: int) -> time:
    # 1440 is the end of the day; time() stops at 23:59:59.999999.
    if minutes >= 1440:
        return time.max
    return time(minutes // 60, minutes % 60)


def _slot(row: aiosqlite.Row) -> Slot:
    return Slot(
        area_id=row["area_id"],
        weekday=row["weekday"],
        start=_time(row["start_minute"]),
        end=_time(row["end_minute"]),
        mediator_id=row["mediator_id"],
    )


def _override(row: aiosqlite.Row) -> Override:
    start, end = row["start_minute"], row["end_minute"]
    return Override(
        day=date.fromisoformat(row["day"]),
        mediator_id=row["mediator_id"],
        kind=row["kind"],
        area_id=row["area_id"],
        start=_time(start) if start is not None else None,
        end=_time(end) if end is not None else None,
    )
