"""/start and /help: residents start an intake; team members get their own help."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.i18n import _
from bot.people import Person
from handlers.context import BotContext
from handlers.intake import begin
from handlers.replies import answer, answer_text


async def start(update: Update, context: BotContext) -> None:
    if context.person.role == "resident":
        await begin(update, context)
        offer = await context.services.subscriptions.offer_once(context.person)
        if offer is not None:
            await answer(update, context, [offer])
        return
    await answer_text(update, context, help_text(context.person))


async def help_command(update: Update, context: BotContext) -> None:
    await answer_text(update, context, help_text(context.person))


def help_text(person: Person) -> str:
    lines = [
        _("Write 找大阿嫂 (or press the button) to talk to a Da'asao mediator in private."),
        _("/status – your cases · /withdraw – withdraw one"),
        _("/subscribe – event notices · /privacy – your data, discreet mode"),
        _("/cancel – stop what you are doing"),
        _("/language – choose your language"),
    ]
    if person.is_mediator:
        lines += [
            _("/duty – go on or off duty"),
            _("/cases – your cases · /case QJS-… – talk in that case"),
            _("Reply to a message of a case to answer in it."),
            _("/note – a private note · /book – the case's registration book"),
            _("/transfer – hand over · /consult – ask the legal adviser"),
            _("/close – close with the outcome · /reopen QJS-… – open again"),
            _("/care – safety: information cards, referrals, not suitable for mediation"),
            _("/party – invite the other party · /talk – whom your messages go to"),
            _("/extend – ask the parties for more time than the limit"),
        ]
    if person.is_head:
        lines.append(_("/reassign – take or give any open case, waiting or not"))
    if person.is_staff or person.is_head:
        lines.append(_("/block QJS-… reason – stop an abusive resident · /unblock QJS-…"))
        lines.append(_("/access QJS-… – who read a case, and when"))
    if person.is_staff:
        lines.append(_("/announce – an event notice · /announcements – sent and planned"))
        lines.append(_("/invite – invite a mediator, the head or the adviser"))
        lines.append(_("/mediators – the mediators: deactivate, make head"))
    if person.is_staff or person.is_head:
        lines.append(_("/roster – the duty roster; /roster export to edit it in Excel"))
        lines.append(_("/overview – open cases, waiting offers, overdue revisits"))
        lines.append(_("/stats – statistics, e.g. /stats last-month or /stats 2025"))
    return "\n".join(lines)


def start_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private, has_args=False),
        CommandHandler("help", help_command, filters=private),
    ]
