"""A mediator's answer to an offer card: accept, or decline with a reason."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.i18n import _
from bot.messaging import ID_PATTERN, Outgoing
from bot.routing import OFFER_PREFIX
from handlers.context import BotContext

PATTERN = re.compile(rf"^{OFFER_PREFIX}({ID_PATTERN}):(accept|decline|back|no-\w+|yes-\w+)$")


async def on_offer_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data and query.message
    match = PATTERN.match(query.data)
    assert match  # the handler's pattern guarantees it
    offer_id, action = int(match.group(1)), match.group(2)
    routing, person = context.services.routing, context.person
    accepted = None
    if action == "accept":
        accepted = await routing.accept(person, offer_id)
        said = _("✓ You accepted case {number}. What the resident wrote follows.")
        lines = await routing.cards.lines(accepted)
        card = Outgoing("\n".join([said.format(number=accepted.number), *lines]))
    elif action == "decline":
        card = await routing.decline_reasons(person, offer_id)
    elif action == "back":
        card = await routing.card(person, offer_id)
    elif action.startswith("no-"):  # a reason chosen: confirm first
        card = await routing.confirm_decline(person, offer_id, action.removeprefix("no-"))
    else:
        await routing.decline(person, offer_id, action.removeprefix("yes-"))
        card = Outgoing(_("You declined this case. It has been offered to someone else."))
    await query.answer()
    await context.services.messenger.edit(query.message.chat.id, query.message.message_id, card)
    if accepted is not None and accepted.no_mediation:  # violence: the care panel follows
        panel = await context.services.urgent.panel(person, accepted)
        await context.services.messenger.send(query.message.chat.id, panel)


def offer_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CallbackQueryHandler(on_offer_button, pattern=PATTERN)]
