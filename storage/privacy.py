"""What a person's data rights need: everything about them, and erasing it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.cases import OPEN_STATES
from storage.db import HANDLED_PAYLOAD, Database
from storage.timefmt import to_db

# Case events whose detail holds personal data (a block's reason, written about her).
PERSONAL_EVENTS = ("blocked",)


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
            "draft": await self._draft(user_id),
            "cases": [],
            "as_other_party": await self._as_other_party(user_id),
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
            entry["read_by"] = await self._readers(case["id"])
            data["cases"].append(entry)
        return data

    async def _as_other_party(self, user_id: int) -> list[dict[str, Any]]:
        """The cases they joined as the other party: what they agreed to, when, and their
        own words (never the applicant's)."""
        parties = await self._db.fetch_all(
            """SELECT p.case_id, c.number, p.pseudonym, p.opened_at, p.notice_at,
                      p.consented_at, p.ended_at
               FROM case_parties p JOIN cases c ON c.id = p.case_id
               WHERE p.user_id = ? ORDER BY p.case_id""",
            (user_id,),
        )
        found = []
        for party in parties:
            messages = await self._db.fetch_all(
                """SELECT at, kind, text FROM case_messages
                   WHERE case_id = ? AND chat_id = ? AND author = 'resident' ORDER BY id""",
                (party["case_id"], user_id),
            )
            entry = {k: party[k] for k in party.keys() if k != "case_id"}  # noqa: SIM118 - Row
            entry["your_messages"] = [dict(m) for m in messages]
            found.append(entry)
        return found

    async def _readers(self, case_id: int) -> list[dict[str, Any]]:
        """Who read her case and when, as roles and display names (never accounts)."""
        rows = await self._db.fetch_all(
            "SELECT at, role, name, what FROM case_access WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
        return [dict(row) for row in rows]

    async def _draft(self, user_id: int) -> dict[str, Any] | None:
        """A request she began and has not sent: kept until `privacy.draft_days` pass."""
        row = await self._db.fetch_one(
            "SELECT step, data, updated_at FROM drafts WHERE user_id = ?", (user_id,)
        )
        if row is None:
            return None
        return {"step": row["step"], "so_far": json.loads(row["data"]), "since": row["updated_at"]}

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
            *_contents_of(marks, tuple(case_ids)),
            (
                f"UPDATE cases SET phone = NULL, outcome_text = NULL WHERE id IN ({marks})",
                tuple(case_ids),
            ),
            (f"UPDATE surveys SET comment = NULL WHERE case_id IN ({marks})", tuple(case_ids)),
            # As the other party of someone else's case: their own words, and the map.
            ("DELETE FROM case_messages WHERE chat_id = ? AND author = 'resident'", (user_id,)),
            ("DELETE FROM relay_map WHERE chat_id = ? OR peer_chat = ?", (user_id, user_id)),
            ("DELETE FROM party_focus WHERE user_id = ?", (user_id,)),
            ("DELETE FROM outbox WHERE chat_id = ?", (user_id,)),
            ("DELETE FROM inbox WHERE user_id = ? OR chat_id = ?", (user_id, user_id)),
            ("DELETE FROM relay_showing WHERE chat_id = ?", (user_id,)),
            ("DELETE FROM held_messages WHERE user_id = ?", (user_id,)),
            # Nobody is left to write to: no mediator keeps these as her current case.
            (
                f"UPDATE members SET current_case_id = NULL WHERE current_case_id IN ({marks})",
                tuple(case_ids),
            ),
            ("DELETE FROM pending_inputs WHERE user_id = ?", (user_id,)),
            ("DELETE FROM rsvps WHERE user_id = ?", (user_id,)),
            ("DELETE FROM deliveries WHERE user_id = ?", (user_id,)),
            ("DELETE FROM sent_messages WHERE user_id = ?", (user_id,)),
            ("DELETE FROM user_blocks WHERE user_id = ?", (user_id,)),  # and its reason
            # users cascades to drafts and subscriptions; cases.resident_id becomes NULL.
            ("DELETE FROM users WHERE id = ?", (user_id,)),
        ]
        for sql, params in statements:
            await self._db.execute(sql, params)

    async def purge_closed_before(self, before: datetime, now: datetime, limit: int) -> list[int]:
        """The contents of up to `limit` cases closed before `before` — messages, notes, the
        message map, the agreement, a shared phone number, survey comments, finished
        reminders; returns their ids (none left: []). Their metadata and outcome stay, for
        the statistics. Call inside a transaction, one batch each: the nightly purge of a
        year's cases must not hold the database for long."""
        rows = await self._db.fetch_all(
            f"""SELECT id FROM cases WHERE closed_at < ? AND purged_at IS NULL
                AND state NOT IN {OPEN_STATES} ORDER BY closed_at LIMIT ?""",
            (to_db(before), limit),
        )
        ids = [int(row[0]) for row in rows]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        for sql, params in _contents_of(marks, tuple(ids)):
            await self._db.execute(sql, params)
        await self._db.execute(
            f"""UPDATE cases SET purged_at = ?, phone = NULL, outcome_text = NULL
                WHERE id IN ({marks})""",
            (to_db(now), *ids),
        )
        await self._db.execute(
            f"UPDATE surveys SET comment = NULL WHERE case_id IN ({marks})", tuple(ids)
        )
        return ids

    async def forget_block_reasons(self, before: datetime) -> None:
        """Block reasons are kept as long as case contents are."""
        await self._db.execute(
            "UPDATE user_blocks SET reason = '—' WHERE at < ? AND reason != '—'",
            (to_db(before),),
        )

    async def purge_abandoned(self, before: datetime) -> int:
        """Intakes nobody touched since `before`, and messages left waiting as long for an
        answer ("which case?", "send my number?"); how many drafts went."""
        async with self._db.transaction():
            drafts = await self._db.execute(
                "DELETE FROM drafts WHERE updated_at < ?", (to_db(before),)
            )
            await self._db.execute("DELETE FROM held_messages WHERE at < ?", (to_db(before),))
            # Updates handled before handled ones were emptied at once (storage/db.py).
            await self._db.execute(
                "UPDATE inbox SET payload = ? WHERE handled_at IS NOT NULL AND payload != ?",
                (HANDLED_PAYLOAD, HANDLED_PAYLOAD),
            )
        return drafts

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


def _contents_of(marks: str, case_ids: tuple[Any, ...]) -> list[tuple[str, tuple[Any, ...]]]:
    """What erasure and the purge delete of cases (`marks`: their placeholders): messages,
    notes, the message map, rows still to send, finished reminders, personal event details,
    the agreement's contents (its form stays, for the statistics)."""
    kinds = ",".join(f"'{kind}'" for kind in PERSONAL_EVENTS)
    return [
        (f"DELETE FROM case_messages WHERE case_id IN ({marks})", case_ids),
        (f"DELETE FROM case_notes WHERE case_id IN ({marks})", case_ids),
        (f"UPDATE agreements SET content = '{{}}' WHERE case_id IN ({marks})", case_ids),
        (f"DELETE FROM relay_map WHERE case_id IN ({marks})", case_ids),
        (f"DELETE FROM outbox WHERE case_id IN ({marks})", case_ids),
        (
            f"""DELETE FROM reminders WHERE case_id IN ({marks})
                AND state IN ('done', 'cancelled')""",
            case_ids,
        ),
        (
            f"UPDATE case_events SET detail = '{{}}' WHERE case_id IN ({marks}) "
            f"AND kind IN ({kinds})",
            case_ids,
        ),
    ]
