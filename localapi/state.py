"""The in-memory world of the local Bot API: users, private chats, messages, files, updates.

Everything here is plain data plus the small mutations that keep it consistent (message ids
per chat, update ids, file ids).  Messages are kept as Telegram-shaped dicts, so what the bot
receives is exactly what the world holds.  What the bot sent is also recorded as
:class:`BotMessage` objects with their edit history, for tests and the playground to read.

Time comes from the injectable ``now`` clock (timezone-aware UTC ``datetime``), so a test can
move the clock (e.g. past the 48 hours after which a message can no longer be deleted).
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSONDict = dict[str, Any]
Clock = Callable[[], datetime]

MEDIA_KINDS = ("photo", "document", "voice", "video", "audio", "sticker")
# An animation message also has a "document" (as at Telegram): it is told by its animation.
MESSAGE_KINDS = ("text", "animation", "video_note", *MEDIA_KINDS, "location", "contact")
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
PHOTO_SIDES = (90, 320, 800)
LARGEST_PHOTO_SIDE = 1280
_FILE_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
    "audio": "CQACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
    "video_note": "DQACAgIAAxkBAAI",
    "animation": "CgACAgIAAxkBAAI",
}
_FILE_DIR = {
    "photo": ("photos", "jpg"),
    "document": ("documents", "bin"),
    "voice": ("voice", "oga"),
    "video": ("videos", "mp4"),
    "audio": ("music", "mp3"),
    "sticker": ("stickers", "webp"),
    "video_note": ("video_notes", "mp4"),
    "animation": ("animations", "mp4"),
}


def utc_now() -> datetime:
    """Return the current time in UTC (the default clock)."""
    return datetime.now(UTC)


def unix_time(moment: datetime) -> int:
    """Return a Unix timestamp; a naive ``datetime`` is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


class ControlError(ValueError):
    """The control API was asked something impossible (unknown user, missing button, ...)."""


@dataclass(frozen=True)
class BotIdentity:
    """The bot's own account."""

    id: int
    username: str
    first_name: str

    def to_dict(self) -> JSONDict:
        """Return the bot as a Telegram ``User``."""
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }


