"""Case tools in the chat: /cases, /case, /note, /close, /reopen, /transfer, /reassign,
/consult, /book for the team; /withdraw for residents; and their buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.callbacks import CLOSE, PICK, SELECT, TRANSFER, WITHDRAW, unpack_any
from bot.domain.permissions import require_mediator
from bot.errors import NotAllowedError, UsageError
from bot.messaging import Outgoing
from handlers.context import BotContext
from handlers.replies import answer


def _reply_to(update: Update) -> int | None:
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


async def note(update: Update, context: BotContext) -> None:
    reply = await context.services.casework.note(context.person, _reply_to(update), _arg(context))
    await answer(update, context, [reply])


async def close(update: Update, context: BotContext) -> None:
    reply = await context.services.casework.close_menu(context.person, _reply_to(update))
    await answer(update, context, [reply])


async def reopen(update: Update, context: BotContext) -> None:
    require_mediator(context.person)
    if not _arg(context):
        raise UsageError("/reopen QJS-2026-0001")
    reply = await context.services.casework.reopen(context.person, _arg(context))
    await answer(update, context, [reply])


async def transfer(update: Update, context: BotContext) -> None:
    reply = await context.services.casework.transfer_menu(
        context.person, _reply_to(update), _arg(context) or None
    )
    await answer(update, context, [reply])


async def consult(update: Update, context: BotContext) -> None:
    reply = await context.services.casework.consult(context.person, _reply_to(update))
    await answer(update, context, [reply])


async def book(update: Update, context: BotContext) -> None:
    work = context.services.casework
    name, data, caption = await work.book(context.person, _reply_to(update), _arg(context) or None)
    chat = update.effective_chat
    assert chat is not None
    await context.services.messenger.send_document(chat.id, name, data, caption)


async def withdraw(update: Update, context: BotContext) -> None:
    await answer(update, context, [await context.services.casework.withdraw_menu(context.person)])


BUTTONS = (SELECT, CLOSE, TRANSFER, WITHDRAW, PICK)


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
    elif press.kind is WITHDRAW:
        replies = [await work.withdraw(person, press.number("case"))]
    else:
        replies = await relay.resident_picked(person, press.number("message"), press.number("case"))
    await query.answer()
    await answer(update, context, replies)


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
        "withdraw": withdraw,
    }
    return [
        *(CommandHandler(name, callback, filters=private) for name, callback in commands.items()),
        *(CallbackQueryHandler(on_button, pattern=kind.pattern) for kind in BUTTONS),
    ]
