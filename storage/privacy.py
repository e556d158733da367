"""What a person's data rights need: everything about them, and erasing it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database
from storage.timefmt import to_db


@dataclass(frozen=True)
class Block:
    user_id: int
    reason: str
    by_id: int


class PrivacyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about one resident, as plain data."""
        user = await self._db.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))
        cases = await self._db.fetch_all(
            """SELECT id, number, area_id, category, urgent, contact, phone, state,
                      outcome_text, created_at, closed_at
               FROM cases WHERE resident_id = ? ORDER BY id""",
            (user_id,),
        )
        data: dict[str, Any] = {
            "profile": dict(user) if user else None,
            "subscription": await self._subscription(user_id),
            "cases": [],
        }
        for case in cases:
            messages = await self._db.fetch_all(
                """SELECT at, author, kind, text FROM case_messages
                   WHERE case_id = ? AND author = 'resident' ORDER BY id""",
                (case["id"],),
            )
            survey = await self._db.fetch_one(
                "SELECT rating, resolved, comment FROM surveys WHERE case_id = ?", (case["id"],)
            )
            entry = {k: case[k] for k in case.keys() if k != "id"}  # noqa: SIM118 - Row
            entry["your_messages"] = [dict(m) for m in messages]
            entry["survey"] = dict(survey) if survey else None
            data["cases"].append(entry)
        return data

    async def _subscription(self, user_id: int) -> dict[str, Any] | None:
        row = await self._db.fetch_one(
            "SELECT active, subscribed_at FROM subscribers WHERE user_id = ?", (user_id,)
        )
        if row is None:
            return None
        areas = await self._db.fetch_all(
            "SELECT area_id FROM subscriber_areas WHERE user_id = ?", (user_id,)
        )
        topics = await self._db.fetch_all(
            "SELECT topic_id FROM subscriber_topics WHERE user_id = ?", (user_id,)
        )
        return {
            "active": bool(row["active"]),
            "since": row["subscribed_at"],
            "areas": [r[0] for r in areas],
            "topics": [r[0] for r in topics],
        }

    async def case_ids_of(self, user_id: int) -> list[int]:
        rows = await self._db.fetch_all("SELECT id FROM cases WHERE resident_id = ?", (user_id,))
        return [int(row[0]) for row in rows]

    async def erase(self, user_id: int, case_ids: list[int]) -> None:
        """Erase a resident: contents of their cases and everything that points at them.

        Call inside a transaction. The cases stay, anonymous, for the statistics.
        """
        marks = ",".join("?" * len(case_ids)) or "NULL"
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (f"DELETE FROM case_messages WHERE case_id IN ({marks})", tuple(case_ids)),
            (f"DELETE FROM case_notes WHERE case_id IN ({marks})", tuple(case_ids)),
            (f"DELETE FROM relay_map WHERE case_id IN ({marks})", tuple(case_ids)),
            (
                f"UPDATE cases SET phone = NULL, outcome_text = NULL WHERE id IN ({marks})",
                tuple(case_ids),
            ),
            (f"UPDATE surveys SET comment = NULL WHERE case_id IN ({marks})", tuple(case_ids)),
            (f"DELETE FROM outbox WHERE case_id IN ({marks})", tuple(case_ids)),
            ("DELETE FROM outbox WHERE chat_id = ?", (user_id,)),
            ("DELETE FROM inbox WHERE user_id = ? OR chat_id = ?", (user_id, user_id)),
            ("DELETE FROM relay_showing WHERE chat_id = ?", (user_id,)),
            ("DELETE FROM held_messages WHERE user_id = ?", (user_id,)),
            ("DELETE FROM pending_inputs WHERE user_id = ?", (user_id,)),
            ("DELETE FROM rsvps WHERE user_id = ?", (user_id,)),
            ("DELETE FROM deliveries WHERE user_id = ?", (user_id,)),
            ("DELETE FROM sent_messages WHERE user_id = ?", (user_id,)),
            # users cascades to drafts and subscriptions; cases.resident_id becomes NULL.
            ("DELETE FROM users WHERE id = ?", (user_id,)),
        ]
        for sql, params in statements:
            await self._db.execute(sql, params)

    async def purge_closed_before(self, before: datetime, now: datetime) -> list[int]:
        """Message contents and notes of cases closed before `before`; returns their ids."""
        rows = await self._db.fetch_all(
            """SELECT id FROM cases WHERE closed_at IS NOT NULL AND closed_at < ?
               AND purged_at IS NULL AND state NOT IN ('new', 'unassigned', 'offered',
               'accepted')""",
            (to_db(before),),
        )
        ids = [int(row[0]) for row in rows]
        async with self._db.transaction():
            for case_id in ids:
                await self._db.execute("DELETE FROM case_messages WHERE case_id = ?", (case_id,))
                await self._db.execute("DELETE FROM case_notes WHERE case_id = ?", (case_id,))
                await self._db.execute("DELETE FROM relay_map WHERE case_id = ?", (case_id,))
                await self._db.execute("DELETE FROM outbox WHERE case_id = ?", (case_id,))
                await self._db.execute(
                    "UPDATE cases SET purged_at = ? WHERE id = ?", (to_db(now), case_id)
                )
        return ids

    async def set_discreet(self, user_id: int, on: bool) -> None:
        await self._db.execute("UPDATE users SET discreet = ? WHERE id = ?", (int(on), user_id))

    async def is_discreet(self, user_id: int) -> bool:
        row = await self._db.fetch_one("SELECT discreet FROM users WHERE id = ?", (user_id,))
        return row is not None and bool(row[0])

    async def remember_sent(self, user_id: int, message_id: int, now: datetime) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO sent_messages (user_id, message_id, at) VALUES (?, ?, ?)",
            (user_id, message_id, to_db(now)),
        )

    async def sent_since(self, user_id: int, since: datetime) -> tuple[list[int], int]:
        """Messages the bot sent this user: (still deletable ids, how many are too old)."""
        rows = await self._db.fetch_all(
            "SELECT message_id, at FROM sent_messages WHERE user_id = ? ORDER BY message_id",
            (user_id,),
        )
        recent = [int(r[0]) for r in rows if r[1] >= to_db(since)]
        return recent, len(rows) - len(recent)

    async def forget_sent(self, user_id: int) -> None:
        await self._db.execute("DELETE FROM sent_messages WHERE user_id = ?", (user_id,))

    async def block(self, block: Block, now: datetime) -> None:
        await self._db.execute(
            """INSERT INTO user_blocks (user_id, reason, by_id, at) VALUES (?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET reason = excluded.reason,
                   by_id = excluded.by_id, at = excluded.at""",
            (block.user_id, block.reason, block.by_id, to_db(now)),
        )

    async def unblock(self, user_id: int) -> bool:
        return await self._db.execute("DELETE FROM user_blocks WHERE user_id = ?", (user_id,)) == 1

    async def blocked_ids(self) -> set[int]:
        rows = await self._db.fetch_all("SELECT user_id FROM user_blocks")
        return {int(row[0]) for row in rows}
