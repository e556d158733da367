"""The inbox: every update from Telegram, kept before Telegram is told it arrived."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import HANDLED_PAYLOAD, Database
from storage.timefmt import to_db


@dataclass(frozen=True)
class InboxRow:
    update_id: int
    payload: dict[str, Any]


class InboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def store(self, updates: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Keep a batch of updates, in one statement (all or none); returns those not seen
        before (a re-delivered update_id is not stored twice, nor handled twice)."""
        rows = []
        for update in updates:
            chat_id, user_id = _chat_and_user(update)
            payload = json.dumps(update, ensure_ascii=False)
            rows += [update["update_id"], chat_id, user_id, payload, to_db(now)]
        marks = ", ".join(["(?, ?, ?, ?, ?)"] * len(updates))
        stored = await self._db.fetch_all(
            f"""INSERT OR IGNORE INTO inbox (update_id, chat_id, user_id, payload, received_at)
                VALUES {marks} RETURNING update_id""",
            rows,
        )
        fresh = {int(row[0]) for row in stored}
        return [update for update in updates if update["update_id"] in fresh]

    async def mark_handled(self, update_id: int, now: datetime) -> None:
        """Handled: the id stays (a re-delivery is a no-op), what it said goes."""
        await self._db.execute(
            """UPDATE inbox SET handled_at = ?, payload = ?
               WHERE update_id = ? AND handled_at IS NULL""",
            (to_db(now), HANDLED_PAYLOAD, update_id),
        )

    async def unhandled(self) -> list[InboxRow]:
        """What a crash left unhandled, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT update_id, payload FROM inbox WHERE handled_at IS NULL ORDER BY update_id"
        )
        return [InboxRow(row[0], json.loads(row[1])) for row in rows]

    async def last_update_id(self) -> int | None:
        row = await self._db.fetch_one("SELECT MAX(update_id) FROM inbox")
        return int(row[0]) if row and row[0] is not None else None

    async def prune(self, handled_before: datetime) -> int:
        """Forget handled updates older than `handled_before` (the newest row stays, so the
        next getUpdates offset survives a restart)."""
        return await self._db.execute(
            """DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?
                 AND update_id < (SELECT MAX(update_id) FROM inbox)""",
            (to_db(handled_before),),
        )


def _chat_and_user(update: dict[str, Any]) -> tuple[int | None, int | None]:
    """The chat and sender of an update, read from its JSON without parsing it fully."""
    for value in update.values():
        if not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        sender = value.get("from")
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        user_id = sender.get("id") if isinstance(sender, dict) else None
        if chat_id is not None or user_id is not None:
            return _int_or_none(chat_id), _int_or_none(user_id)
    return None, None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
