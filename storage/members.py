"""Mediators, the head, the adviser, promoted staff — and the invites that made them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

import aiosqlite

from bot.roster import DutyMode
from storage.db import Database
from storage.timefmt import from_db, to_db

Role = Literal["mediator", "head", "adviser", "staff"]
InviteRole = Literal["mediator", "head", "adviser"]


@dataclass(frozen=True)
class MemberRecord:
    user_id: int
    role: Role
    area_id: str | None
    display_name: str
    duty_mode: DutyMode
    active: bool
    language: str | None  # the user's own choice, see bot.i18n.negotiate
    telegram_language: str | None
    current_case_id: int | None = None  # chosen with /case
    current_case_at: datetime | None = None  # when she chose it explicitly (None: never)
    capacity: int | None = None  # open cases she can carry (None: no limit)


@dataclass(frozen=True)
class Seen:
    language: str | None
    telegram_language: str | None
    member: MemberRecord | None
    busy: str | None  # 'draft', 'announce', or a pending input's kind


@dataclass(frozen=True)
class InviteRecord:
    token: str
    role: InviteRole
    area_id: str | None
    created_by: int
    expires_at: datetime
    used_by: int | None


_MEMBER_SELECT = """
    SELECT m.*, u.language, u.telegram_language FROM members m JOIN users u ON u.id = m.user_id
