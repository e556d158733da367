"""Case tools in the chat: /cases, /case, /note, /close, /reopen, /transfer, /reassign,
/consult, /book for the team; /withdraw for residents; and their buttons."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.core.callbacks import (
    AGREE,
    BROKEN,
    CLOSE,
    CONFIRM,
    EXTEND,
    FORM,
    MEMBER_PICK,
    PICK,
    RECALL,
    SELECT,
    TERM,
    TRANSFER,
    TRANSFER_CONFIRM,
    WITHDRAW,
    unpack_any,
)
from bot.core.errors import NotAllowedError, StaleActionError, UsageError
from bot.core.messaging import Outgoing
from bot.domain.permissions import require_mediator
from bot.features.deadlines import TERM_ANSWERS
from handlers.context import BotContext
from handlers.replies import answer


def reply_to(update: Update) -> int | None:
    message = update.effective_message
    replied = message.reply_to_message if message else None
    return replied.message_id if replied else None


def _arg(context: BotContext) -> str:
    return " ".join(context.args or []).strip()


async def cases(update: Update, context: BotContext) -> None:
    work = context.services.casework
    await answer(update, context, [await work.my_cases(context.person)])


async def case(update: Update, context: BotContext) -> None:
    work, person = context.services.casework, context.person
    reply = (
        await work.select(person, _arg(context)) if _arg(context) else await work.my_cases(person)
    )
    await answer(update, context, [reply])


def _numbered(context: BotContext) -> tuple[str | None, str]:
    """A command's case number, if its first word is one, and the rest of its text."""
    words = context.args or []
    if words and CASE_REF.fullmatch(words[0]):
        return words[0], " ".join(words[1:]).strip()
    return None, _arg(context)


async def note(update: Update, context: BotContext) -> None:
    number, text = _numbered(context)
    work = context.services.casework
    reply = await work.note(context.person, reply_to(update), text, number)
    await answer(update, context, [reply])


async def close(update: Update, context: BotContext) -> None:
    number, _rest = _numbered(context)
    reply = await context.services.casework.close_menu(context.person, reply_to(update), number)
    await answer(update, context, [reply])


async def reopen(update: Update, context: BotContext) -> None:
    require_mediator(context.person)
    if not _arg(context):
        raise UsageError("/reopen QJS-2026-0001")
    reply = await context.services.casework.reopen(context.person, _arg(context))
    await answer(update, context, [reply])


async def transfer(update: Update, context: BotContext) -> None:
    reply = await context.services.casework.transfer_menu(
        context.person, reply_to(update), _arg(context) or None
    )
    await answer(update, context, [reply])


async def consult(update: Update, context: BotContext) -> None:
    reply = await context.services.casework.consult(context.person, reply_to(update))
    await answer(update, context, [reply])


async def extend(update: Update, context: BotContext) -> None:
    """/extend: ask the parties of the current case for more time than the limit."""
    case = await context.services.casework.target(context.person, reply_to(update))
    reply = await context.services.time_limits.ask_extension(context.person, case)
    await answer(update, context, [reply])


async def on_extend_button(update: Update, context: BotContext) -> None:
    """A party's answer to "more time?"; the service checks it is theirs to give."""
    query = update.callback_query
    assert query and query.data
    press = EXTEND.unpack(query.data)
    if press is None:
        raise NotAllowedError
    case_id, period = press.number("case"), press.number("period")
    agree = press.text("answer") == "yes"
    reply = await context.services.time_limits.answered(context.person, case_id, period, agree)
    await query.answer()
    await answer(update, context, [reply])


async def book(update: Update, context: BotContext) -> None:
    work = context.services.casework
    files = await work.book(context.person, reply_to(update), _arg(context) or None)
    chat = update.effective_chat
    assert chat is not None
    async for name, data, caption in files:  # the case file as HTML, then as DOCX
        await context.services.messenger.send_document(chat.id, name, data, caption)


async def withdraw(update: Update, context: BotContext) -> None:
    await answer(update, context, [await context.services.casework.withdraw_menu(context.person)])


