"""Who read a case and when (migration 0013): the confidentiality record of each case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.db import Database
from storage.timefmt import from_db, to_db

What = Literal["case", "book", "consultation"]


@dataclass(frozen=True)
class Access:
    case_id: int
    at: datetime
    reader_id: int
    role: str
    name: str
    what: What


class AccessRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, access: Access) -> None:
        await self._db.execute(
            """INSERT INTO case_access (case_id, at, reader_id, role, name, what)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (
                access.case_id,
                to_db(access.at),
                access.reader_id,
                access.role,
                access.name,
                access.what,
            ),
        )

    async def of_case(self, case_id: int) -> list[Access]:
        rows = await self._db.fetch_all(
            "SELECT * FROM case_access WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [
            Access(
                case_id=row["case_id"],
                at=from_db(row["at"]),
                reader_id=row["reader_id"],
                role=row["role"],
                name=row["name"],
                what=row["what"],
            )
            for row in rows
        ]
