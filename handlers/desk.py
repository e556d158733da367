"""The mediator's desk: /phrases (saved phrases, and their buttons) and /capacity."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.core.callbacks import PHRASE
from bot.core.errors import StaleActionError
from handlers.context import BotContext
from handlers.replies import answer


def _arg(context: BotContext) -> str:
    return " ".join(context.args or []).strip()


async def phrases(update: Update, context: BotContext) -> None:
    reply = await context.services.desk.phrases(context.person, _arg(context))
    await answer(update, context, [reply])


async def capacity(update: Update, context: BotContext) -> None:
    reply = await context.services.desk.capacity(context.person, _arg(context))
    await answer(update, context, [reply])


async def on_phrase(update: Update, context: BotContext) -> None:
    """A saved phrase tapped: it goes out as her message (checked again now)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    press = PHRASE.unpack(query.data)
    if press is None:
        raise StaleActionError
    desk = context.services.desk
    replies = await desk.send_phrase(context.person, press.text("list"), press.number("ref"))
    await query.answer()
    await answer(update, context, replies)


def desk_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("phrases", phrases, filters=private),
        CommandHandler("capacity", capacity, filters=private),
        CallbackQueryHandler(on_phrase, pattern=PHRASE.pattern),
    ]
