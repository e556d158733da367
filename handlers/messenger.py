"""The Telegram side of `bot.messaging`: Outgoing messages become Bot API calls."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
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

    async def send(self, chat_id: int, message: Outgoing) -> int | None:
        try:
            sent = await self._bot.send_message(chat_id, message.text, reply_markup=markup(message))
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

    async def copy(self, from_chat_id: int, message_id: int, to_chat_id: int) -> int | None:
        try:
            copied = await self._bot.copy_message(to_chat_id, from_chat_id, message_id)
        except Forbidden:
            log.info("recipient has blocked the bot")
            return None
        return copied.message_id
