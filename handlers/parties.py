"""The other party of a case: /party (invite, with its QR code), /talk, /start party-…,
and the buttons of joining, ending and choosing whom to talk to."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.core.callbacks import END, JOIN, TALK, unpack_any
from bot.core.errors import NotAllowedError
from bot.core.i18n import _
from bot.core.messaging import Outgoing
from bot.features.parties import PARTY_PREFIX, qr_png
from handlers.casework import reply_to
from handlers.context import BotContext
from handlers.replies import answer


async def invite_party(update: Update, context: BotContext) -> None:
    """/party: a one-time link for the other party of the current (or replied-to) case."""
    work, parties, person = context.services.casework, context.services.parties, context.person
    case = await work.target(person, reply_to(update))
    invitation = await parties.invite(person, case)
    link = f"https://t.me/{context.bot.username}?start={PARTY_PREFIX}{invitation.token}"
    await answer(update, context, [Outgoing(invitation.text(link))])
    chat = update.effective_chat
    assert chat is not None
    caption = _("QR code of the invitation for case {number}").format(number=invitation.number)
    await context.services.messenger.send_photo_file(
        chat.id, f"{invitation.number}-invite.png", qr_png(link), caption
    )


async def talk(update: Update, context: BotContext) -> None:
    """/talk: whom messages without a reply go to in the current case."""
    work, person = context.services.casework, context.person
    case = await work.target(person, reply_to(update))
    await answer(update, context, [await context.services.parties.talk_menu(person, case)])


async def opened(update: Update, context: BotContext) -> None:
    """/start party-<token>: the invited party opened the link."""
    token = (context.args or [""])[0].removeprefix(PARTY_PREFIX)
    await answer(update, context, [await context.services.parties.opened(context.person, token)])


BUTTONS = (JOIN, END, TALK)


async def on_button(update: Update, context: BotContext) -> None:
    """Joining (pj), ending (pe), talking to (tk): the service checks who may press."""
    query = update.callback_query
    assert query and query.data
    press = unpack_any(query.data, *BUTTONS)
    if press is None:
        raise NotAllowedError
    case_id, parties, person = press.number("case"), context.services.parties, context.person
    if press.kind is JOIN:
        reply = await parties.answered(person, case_id, press.text("answer") == "yes")
    elif press.kind is END:
        reply = await parties.end(person, case_id)
    else:
        reply = await parties.talk_to(person, case_id, press.text("to"))
    await query.answer()
    await answer(update, context, [reply])


def party_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler(
            "start", opened, filters=private & filters.Regex(rf"^/start {PARTY_PREFIX}")
        ),
        CommandHandler("party", invite_party, filters=private),
        CommandHandler("talk", talk, filters=private),
        *(CallbackQueryHandler(on_button, pattern=kind.pattern) for kind in BUTTONS),
    ]
