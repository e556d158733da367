"""The playground's demo people, and the removal of everything that hangs off them.

Demo data is exactly: the people listed in `demo_people`, every row keyed by their ids
(users, memberships, roster, drafts, subscriptions, invites, blocks, the record of what the
bot sent them, announcements they wrote with their timers, deliveries and RSVPs) and the
cases of demo residents with everything that belongs to a case.

A table that a later migration keys by a user id belongs in `_REMOVALS` too; a foreign key
to `users` without ON DELETE makes the removal fail loudly rather than leave rows behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.people import Role
from storage.db import Database
from storage.timefmt import to_db

_DEMO = "(SELECT user_id FROM demo_people)"
# Order matters: cases first (their timeline, messages, offers, reminders, revisits and
# surveys go with them by ON DELETE CASCADE), then what is keyed by a person, users last.
_REMOVALS: tuple[tuple[str, str], ...] = (
    ("cases", f"DELETE FROM cases WHERE resident_id IN {_DEMO}"),
    ("members", f"DELETE FROM members WHERE user_id IN {_DEMO}"),
    ("roster_slots", f"DELETE FROM roster_slots WHERE mediator_id IN {_DEMO}"),
    ("roster_overrides", f"DELETE FROM roster_overrides WHERE mediator_id IN {_DEMO}"),
    ("invites", f"DELETE FROM invites WHERE created_by IN {_DEMO} OR used_by IN {_DEMO}"),
    ("held_messages", f"DELETE FROM held_messages WHERE user_id IN {_DEMO}"),
    ("pending_inputs", f"DELETE FROM pending_inputs WHERE user_id IN {_DEMO}"),
    ("sent_messages", f"DELETE FROM sent_messages WHERE user_id IN {_DEMO}"),
    ("user_blocks", f"DELETE FROM user_blocks WHERE user_id IN {_DEMO}"),
    (
        "reminders",  # an announcement's timers are not tied to a case: by its runs
        f"""DELETE FROM reminders WHERE kind IN ('announce', 'announce_reminder')
            AND ref IN (SELECT r.id FROM announcement_runs r
                        JOIN announcements a ON a.id = r.announcement_id
                        WHERE a.author_id IN {_DEMO})""",
    ),
    ("announcements", f"DELETE FROM announcements WHERE author_id IN {_DEMO}"),
    ("deliveries", f"DELETE FROM deliveries WHERE user_id IN {_DEMO}"),
    ("rsvps", f"DELETE FROM rsvps WHERE user_id IN {_DEMO}"),
    ("users", f"DELETE FROM users WHERE id IN {_DEMO}"),  # drafts, subscribers: cascade
    ("demo_people", "DELETE FROM demo_people"),
)
# Case numbers stay gap-free for real cases: the counter goes back to the highest number
# still in use (never lower, so no number is ever given out twice).
_RESET_COUNTERS = """
    UPDATE case_counters SET last_seq =
        (SELECT coalesce(max(seq), 0) FROM cases WHERE cases.year = case_counters.year)
"""


@dataclass(frozen=True)
class Removed:
    """How many rows each table lost."""

    rows: dict[str, int]

    @property
    def people(self) -> int:
        return self.rows.get("demo_people", 0)

    @property
    def cases(self) -> int:
        return self.rows.get("cases", 0)


class DemoRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def people(self) -> dict[int, Role]:
        rows = await self._db.fetch_all("SELECT user_id, role FROM demo_people ORDER BY user_id")
        return {int(row[0]): row[1] for row in rows}

    async def add(self, user_id: int, role: Role, now: datetime) -> None:
        await self._db.execute(
            """INSERT INTO demo_people (user_id, role, added_at) VALUES (?, ?, ?)
               ON CONFLICT (user_id) DO NOTHING""",
            (user_id, role, to_db(now)),
        )

    async def remove_all(self) -> Removed:
        """Delete every demo row in one transaction; real data is left as it was."""
        counts: dict[str, int] = {}
        async with self._db.transaction() as conn:
            existing = await self._tables()
            for table, sql in _REMOVALS:
                if table in existing:
                    async with conn.execute(sql) as cursor:
                        counts[table] = cursor.rowcount
            await conn.execute(_RESET_COUNTERS)
        return Removed({table: n for table, n in counts.items() if n})

    async def _tables(self) -> set[str]:
        rows = await self._db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row[0]) for row in rows}
