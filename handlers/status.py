"""/status: a resident's own cases."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from handlers.context import BotContext
from handlers.replies import answer_text


async def status(update: Update, context: BotContext) -> None:
    await answer_text(update, context, await context.services.cases.status(context.person))


def status_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler("status", status, filters=filters.ChatType.PRIVATE)]
