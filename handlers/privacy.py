"""/privacy, /mydata, /forget and their buttons; /block, /unblock and /access (who read a
case) for staff and the head; and the guard that keeps blocked users out and floods at bay
(it runs before everything)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    TypeHandler,
    filters,
)

from bot.core.callbacks import PRIVACY
from bot.core.errors import StaleActionError, UsageError
from bot.core.i18n import _
from bot.core.messaging import Outgoing
from bot.domain.people import DRAFTING_CASE
from handlers.context import BotContext
from handlers.incoming import envelope_from
from handlers.replies import answer, answer_text


async def guard(update: Update, context: BotContext) -> None:
    """Blocked users keep their data rights (/privacy, /mydata, /forget and their buttons)
    and nothing else; over the flood limit, messages are held."""
    user, message = update.effective_user, update.message or update.edited_message
    if user is None or update.effective_chat is None:
        return
    privacy = context.services.privacy
    if privacy.is_blocked(user.id) and not _let_through_when_blocked(update):
        await _refuse_blocked(update, context)
        raise ApplicationHandlerStop
    if message is None:
        return  # a button press, or Telegram telling us about the chat: no flood of messages
    person = context.person
    if person.is_staff or person.busy == DRAFTING_CASE or privacy.allow(user.id):
        return  # staff are not a flood; an intake keeps every message: nobody reads a draft
    await answer(update, context, await _over_the_limit(update, context))
    raise ApplicationHandlerStop


def _let_through_when_blocked(update: Update) -> bool:
    """Exactly what the handlers of /privacy, /mydata, /forget and their buttons would take;
    and Telegram's notice that the person blocked or unblocked the bot, which is recorded
    (handlers/followup.py) and answers nothing."""
    if update.my_chat_member is not None:
        return True
    return any(handler.check_update(update) for handler in _RIGHTS_HANDLERS)


async def _refuse_blocked(update: Update, context: BotContext) -> None:
    """A press is always answered (an alert); a command gets the notice while under the
    flood limit, any other message once a minute."""
    privacy, user_id = context.services.privacy, context.person.id
    text = _("Sorry, your messages cannot be received now.")
    rights = _("You can still see what we keep about you, or have it erased: /privacy")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
        return
    message = update.message or update.edited_message
    if message is None:
        return
    command = bool(message.text and message.text.startswith("/"))
    if not command and context.services.urgent.in_danger(message.text or message.caption):
        # Blocked or not: someone in danger gets the emergency numbers, always (a command
        # such as /help is not a cry for help).
        await answer_text(update, context, context.services.urgent.emergency_text())
        return
    if (command and privacy.allow(user_id)) or privacy.should_warn(user_id):
        await answer_text(update, context, f"{text}\n{rights}")


async def _over_the_limit(update: Update, context: BotContext) -> list[Outgoing]:
    """Held in the book (the other side told once), or, outside a case, asked to wait."""
    message, privacy = update.message, context.services.privacy
    if message is None:  # an edit
        return [Outgoing(_("You are writing very fast, so this edit was not passed on."))]
    held = await context.services.relay.hold(context.person, envelope_from(message))
    if not privacy.should_warn(context.person.id):
        return []
    if held is not None:
        return [held]
    return [Outgoing(_("You are writing very fast. Please wait a minute, then send it again."))]


async def privacy(update: Update, context: BotContext) -> None:
    await answer(update, context, [await context.services.privacy.notice(context.person)])


async def mydata(update: Update, context: BotContext) -> None:
    export = await context.services.privacy.my_data(context.person)
    chat = update.effective_chat
    assert chat is not None
    messenger = context.services.messenger
    caption = _("Everything the bot keeps about you.")
    await messenger.send_document(chat.id, "my-data.html", export.html, caption)
    await messenger.send_document(chat.id, "my-data.json", export.json, caption)


async def forget(update: Update, context: BotContext) -> None:
    await answer(update, context, [context.services.privacy.ask_forget()])


async def on_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    press = PRIVACY.unpack(query.data)
    if press is None:
        raise StaleActionError
    action, service, person = press.text("action"), context.services.privacy, context.person
    if action == "mydata":
        await query.answer()
        await mydata(update, context)
        return
    replies: list[Outgoing]
    if action == "forget":
        replies = [service.ask_forget()]
    elif action == "forget-yes":
        replies = [await service.forget(person)]
    elif action == "keep":
        replies = [Outgoing(_("Nothing was erased."))]
    elif action in ("discreet-on", "discreet-off"):
        replies = [await service.set_discreet(person, action == "discreet-on")]
    else:
        replies = [await _clear(update, context)]
    await query.answer()  # after the service, so that a refusal is the alert on the button
    await answer(update, context, replies)


async def _clear(update: Update, context: BotContext) -> Outgoing:
    """Delete what Telegram still lets the bot delete, and say honestly what is left."""
    service, messenger = context.services.privacy, context.services.messenger
    chat = update.effective_chat
    assert chat is not None
    deletable, too_old = await service.deletable(context.person)
    deleted = [await messenger.delete(chat.id, message_id) for message_id in deletable]
    failed = too_old + deleted.count(False)
    return await service.cleared(context.person, deleted.count(True), failed)


async def block(update: Update, context: BotContext) -> None:
    args = context.args or []
    if not args:
        raise UsageError(_("/block QJS-2026-0001 reason"))
    reply = await context.services.privacy.block(context.person, args[0], " ".join(args[1:]))
    await answer(update, context, [reply])


async def unblock(update: Update, context: BotContext) -> None:
    args = context.args or []
    if not args:
        raise UsageError(_("/unblock QJS-2026-0001"))
    await answer(update, context, [await context.services.privacy.unblock(context.person, args[0])])


async def access(update: Update, context: BotContext) -> None:
    """/access QJS-…: who read a case, and when (the head and staff)."""
    args = context.args or []
    if not args:
        raise UsageError(_("/access QJS-2026-0001"))
    reply = await context.services.access.listing(context.person, args[0])
    await answer(update, context, [reply])


def _rights_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("privacy", privacy, filters=private),
        CommandHandler("mydata", mydata, filters=private),
        CommandHandler("forget", forget, filters=private),
        CallbackQueryHandler(on_button, pattern=PRIVACY.pattern),
    ]


_RIGHTS_HANDLERS = _rights_handlers()


def guard_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [TypeHandler(Update, guard)]


def privacy_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        *_rights_handlers(),
        CommandHandler("block", block, filters=private),
        CommandHandler("unblock", unblock, filters=private),
        CommandHandler("access", access, filters=private),
    ]
