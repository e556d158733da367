"""Free messages in a private chat that no command took: they always get an answer.

In order: a new team member naming themselves, a resident's intake in progress, else a
short hint. (Relay to a case's mediator comes before the hint once a case is open.)
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.i18n import _
from bot.messaging import Outgoing
from handlers.context import BotContext
from handlers.incoming import incoming_from
from handlers.replies import answer


async def on_message(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    services, person = context.services, context.person
    if person.needs_display_name and message.text:
        person = await services.people.set_display_name(person, message.text)
        await answer(
            update, context, [team_welcome(person.member.display_name if person.member else "")]
        )
        return
    replies = await services.intake.handle(person, incoming_from(message))
    await answer(update, context, replies or [not_understood()])


def team_welcome(name: str) -> Outgoing:
    return Outgoing(
        _(
            "Thank you, {name}. Residents will see you as {name}.\n"
            "/duty – go on or off duty\n/help – what you can do"
        ).format(name=name)
    )


def not_understood() -> Outgoing:
    return Outgoing(
        _("Sorry, I did not understand that. Write 找大阿嫂 to talk to Da'asao, or send /help."),
        reply_keyboard="main",
    )


def message_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    # Commands nobody handles are "not understood" too, through the same path.
    return [MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, on_message)]
