"""The Telegram side of `bot.messaging`: Outgoing messages become Bot API calls."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.i18n import _
from bot.messaging import (
    Button,
    DeliveryRefused,
    Outgoing,
    RefusalReason,
    TransientDeliveryError,
)

log = logging.getLogger(__name__)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def main_keyboard() -> ReplyKeyboardMarkup:
    """The persistent "找大阿嫂" button under the resident's text field."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(_("Find Da'asao"))]], resize_keyboard=True, is_persistent=True
    )


def markup(message: Outgoing) -> Markup | None:
    if message.buttons:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                for row in message.buttons
            ]
        )
    if message.reply_keyboard == "main":
        return main_keyboard()
    if message.reply_keyboard == "share_phone":
        share = KeyboardButton(_("📱 Share my number"), request_contact=True)
        return ReplyKeyboardMarkup(
            [[share], [KeyboardButton(_("Skip"))]], resize_keyboard=True, one_time_keyboard=True
        )
    if message.reply_keyboard == "remove":
        return ReplyKeyboardRemove()
    return None


class TelegramMessenger:
    """Bot API calls for the services: blocked → None, passing trouble → retry later."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(
        self, chat_id: int, message: Outgoing, *, reply_to: int | None = None
    ) -> int | None:
        try:
            async with _transient():
                sent = await self._send(chat_id, message, reply_to)
        except DeliveryRefused as refusal:
            _none_if_blocked(refusal)
            return None
        return sent.message_id

    async def _send(self, chat_id: int, message: Outgoing, reply_to: int | None) -> Message:
        if message.photo is not None:
            return await self._bot.send_photo(
                chat_id,
                message.photo,
                caption=message.text,
                reply_markup=markup(message),
                reply_parameters=_reply(reply_to),
                protect_content=message.protect or None,
            )
        entities = [MessageEntity.de_json(e, self._bot) for e in message.entities]
        return await self._bot.send_message(
            chat_id,
            message.text,
            reply_markup=markup(message),
            reply_parameters=_reply(reply_to),
            entities=entities or None,
            protect_content=message.protect or None,
            disable_notification=message.quiet or None,
        )

    async def send_document(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None:
        try:
            async with _transient():
                document = InputFile(data, filename=file_name)
                sent = await self._bot.send_document(chat_id, document, caption=caption)
        except DeliveryRefused as refusal:
            _none_if_blocked(refusal)
            return None
        return sent.message_id

    async def send_photo_file(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None:
        try:
            async with _transient():
                photo = InputFile(data, filename=file_name)
                sent = await self._bot.send_photo(chat_id, photo, caption=caption)
        except DeliveryRefused as refusal:
            _none_if_blocked(refusal)
            return None
        return sent.message_id

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> None:
        inline = markup(message)
        async with _transient(), _unless_unchanged():
            await self._bot.edit_message_text(
                message.text,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=inline if isinstance(inline, InlineKeyboardMarkup) else None,
            )

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
        try:
            async with _transient():
                copied = await self._bot.copy_message(
                    to_chat_id,
                    from_chat_id,
                    message_id,
                    caption=caption,
                    reply_parameters=_reply(reply_to),
                    protect_content=protect or None,
                )
        except DeliveryRefused as refusal:
            _none_if_blocked(refusal)
            return None
        return copied.message_id

    async def send_contact(
        self,
        chat_id: int,
        phone: str,
        first_name: str,
        *,
        reply_to: int | None = None,
        protect: bool = False,
    ) -> int | None:
        try:
            async with _transient():
                sent = await self._bot.send_contact(
                    chat_id,
                    phone_number=phone,
                    first_name=first_name,
                    reply_parameters=_reply(reply_to),
                    protect_content=protect or None,
                )
        except DeliveryRefused as refusal:
            _none_if_blocked(refusal)
            return None
        return sent.message_id

    async def delete(self, chat_id: int, message_id: int) -> bool:
        try:
            async with _transient():
                return await self._bot.delete_message(chat_id, message_id)
        except DeliveryRefused:
            return False  # older than 48 hours, already gone, or the bot is blocked

    async def set_commands(self, chat_id: int, commands: Sequence[tuple[str, str]]) -> None:
        """The chat's own command menu (bot.menus); none: back to the bot-wide one."""
        scope = BotCommandScopeChat(chat_id)
        async with _transient():
            if commands:
                listed = [BotCommand(name, description) for name, description in commands]
                await self._bot.set_my_commands(listed, scope=scope)
            else:
                await self._bot.delete_my_commands(scope=scope)

    async def edit_copy(
        self, chat_id: int, message_id: int, *, text: str | None, caption: str | None
    ) -> None:
        try:
            async with _transient(), _unless_unchanged():
                await self._edit_copy(chat_id, message_id, text, caption)
        except DeliveryRefused as refusal:
            _none_if_blocked(refusal)

    async def set_buttons(
        self, chat_id: int, message_id: int, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> None:
        inline = markup(Outgoing("", buttons)) if buttons else None
        try:
            async with _transient(), _unless_unchanged():
                await self._bot.edit_message_reply_markup(
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=inline if isinstance(inline, InlineKeyboardMarkup) else None,
                )
        except DeliveryRefused:
            pass  # too old to edit, already gone, or blocked: the press was answered anyway

    async def _edit_copy(
        self, chat_id: int, message_id: int, text: str | None, caption: str | None
    ) -> None:
        if text is not None:
            await self._bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        elif caption is not None:
            await self._bot.edit_message_caption(
                chat_id=chat_id, message_id=message_id, caption=caption
            )


def _none_if_blocked(refusal: DeliveryRefused) -> None:
    """A 403: the caller gets None and flags the recipient; any other refusal goes on."""
    if refusal.reason != "blocked":
        raise refusal
    log.info("recipient has blocked the bot")


@asynccontextmanager
async def _transient() -> AsyncIterator[None]:
    """Flood limits and network trouble become the services' TransientDeliveryError; a
    refusal (BadRequest: retrying never helps) becomes DeliveryRefused with its reason."""
    try:
        yield
    except BadRequest as error:  # a NetworkError subclass in PTB: caught first
        raise DeliveryRefused(refusal_reason(error.message)) from error
    except Forbidden as error:
        raise DeliveryRefused("blocked") from error
    except RetryAfter as error:
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        raise TransientDeliveryError(seconds) from error
    except NetworkError as error:
        raise TransientDeliveryError(1) from error


@asynccontextmanager
async def _unless_unchanged() -> AsyncIterator[None]:
    """Editing to the same content is not an error for us."""
    try:
        yield
    except BadRequest as error:
        if "not modified" not in error.message:
            raise


def refusal_reason(message: str) -> RefusalReason:
    """What a BadRequest means for the person whose message it was."""
    text = message.lower()
    if "too long" in text:
        return "too_long"
    if any(hint in text for hint in ("can't be copied", "not allowed", "rights", "forbidden")):
        return "not_allowed"
    return "rejected"


def _reply(message_id: int | None) -> ReplyParameters | None:
    # allow_sending_without_reply: a deleted original must not lose the message.
    if message_id is None:
        return None
    return ReplyParameters(message_id, allow_sending_without_reply=True)
