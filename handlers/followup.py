"""Buttons of revisit cards and of the resident's survey; who blocked or unblocked the bot."""

from __future__ import annotations

import re

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ChatMemberHandler

from bot.revisits import REVISIT_PREFIX, SURVEY_PREFIX
from handlers.context import BotContext
from handlers.replies import answer

REVISIT = re.compile(rf"^{REVISIT_PREFIX}(\d+):(\d+):(\w+)$")
SURVEY = re.compile(rf"^{SURVEY_PREFIX}(\d+):(\w+):(\w+)$")


async def on_revisit(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    match = REVISIT.match(query.data)
    assert match
    case_id, n, choice = int(match.group(1)), int(match.group(2)), match.group(3)
    reply = await context.services.revisits.answer_revisit(context.person, case_id, n, choice)
    await query.answer()
    await query.edit_message_reply_markup(None)  # one answer per card
    await answer(update, context, [reply])


async def on_survey(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    match = SURVEY.match(query.data)
    assert match
    case_id, step, value = int(match.group(1)), match.group(2), match.group(3)
    reply = await context.services.revisits.answer_survey(context.person, case_id, step, value)
    await query.answer()
    await query.edit_message_reply_markup(None)
    await answer(update, context, [reply])


async def on_block_change(update: Update, context: BotContext) -> None:
    """Telegram tells us when a user blocks (kicked) or unblocks the bot."""
    change = update.my_chat_member
    assert change is not None
    blocked = change.new_chat_member.status == ChatMember.BANNED
    await context.services.people.blocked(context.person.id, blocked)


def followup_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CallbackQueryHandler(on_revisit, pattern=REVISIT),
        CallbackQueryHandler(on_survey, pattern=SURVEY),
        ChatMemberHandler(on_block_change, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
