"""Sending a service's answer back to the chat an update came from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from telegram import Update

from bot.messaging import Outgoing
from handlers.context import BotContext


async def answer(update: Update, context: BotContext, replies: Sequence[Outgoing]) -> None:
    """Send each reply, in order, to the chat of the update."""
    chat = update.effective_chat
    assert chat is not None
    team = context.person.member is not None and context.person.role != "staff"
    for reply in replies:
        keyboard = reply.reply_keyboard
        if team and keyboard == "main":  # 找大阿嫂 is the residents' button
            keyboard = "remove"
        await context.services.messenger.send(chat.id, replace(reply, reply_keyboard=keyboard))


async def answer_text(update: Update, context: BotContext, text: str) -> None:
    await answer(update, context, [Outgoing(text)])
