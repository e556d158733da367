"""The relay's message map, pending inputs of team members, and private notes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import aiosqlite

from storage.cache import Watch
from storage.cases import MessagePart
from storage.db import Database
from storage.timefmt import from_db, to_db

Channel = Literal["resident", "adviser"]
Author = Literal["resident", "mediator", "adviser"]


@dataclass(frozen=True)
class MappedMessage:
    case_id: int
    channel: Channel
    chat_id: int
    message_id: int
    peer_chat: int | None
    peer_message: int | None


@dataclass(frozen=True)
class RelayEntry:
    """A message of a case's conversation for its book, its map, or both (one row)."""

    case_id: int
    channel: Channel
    part: MessagePart
    author: Author | None  # who wrote it, to book it with the case; None: nothing to book
    copy: tuple[int, int] | None  # the bot's copy on the other side (chat, message)
    mapped: bool  # map it (to its copy if any): a reply to it then threads to its case
    at: datetime


@dataclass(frozen=True)
class PendingInput:
    user_id: int
    kind: str
    case_id: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Note:
    author_id: int
    at: datetime
    text: str


class RelayRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Only found messages are kept, so inserts need not be reported: every message
        # relayed inserts two rows, and the relay's writes stay plain SQL (see Watch).
        self._mapped = db.cache(
            "relay_map", [Watch("relay_map", ("chat_id", "message_id"), ("UPDATE", "DELETE"))]
        )

    async def map_pair(
        self,
        case_id: int,
        channel: Channel,
        source: tuple[int, int],
        copy: tuple[int, int] | None,
        now: datetime,
        *,
        outgoing: bool = False,
    ) -> None:
        """Record a message and the bot's copy of it (both directions).

        Without a copy, `source` is a lone message of the case: the bot's own (a header,
        `outgoing=True`) or a person's that is not passed on yet.
        """
        rows = [(case_id, channel, *source, *(copy or (None, None)), outgoing, to_db(now))]
        if copy is not None:
            rows.append((case_id, channel, *copy, *source, True, to_db(now)))
        # One statement (atomic on its own), so the pair costs one round trip.
        marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        await self._db.execute(
            f"""INSERT INTO relay_map (case_id, channel, chat_id, message_id, peer_chat,
                                      peer_message, outgoing, at) VALUES {marks}""",
            [value for row in rows for value in row],
        )

    async def record(self, entry: RelayEntry) -> None:
        """Book the message with its case and map it, in one row of the relay_entries view
        (its trigger fans it out, migration 0008), queued: it is in before any statement
        asked for later, without the relay waiting for it (`Database.insert_behind`)."""
        part, (copy_chat, copy_message) = entry.part, entry.copy or (None, None)
        await self._db.insert_behind(
            """relay_entries (case_id, channel, author, kind, text, file_id, chat_id,
                              message_id, copy_chat, copy_message, mapped, at)""",
            (
                entry.case_id,
                entry.channel,
                entry.author,
                part.kind,
                part.text,
                part.file_id,
                part.chat_id,
                part.message_id,
                copy_chat,
                copy_message,
                int(entry.mapped),
                to_db(entry.at),
            ),
        )

    async def find(self, chat_id: int, message_id: int) -> MappedMessage | None:
        """What a message is in the relay; asked whenever someone replies to one, so cached."""
        return await self._db.read_through(
            self._mapped,
            (chat_id, message_id),
            lambda: self._read(chat_id, message_id),
            keep=lambda found: found is not None,
        )

    async def _read(self, chat_id: int, message_id: int) -> MappedMessage | None:
        row = await self._db.fetch_one(
            "SELECT * FROM relay_map WHERE chat_id = ? AND message_id = ? ORDER BY id LIMIT 1",
            (chat_id, message_id),
        )
        return _mapped(row) if row else None

    async def header_in(self, chat_id: int, case_id: int, channel: Channel) -> int | None:
        """The latest header the bot put in this chat for this case (a lone outgoing row)."""
        row = await self._db.fetch_one(
            """SELECT message_id FROM relay_map
               WHERE chat_id = ? AND case_id = ? AND channel = ? AND outgoing = 1
                 AND peer_chat IS NULL
               ORDER BY id DESC LIMIT 1""",
            (chat_id, case_id, channel),
        )
        return int(row[0]) if row else None

    async def last_sent_to(self, chat_id: int) -> MappedMessage | None:
        """The latest case message the bot put into this chat (a copy or a header)."""
        row = await self._db.fetch_one(
            "SELECT * FROM relay_map WHERE chat_id = ? AND outgoing = 1 ORDER BY id DESC LIMIT 1",
            (chat_id,),
        )
        return _mapped(row) if row else None

    async def set_pending(self, pending: PendingInput, now: datetime) -> None:
        await self._db.execute(
            """INSERT INTO pending_inputs (user_id, kind, case_id, data, created_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET kind = excluded.kind,
                   case_id = excluded.case_id, data = excluded.data,
                   created_at = excluded.created_at""",
            (pending.user_id, pending.kind, pending.case_id, json.dumps(pending.data), to_db(now)),
        )

    async def pending(self, user_id: int) -> PendingInput | None:
        row = await self._db.fetch_one("SELECT * FROM pending_inputs WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        return PendingInput(row["user_id"], row["kind"], row["case_id"], json.loads(row["data"]))

    async def clear_pending(self, user_id: int) -> None:
        await self._db.execute("DELETE FROM pending_inputs WHERE user_id = ?", (user_id,))

    async def hold(self, user_id: int, part: dict[str, Any], now: datetime) -> None:
        await self._db.execute(
            """INSERT OR REPLACE INTO held_messages (user_id, message_id, part, at)
               VALUES (?, ?, ?, ?)""",
            (user_id, part["message_id"], json.dumps(part, ensure_ascii=False), to_db(now)),
        )

    async def release(self, user_id: int, message_id: int) -> dict[str, Any] | None:
        """Take a held message out (once): the part as it was held, or None."""
        async with self._db.transaction():
            row = await self._db.fetch_one(
                "SELECT part FROM held_messages WHERE user_id = ? AND message_id = ?",
                (user_id, message_id),
            )
            if row is None:
                return None
            await self._db.execute(
                "DELETE FROM held_messages WHERE user_id = ? AND message_id = ?",
                (user_id, message_id),
            )
        part: dict[str, Any] = json.loads(row[0])
        return part

    async def add_note(self, case_id: int, author_id: int, text: str, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO case_notes (case_id, author_id, at, text) VALUES (?, ?, ?, ?)",
            (case_id, author_id, to_db(now), text),
        )

    async def notes(self, case_id: int) -> list[Note]:
        rows = await self._db.fetch_all(
            "SELECT * FROM case_notes WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [Note(row["author_id"], from_db(row["at"]), row["text"]) for row in rows]


def _mapped(row: aiosqlite.Row) -> MappedMessage:
    return MappedMessage(
        case_id=row["case_id"],
        channel=cast(Channel, row["channel"]),
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        peer_chat=row["peer_chat"],
        peer_message=row["peer_message"],
    )
