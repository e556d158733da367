"""Subscriptions (/subscribe, /unsubscribe, the one-tap button), RSVPs, and the staff's
/announce composer and /announcements list."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.core.callbacks import COMPOSE, MANAGE, RSVP, SUBSCRIBE, UNSUBSCRIBE
from bot.core.errors import StaleActionError
from handlers.context import BotContext
from handlers.replies import answer


async def subscribe(update: Update, context: BotContext) -> None:
    await answer(update, context, [await context.services.subscriptions.menu(context.person)])


async def unsubscribe(update: Update, context: BotContext) -> None:
    reply = await context.services.subscriptions.unsubscribe(context.person)
    await answer(update, context, [reply])


async def on_subscribe_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data and query.message
    press = SUBSCRIBE.unpack(query.data)
    assert press  # the handler's pattern guarantees it
    kind, value = press.text("kind"), press.text("value")
    subscriptions, messenger = context.services.subscriptions, context.services.messenger
    await query.answer()
    chat, message_id = query.message.chat.id, query.message.message_id
    if kind == "offer" and value == "no":
        await messenger.edit(chat, message_id, subscriptions.declined())
        return
    if kind == "done":
        await messenger.edit(chat, message_id, await subscriptions.done(context.person))
        return
    if kind == "offer":
        await messenger.edit(chat, message_id, await subscriptions.menu(context.person))
        return
    await messenger.edit(chat, message_id, await subscriptions.toggle(context.person, kind, value))


async def on_unsubscribe_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query
    reply = await context.services.subscriptions.unsubscribe(context.person)
    await query.answer(reply.text, show_alert=True)


async def on_rsvp(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    press = RSVP.unpack(query.data)
    assert press  # the handler's pattern guarantees it
    reply = await context.services.announcements.rsvp(
        context.person, press.text("run"), press.text("answer")
    )
    await query.answer(reply.text)
    if reply.buttons and query.message is not None:  # her answer ticked on the notice
        chat, message_id = query.message.chat.id, query.message.message_id
        await context.services.messenger.set_buttons(chat, message_id, reply.buttons)


async def announce(update: Update, context: BotContext) -> None:
    await answer(update, context, [await context.services.announcements.start(context.person)])


async def announcements(update: Update, context: BotContext) -> None:
    reply = await context.services.announcements.listing(context.person)
    await answer(update, context, [reply])


async def attendance(update: Update, context: BotContext) -> None:
    words = context.args or []
    reply = await context.services.announcements.attendance(context.person, words)
    await answer(update, context, [reply])


async def on_composer_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data and query.message
    press = COMPOSE.unpack(query.data)
    if press is None:
        raise StaleActionError
    step, value = press.text("step"), press.text("value")
    replies = await context.services.announcements.pressed(context.person, step, value)
    await query.answer()
    if step == "audience" and value != "next":  # ticking: the same menu, updated in place
        chat, message_id = query.message.chat.id, query.message.message_id
        await context.services.messenger.edit(chat, message_id, replies[0])
        return
    if step == "confirm":  # sent, changed or cancelled: these buttons are done
        chat, message_id = query.message.chat.id, query.message.message_id
        await context.services.messenger.set_buttons(chat, message_id)
    await answer(update, context, replies)


async def on_manage_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    press = MANAGE.unpack(query.data)
    assert press  # the handler's pattern guarantees it
    reply = await context.services.announcements.manage(
        context.person, press.text("action"), press.number("announcement")
    )
    await query.answer()
    await answer(update, context, [reply])


def announcement_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("subscribe", subscribe, filters=private),
        CommandHandler("unsubscribe", unsubscribe, filters=private),
        CommandHandler("announce", announce, filters=private),
        CommandHandler("announcements", announcements, filters=private),
        CommandHandler("attendance", attendance, filters=private),
        CallbackQueryHandler(on_subscribe_button, pattern=SUBSCRIBE.pattern),
        CallbackQueryHandler(on_unsubscribe_button, pattern=UNSUBSCRIBE.pattern),
        CallbackQueryHandler(on_rsvp, pattern=RSVP.pattern),
        CallbackQueryHandler(on_composer_button, pattern=COMPOSE.pattern),
        CallbackQueryHandler(on_manage_button, pattern=MANAGE.pattern),
    ]
