"""The mediator's desk: /phrases (saved phrases, and their buttons) and /capacity."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.desk import PHRASE_PREFIX
from bot.errors import StaleActionError
from bot.messaging import ID_PATTERN, parse_id
from handlers.context import BotContext
from handlers.replies import answer

PHRASE_BUTTON = re.compile(rf"^{PHRASE_PREFIX}([sm]):({ID_PATTERN})$")


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
    match = PHRASE_BUTTON.match(query.data)
    ref = parse_id(match.group(2)) if match else None
    if match is None or ref is None:
        raise StaleActionError
    replies = await context.services.desk.send_phrase(context.person, match.group(1), ref)
    await query.answer()
    await answer(update, context, replies)


def desk_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("phrases", phrases, filters=private),
        CommandHandler("capacity", capacity, filters=private),
        CallbackQueryHandler(on_phrase, pattern=PHRASE_BUTTON),
    ]
