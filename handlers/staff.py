"""Staff tools in the chat: /roster, /mediators, /overview, /stats, roster files and buttons.

Thin: parse the update, call the service (which checks the person's role every time),
send the answer. Buttons carry `st:<verb>:<args>`; the service re-checks everything.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime

from telegram import Document, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.core.callbacks import STAFF
from bot.core.errors import StaleActionError
from bot.core.i18n import _
from bot.core.messaging import Outgoing, parse_id
from bot.features.rosterfile import MAX_BYTES, RosterFileError
from bot.features.staff import StaffFile
from bot.features.stats import StatsReport
from bot.features.statsfiles import RenderError
from handlers.context import BotContext
from handlers.messages import on_message
from handlers.replies import answer

log = logging.getLogger(__name__)

EXPORT_WORDS = ("export", "导出")


# ---------------------------------------------------------------------------- commands


async def roster(update: Update, context: BotContext) -> None:
    """/roster shows the roster; /roster export sends it as XLSX and CSV."""
    desk = context.services.staff_roster
    if " ".join(context.args or []).strip().lower() in EXPORT_WORDS:
        await _send_files(update, context, await desk.export(context.person))
        return
    await answer(update, context, [await desk.view(context.person)])


async def mediators(update: Update, context: BotContext) -> None:
    await answer(update, context, [await context.services.staff.mediators(context.person)])


async def overview(update: Update, context: BotContext) -> None:
    await answer(update, context, await context.services.staff.overview(context.person))


async def stats(update: Update, context: BotContext) -> None:
    report = await context.services.stats.report(context.person, context.args or [])
    await _send_report(update, context, report)


async def roster_file(update: Update, context: BotContext) -> None:
    """An .xlsx or .csv from staff is an edited roster; anyone else's is a normal message."""
    message = update.effective_message
    person = context.person
    assert message is not None and message.document is not None
    if not person.is_staff or (person.is_mediator and message.reply_to_message is not None):
        await on_message(update, context)
        return
    name, data = await _download(context, message.document)
    reply = await context.services.staff_roster.preview(person, name, data)
    await context.services.messenger.send(message.chat_id, reply, reply_to=message.message_id)


# ---------------------------------------------------------------------------- buttons

Args = Sequence[str]
Press = Callable[[Update, BotContext, Args], Awaitable[Outgoing | None]]


async def on_button(update: Update, context: BotContext) -> None:
    """Every staff button: the answer replaces the pressed message (or comes as new ones)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    data = STAFF.unpack(query.data)
    press = PRESSES.get(data.text("verb")) if data else None
    if data is None or press is None:
        raise StaleActionError
    reply = await press(update, context, data.parts("args"))
    await query.answer()
    pressed = query.message
    if reply is not None and isinstance(pressed, Message):
        await context.services.messenger.edit(pressed.chat_id, pressed.message_id, reply)


async def _export(update: Update, context: BotContext, _args: Args) -> None:
    await _send_files(update, context, await context.services.staff_roster.export(context.person))


async def _confirm_import(update: Update, context: BotContext, args: Args) -> Outgoing:
    """The preview replied to the staff member's file: read that file again and apply it."""

    async def load() -> tuple[str, bytes]:
        pressed = update.callback_query.message if update.callback_query else None
        source = pressed.reply_to_message if isinstance(pressed, Message) else None
        if source is None or source.document is None:
            raise StaleActionError
        return await _download(context, source.document)

    return await context.services.staff_roster.apply(context.person, load, _text(args, 0))


async def _discard(update: Update, context: BotContext, _args: Args) -> Outgoing:
    return context.services.staff_roster.discard(context.person)


async def _override(update: Update, context: BotContext, args: Args) -> Outgoing:
    """The steps of adding leave or a swap: ol → ok → od → oy (→ oc) → oa."""
    desk, person, verb = context.services.staff_roster, context.person, _verb(update)
    if verb == "ol":
        return await desk.override_start(person)
    if verb == "ok":
        return await desk.override_kind(person, _int(args, 0))
    if verb == "od":
        return await desk.override_days(person, _int(args, 0), _text(args, 1))
    if verb == "oy":
        return await desk.override_day_chosen(person, _int(args, 0), _text(args, 1), _day(args, 2))
    if verb == "oc":
        return await desk.override_swap_chosen(person, _int(args, 0), _day(args, 1), _int(args, 2))
    return await desk.override_apply(
        person, _int(args, 0), _text(args, 1), _day(args, 2), _int(args, 3)
    )


