"""The relay's message map, pending inputs of team members, and private notes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import aiosqlite

from storage.db import Database
from storage.timefmt import from_db, to_db

Channel = Literal["resident", "adviser", "party"]
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
class ChatView:
    showing: tuple[int, Channel] | None  # the case (and channel) whose messages came last
    header_id: int | None  # the header that introduced the case asked about, if any


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

    async def map_alone(
        self,
        case_id: int,
        channel: Channel,
        message: tuple[int, int],
        now: datetime,
        *,
        outgoing: bool,
    ) -> None:
        """Map a message of the case with no copy (yet): a person's message, so that a reply
        to it threads to its case, or the bot's own (a case header, `outgoing=True`)."""
        await self._db.execute(
            """INSERT INTO relay_map (case_id, channel, chat_id, message_id, outgoing, at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (case_id, channel, *message, int(outgoing), to_db(now)),
        )

    async def map_copy(
        self,
        case_id: int,
        channel: Channel,
        source: tuple[int, int],
        copy: tuple[int, int],
        now: datetime,
        *,
        mapped_alone: bool,
    ) -> None:
        """Pair a message with the bot's copy of it on the other side (both directions).
        Call inside a transaction. A message mapped alone when it arrived (it waited for a
        mediator, or was held) gets its copy added to that row."""
        changed = mapped_alone and await self._db.execute(
            """UPDATE relay_map SET peer_chat = ?, peer_message = ?
               WHERE chat_id = ? AND message_id = ? AND case_id = ? AND outgoing = 0""",
            (*copy, *source, case_id),
        )
        if changed:
            rows = [(case_id, channel, *copy, *source, 1, to_db(now))]
        else:
            rows = [
                (case_id, channel, *source, *copy, 0, to_db(now)),
                (case_id, channel, *copy, *source, 1, to_db(now)),
            ]
        marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        await self._db.execute(
            f"""INSERT INTO relay_map (case_id, channel, chat_id, message_id, peer_chat,
                                      peer_message, outgoing, at) VALUES {marks}""",
            [value for row in rows for value in row],
        )

    async def view_of(self, chat_id: int, case_id: int, channel: Channel) -> ChatView:
        """What a chat shows of the relay, in one read: the case it showed last, and this
        case's header there (if it has one)."""
        row = await self._db.fetch_one(
            """SELECT (SELECT case_id FROM relay_showing WHERE chat_id = :chat),
                      (SELECT channel FROM relay_showing WHERE chat_id = :chat),
                      (SELECT message_id FROM relay_map
                       WHERE chat_id = :chat AND case_id = :case AND channel = :channel
                         AND outgoing = 1 AND peer_chat IS NULL
                       ORDER BY id DESC LIMIT 1)""",
            {"chat": chat_id, "case": case_id, "channel": channel},
        )
        assert row is not None
        showing = (int(row[0]), cast(Channel, row[1])) if row[0] is not None else None
        return ChatView(showing, row[2])

    async def find(self, chat_id: int, message_id: int) -> MappedMessage | None:
        """What a message is in the relay (the case it belongs to, its copy)."""
        row = await self._db.fetch_one(
            """SELECT * FROM relay_map WHERE chat_id = ? AND message_id = ?
               ORDER BY peer_chat IS NULL, id LIMIT 1""",
            (chat_id, message_id),
        )
        return _mapped(row) if row else None

    async def channels_in(self, case_id: int) -> dict[tuple[int, int], str]:
        """Which conversation each mapped message of a case is in, read at once (the case
        file of a long case would otherwise ask once per entry); preferred as `find` does."""
        rows = await self._db.fetch_all(
            """SELECT chat_id, message_id, channel FROM relay_map WHERE case_id = ?
               ORDER BY peer_chat IS NULL, id""",
            (case_id,),
        )
        channels: dict[tuple[int, int], str] = {}
        for row in rows:
            channels.setdefault((row["chat_id"], row["message_id"]), row["channel"])
        return channels

    async def peer_in(self, chat_id: int, message_id: int, to_chat: int) -> int | None:
        """The counterpart in `to_chat` of a message of `chat_id` (its copy, or the
        original it is a copy of)."""
        row = await self._db.fetch_one(
            """SELECT peer_message FROM relay_map
               WHERE chat_id = ? AND message_id = ? AND peer_chat = ?
               ORDER BY id DESC LIMIT 1""",
            (chat_id, message_id, to_chat),
        )
        return int(row[0]) if row else None

    async def showing(self, chat_id: int) -> tuple[int, Channel] | None:
        """The case (and channel) whose messages were last queued into this chat."""
        row = await self._db.fetch_one(
            "SELECT case_id, channel FROM relay_showing WHERE chat_id = ?", (chat_id,)
        )
        return (int(row[0]), cast(Channel, row[1])) if row else None

    async def set_showing(self, chat_id: int, case_id: int, channel: Channel) -> None:
        await self._db.execute(
            """INSERT INTO relay_showing (chat_id, case_id, channel) VALUES (?, ?, ?)
               ON CONFLICT (chat_id) DO UPDATE SET case_id = excluded.case_id,
                                                   channel = excluded.channel""",
            (chat_id, case_id, channel),
        )

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
