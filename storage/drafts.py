"""Intake drafts: the unfinished request of a resident, kept across restarts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class DraftRecord:
    user_id: int
    step: str
    data: dict[str, Any]
    updated_at: datetime


class DraftRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> DraftRecord | None:
        row = await self._db.fetch_one("SELECT * FROM drafts WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        return DraftRecord(
            user_id=row["user_id"],
            step=row["step"],
            data=json.loads(row["data"]),
            updated_at=from_db(row["updated_at"]),
        )

    async def save(self, user_id: int, step: str, data: dict[str, Any], now: datetime) -> None:
        await self._db.execute(
            """INSERT INTO drafts (user_id, step, data, updated_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET
                   step = excluded.step, data = excluded.data, updated_at = excluded.updated_at""",
            (user_id, step, json.dumps(data, ensure_ascii=False), to_db(now)),
        )

    async def delete(self, user_id: int) -> None:
        await self._db.execute("DELETE FROM drafts WHERE user_id = ?", (user_id,))
