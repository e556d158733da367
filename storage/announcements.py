"""Subscriptions, announcements, their runs, per-recipient deliveries and RSVPs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage.db import Database
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class Subscription:
    user_id: int
    active: bool
    areas: frozenset[str]  # empty: all areas
    topics: frozenset[str]  # empty: all topics


@dataclass(frozen=True)
class Announcement:
    id: int
    author_id: int
    state: str
    step: str | None
    text: str
    photo_file_id: str | None
    areas: tuple[str, ...]
    topics: tuple[str, ...]
    first_at: datetime | None
    repeat: str | None
    rsvp: bool
    event_offset: int | None  # minutes from a sending to its event


@dataclass(frozen=True)
class Run:
    id: int
    announcement_id: int
    n: int
    send_at: datetime
    state: str


@dataclass(frozen=True)
class Report:
    pending: int
    sent: int
    failed: int
    blocked: int
    rsvp_yes: int
    rsvp_no: int


class SubscriptionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> Subscription | None:
        row = await self._db.fetch_one("SELECT * FROM subscribers WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        areas = await self._db.fetch_all(
            "SELECT area_id FROM subscriber_areas WHERE user_id = ?", (user_id,)
        )
        topics = await self._db.fetch_all(
            "SELECT topic_id FROM subscriber_topics WHERE user_id = ?", (user_id,)
        )
        return Subscription(
            user_id=user_id,
            active=bool(row["active"]),
            areas=frozenset(r[0] for r in areas),
            topics=frozenset(r[0] for r in topics),
        )

    async def save(self, subscription: Subscription, now: datetime) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                """INSERT INTO subscribers (user_id, active, subscribed_at, updated_at)
                   VALUES (?, ?, ?, ?)
                   ON CONFLICT (user_id) DO UPDATE SET active = excluded.active,
                       updated_at = excluded.updated_at""",
                (subscription.user_id, int(subscription.active), to_db(now), to_db(now)),
            )
            await conn.execute(
                "DELETE FROM subscriber_areas WHERE user_id = ?", (subscription.user_id,)
            )
            await conn.execute(
                "DELETE FROM subscriber_topics WHERE user_id = ?", (subscription.user_id,)
            )
            await conn.executemany(
                "INSERT INTO subscriber_areas (user_id, area_id) VALUES (?, ?)",
                [(subscription.user_id, a) for a in sorted(subscription.areas)],
            )
            await conn.executemany(
                "INSERT INTO subscriber_topics (user_id, topic_id) VALUES (?, ?)",
                [(subscription.user_id, t) for t in sorted(subscription.topics)],
            )

    async def offered(self, user_id: int) -> bool:
        row = await self._db.fetch_one(
            "SELECT subscription_offered_at FROM users WHERE id = ?", (user_id,)
        )
        return row is not None and row[0] is not None

    async def mark_offered(self, user_id: int, now: datetime) -> None:
        await self._db.execute(
            "UPDATE users SET subscription_offered_at = ? WHERE id = ?", (to_db(now), user_id)
        )

    async def audience(self, areas: Sequence[str], topics: Sequence[str]) -> list[int]:
        """Active subscribers, not blocked, whose areas and topics meet the announcement's."""
        area_list, topic_list = json.dumps(list(areas)), json.dumps(list(topics))
        rows = await self._db.fetch_all(
            """SELECT s.user_id FROM subscribers s JOIN users u ON u.id = s.user_id
               WHERE s.active = 1 AND u.blocked_at IS NULL
                 AND (json_array_length(:areas) = 0
                      OR NOT EXISTS (SELECT 1 FROM subscriber_areas a WHERE a.user_id = s.user_id)
                      OR EXISTS (SELECT 1 FROM subscriber_areas a WHERE a.user_id = s.user_id
                                 AND a.area_id IN (SELECT value FROM json_each(:areas))))
                 AND (json_array_length(:topics) = 0
                      OR NOT EXISTS (SELECT 1 FROM subscriber_topics t
                                     WHERE t.user_id = s.user_id)
                      OR EXISTS (SELECT 1 FROM subscriber_topics t WHERE t.user_id = s.user_id
                                 AND t.topic_id IN (SELECT value FROM json_each(:topics))))
               ORDER BY s.user_id""",
            {"areas": area_list, "topics": topic_list},
        )
        return [int(row[0]) for row in rows]


class AnnouncementRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_draft(self, author_id: int, step: str, now: datetime) -> Announcement:
        await self._db.execute(
            "DELETE FROM announcements WHERE author_id = ? AND state = 'draft'", (author_id,)
        )
        await self._db.execute(
            "INSERT INTO announcements (author_id, step, created_at) VALUES (?, ?, ?)",
            (author_id, step, to_db(now)),
        )
        draft = await self.draft_of(author_id)
        assert draft is not None
        return draft

    async def draft_of(self, author_id: int) -> Announcement | None:
        row = await self._db.fetch_one(
            "SELECT * FROM announcements WHERE author_id = ? AND state = 'draft'", (author_id,)
        )
        return _announcement(row) if row else None

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self._db.fetch_one(
            "SELECT * FROM announcements WHERE id = ?", (announcement_id,)
        )
        return _announcement(row) if row else None

    async def update(self, announcement_id: int, **fields: Any) -> None:
        """Change some columns of an announcement (the composer fills a draft step by step)."""
        allowed = {
            "state",
            "step",
            "text",
            "photo_file_id",
            "areas",
            "topics",
            "first_at",
            "repeat",
            "rsvp",
            "event_offset",
        }
        assert set(fields) <= allowed, set(fields) - allowed
        values = [_column(value) for value in fields.values()]
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await self._db.execute(
            f"UPDATE announcements SET {assignments} WHERE id = ?",
            (*values, announcement_id),
        )

    async def listed(self, limit: int = 20) -> list[Announcement]:
        rows = await self._db.fetch_all(
            """SELECT * FROM announcements WHERE state != 'draft'
               ORDER BY state = 'scheduled' DESC, id DESC LIMIT ?""",
            (limit,),
        )
        return [_announcement(row) for row in rows]

    # ------------------------------------------------------------------ runs

    async def add_run(self, announcement_id: int, n: int, send_at: datetime) -> Run:
        await self._db.execute(
            """INSERT OR IGNORE INTO announcement_runs (announcement_id, n, send_at)
               VALUES (?, ?, ?)""",
            (announcement_id, n, to_db(send_at)),
        )
        row = await self._db.fetch_one(
            "SELECT * FROM announcement_runs WHERE announcement_id = ? AND n = ?",
            (announcement_id, n),
        )
        assert row is not None
        return _run(row)

    async def run(self, run_id: int) -> Run | None:
        row = await self._db.fetch_one("SELECT * FROM announcement_runs WHERE id = ?", (run_id,))
        return _run(row) if row else None

    async def runs_of(self, announcement_id: int) -> list[Run]:
        rows = await self._db.fetch_all(
            "SELECT * FROM announcement_runs WHERE announcement_id = ? ORDER BY n",
            (announcement_id,),
        )
        return [_run(row) for row in rows]

    async def set_run_state(self, run_id: int, state: str, now: datetime) -> None:
        await self._db.execute(
            "UPDATE announcement_runs SET state = ?, finished_at = ? WHERE id = ?",
            (state, to_db(now) if state in ("sent", "cancelled") else None, run_id),
        )

    # ------------------------------------------------------------------ deliveries

    async def add_recipients(self, run_id: int, user_ids: Sequence[int]) -> None:
        """Who this run goes to; a run resumed after a crash adds nobody twice."""
        async with self._db.transaction() as conn:
            await conn.executemany(
                "INSERT OR IGNORE INTO deliveries (run_id, user_id) VALUES (?, ?)",
                [(run_id, user_id) for user_id in user_ids],
            )

    async def pending_recipients(self, run_id: int) -> list[int]:
        rows = await self._db.fetch_all(
            """SELECT user_id FROM deliveries WHERE run_id = ? AND state = 'pending'
               ORDER BY user_id""",
            (run_id,),
        )
        return [int(row[0]) for row in rows]

    async def delivered(
        self, run_id: int, user_id: int, state: str, now: datetime, message_id: int | None = None
    ) -> None:
        await self._db.execute(
            """UPDATE deliveries SET state = ?, message_id = ?, attempts = attempts + 1,
                   updated_at = ? WHERE run_id = ? AND user_id = ?""",
            (state, message_id, to_db(now), run_id, user_id),
        )

    async def attempt_failed(self, run_id: int, user_id: int, now: datetime) -> int:
        """Count a failed try; returns how many tries there have been."""
        await self._db.execute(
            """UPDATE deliveries SET attempts = attempts + 1, updated_at = ?
               WHERE run_id = ? AND user_id = ?""",
            (to_db(now), run_id, user_id),
        )
        row = await self._db.fetch_one(
            "SELECT attempts FROM deliveries WHERE run_id = ? AND user_id = ?", (run_id, user_id)
        )
        return int(row[0]) if row else 0

    async def report(self, run_ids: Sequence[int]) -> Report:
        marks = ",".join("?" * len(run_ids)) or "NULL"
        counts = {
            row[0]: int(row[1])
            for row in await self._db.fetch_all(
                f"SELECT state, count(*) FROM deliveries WHERE run_id IN ({marks}) GROUP BY state",
                tuple(run_ids),
            )
        }
        answers = {
            row[0]: int(row[1])
            for row in await self._db.fetch_all(
                f"SELECT answer, count(*) FROM rsvps WHERE run_id IN ({marks}) GROUP BY answer",
                tuple(run_ids),
            )
        }
        return Report(
            pending=counts.get("pending", 0),
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            blocked=counts.get("blocked", 0),
            rsvp_yes=answers.get("yes", 0),
            rsvp_no=answers.get("no", 0),
        )

    async def set_attendance(self, run_id: int, attended: int) -> None:
        await self._db.execute(
            "UPDATE announcement_runs SET attended = ? WHERE id = ?", (attended, run_id)
        )

    async def rsvp(self, run_id: int, user_id: int, answer: str, now: datetime) -> None:
        await self._db.execute(
            """INSERT INTO rsvps (run_id, user_id, answer, at) VALUES (?, ?, ?, ?)
               ON CONFLICT (run_id, user_id) DO UPDATE SET answer = excluded.answer,
                   at = excluded.at""",
            (run_id, user_id, answer, to_db(now)),
        )

    async def coming(self, run_id: int) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT user_id FROM rsvps WHERE run_id = ? AND answer = 'yes' ORDER BY user_id",
            (run_id,),
        )
        return [int(row[0]) for row in rows]

    async def was_delivered(self, run_id: int, user_id: int) -> bool:
        row = await self._db.fetch_one(
            "SELECT 1 FROM deliveries WHERE run_id = ? AND user_id = ? AND state = 'sent'",
            (run_id, user_id),
        )
        return row is not None


def _column(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_db(value)
    if isinstance(value, tuple | list | frozenset | set):
        return json.dumps(sorted(value))
    if isinstance(value, bool):
        return int(value)
    return value


def _announcement(row: aiosqlite.Row) -> Announcement:
    return Announcement(
        id=row["id"],
        author_id=row["author_id"],
        state=row["state"],
        step=row["step"],
        text=row["text"],
        photo_file_id=row["photo_file_id"],
        areas=tuple(json.loads(row["areas"])),
        topics=tuple(json.loads(row["topics"])),
        first_at=from_db(row["first_at"]) if row["first_at"] else None,
        repeat=row["repeat"],
        rsvp=bool(row["rsvp"]),
        event_offset=row["event_offset"],
    )


def _run(row: aiosqlite.Row) -> Run:
    return Run(
        id=row["id"],
        announcement_id=row["announcement_id"],
        n=row["n"],
        send_at=from_db(row["send_at"]),
        state=row["state"],
    )
