"""Case tools in the chat: /cases, /case, /note, /close, /reopen, /transfer, /reassign,
/consult, /book for the team; /withdraw for residents; and their buttons."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.casework import (
    CLOSE_PREFIX,
    SELECT_PREFIX,
    TRANSFER_CONFIRM_PREFIX,
    TRANSFER_PREFIX,
    WITHDRAW_PREFIX,
)
from bot.closing import AGREE_PREFIX, CONFIRM_PREFIX, FORM_PREFIX
from bot.deadlines import BROKEN_PREFIX, TERM_ANSWERS, TERM_PREFIX
from bot.errors import NotAllowedError, StaleActionError, UsageError
from bot.messaging import ID_PATTERN, Outgoing, parse_id
from bot.relay import MEMBER_PICK_PREFIX, PICK_PREFIX, RECALL_PREFIX
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
    if not context.person.is_mediator:
        raise NotAllowedError
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


EXTEND_BUTTON = re.compile(rf"^ex:({ID_PATTERN}):({ID_PATTERN}):(yes|no)$")


async def on_extend_button(update: Update, context: BotContext) -> None:
    """A party's answer to "more time?"; the service checks it is theirs to give."""
    query = update.callback_query
    assert query and query.data
    match = EXTEND_BUTTON.match(query.data)
    if match is None:
        raise NotAllowedError
    case_id, period, agree = int(match.group(1)), int(match.group(2)), match.group(3) == "yes"
    reply = await context.services.time_limits.answered(context.person, case_id, period, agree)
    await query.answer()
    await answer(update, context, [reply])


async def book(update: Update, context: BotContext) -> None:
    work = context.services.casework
    files = await work.book(context.person, reply_to(update), _arg(context) or None)
    chat = update.effective_chat
    assert chat is not None
    for name, data, caption in files:  # the case file as HTML, then as DOCX
        await context.services.messenger.send_document(chat.id, name, data, caption)


async def withdraw(update: Update, context: BotContext) -> None:
    await answer(update, context, [await context.services.casework.withdraw_menu(context.person)])


BUTTON = re.compile(rf"^(cs|cl|tr|tc|wd|rl|rm|rc):({ID_PATTERN})(?::(\w+))?$")
CASE_REF = re.compile(r"[A-Za-z]{2,8}-\d{4}-\d{4}")


async def on_button(update: Update, context: BotContext) -> None:
    """Every case-tool button; the service re-checks who may press it."""
    query = update.callback_query
    assert query and query.data
    match = BUTTON.match(query.data)
    if match is None:
        raise NotAllowedError
    kind, number, extra = match.group(1) + ":", int(match.group(2)), match.group(3) or ""
    other = parse_id(extra)  # the mediator to hand over to, or the held message
    work, relay, person = context.services.casework, context.services.relay, context.person
    replies: list[Outgoing]
    if kind == SELECT_PREFIX:
        replies = [await work.select(person, str(number))]
    elif kind == CLOSE_PREFIX:
        replies = [await work.choose_outcome(person, number, extra)]
    elif kind == TRANSFER_PREFIX and other is not None:
        replies = [await work.choose_transfer(person, number, other)]
    elif kind == TRANSFER_CONFIRM_PREFIX:
        replies = [await work.transfer_confirmed(person, number, extra)]
    elif kind == WITHDRAW_PREFIX:
        replies = [await work.withdraw(person, number)]
    elif kind == PICK_PREFIX and other is not None:
        replies = await relay.resident_picked(person, number, other)
    elif kind == MEMBER_PICK_PREFIX and other is not None:
        replies = await relay.member_picked(person, number, other)
    elif kind == RECALL_PREFIX and not extra:
        replies = [await relay.recall(person, number)]
    else:
        raise NotAllowedError
    await query.answer()
    await answer(update, context, replies)


CLOSING_BUTTON = re.compile(rf"^(af|cf|ac):({ID_PATTERN})(?::(written|oral|ok|edit|cancel))?$")


async def on_closing_button(update: Update, context: BotContext) -> None:
    """Written or oral (af), the preview's 确认/修改/取消 (cf), a party's 我同意 (ac)."""
    query = update.callback_query
    assert query and query.data
    match = CLOSING_BUTTON.match(query.data)
    if match is None:
        raise NotAllowedError
    kind, case_id, extra = match.group(1) + ":", int(match.group(2)), match.group(3) or ""
    closing, person = context.services.closing, context.person
    if kind == FORM_PREFIX and extra in ("written", "oral"):
        replies = [await closing.form_chosen(person, case_id, extra)]
    elif kind == CONFIRM_PREFIX and extra in ("ok", "edit", "cancel"):
        replies = await closing.confirm_pressed(person, case_id, extra)
    elif kind == AGREE_PREFIX and not extra:
        replies = [await closing.agreed(person, case_id)]
    else:
        raise StaleActionError
    await query.answer()
    await answer(update, context, replies)


DEADLINE_BUTTON = re.compile(
    rf"^(tf|tb):({ID_PATTERN}):({ID_PATTERN}):(done|notyet|broken|revisit|reopen)$"
)


async def on_deadline_button(update: Update, context: BotContext) -> None:
    """A term's card (tf: performed / not yet / broken) and the head's choice (tb:)."""
    query = update.callback_query
    assert query and query.data
    match = DEADLINE_BUTTON.match(query.data)
    if match is None:
        raise NotAllowedError
    kind, case_id, n, verb = (
        match.group(1) + ":",
        int(match.group(2)),
        int(match.group(3)),
        match.group(4),
    )
    deadlines, person = context.services.deadlines, context.person
    if kind == TERM_PREFIX and verb in TERM_ANSWERS:
        reply = await deadlines.term_answered(person, case_id, n, verb)
    elif kind == BROKEN_PREFIX and verb == "revisit":
        reply = await deadlines.revisit_broken(person, case_id, n)
    elif kind == BROKEN_PREFIX and verb == "reopen":
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
        CallbackQueryHandler(on_button, pattern=BUTTON),
        CallbackQueryHandler(on_closing_button, pattern=CLOSING_BUTTON),
        CallbackQueryHandler(on_deadline_button, pattern=DEADLINE_BUTTON),
        CallbackQueryHandler(on_extend_button, pattern=EXTEND_BUTTON),
    ]
