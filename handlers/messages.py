"""Free messages in a private chat that no command took: they always get an answer.

In order: a new team member naming themselves; a team member's waiting command (a note,
an agreement…) or their message to a case; for a resident, first the danger screen if the
message says they are in danger (bot.urgent), then their intake in progress, their message
to their case, else a short hint. Edits follow their copies across the relay.
(Button presses that no handler knows are refused before, by handlers.common.UnknownButtons.)
"""

from __future__ import annotations

import re

from telegram import Message, MessageEntity, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.casework import PENDING_KINDS
from bot.errors import StaleActionError
from bot.i18n import _
from bot.messaging import ID_PATTERN, Outgoing, parse_id
from bot.relay import CARD_PREFIX, HELD_PREFIX
from handlers.context import BotContext
from handlers.incoming import envelope_from, incoming_from, part_of
from handlers.replies import answer
from storage.followup import SURVEY_COMMENT


async def on_message(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    services, person = context.services, context.person
    command = _command_in(message)
    if command is not None:  # a command no handler took: answered, never a message
        await answer(update, context, [unknown_command(command)])
        return
    if person.needs_display_name and message.text:
        person = await services.people.set_display_name(person, message.text)
        name = person.member.display_name if person.member else ""
        await answer(update, context, [team_welcome(name, person.role)])
        return
    if person.busy == "announce":
        text = message.caption if message.photo else message.text
        photo = message.photo[-1].file_id if message.photo else None
        await answer(update, context, await services.announcements.typed(person, text or "", photo))
        return
    if person.member is not None and person.role != "staff":
        await answer(update, context, await _from_team_member(update, context))
        return
    await answer(update, context, await _from_resident(update, context))


async def _from_team_member(update: Update, context: BotContext) -> list[Outgoing]:
    """A command's awaited text (a note, an agreement…), else a message to a case."""
    message, services, person = update.effective_message, context.services, context.person
    assert message is not None
    if message.text and person.busy in PENDING_KINDS:
        replies = await services.casework.pending_text(person, message.text)
        if replies is not None:
            return replies
    return await services.relay.from_member(person, envelope_from(message))


async def _from_resident(update: Update, context: BotContext) -> list[Outgoing]:
    """Danger words first; then the intake in progress, a survey comment, else a message
    to their case."""
    message, services, person = update.effective_message, context.services, context.person
    assert message is not None
    incoming = incoming_from(message)
    alarm = await services.urgent.alarm(person, incoming.text)
    replies: list[Outgoing] | None = None
    if person.busy == "draft":
        replies = await services.intake.handle(person, incoming, alarmed=alarm is not None)
    elif person.busy == SURVEY_COMMENT and message.text and alarm is None:
        comment = await services.revisits.survey_comment(person, message.text)
        replies = [comment] if comment else None
    if replies is None:
        replies = await services.relay.from_resident(person, envelope_from(message))
    if alarm is not None and replies is None:  # no intake, no case: kept for the alarm
        replies = await services.intake.hold(person, incoming)
    if alarm is not None:
        return [alarm, *(replies or [])]
    return replies if replies is not None else [not_understood()]


async def on_edit(update: Update, context: BotContext) -> None:
    message = update.edited_message
    assert message is not None
    await context.services.relay.edited(context.person, part_of(message))


async def on_held_button(update: Update, context: BotContext) -> None:
    """The "show the waiting messages" button: what the flood limit held goes now."""
    query = update.callback_query
    assert query is not None and query.data is not None
    case_id = parse_id(query.data.removeprefix(HELD_PREFIX))
    if case_id is None:
        raise StaleActionError
    replies = await context.services.relay.release_held(context.person, case_id)
    await query.answer()
    await answer(update, context, replies)


CARD_BUTTON = re.compile(rf"^{CARD_PREFIX}({ID_PATTERN}):({ID_PATTERN}):(yes|no)$")


async def on_card_button(update: Update, context: BotContext) -> None:
    """A team member's answer: may the resident have the number on her own contact card?"""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = CARD_BUTTON.match(query.data)
    if match is None:
        raise StaleActionError
    message_id, case_id, send = int(match.group(1)), int(match.group(2)), match.group(3)
    relay = context.services.relay
    replies = await relay.own_card_answered(context.person, message_id, case_id, send == "yes")
    await query.answer()
    await answer(update, context, replies)


def team_welcome(name: str, role: str) -> Outgoing:
    """The new member's first answer, fitting her role; the residents' 找大阿嫂 keyboard
    goes."""
    if role == "adviser":
        text = _(
            "Thank you, {name}. Mediators will see you as {name}; residents never talk to "
            "you directly. Questions about cases will come here: reply to one to answer.\n"
            "/help – what you can do"
        )
    else:
        text = _(
            "Thank you, {name}. Residents will see you as {name}.\n"
            "/duty – go on or off duty\n/help – what you can do"
        )
    return Outgoing(text.format(name=name), reply_keyboard="remove")


def not_understood() -> Outgoing:
    return Outgoing(
        _("Sorry, I did not understand that. Write 找大阿嫂 to talk to Da'asao, or send /help."),
        reply_keyboard="main",
    )


def _command_in(message: Message) -> str | None:
    """The /command a message starts with (as Telegram marks it), else None."""
    first = message.entities[0] if message.entities else None
    if message.text is None or first is None:
        return None
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    return message.text[: first.length].split("@")[0]


def unknown_command(command: str) -> Outgoing:
    return Outgoing(
        _(
            "I don't know the command {command}, so nothing was sent to anyone. "
            "Send /help to see what you can do."
        ).format(command=command)
    )


def message_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    # Commands nobody handles are "not understood" too, through the same path.
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, on_edit),
        MessageHandler(
            private & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, on_message
        ),
        CallbackQueryHandler(on_held_button, pattern=f"^{HELD_PREFIX}"),
        CallbackQueryHandler(on_card_button, pattern=CARD_BUTTON),
    ]
