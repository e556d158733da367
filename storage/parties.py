"""The other party of a case, whom a mediator talks to, and the agreement of a settlement."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import aiosqlite

from storage.db import Database
from storage.timefmt import from_db, to_db

Side = Literal["resident", "party"]
Form = Literal["written", "oral"]


@dataclass(frozen=True)
class PartyRecord:
    """The other party (对方当事人) of a case, from the invite on."""

    case_id: int
    pseudonym: str
    invited_by: int
    invited_at: datetime
    user_id: int | None
    opened_at: datetime | None
    notice_at: datetime | None
    consented_at: datetime | None
    ended_at: datetime | None

    @property
    def taking_part(self) -> bool:
        """Joined with consent and not ended: their messages go to the mediator."""
        return self.user_id is not None and self.consented_at is not None and not self.ended_at


@dataclass(frozen=True)
class AgreementRecord:
    case_id: int
    form: Form
    content: dict[str, Any]
    made_at: datetime
    made_by: int


class PartyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def invite(
        self, case_id: int, token_hash: str, pseudonym: str, by: int, now: datetime
    ) -> None:
        """A new invite for the case's other party; an earlier unused one stops working."""
        await self._db.execute(
            """INSERT INTO case_parties (case_id, token_hash, pseudonym, invited_by, invited_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (case_id) DO UPDATE SET token_hash = excluded.token_hash,
                   invited_by = excluded.invited_by, invited_at = excluded.invited_at,
                   user_id = NULL, opened_at = NULL, notice_at = NULL, consented_at = NULL,
                   ended_at = NULL""",
            (case_id, token_hash, pseudonym, by, to_db(now)),
        )

    async def get(self, case_id: int) -> PartyRecord | None:
        row = await self._db.fetch_one("SELECT * FROM case_parties WHERE case_id = ?", (case_id,))
        return _party(row) if row else None

    async def by_token(self, token_hash: str) -> PartyRecord | None:
        row = await self._db.fetch_one(
            "SELECT * FROM case_parties WHERE token_hash = ?", (token_hash,)
        )
        return _party(row) if row else None

    async def claim(self, case_id: int, token_hash: str, user_id: int, now: datetime) -> bool:
        """The link's one use: True for the first person to open it, False after."""
        changed = await self._db.execute(
            """UPDATE case_parties SET user_id = ?, opened_at = ?, notice_at = ?
               WHERE case_id = ? AND token_hash = ? AND opened_at IS NULL""",
            (user_id, to_db(now), to_db(now), case_id, token_hash),
        )
        return bool(changed)

    async def consent(self, case_id: int, now: datetime) -> bool:
        changed = await self._db.execute(
            """UPDATE case_parties SET consented_at = ?
               WHERE case_id = ? AND consented_at IS NULL AND ended_at IS NULL""",
            (to_db(now), case_id),
        )
        return bool(changed)

    async def end(self, case_id: int, now: datetime) -> bool:
        changed = await self._db.execute(
            "UPDATE case_parties SET ended_at = ? WHERE case_id = ? AND ended_at IS NULL",
            (to_db(now), case_id),
        )
        return bool(changed)

    async def of_user(self, user_id: int) -> list[PartyRecord]:
        """The cases this person takes part in as the other party (joined, not ended)."""
        rows = await self._db.fetch_all(
            """SELECT * FROM case_parties WHERE user_id = ? AND consented_at IS NOT NULL
               AND ended_at IS NULL ORDER BY case_id""",
            (user_id,),
        )
        return [_party(row) for row in rows]

    async def set_focus(self, user_id: int, case_id: int, channel: str) -> None:
        await self._db.execute(
            """INSERT INTO party_focus (user_id, case_id, channel) VALUES (?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET case_id = excluded.case_id,
                   channel = excluded.channel""",
            (user_id, case_id, channel),
        )

    async def focus(self, user_id: int, case_id: int) -> str:
        """Whom this mediator's messages without a reply go to in this case."""
        row = await self._db.fetch_one(
            "SELECT channel FROM party_focus WHERE user_id = ? AND case_id = ?",
            (user_id, case_id),
        )
        return str(row[0]) if row else "resident"

    async def save_agreement(
        self, case_id: int, form: Form, content: dict[str, Any], by: int, now: datetime
    ) -> None:
        await self._db.execute(
            """INSERT OR REPLACE INTO agreements (case_id, form, content, made_at, made_by)
               VALUES (?, ?, ?, ?, ?)""",
            (case_id, form, json.dumps(content, ensure_ascii=False), to_db(now), by),
        )
        await self._db.execute("DELETE FROM agreement_confirmations WHERE case_id = ?", (case_id,))

    async def agreement(self, case_id: int) -> AgreementRecord | None:
        row = await self._db.fetch_one("SELECT * FROM agreements WHERE case_id = ?", (case_id,))
        if row is None:
            return None
        return AgreementRecord(
            row["case_id"],
            cast(Form, row["form"]),
            json.loads(row["content"]),
            from_db(row["made_at"]),
            row["made_by"],
        )

    async def confirm(self, case_id: int, side: Side, now: datetime) -> bool:
        changed = await self._db.execute(
            """INSERT OR IGNORE INTO agreement_confirmations (case_id, side, confirmed_at)
               VALUES (?, ?, ?)""",
            (case_id, side, to_db(now)),
        )
        return bool(changed)

    async def confirmations(self, case_id: int) -> dict[str, datetime]:
        rows = await self._db.fetch_all(
            "SELECT side, confirmed_at FROM agreement_confirmations WHERE case_id = ?",
            (case_id,),
        )
        return {row["side"]: from_db(row["confirmed_at"]) for row in rows}


def _party(row: aiosqlite.Row) -> PartyRecord:
    def when(key: str) -> datetime | None:
        return from_db(row[key]) if row[key] else None

    return PartyRecord(
        case_id=row["case_id"],
        pseudonym=row["pseudonym"],
        invited_by=row["invited_by"],
        invited_at=from_db(row["invited_at"]),
        user_id=row["user_id"],
        opened_at=when("opened_at"),
        notice_at=when("notice_at"),
        consented_at=when("consented_at"),
        ended_at=when("ended_at"),
    )
