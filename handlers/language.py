"""/language: the user picks the language the bot speaks to them."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.core.callbacks import LANGUAGE
from bot.core.i18n import SUPPORTED_LOCALES, _, language_name
from bot.core.messaging import Button, Outgoing, rows
from bot.features.people import UnsupportedLanguageError
from handlers.context import BotContext
from handlers.replies import answer, edit_pressed


async def ask_language(update: Update, context: BotContext) -> None:
    buttons = rows(
        *(Button(language_name(locale), LANGUAGE.pack(locale)) for locale in SUPPORTED_LOCALES)
    )
    await answer(update, context, [Outgoing(_("Which language should I use?"), buttons)])


async def choose_language(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    try:
        person = await context.services.people.choose_language(
            context.person.id, query.data.removeprefix(LANGUAGE.prefix)
        )
    except UnsupportedLanguageError:
        await query.answer(_("That language is not available."), show_alert=True)
        return
    context.services.catalogs.activate(person.locale)
    if person.member is not None or person.is_staff:  # her own menu, in the new language
        await context.services.menus.refresh(person.id)
    await query.answer()
    text = _("From now on I will write to you in {language}.").format(
        language=language_name(person.locale)
    )
    await edit_pressed(query, context, Outgoing(text))


def language_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        # Like every command: the bot speaks in private chats only, never in a group.
        CommandHandler("language", ask_language, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(choose_language, pattern=LANGUAGE.pattern),
    ]
