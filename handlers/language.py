"""/language: the user picks the language the bot speaks to them."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import SUPPORTED_LOCALES, _, language_name
from bot.people import UnsupportedLanguageError
from handlers.context import BotContext

CALLBACK_PREFIX = "lang:"


async def ask_language(update: Update, context: BotContext) -> None:
    assert update.effective_message
    buttons = [
        [InlineKeyboardButton(language_name(locale), callback_data=CALLBACK_PREFIX + locale)]
        for locale in SUPPORTED_LOCALES
    ]
    await update.effective_message.reply_text(
        _("Which language should I use?"), reply_markup=InlineKeyboardMarkup(buttons)
    )


async def choose_language(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    try:
        person = await context.services.people.choose_language(
            context.person.id, query.data.removeprefix(CALLBACK_PREFIX)
        )
    except UnsupportedLanguageError:
        await query.answer(_("That language is not available."), show_alert=True)
        return
    context.services.catalogs.activate(person.locale)
    if person.member is not None or person.is_staff:  # her own menu, in the new language
        await context.services.menus.refresh(person.id)
    await query.answer()
    await query.edit_message_text(
        _("From now on I will write to you in {language}.").format(
            language=language_name(person.locale)
        )
    )


def language_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        # Like every command: the bot speaks in private chats only, never in a group.
        CommandHandler("language", ask_language, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(choose_language, pattern=f"^{CALLBACK_PREFIX}"),
    ]
