"""People who have talked to the bot: their id and language choice, nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class UserRecord:
    id: int
    language: str | None
    telegram_language: str | None
    created_at: datetime
    consented_at: datetime | None
    area_id: str | None  # remembered for the resident's next case
    blocked_at: datetime | None = None  # they blocked the bot


class UserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def menu_of(self, user_id: int) -> str | None:
        """The command menu Telegram last accepted for her chat (JSON), None: the bot-wide."""
        row = await self._db.fetch_one("SELECT menu FROM users WHERE id = ?", (user_id,))
        return str(row["menu"]) if row and row["menu"] is not None else None

    async def menu_shown(self, user_id: int, menu: str | None) -> None:
        await self._db.execute("UPDATE users SET menu = ? WHERE id = ?", (menu, user_id))

    async def get(self, user_id: int) -> UserRecord | None:
        row = await self._db.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))
        return _record(row) if row else None

    async def many(self, user_ids: list[int]) -> list[UserRecord]:
        """Several users at once (a broadcast's recipients), in chunks SQLite accepts."""
        found: list[UserRecord] = []
        for start in range(0, len(user_ids), 500):
            chunk = user_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetch_all(
                f"SELECT * FROM users WHERE id IN ({marks})",
                chunk,
            )
            found += [_record(row) for row in rows]
        return found

    async def upsert_seen(
        self, user_id: int, telegram_language: str | None, now: datetime
    ) -> UserRecord:
        """Record that the user wrote to us; returns their stored profile."""
        stamp = to_db(now)
        await self._db.execute(
            """INSERT INTO users (id, telegram_language, created_at, updated_at)
               VALUES (?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET
                   telegram_language = excluded.telegram_language,
                   updated_at = excluded.updated_at
               WHERE users.telegram_language IS NOT excluded.telegram_language""",
            (user_id, telegram_language, stamp, stamp),
        )
        record = await self.get(user_id)
        assert record is not None  # just written
        return record

    async def add_consented(self, people: Sequence[tuple[int, str, str]], now: datetime) -> None:
        """Residents who wrote, consented and chose an area: (id, language, area) each, in one
        statement (an import, or a benchmark's district; one transaction per call)."""
        stamp = to_db(now)
        await self._db.execute_many(
            """INSERT INTO users (id, telegram_language, created_at, updated_at, consented_at,
                                  area_id)
               VALUES (?, ?, ?, ?, ?, ?)""",
            [(user_id, language, stamp, stamp, stamp, area) for user_id, language, area in people],
        )

    async def set_language(self, user_id: int, language: str, now: datetime) -> None:
        await self._db.execute(
            "UPDATE users SET language = ?, updated_at = ? WHERE id = ?",
            (language, to_db(now), user_id),
        )

    async def consent(self, user_id: int, now: datetime) -> None:
        await self._db.execute(
            "UPDATE users SET consented_at = ?, updated_at = ? WHERE id = ?",
            (to_db(now), to_db(now), user_id),
        )

    async def remember_area(self, user_id: int, area_id: str, now: datetime) -> None:
        await self._db.execute(
            "UPDATE users SET area_id = ?, updated_at = ? WHERE id = ?",
            (area_id, to_db(now), user_id),
        )

    async def mark_blocked(self, user_id: int, now: datetime | None) -> None:
        """They blocked the bot (`now`), or unblocked it (None)."""
        await self._db.execute(
            "UPDATE users SET blocked_at = ? WHERE id = ?",
            (to_db(now) if now else None, user_id),
        )


def _record(row: aiosqlite.Row) -> UserRecord:
    return UserRecord(
        id=row["id"],
        language=row["language"],
        telegram_language=row["telegram_language"],
        created_at=from_db(row["created_at"]),
        consented_at=from_db(row["consented_at"]) if row["consented_at"] else None,
        area_id=row["area_id"],
        blocked_at=from_db(row["blocked_at"]) if row["blocked_at"] else None,
    )
