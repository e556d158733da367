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
    await context.services.menus.refresh(context.person.id)  # her role's menu, afresh
    await answer_text(update, context, help_text(context.person))


async def help_command(update: Update, context: BotContext) -> None:
    await answer_text(update, context, help_text(context.person))


def help_text(person: Person) -> str:
    """What this person's role does, and its commands."""
    if person.role == "adviser":
        return _adviser_help()
    if person.is_mediator:
        return "\n".join([*_mediator_help(person), *_oversight_help(person)])
    if person.is_staff:
        return "\n".join([*_staff_help(), *_oversight_help(person)])
    return _resident_help()


def _resident_help() -> str:
    return "\n".join(
        [
            _("Write 找大阿嫂 (or press the button) to talk to a Da'asao mediator in private."),
            _("/status – your cases · /withdraw – withdraw one"),
            _("/subscribe – event notices · /privacy – your data, discreet mode"),
            _("/cancel – stop what you are doing"),
            _("/language – choose your language"),
        ]
    )


def _mediator_help(person: Person) -> list[str]:
    lines = [
        _(
            "You mediate the cases offered to you: accept or decline each offer, then talk "
            "with the resident here, through the bot; she never sees your account."
        ),
        _("/cases – your cases · /case QJS-… – talk in that case"),
        _(
            "Reply to a message of a case to answer in it; a line under each message says "
            "where it went, with Recall to take it back."
        ),
        _("/phrases – saved phrases, sent in two taps"),
        _("/note – a private note · /book – the case's registration book"),
        _("/transfer – hand over · /consult – ask the legal adviser"),
        _("/close – close with the outcome · /reopen QJS-… – open again"),
        _("/care – safety: information cards, referrals, not suitable for mediation"),
        _("/party – invite the other party · /talk – whom your messages go to"),
        _("/extend – ask the parties for more time than the limit"),
        _("/duty – go on or off duty · /capacity – how many cases you can carry"),
        _("/cancel – stop what you are doing · /language – choose your language"),
    ]
    if person.is_head:
        lines.insert(1, _("As the head, you also watch over the whole society's cases."))
        lines.append(_("/reassign – take or give any open case, waiting or not"))
    return lines


def _staff_help() -> list[str]:
    return [
        _("You run the mediation desk: the team, the roster, notices and statistics."),
        _("/announce – an event notice · /announcements – sent and planned"),
        _("/invite – invite a mediator, the head or the adviser"),
        _("/mediators – the mediators: deactivate, make head"),
        _("/cancel – stop what you are doing · /language – choose your language"),
    ]


def _oversight_help(person: Person) -> list[str]:
    if not (person.is_staff or person.is_head):
        return []
    return [
        _("/block QJS-… reason – stop an abusive resident · /unblock QJS-…"),
        _("/access QJS-… – who read a case, and when"),
        _("/roster – the duty roster; /roster export to edit it in Excel"),
        _("/overview – open cases, waiting offers, overdue revisits"),
        _("/stats – statistics, e.g. /stats last-month or /stats 2025"),
    ]


def _adviser_help() -> str:
    return "\n".join(
        [
            _(
                "You are the society's legal adviser. Mediators send you questions about "
                "their cases; you see the topic and area, never who the resident is."
            ),
            _("Reply to a question to answer the mediator who asked it."),
            _("/cancel – stop what you are doing · /language – choose your language"),
        ]
    )


def start_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private, has_args=False),
        CommandHandler("help", help_command, filters=private),
    ]