"""


class MemberRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def seen(self, user_id: int) -> Seen | None:
        """Who is writing: their profile, their membership, and what they are in the
        middle of (an intake, a command waiting for text, an announcement draft).
        Asked on every update: one indexed query.
        """
        row = await self._db.fetch_one(
            """SELECT u.language AS u_language, u.telegram_language AS u_telegram_language,
                      m.*,
                      CASE WHEN EXISTS (SELECT 1 FROM drafts d WHERE d.user_id = u.id)
                           THEN 'draft'
                           WHEN EXISTS (SELECT 1 FROM announcements a
                                        WHERE a.author_id = u.id AND a.state = 'draft')
                           THEN 'announce'
                           ELSE (SELECT p.kind FROM pending_inputs p WHERE p.user_id = u.id)
                      END AS busy
               FROM users u LEFT JOIN members m ON m.user_id = u.id WHERE u.id = ?""",
            (user_id,),
        )
        if row is None:
            return None
        member = None
        if row["user_id"] is not None:
            member = MemberRecord(
                user_id=row["user_id"],
                role=cast(Role, row["role"]),
                area_id=row["area_id"],
                display_name=row["display_name"],
                duty_mode=cast(DutyMode, row["duty_mode"]),
                active=bool(row["active"]),
                language=row["u_language"],
                telegram_language=row["u_telegram_language"],
                current_case_id=row["current_case_id"],
                current_case_at=_moment(row["current_case_at"]),
                capacity=row["capacity"],
            )
        return Seen(row["u_language"], row["u_telegram_language"], member, row["busy"])

    async def get(self, user_id: int) -> MemberRecord | None:
        row = await self._db.fetch_one(_MEMBER_SELECT + " WHERE m.user_id = ?", (user_id,))
        return _member(row) if row else None

    async def active(self, role: Role | None = None) -> list[MemberRecord]:
        sql = _MEMBER_SELECT + " WHERE m.active = 1"
        params: tuple[str, ...] = ()
        if role is not None:
            sql += " AND m.role = ?"
            params = (role,)
        rows = await self._db.fetch_all(sql + " ORDER BY m.user_id", params)
        return [_member(row) for row in rows]

    async def display_names(self) -> dict[int, str]:
        """Every team member ever, active or not: the registration book names them."""
        rows = await self._db.fetch_all("SELECT user_id, display_name FROM members")
        return {int(row[0]): str(row[1]) for row in rows}

    async def save(
        self, user_id: int, role: Role, area_id: str | None, now: datetime
    ) -> MemberRecord:
        """Make the user a member with this role (a second invite changes the role)."""
        await self._db.execute(
            """INSERT INTO members (user_id, role, area_id, joined_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET
                   role = excluded.role, area_id = excluded.area_id, active = 1""",
            (user_id, role, area_id, to_db(now)),
        )
        member = await self.get(user_id)
        assert member is not None
        return member

    async def set_display_name(self, user_id: int, name: str) -> None:
        await self._db.execute(
            "UPDATE members SET display_name = ? WHERE user_id = ?", (name, user_id)
        )

    async def set_duty_mode(self, user_id: int, mode: DutyMode) -> None:
        await self._db.execute(
            "UPDATE members SET duty_mode = ? WHERE user_id = ?", (mode, user_id)
        )

    async def set_active(self, user_id: int, active: bool) -> None:
        """Deactivated members keep their row (the registration book names them)."""
        await self._db.execute(
            "UPDATE members SET active = ?, current_case_id = NULL WHERE user_id = ?",
            (int(active), user_id),
        )

    async def set_role(self, user_id: int, role: Role) -> None:
        await self._db.execute("UPDATE members SET role = ? WHERE user_id = ?", (role, user_id))

    async def set_current_case(
        self, user_id: int, case_id: int | None, chosen_at: datetime | None = None
    ) -> None:
        """Her current case; `chosen_at` when she chose it herself (/case, a case button,
        a reply, taking it), so that an unquoted message may go there for a while."""
        await self._db.execute(
            "UPDATE members SET current_case_id = ?, current_case_at = ? WHERE user_id = ?",
            (case_id, to_db(chosen_at) if chosen_at and case_id else None, user_id),
        )

    async def set_capacity(self, user_id: int, capacity: int | None) -> None:
        await self._db.execute(
            "UPDATE members SET capacity = ? WHERE user_id = ?", (capacity, user_id)
        )

    async def phrases(self, user_id: int) -> list[tuple[int, str]]:
        """Her saved phrases (id, text), oldest first."""
        rows = await self._db.fetch_all(
            "SELECT id, text FROM saved_phrases WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [(int(row[0]), str(row[1])) for row in rows]

    async def add_phrase(self, user_id: int, text: str, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO saved_phrases (user_id, text, created_at) VALUES (?, ?, ?)",
            (user_id, text, to_db(now)),
        )

    async def delete_phrase(self, user_id: int, phrase_id: int) -> bool:
        changed = await self._db.execute(
            "DELETE FROM saved_phrases WHERE id = ? AND user_id = ?", (phrase_id, user_id)
        )
        return changed == 1

    async def add_invite(self, invite: InviteRecord, now: datetime) -> None:
        await self._db.execute(
            """INSERT INTO invites (token, role, area_id, created_by, created_at, expires_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (
                invite.token,
                invite.role,
                invite.area_id,
                invite.created_by,
                to_db(now),
                to_db(invite.expires_at),
            ),
        )

    async def get_invite(self, token: str) -> InviteRecord | None:
        row = await self._db.fetch_one("SELECT * FROM invites WHERE token = ?", (token,))
        return _invite(row) if row else None

    async def use_invite(self, token: str, user_id: int, now: datetime) -> bool:
        """Mark the invite used; False when someone else got there first."""
        changed = await self._db.execute(
            "UPDATE invites SET used_by = ?, used_at = ? WHERE token = ? AND used_by IS NULL",
            (user_id, to_db(now), token),
        )
        return changed == 1


def _member(row: aiosqlite.Row) -> MemberRecord:
    return MemberRecord(
        user_id=row["user_id"],
        role=cast(Role, row["role"]),
        area_id=row["area_id"],
        display_name=row["display_name"],
        duty_mode=cast(DutyMode, row["duty_mode"]),
        active=bool(row["active"]),
        language=row["language"],
        telegram_language=row["telegram_language"],
        current_case_id=row["current_case_id"],
        current_case_at=_moment(row["current_case_at"]),
        capacity=row["capacity"],
    )


def _moment(value: str | None) -> datetime | None:
    return from_db(value) if value else None


def _invite(row: aiosqlite.Row) -> InviteRecord:
    return InviteRecord(
        token=row["token"],
        role=cast(InviteRole, row["role"]),
        area_id=row["area_id"],
        created_by=row["created_by"],
        expires_at=from_db(row["expires_at"]),
        used_by=row["used_by"],
    )
