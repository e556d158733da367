"""Cases: registration with gap-free per-year numbers, the timeline, messages and offers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import aiosqlite

from storage.db import Database
from storage.timefmt import from_db, to_db

OfferState = Literal["open", "accepted", "declined", "expired"]
# What became of a booked message (migration 0010 says what each means).
Delivery = Literal["pending", "delivered", "undelivered", "held", "kept"]
OPEN_STATES = ("new", "unassigned", "offered", "accepted")


@dataclass(frozen=True)
class NewCase:
    resident_id: int | None  # None only for a recurrence of an erased resident's case
    pseudonym: str
    area_id: str | None
    category: str
    urgent: bool
    contact: str
    phone: str | None


@dataclass(frozen=True)
class CaseRecord:
    id: int
    number: str
    resident_id: int | None
    pseudonym: str
    area_id: str | None
    category: str
    urgent: bool
    contact: str
    phone: str | None
    state: str
    mediator_id: int | None
    created_at: datetime
    outcome_text: str | None = None
    closed_at: datetime | None = None
    unreachable: str | None = None  # 'resident' or 'mediator': blocked the bot
    adviser_id: int | None = None
    parent_id: int | None = None  # the case this one recurred from
    urgent_at: datetime | None = None  # when it became urgent (storage.urgent)
    taken_at: datetime | None = None  # when someone took the urgent case
    basis: str = "consent"  # or 'vital_interests': registered before the consent
    no_mediation: bool = False  # 不适合调解: never bring the parties together
    purged: bool = False  # its contents were deleted after the retention period

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class MessagePart:
    """One message of the conversation, pointing at the original for copyMessage.

    `entities` is set when a copy would carry an account (bot/relay.py sends the text anew
    with these instead); `contact` is a contact card as it is passed on: phone number and
    first name, never the account it names."""

    kind: str
    text: str | None
    file_id: str | None
    chat_id: int
    message_id: int
    entities: list[dict[str, Any]] | None = None
    contact: dict[str, str] | None = None


@dataclass(frozen=True)
class BookEntry:
    """One entry of a case's registration book: a message, what became of it, and the
    entry it edits if it is an edit."""

    id: int
    case_id: int
    author: str
    part: MessagePart
    at: datetime
    delivery: Delivery
    failure: str | None
    edit_of: int | None


@dataclass(frozen=True)
class EventRecord:
    case_id: int
    at: datetime
    kind: str
    actor_id: int | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class OfferRecord:
    id: int
    case_id: int
    mediator_id: int
    offered_at: datetime
    deadline: datetime | None
    state: OfferState


class CaseRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        case: NewCase,
        prefix: str,
        year: int,
        now: datetime,
        parent_id: int | None = None,
    ) -> CaseRecord:
        """Register a case under the next number of `year` (the local calendar year).

        Call inside `Database.transaction()`: the counter and the case commit together,
        so concurrent registrations get distinct numbers and a failure leaves no gap.
        """
        await self._db.execute(
            """INSERT INTO case_counters (year, last_seq) VALUES (?, 1)
               ON CONFLICT (year) DO UPDATE SET last_seq = last_seq + 1""",
            (year,),
        )
        row = await self._db.fetch_one("SELECT last_seq FROM case_counters WHERE year = ?", (year,))
        assert row is not None
        seq = int(row[0])
        number = f"{prefix}-{year}-{seq:04d}"
        stamp = to_db(now)
        await self._db.execute(
            """INSERT INTO cases (number, year, seq, resident_id, pseudonym, area_id, category,
                                  urgent, contact, phone, state, created_at, updated_at,
                                  parent_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?)""",
            (
                number,
                year,
                seq,
                case.resident_id,
                case.pseudonym,
                case.area_id,
                case.category,
                int(case.urgent),
                case.contact,
                case.phone,
                stamp,
                stamp,
                parent_id,
            ),
        )
        created = await self.get_by_number(number)
        assert created is not None
        return created

    async def get(self, case_id: int) -> CaseRecord | None:
        row = await self._db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
        return _case(row) if row else None

    async def get_by_number(self, number: str) -> CaseRecord | None:
        row = await self._db.fetch_one("SELECT * FROM cases WHERE number = ?", (number,))
        return _case(row) if row else None

    async def of_resident(self, resident_id: int) -> list[CaseRecord]:
        rows = await self._db.fetch_all(
            "SELECT * FROM cases WHERE resident_id = ? ORDER BY id", (resident_id,)
        )
        return [_case(row) for row in rows]

    async def open_of_resident(self, resident_id: int) -> list[CaseRecord]:
        rows = await self._db.fetch_all(
            f"""SELECT * FROM cases WHERE resident_id = ? AND state IN {OPEN_STATES}
                ORDER BY id""",
            (resident_id,),
        )
        return [_case(row) for row in rows]

    async def of_mediator(self, mediator_id: int, limit: int = -1) -> list[CaseRecord]:
        """Cases assigned to a mediator, open ones first, newest first (the first `limit`)."""
        rows = await self._db.fetch_all(
            f"""SELECT * FROM cases WHERE mediator_id = ?
                ORDER BY state NOT IN {OPEN_STATES}, id DESC LIMIT ?""",
            (mediator_id, limit),
        )
        return [_case(row) for row in rows]

    async def count_of_mediator(self, mediator_id: int) -> int:
        row = await self._db.fetch_one(
            "SELECT count(*) FROM cases WHERE mediator_id = ?", (mediator_id,)
        )
        return int(row[0]) if row else 0

    async def close(
        self, case_id: int, state: str, outcome_text: str | None, now: datetime
    ) -> None:
        await self._db.execute(
            """UPDATE cases SET state = ?, outcome_text = ?, closed_at = ?, updated_at = ?
               WHERE id = ?""",
            (state, outcome_text, to_db(now), to_db(now), case_id),
        )

    async def reopen(self, case_id: int, now: datetime) -> None:
        await self._db.execute(
            """UPDATE cases SET state = 'accepted', closed_at = NULL, updated_at = ?
               WHERE id = ?""",
            (to_db(now), case_id),
        )

    async def set_unreachable(self, case_id: int, side: str | None, now: datetime) -> None:
        await self._db.execute(
            "UPDATE cases SET unreachable = ?, updated_at = ? WHERE id = ?",
            (side, to_db(now), case_id),
        )

    async def set_adviser(self, case_id: int, adviser_id: int) -> None:
        await self._db.execute(
            "UPDATE cases SET adviser_id = ? WHERE id = ?", (adviser_id, case_id)
        )

    async def update_message_text(self, chat_id: int, message_id: int, text: str) -> None:
        """An edit on either side: the registration book keeps the latest wording."""
        await self._db.execute(
            "UPDATE case_messages SET text = ? WHERE chat_id = ? AND message_id = ?",
            (text, chat_id, message_id),
        )

    async def set_state(
        self, case_id: int, state: str, mediator_id: int | None, now: datetime
    ) -> None:
        await self._db.execute(
            "UPDATE cases SET state = ?, mediator_id = ?, updated_at = ? WHERE id = ?",
            (state, mediator_id, to_db(now), case_id),
        )

    async def add_event(
        self,
        case_id: int,
        kind: str,
        now: datetime,
        actor_id: int | None = None,
        **detail: Any,
    ) -> None:
        await self._db.execute(
            "INSERT INTO case_events (case_id, at, kind, actor_id, detail) VALUES (?, ?, ?, ?, ?)",
            (case_id, to_db(now), kind, actor_id, json.dumps(detail, ensure_ascii=False)),
        )

    async def events(self, case_id: int) -> list[EventRecord]:
        rows = await self._db.fetch_all(
            "SELECT * FROM case_events WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [
            EventRecord(
                case_id=row["case_id"],
                at=from_db(row["at"]),
                kind=row["kind"],
                actor_id=row["actor_id"],
                detail=json.loads(row["detail"]),
            )
            for row in rows
        ]

    async def add_message(
        self,
        case_id: int,
        author: str,
        part: MessagePart,
        now: datetime,
        *,
        delivery: Delivery = "kept",
        edit_of: int | None = None,
    ) -> int:
        """Book a message with its case; returns the book entry's id."""
        return await self._db.insert(
            f"""INSERT INTO case_messages ({_ENTRY_COLUMNS}, edit_of)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (*_entry_values(case_id, author, part, now, delivery), edit_of),
        )

    async def add_messages(
        self, entries: Sequence[tuple[int, str, MessagePart, datetime, Delivery]]
    ) -> None:
        """Book many messages at once: (case id, author, part, at, delivery) each (an import,
        or a benchmark's district)."""
        await self._db.execute_many(
            f"""INSERT INTO case_messages ({_ENTRY_COLUMNS})
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [_entry_values(*entry) for entry in entries],
        )

    async def add_events(
        self, events: Sequence[tuple[int, str, datetime, int | None, dict[str, Any]]]
    ) -> None:
        """Many timeline events at once: (case id, kind, at, actor, detail) each."""
        await self._db.execute_many(
            "INSERT INTO case_events (case_id, at, kind, actor_id, detail) VALUES (?, ?, ?, ?, ?)",
            [
                (case_id, to_db(at), kind, actor, json.dumps(detail, ensure_ascii=False))
                for case_id, kind, at, actor, detail in events
            ],
        )

    async def book_once(
        self, case_id: int, author: str, part: MessagePart, now: datetime, delivery: Delivery
    ) -> int | None:
        """Book a message unless it is booked already (an update Telegram delivered again);
        the new entry's id, or None. One statement: the check and the insert together."""
        row = await self._db.fetch_one(
            f"""INSERT INTO case_messages ({_ENTRY_COLUMNS})
                SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
                WHERE NOT EXISTS (SELECT 1 FROM case_messages WHERE chat_id = ?
                                                               AND message_id = ?)
                RETURNING id""",
            (
                *_entry_values(case_id, author, part, now, delivery),
                part.chat_id,
                part.message_id,
            ),
        )
        return int(row[0]) if row else None

    async def entry(self, entry_id: int) -> BookEntry | None:
        row = await self._db.fetch_one("SELECT * FROM case_messages WHERE id = ?", (entry_id,))
        return _entry(row) if row else None

    async def book_entry(self, chat_id: int, message_id: int) -> BookEntry | None:
        """The latest book entry of a message (its last edit, if it was edited)."""
        row = await self._db.fetch_one(
            """SELECT * FROM case_messages WHERE chat_id = ? AND message_id = ?
               ORDER BY id DESC LIMIT 1""",
            (chat_id, message_id),
        )
        return _entry(row) if row else None

    async def set_delivery(
        self, entry_id: int, delivery: Delivery, failure: str | None = None
    ) -> bool:
        """Say what became of a booked message; False when the entry is gone (erased)."""
        changed = await self._db.execute(
            "UPDATE case_messages SET delivery = ?, failure = ? WHERE id = ?",
            (delivery, failure, entry_id),
        )
        return changed > 0

    async def reachable_again(self, case_id: int, now: datetime) -> None:
        """A copy went through: whoever could not be reached can be again."""
        await self._db.execute(
            """UPDATE cases SET unreachable = NULL, updated_at = ?
               WHERE id = ? AND unreachable IS NOT NULL""",
            (to_db(now), case_id),
        )

    async def book(self, case_id: int) -> list[BookEntry]:
        """Every entry of the case's registration book, in the order they came."""
        rows = await self._db.fetch_all(
            "SELECT * FROM case_messages WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [_entry(row) for row in rows]

    async def entries_in(self, case_id: int, delivery: Delivery) -> list[BookEntry]:
        rows = await self._db.fetch_all(
            "SELECT * FROM case_messages WHERE case_id = ? AND delivery = ? ORDER BY id",
            (case_id, delivery),
        )
        return [_entry(row) for row in rows]

    async def messages(self, case_id: int) -> list[MessagePart]:
        rows = await self._db.fetch_all(
            "SELECT * FROM case_messages WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [_part(row) for row in rows]

    async def conversation(self, case_id: int) -> list[tuple[str, MessagePart, datetime]]:
        """The case's messages with their author ('resident', 'mediator', 'adviser') and time."""
        rows = await self._db.fetch_all(
            "SELECT * FROM case_messages WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [(row["author"], _part(row), from_db(row["at"])) for row in rows]

    async def workload(self) -> dict[int, int]:
        """Open cases per mediator: assigned and accepted, plus open offers."""
        rows = await self._db.fetch_all(
            """SELECT mediator_id, count(*) FROM (
                   SELECT mediator_id FROM cases WHERE state = 'accepted'
                   UNION ALL SELECT mediator_id FROM offers WHERE state = 'open'
               ) WHERE mediator_id IS NOT NULL GROUP BY mediator_id"""
        )
        return {int(row[0]): int(row[1]) for row in rows}

    async def last_offered(self) -> dict[int, datetime]:
        """When each member was last offered a case (one index look-up each)."""
        rows = await self._db.fetch_all(
            """SELECT m.user_id, (SELECT max(o.offered_at) FROM offers o
                                  WHERE o.mediator_id = m.user_id) AS last
               FROM members m WHERE last IS NOT NULL"""
        )
        return {int(row[0]): from_db(row[1]) for row in rows}

    async def add_offer(
        self, case_id: int, mediator_id: int, now: datetime, deadline: datetime | None
    ) -> OfferRecord:
        await self._db.execute(
            """INSERT INTO offers (case_id, mediator_id, offered_at, deadline, state)
               VALUES (?, ?, ?, ?, 'open')""",
            (case_id, mediator_id, to_db(now), to_db(deadline) if deadline else None),
        )
        offer = await self.open_offer(case_id)
        assert offer is not None
        return offer

    async def get_offer(self, offer_id: int) -> OfferRecord | None:
        row = await self._db.fetch_one("SELECT * FROM offers WHERE id = ?", (offer_id,))
        return _offer(row) if row else None

    async def open_offer(self, case_id: int) -> OfferRecord | None:
        row = await self._db.fetch_one(
            "SELECT * FROM offers WHERE case_id = ? AND state = 'open'", (case_id,)
        )
        return _offer(row) if row else None

    async def end_offer(
        self, offer_id: int, state: OfferState, now: datetime, reason: str | None = None
    ) -> bool:
        """Close an open offer; False when it was no longer open (someone was faster)."""
        changed = await self._db.execute(
            """UPDATE offers SET state = ?, reason = ?, ended_at = ?
               WHERE id = ? AND state = 'open'""",
            (state, reason, to_db(now), offer_id),
        )
        return changed == 1

    async def offered_to(self, case_id: int) -> set[int]:
        rows = await self._db.fetch_all(
            "SELECT DISTINCT mediator_id FROM offers WHERE case_id = ?", (case_id,)
        )
        return {int(row[0]) for row in rows}

    async def waiting_for_mediator(self) -> list[CaseRecord]:
        """Cases registered but not offered: nobody was available, or a crash cut in."""
        rows = await self._db.fetch_all(
            "SELECT * FROM cases WHERE state IN ('new', 'unassigned') ORDER BY id"
        )
        return [_case(row) for row in rows]

    async def due_offers(self, now: datetime) -> list[OfferRecord]:
        rows = await self._db.fetch_all(
            """SELECT * FROM offers WHERE state = 'open' AND deadline IS NOT NULL
               AND deadline <= ? ORDER BY deadline""",
            (to_db(now),),
        )
        return [_offer(row) for row in rows]


_ENTRY_COLUMNS = (
    "case_id, at, author, kind, text, file_id, chat_id, message_id, delivery, entities, contact"
)


def _entry_values(
    case_id: int, author: str, part: MessagePart, now: datetime, delivery: Delivery
) -> tuple[Any, ...]:
    """A book entry's values, in the order of `_ENTRY_COLUMNS`."""
    return (
        case_id,
        to_db(now),
        author,
        part.kind,
        part.text,
        part.file_id,
        part.chat_id,
        part.message_id,
        delivery,
        _json_or_null(part.entities),
        _json_or_null(part.contact),
    )


def _entry(row: aiosqlite.Row) -> BookEntry:
    return BookEntry(
        id=row["id"],
        case_id=row["case_id"],
        author=row["author"],
        part=_part(row),
        at=from_db(row["at"]),
        delivery=cast(Delivery, row["delivery"]),
        failure=row["failure"],
        edit_of=row["edit_of"],
    )


def _part(row: aiosqlite.Row) -> MessagePart:
    return MessagePart(
        kind=row["kind"],
        text=row["text"],
        file_id=row["file_id"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        entities=json.loads(row["entities"]) if row["entities"] is not None else None,
        contact=json.loads(row["contact"]) if row["contact"] is not None else None,
    )


def _json_or_null(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _case(row: aiosqlite.Row) -> CaseRecord:
    return CaseRecord(
        id=row["id"],
        number=row["number"],
        resident_id=row["resident_id"],
        pseudonym=row["pseudonym"],
        area_id=row["area_id"],
        category=row["category"],
        urgent=bool(row["urgent"]),
        contact=row["contact"],
        phone=row["phone"],
        state=row["state"],
        mediator_id=row["mediator_id"],
        created_at=from_db(row["created_at"]),
        outcome_text=row["outcome_text"],
        closed_at=from_db(row["closed_at"]) if row["closed_at"] else None,
        unreachable=row["unreachable"],
        adviser_id=row["adviser_id"],
        parent_id=row["parent_id"],
        urgent_at=from_db(row["urgent_at"]) if row["urgent_at"] else None,
        taken_at=from_db(row["taken_at"]) if row["taken_at"] else None,
        basis=row["basis"],
        no_mediation=bool(row["no_mediation"]),
        purged=row["purged_at"] is not None,
    )


def _offer(row: aiosqlite.Row) -> OfferRecord:
    return OfferRecord(
        id=row["id"],
        case_id=row["case_id"],
        mediator_id=row["mediator_id"],
        offered_at=from_db(row["offered_at"]),
        deadline=from_db(row["deadline"]) if row["deadline"] else None,
        state=cast(OfferState, row["state"]),
    )
