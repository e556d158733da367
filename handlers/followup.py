"""Buttons of revisit cards and of the resident's survey; who blocked or unblocked the bot."""

from __future__ import annotations

from telegram import CallbackQuery, ChatMember, Message, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, ChatMemberHandler

from bot.core.callbacks import REVISIT, SURVEY
from handlers.context import BotContext
from handlers.replies import answer


async def on_revisit(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    press = REVISIT.unpack(query.data)
    assert press  # the handler's pattern guarantees it
    case_id, n, choice = press.number("case"), press.number("round"), press.text("answer")
    reply = await context.services.revisits.answer_revisit(context.person, case_id, n, choice)
    await query.answer()
    await _close_card(query, context)
    await answer(update, context, [reply])


async def on_survey(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    press = SURVEY.unpack(query.data)
    assert press  # the handler's pattern guarantees it
    case_id, step, value = press.number("case"), press.text("step"), press.text("value")
    reply = await context.services.revisits.answer_survey(context.person, case_id, step, value)
    await query.answer()
    await _close_card(query, context)
    await answer(update, context, [reply])


async def _close_card(query: CallbackQuery, context: BotContext) -> None:
    """One answer per card: its buttons go, through the messenger like every send. Data
    the pressed message does not show (a forged press) leaves that message alone: removing
    nothing is an error at Telegram, and the answer would be lost with it."""
    pressed = query.message
    if not isinstance(pressed, Message) or pressed.reply_markup is None:
        return
    rows = pressed.reply_markup.inline_keyboard
    if any(button.callback_data == query.data for row in rows for button in row):
        await context.services.messenger.set_buttons(pressed.chat.id, pressed.message_id)


async def on_block_change(update: Update, context: BotContext) -> None:
    """Telegram tells us when a user blocks (kicked) or unblocks the bot."""
    change = update.my_chat_member
    assert change is not None
    if change.chat.type != ChatType.PRIVATE:
        return  # removed from (or added to) a group: not about our private chat with them
    blocked = change.new_chat_member.status == ChatMember.BANNED
    await context.services.people.blocked(context.person.id, blocked)


def followup_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CallbackQueryHandler(on_revisit, pattern=REVISIT.pattern),
        CallbackQueryHandler(on_survey, pattern=SURVEY.pattern),
        ChatMemberHandler(on_block_change, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
