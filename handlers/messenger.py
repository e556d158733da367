"""The Telegram side of `bot.messaging`: Outgoing messages become Bot API calls."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden

from bot.i18n import _
from bot.messaging import Outgoing

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
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(
        self, chat_id: int, message: Outgoing, *, reply_to: int | None = None
    ) -> int | None:
        try:
            sent = await self._bot.send_message(
                chat_id,
                message.text,
                reply_markup=markup(message),
                reply_parameters=_reply(reply_to),
            )
        except Forbidden:
            log.info("recipient has blocked the bot")
            return None
        return sent.message_id

    async def send_document(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None:
        try:
            sent = await self._bot.send_document(
                chat_id, InputFile(data, filename=file_name), caption=caption
            )
        except Forbidden:
            log.info("recipient has blocked the bot")
            return None
        return sent.message_id

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> None:
        inline = markup(message)
        try:
            await self._bot.edit_message_text(
                message.text,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=inline if isinstance(inline, InlineKeyboardMarkup) else None,
            )
        except BadRequest as error:
            if "not modified" not in error.message:
                raise

    async def copy(
        self, from_chat_id: int, message_id: int, to_chat_id: int, *, reply_to: int | None = None
    ) -> int | None:
        try:
            copied = await self._bot.copy_message(
                to_chat_id, from_chat_id, message_id, reply_parameters=_reply(reply_to)
            )
        except Forbidden:
            log.info("recipient has blocked the bot")
            return None
        return copied.message_id

    async def edit_copy(
        self, chat_id: int, message_id: int, *, text: str | None, caption: str | None
    ) -> None:
        try:
            if text is not None:
                await self._bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
            elif caption is not None:
                await self._bot.edit_message_caption(
                    chat_id=chat_id, message_id=message_id, caption=caption
                )
        except Forbidden:
            log.info("recipient has blocked the bot")
        except BadRequest as error:
            if "not modified" not in error.message:
                raise


def _reply(message_id: int | None) -> ReplyParameters | None:
    # allow_sending_without_reply: a deleted original must not lose the message.
    if message_id is None:
        return None
    return ReplyParameters(message_id, allow_sending_without_reply=True)
