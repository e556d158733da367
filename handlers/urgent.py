"""Someone in danger: the 🆘 buttons, 我来接手, the consent asked afterwards, and the
mediator's care panel (/care and its buttons). Every press is re-checked by the service."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.core.callbacks import URGENT
from bot.core.errors import StaleActionError
from bot.core.i18n import _
from bot.core.messaging import Outgoing, parse_id
from handlers.context import BotContext
from handlers.replies import answer


def _reply_to(update: Update) -> int | None:
    message = update.effective_message
    replied = message.reply_to_message if message else None
    return replied.message_id if replied else None


async def care(update: Update, context: BotContext) -> None:
    panel = await context.services.casework.care(context.person, _reply_to(update))
    await answer(update, context, [panel])


async def on_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    press = URGENT.unpack(query.data)
    assert press  # the handler's pattern guarantees it
    verb, ref, value = press.text("verb"), press.text("ref"), press.text("value")
    services, person = context.services, context.person
    # Answers replace the pressed message when it is a text (a forged press may come from
    # any message); else they come as a new one.
    pressed = query.message if isinstance(query.message, Message) and query.message.text else None
    if verb in ("sos", "alarm") and not ref:
        replies = await services.intake.sos(person, numbers_shown=verb == "alarm")
        await query.answer()
        if verb == "alarm" and pressed is not None:  # the numbers stay, the button goes
            screen = services.urgent.danger_screen(pressed=True)
            await services.messenger.edit(pressed.chat_id, pressed.message_id, screen)
        await answer(update, context, replies)
        return
    if verb == "consent" and ref in ("yes", "no"):
        reply = await services.urgent.consent(person, ref == "yes")
        await query.answer()
        await _replace(update, context, pressed, reply)
        return
    case_id = parse_id(ref)
    if case_id is None:
        raise StaleActionError
    if verb == "take":
        case = await services.urgent.take(person, case_id)
        await query.answer(_("✓ Case {number} is yours.").format(number=case.number))
        return
    if verb == "clear":
        prompt = await services.casework.care_clear(person, case_id)
        await query.answer()
        await answer(update, context, [prompt])
        return
    toast, panel = await services.casework.care_press(person, verb, case_id, value)
    await query.answer(toast, show_alert=verb == "minor")
    await _replace(update, context, pressed, panel)


async def _replace(
    update: Update, context: BotContext, pressed: Message | None, reply: Outgoing
) -> None:
    if pressed is None:
        await answer(update, context, [reply])
        return
    await context.services.messenger.edit(pressed.chat_id, pressed.message_id, reply)


def urgent_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("care", care, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=URGENT.pattern),
    ]
