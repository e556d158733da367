"""Intake: "找大阿嫂" / /start → the steps of a new case, by message or by button."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.core.callbacks import INTAKE
from bot.core.errors import StaleActionError
from bot.core.i18n import _
from bot.core.messaging import Outgoing
from bot.features.intake import NEW_MATTER, Incoming, Step, is_trigger
from handlers.context import BotContext
from handlers.messages import on_message
from handlers.replies import answer


async def begin(update: Update, context: BotContext) -> None:
    if context.person.role != "resident":  # "大阿嫂" from the team is a message, not a request
        await on_message(update, context)
        return
    await answer(update, context, await context.services.intake.begin(context.person))


async def cancel(update: Update, context: BotContext) -> None:
    services, person = context.services, context.person
    if await services.casework.cancel_pending(person) or await services.announcements.cancel(
        person
    ):
        await answer(update, context, [Outgoing(_("Cancelled."))])
        return
    await answer(update, context, await context.services.intake.cancel(context.person))


async def button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    press = INTAKE.unpack(query.data)
    assert press  # the handler's pattern guarantees it
    step, value = press.text("step"), press.text("value")
    intake = context.services.intake
    if query.data == NEW_MATTER:
        replies: list[Outgoing] | None = await intake.begin(context.person, new_matter=True)
    else:
        replies = await intake.handle(context.person, Incoming("button", text=value, step=step))
    if replies is None:  # a button of an intake that was finished or cancelled
        raise StaleActionError
    await query.answer()
    if step == Step.SUMMARY and query.message is not None:  # sent or cancelled: not twice
        await context.services.messenger.set_buttons(
            query.message.chat.id, query.message.message_id
        )
    await answer(update, context, replies)


class TriggerFilter(filters.MessageFilter):
    """找大阿嫂 and its variants, typed or from the persistent button."""

    def filter(self, message: Message) -> bool:
        text = message.text
        return text is not None and len(text) <= 40 and is_trigger(text)


def intake_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("cancel", cancel, filters=private),
        MessageHandler(private & TriggerFilter(), begin),
        CallbackQueryHandler(button, pattern=INTAKE.pattern),
    ]