@dataclass
class User:
    """A simulated Telegram user; their private chat with the bot has the same id."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    blocked: bool = False
    started: bool = False

    def to_dict(self) -> JSONDict:
        """Return the user as a Telegram ``User`` (optional fields omitted when unset)."""
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    def chat_dict(self) -> JSONDict:
        """Return the private chat with this user as a Telegram ``Chat``."""
        data: JSONDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        for key in ("last_name", "username"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass
class StoredFile:
    """A file known to the server: uploaded by the bot or sent by a user."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes = field(repr=False)
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0
    extra: JSONDict = field(default_factory=dict)
    photo_group: list[StoredFile] = field(default_factory=list, repr=False)

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def file_dict(self) -> JSONDict:
        """Return the Telegram ``File`` object that ``getFile`` answers."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }

    def to_dict(self) -> JSONDict:
        """Return the media object of a message (``PhotoSize``, ``Document``, ``Voice``, ...)."""
        data: JSONDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.kind in ("photo", "video", "sticker", "animation"):
            data.update(width=self.width, height=self.height)
        if self.kind == "video_note":
            data["length"] = self.width
        if self.kind in ("voice", "video", "audio", "video_note", "animation"):
            data["duration"] = self.duration
        if self.kind in ("document", "video", "audio", "animation") and self.file_name:
            data["file_name"] = self.file_name
        if self.kind != "photo" and self.mime_type and self.kind != "sticker":
            data["mime_type"] = self.mime_type
        data.update(self.extra)
        return data


@dataclass(frozen=True)
class MessageVersion:
    """A former state of a bot message, kept when the bot edits it."""

    text: str | None
    caption: str | None
    entities: list[JSONDict]
    reply_markup: JSONDict | None
    replaced_at: datetime


def message_kind(message: JSONDict) -> str:
    """Return what a message carries: ``text``, ``photo``, ``document``, ..."""
    for kind in MESSAGE_KINDS:
        if kind in message:
            return kind
    return "other"


@dataclass
class BotMessage:
    """A message the bot sent, with its current state and its edit history.

    ``message`` is the current Telegram ``Message`` dict; ``reply_markup`` is the markup as sent
    (also reply keyboards, which Telegram does not echo in the message); ``edits`` holds the
    earlier versions, oldest first; ``index`` is the position among the bot's messages to
    this chat; ``recorded_at`` is when the server took it, on its monotonic clock (Linux's
    CLOCK_MONOTONIC, which other processes of the machine share; ``date`` has whole seconds).
    """

    chat_id: int
    message_id: int
    index: int
    method: str
    message: JSONDict
    reply_markup: JSONDict | None = None
    file: StoredFile | None = None
    edits: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False
    copied_from: tuple[int, int] | None = None
    options: JSONDict = field(default_factory=dict)
    recorded_at: float = field(default_factory=time.monotonic)

    @property
    def kind(self) -> str:
        """``text``, ``photo``, ``document``, ``voice``, ``video``, ``location``, ..."""
        return message_kind(self.message)

    @property
    def text(self) -> str | None:
        """Current text of a text message."""
        value = self.message.get("text")
        return value if isinstance(value, str) else None

    @property
    def caption(self) -> str | None:
        """Current caption of a media message."""
        value = self.message.get("caption")
        return value if isinstance(value, str) else None

    @property
    def content(self) -> str:
        """Text or caption, whichever the message has ('' if none)."""
        return self.text or self.caption or ""

    @property
    def entities(self) -> list[JSONDict]:
        """Entities of the current text or caption."""
        found = self.message.get("entities") or self.message.get("caption_entities") or []
        return [dict(entity) for entity in found]

    @property
    def date(self) -> datetime:
        """When it was sent."""
        return datetime.fromtimestamp(self.message["date"], UTC)

    @property
    def protected(self) -> bool:
        """Sent with ``protect_content``: the recipient can neither forward nor save it."""
        return self.options.get("protect_content") is True

    @property
    def forward_origin(self) -> JSONDict | None:
        """Origin of a forwarded message; never set for ``copyMessage``."""
        origin = self.message.get("forward_origin")
        return origin if isinstance(origin, dict) else None

    @property
    def reply_to_message_id(self) -> int | None:
        """Id of the message this one replies to."""
        replied = self.message.get("reply_to_message")
        return replied["message_id"] if isinstance(replied, dict) else None

    @property
    def data(self) -> bytes | None:
        """Bytes of the media file, if the message has one."""
        return self.file.data if self.file is not None else None

    @property
    def buttons(self) -> list[list[JSONDict]]:
        """Rows of the current inline keyboard (empty when there is none)."""
        markup = self.message.get("reply_markup") or {}
        rows = markup.get("inline_keyboard", [])
        return [list(row) for row in rows]

    def button_data(self, text: str) -> str:
        """Return the callback_data of the inline button labelled ``text``."""
        for row in self.buttons:
            for button in row:
                if button.get("text") == text and "callback_data" in button:
                    return str(button["callback_data"])
        labels = [b.get("text") for row in self.buttons for b in row]
        raise ControlError(f"no callback button {text!r} in message {self.message_id}: {labels}")

    def snapshot(self, replaced_at: datetime) -> MessageVersion:
        """Capture the current state before an edit."""
        return MessageVersion(
            self.text, self.caption, self.entities, self.message.get("reply_markup"), replaced_at
        )

    def describe(self) -> str:
        """One line for error messages: index, id, method, kind and content."""
        state = " (deleted)" if self.deleted else ""
        edits = f" edited {len(self.edits)}x" if self.edits else ""
        return (
            f"[{self.index}] #{self.message_id} {self.method} {self.kind}{state}{edits}: "
            f"{self.content[:80]!r}"
        )

    def to_json(self) -> JSONDict:
        """Return a JSON-able view for the HTTP control API."""
        return {
            "index": self.index,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "method": self.method,
            "kind": self.kind,
            "text": self.text,
            "caption": self.caption,
            "entities": self.entities,
            "reply_markup": self.reply_markup,
            "deleted": self.deleted,
            "copied_from": list(self.copied_from) if self.copied_from else None,
            "recorded_at": self.recorded_at,
            "protected": self.protected,
            "file": self.file.file_dict() if self.file else None,
            "edits": [
                {
                    "text": v.text,
                    "caption": v.caption,
                    "entities": v.entities,
                    "reply_markup": v.reply_markup,
                    "replaced_at": v.replaced_at.isoformat(),
                }
                for v in self.edits
            ],
            "message": self.message,
        }


@dataclass
class ChatState:
    """A private chat between the bot and one user."""

    user: User
    next_message_id: int = 1
    messages: dict[int, JSONDict] = field(default_factory=dict)
    bot_messages: list[BotMessage] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)
    reply_keyboard: JSONDict | None = None
    last_action: str | None = None
    menu_button: JSONDict | None = None

    @property
    def id(self) -> int:
        """The chat id, equal to the user id."""
        return self.user.id

    def visible(self, message_id: int) -> JSONDict | None:
        """Return a message of this chat unless it does not exist or was deleted."""
        return None if message_id in self.deleted else self.messages.get(message_id)

    def bot_message(self, message_id: int) -> BotMessage | None:
        """Return the record of a bot message by its message id."""
        for record in reversed(self.bot_messages):
            if record.message_id == message_id:
                return record
        return None


@dataclass
class CallbackQueryRecord:
    """A button press and the bot's answer to it."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created_at: datetime
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0


