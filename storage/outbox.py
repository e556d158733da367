"""The outbox: what the bot is to send, a row each, until Telegram has it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.core.pacing import CONVERSATION
from storage.db import Database
from storage.timefmt import to_db


@dataclass(frozen=True)
class OutboxRow:
    id: int
    chat_id: int
    priority: int
    purpose: str  # which deliverer sends it ('message', 'relay', …)
    payload: dict[str, Any]
    data: bytes | None
    case_id: int | None
    book_id: int | None


class OutboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        chat_id: int,
        purpose: str,
        payload: dict[str, Any],
        now: datetime,
        *,
        priority: int = CONVERSATION,
        data: bytes | None = None,
        case_id: int | None = None,
        book_id: int | None = None,
    ) -> int:
        return await self._db.insert(
            """INSERT INTO outbox (chat_id, priority, purpose, payload, data, case_id,
                                   book_id, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                chat_id,
                priority,
                purpose,
                json.dumps(payload, ensure_ascii=False),
                data,
                case_id,
                book_id,
                to_db(now),
            ),
        )

    async def waiting_rows(self) -> list[OutboxRow]:
        """Every row not yet done, in the order written (at start)."""
        rows = await self._db.fetch_all("SELECT * FROM outbox ORDER BY id")
        return [_row(row) for row in rows]

    async def done(self, row_id: int) -> None:
        await self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

    async def waiting(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM outbox")
        return int(row[0]) if row else 0


def _row(row: aiosqlite.Row) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        chat_id=row["chat_id"],
        priority=row["priority"],
        purpose=row["purpose"],
        payload=json.loads(row["payload"]),
        data=row["data"],
        case_id=row["case_id"],
        book_id=row["book_id"],
    )