async def _cancel(update: Update, context: BotContext, _args: Args) -> Outgoing:
    return context.services.staff_roster.cancel(context.person)


async def _member(update: Update, context: BotContext, args: Args) -> Outgoing:
    """The mediators list and a mediator's card: ml, mm, md → mD, mh → mH."""
    staff, person, verb = context.services.staff, context.person, _verb(update)
    if verb == "ml":
        return await staff.mediators(person)
    actions = {
        "mm": staff.mediator_card,
        "md": staff.ask_deactivate,
        "mD": staff.deactivate,
        "mh": staff.ask_make_head,
        "mH": staff.make_head,
    }
    return await actions[verb](person, _int(args, 0))


async def _stats_period(update: Update, context: BotContext, args: Args) -> None:
    report = await context.services.stats.report(context.person, list(args))
    await _send_report(update, context, report)


PRESSES: dict[str, Press] = {
    "rx": _export,
    "rc": _confirm_import,
    "rd": _discard,
    "x": _cancel,
    **dict.fromkeys(("ol", "ok", "od", "oy", "oc", "oa"), _override),
    **dict.fromkeys(("ml", "mm", "md", "mD", "mh", "mH"), _member),
    "sp": _stats_period,
}


# ---------------------------------------------------------------------------- helpers


def _verb(update: Update) -> str:
    query = update.callback_query
    press = STAFF.unpack(query.data or "") if query else None
    if press is None:
        raise StaleActionError
    return press.text("verb")


def _text(args: Args, index: int) -> str:
    if index >= len(args):
        raise StaleActionError
    return args[index]


def _int(args: Args, index: int) -> int:
    number = parse_id(_text(args, index))
    if number is None:
        raise StaleActionError
    return number


def _day(args: Args, index: int) -> date:
    try:
        return datetime.strptime(_text(args, index), "%Y%m%d").date()
    except ValueError:
        raise StaleActionError from None


async def _download(context: BotContext, document: Document) -> tuple[str, bytes]:
    if document.file_size is not None and document.file_size > MAX_BYTES:
        raise RosterFileError("too_big")
    telegram_file = await context.bot.get_file(document.file_id)
    return document.file_name or "", bytes(await telegram_file.download_as_bytearray())


async def _send_files(update: Update, context: BotContext, files: Sequence[StaffFile]) -> None:
    chat = update.effective_chat
    assert chat is not None
    for item in files:
        await context.services.messenger.send_document(
            chat.id, item.file_name, item.data, item.caption
        )


async def _send_report(update: Update, context: BotContext, report: StatsReport) -> None:
    """The figures as text at once; then the chart as a photo, the tables as a workbook."""
    chat = update.effective_chat
    assert chat is not None
    await answer(update, context, [report.text])
    try:
        files = await context.services.stats.files(report)
    except RenderError:
        log.exception("stats files not made")
        text = _(
            "The charts and the workbook could not be made just now; please send /stats "
            "again in a moment."
        )
        await answer(update, context, [Outgoing(text)])
        return
    chart = files.chart
    await context.services.messenger.send_photo_file(
        chat.id, chart.file_name, chart.data, chart.caption
    )
    await _send_files(update, context, [files.page_chart, files.workbook])


def staff_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    spreadsheet = filters.Document.FileExtension("xlsx") | filters.Document.FileExtension("csv")
    commands = {"roster": roster, "mediators": mediators, "overview": overview, "stats": stats}
    return [
        *(CommandHandler(name, callback, filters=private) for name, callback in commands.items()),
        MessageHandler(private & filters.UpdateType.MESSAGE & spreadsheet, roster_file),
        CallbackQueryHandler(on_button, pattern=STAFF.pattern),
    ]