class Signal:
    """Wakes coroutines waiting for a change of the world (long polling, test waits)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake every waiter."""
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until ``predicate()`` holds or ``timeout`` seconds pass; return the predicate."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True


def image_size(data: bytes) -> tuple[int, int] | None:
    """Read width and height from PNG, GIF or JPEG bytes; None if unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Find the SOF segment of a JPEG and read its dimensions."""
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    return None


@dataclass
class World:
    """Everything the local Bot API knows."""

    bot: BotIdentity
    now: Clock = utc_now
    users: dict[int, User] = field(default_factory=dict)
    chats: dict[int, ChatState] = field(default_factory=dict)
    updates: list[JSONDict] = field(default_factory=list)
    next_update_id: int = 1
    allowed_updates: list[str] = field(default_factory=list)
    files: dict[str, StoredFile] = field(default_factory=dict)
    files_by_path: dict[str, StoredFile] = field(default_factory=dict)
    callback_queries: dict[str, CallbackQueryRecord] = field(default_factory=dict)
    commands: dict[tuple[str, str], list[JSONDict]] = field(default_factory=dict)
    # The bot's profile texts, by field ("name", "description", "short_description") and
    # language code ("" for the default): setMyName, setMyDescription, setMyShortDescription.
    profile: dict[tuple[str, str], str] = field(default_factory=dict)
    default_menu_button: JSONDict = field(default_factory=lambda: {"type": "commands"})
    signal: Signal = field(default_factory=Signal)
    webhook: JSONDict | None = None  # what setWebhook was given; this server never calls it

    def timestamp(self) -> int:
        """Current Unix time of the world clock."""
        return unix_time(self.now())

    def add_user(self, user: User) -> User:
        """Register a user (replacing one with the same id) and their private chat."""
        self.users[user.id] = user
        chat = self.chats.get(user.id)
        if chat is None:
            self.chats[user.id] = ChatState(user)
        else:
            chat.user = user
        return user

    def user(self, user_id: int) -> User:
        """Return a registered user or raise :class:`ControlError`."""
        if user_id not in self.users:
            raise ControlError(f"unknown user {user_id}; call add_user first")
        return self.users[user_id]

    def chat(self, chat_id: int) -> ChatState | None:
        """Return the private chat with that id, if the user exists."""
        return self.chats.get(chat_id)

    def push_update(self, kind: str, payload: JSONDict) -> JSONDict:
        """Queue an update with the next update_id and wake long polls."""
        update = {"update_id": self.next_update_id, kind: copy.deepcopy(payload)}
        self.next_update_id += 1
        self.updates.append(update)
        self.signal.notify()
        return update

    def _allowed(self, update: JSONDict) -> bool:
        """Whether the current ``allowed_updates`` setting lets this update through."""
        kind = next(key for key in update if key != "update_id")
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in DEFAULT_EXCLUDED_UPDATES

    def deliverable_updates(self, limit: int) -> list[JSONDict]:
        """Drop updates the bot does not want and return the first ``limit`` others."""
        self.updates = [update for update in self.updates if self._allowed(update)]
        return self.updates[:limit]

    def confirm_updates(self, offset: int) -> None:
        """Apply getUpdates' ``offset``: forget updates before it (or all but the last -N)."""
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]

    def new_message(
        self,
        chat: ChatState,
        sender: JSONDict,
        content: JSONDict,
        reply_to: JSONDict | None = None,
    ) -> JSONDict:
        """Create and store a message in ``chat`` with the chat's next message id."""
        message: JSONDict = {
            "message_id": chat.next_message_id,
            "from": sender,
            "chat": chat.user.chat_dict(),
            "date": self.timestamp(),
        }
        if reply_to is not None:
            message["reply_to_message"] = {
                k: v for k, v in reply_to.items() if k != "reply_to_message"
            }
        message.update(content)
        chat.next_message_id += 1
        chat.messages[message["message_id"]] = message
        return message

    def record_bot_message(
        self,
        chat: ChatState,
        message: JSONDict,
        method: str,
        *,
        reply_markup: JSONDict | None = None,
        file: StoredFile | None = None,
        copied_from: tuple[int, int] | None = None,
        options: JSONDict | None = None,
    ) -> BotMessage:
        """Remember a message the bot sent; return its record."""
        record = BotMessage(
            chat_id=chat.id,
            message_id=message["message_id"],
            index=len(chat.bot_messages),
            method=method,
            message=message,
            reply_markup=reply_markup,
            file=file,
            copied_from=copied_from,
            options=dict(options or {}),
        )
        chat.bot_messages.append(record)
        return record

    def store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
        duration: int = 0,
        extra: JSONDict | None = None,
    ) -> StoredFile:
        """Store bytes as a new file with fresh ids and a download path."""
        folder, default_ext = _FILE_DIR.get(kind, ("documents", "bin"))
        ext = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else default_ext
        stored = StoredFile(
            file_id=_FILE_ID_PREFIX.get(kind, "BQACAgIAAxkBAAI") + secrets.token_urlsafe(48),
            file_unique_id="AgAD" + secrets.token_urlsafe(9),
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{len(self.files)}.{ext}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
            duration=duration,
            extra=dict(extra or {}),
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def store_photo(self, data: bytes) -> list[StoredFile]:
        """Store a photo as Telegram does: several sizes, smallest first, each with its id.

        Every size downloads the original bytes (the server does not resize images).
        """
        width, height = image_size(data) or (800, 600)
        longest = max(width, height, 1)
        sides = [side for side in PHOTO_SIDES if side < longest]
        sides.append(min(longest, LARGEST_PHOTO_SIDE))
        group: list[StoredFile] = []
        for side in sides:
            scale = side / longest
            size = (max(round(width * scale), 1), max(round(height * scale), 1))
            group.append(self.store_file("photo", data, width=size[0], height=size[1]))
        for stored in group:
            stored.photo_group = group
        return group
