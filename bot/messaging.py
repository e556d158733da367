"""How services speak to people who did not just write to us (mediators, the head, residents).

Services build `Outgoing` messages in the recipient's language and hand them to a
`Messenger`; the Telegram adapter (handlers/messenger.py) turns them into API calls.
Buttons carry opaque references; whoever receives the press re-checks everything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

ReplyKeyboard = Literal["main", "share_phone", "remove"]


class TransientDeliveryError(Exception):
    """Telegram could not take the message now (flood limit, network): try again later."""

    def __init__(self, retry_after: float = 0) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


# Why Telegram refused a message for good: each has its own words for the sender.
RefusalReason = Literal["blocked", "too_long", "not_allowed", "rejected"]


class DeliveryRefused(Exception):
    """Telegram will never take this message: retrying cannot help."""

    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(reason)
        self.reason: RefusalReason = reason


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # callback data: an opaque reference, at most 64 bytes


@dataclass(frozen=True)
class Outgoing:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    reply_keyboard: ReplyKeyboard | None = None  # only when there are no inline buttons
    photo: str | None = None  # a Telegram file id: sent as a photo with `text` as caption
    entities: tuple[dict[str, Any], ...] = ()  # Bot API MessageEntity objects of `text`
    protect: bool = False  # the recipient can neither forward nor save it
    quiet: bool = False  # arrives without a sound (a confirmation, not news)


def outgoing_to_json(message: Outgoing) -> dict[str, Any]:
    return asdict(message)


def buttons_from_json(data: list[list[dict[str, str]]]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(Button(**button) for button in row) for row in data)


def buttons_to_json(buttons: tuple[tuple[Button, ...], ...]) -> list[list[dict[str, str]]]:
    return [[asdict(button) for button in row] for row in buttons]


def outgoing_from_json(data: dict[str, Any]) -> Outgoing:
    return Outgoing(
        text=data["text"],
        buttons=buttons_from_json(data["buttons"]),
        reply_keyboard=data["reply_keyboard"],
        photo=data["photo"],
        entities=tuple(data.get("entities", ())),
        protect=bool(data.get("protect", False)),
        quiet=bool(data.get("quiet", False)),
    )


def rows(*buttons: Button, per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    """Lay buttons out `per_row` to a row."""
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


MAX_ID_DIGITS = 18  # a larger number does not fit SQLite's 64-bit INTEGER
ID_PATTERN = rf"[0-9]{{1,{MAX_ID_DIGITS}}}"  # an id inside callback data


def parse_id(text: str) -> int | None:
    """An id from callback data or a command, or None: ASCII digits only (`int()` also takes
    "٣" and chokes on "²"), and small enough for the database."""
    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        return int(text)
    return None


class Messenger(Protocol):
    async def send(
        self, chat_id: int, message: Outgoing, *, reply_to: int | None = None
    ) -> int | None:
        """Send; the new message id, or None when the person has blocked the bot."""
        ...

    async def send_document(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None: ...

    async def send_photo_file(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None:
        """Upload an image (a QR code) as a photo; None when the person blocked the bot."""
        ...

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> None:
        """Replace the text and buttons of a message the bot sent earlier."""
        ...

    async def copy(
        self,
        from_chat_id: int,
        message_id: int,
        to_chat_id: int,
        *,
        reply_to: int | None = None,
        caption: str | None = None,
        protect: bool = False,
    ) -> int | None:
        """Copy a message without any "forwarded from" header (a media message's caption
        replaced by `caption` if given; `protect`: the recipient can neither forward nor
        save it); None when the recipient blocked the bot."""
        ...

    async def send_contact(
        self,
        chat_id: int,
        phone: str,
        first_name: str,
        *,
        reply_to: int | None = None,
        protect: bool = False,
    ) -> int | None:
        """A contact card with only this number and name (no account); None when blocked."""
        ...

    async def delete(self, chat_id: int, message_id: int) -> bool:
        """Delete one of the bot's messages; False when Telegram no longer allows it."""
        ...

    async def edit_copy(
        self, chat_id: int, message_id: int, *, text: str | None, caption: str | None
    ) -> None:
        """Follow an edit of the original: new text, or new caption of a media message."""
        ...

    async def set_buttons(
        self, chat_id: int, message_id: int, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> None:
        """New inline buttons on a message, its text (or caption) unchanged; none: the
        buttons are taken off (their action is over)."""
        ...