BUTTONS = (SELECT, CLOSE, TRANSFER, TRANSFER_CONFIRM, WITHDRAW, PICK, MEMBER_PICK, RECALL)
CASE_REF = re.compile(r"[A-Za-z]{2,8}-\d{4}-\d{4}")


async def on_button(update: Update, context: BotContext) -> None:
    """Every case-tool button; the service re-checks who may press it."""
    query = update.callback_query
    assert query and query.data
    press = unpack_any(query.data, *BUTTONS)
    if press is None:
        raise NotAllowedError
    work, relay, person = context.services.casework, context.services.relay, context.person
    replies: list[Outgoing]
    if press.kind is SELECT:
        replies = [await work.select(person, str(press.number("case")))]
    elif press.kind is CLOSE:
        replies = [await work.choose_outcome(person, press.number("case"), press.text("outcome"))]
    elif press.kind is TRANSFER:
        replies = [await work.choose_transfer(person, press.number("case"), press.number("to"))]
    elif press.kind is TRANSFER_CONFIRM:
        case_id, choice = press.number("case"), press.text("choice")
        replies = [await work.transfer_confirmed(person, case_id, choice)]
    elif press.kind is WITHDRAW:
        replies = [await work.withdraw(person, press.number("case"))]
    elif press.kind is MEMBER_PICK:
        replies = await relay.member_picked(person, press.number("message"), press.number("case"))
    elif press.kind is RECALL:
        replies = [await relay.recall(person, press.number("entry"))]
    else:
        replies = await relay.resident_picked(person, press.number("message"), press.number("case"))
    await query.answer()
    await answer(update, context, replies)


CLOSING_BUTTONS = (FORM, CONFIRM, AGREE)


async def on_closing_button(update: Update, context: BotContext) -> None:
    """Written or oral (af), the preview's 确认/修改/取消 (cf), a party's 我同意 (ac)."""
    query = update.callback_query
    assert query and query.data
    press = unpack_any(query.data, *CLOSING_BUTTONS)
    if press is None:
        raise NotAllowedError
    case_id, closing, person = press.number("case"), context.services.closing, context.person
    if press.kind is FORM:
        replies = [await closing.form_chosen(person, case_id, press.text("form"))]
    elif press.kind is CONFIRM:
        replies = await closing.confirm_pressed(person, case_id, press.text("choice"))
    else:
        replies = [await closing.agreed(person, case_id)]
    await query.answer()
    await answer(update, context, replies)


DEADLINE_BUTTONS = (TERM, BROKEN)


async def on_deadline_button(update: Update, context: BotContext) -> None:
    """A term's card (tf: performed / not yet / broken) and the head's choice (tb:)."""
    query = update.callback_query
    assert query and query.data
    press = unpack_any(query.data, *DEADLINE_BUTTONS)
    if press is None:
        raise NotAllowedError
    case_id, n = press.number("case"), press.number("term")
    deadlines, person = context.services.deadlines, context.person
    if press.kind is TERM and press.text("answer") in TERM_ANSWERS:
        reply = await deadlines.term_answered(person, case_id, n, press.text("answer"))
    elif press.kind is BROKEN and press.text("choice") == "revisit":
        reply = await deadlines.revisit_broken(person, case_id, n)
    elif press.kind is BROKEN:
        case = await deadlines.broken_case(person, case_id, n)
        reply = await context.services.casework.reopen(person, case.number)
    else:
        raise StaleActionError
    await query.answer()
    await answer(update, context, [reply])


def casework_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    commands = {
        "cases": cases,
        "case": case,
        "note": note,
        "close": close,
        "reopen": reopen,
        "transfer": transfer,
        "reassign": transfer,
        "consult": consult,
        "book": book,
        "extend": extend,
        "withdraw": withdraw,
    }
    return [
        *(CommandHandler(name, callback, filters=private) for name, callback in commands.items()),
        *(CallbackQueryHandler(on_button, pattern=kind.pattern) for kind in BUTTONS),
        *(CallbackQueryHandler(on_closing_button, pattern=k.pattern) for k in CLOSING_BUTTONS),
        *(CallbackQueryHandler(on_deadline_button, pattern=k.pattern) for k in DEADLINE_BUTTONS),
        CallbackQueryHandler(on_extend_button, pattern=EXTEND.pattern),
    ]
