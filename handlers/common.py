"""Cross-cutting handlers: who is writing (first group) and what went wrong (errors)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import BaseHandler, TypeHandler

from bot.errors import DomainError
from bot.i18n import _
from handlers.context import BotContext
from storage.db import StorageFailure

log = logging.getLogger(__name__)


async def identify(update: Update, context: BotContext) -> None:
    """Load the person behind the update and switch to their language."""
    services = context.services
    user = update.effective_user
    if user is None or user.is_bot:
        services.catalogs.activate(services.config.locale.default)
        return
    context.person = await services.people.seen(user.id, user.language_code)
    services.catalogs.activate(context.person.locale)


def identify_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [TypeHandler(Update, identify)]


async def on_error(update: object, context: BotContext) -> None:
    """Domain errors become friendly answers here; anything else is logged and apologised for."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, DomainError) and isinstance(update, Update):
        await _explain(update, context, error.user_message())
        return
    if isinstance(error, StorageFailure):
        log.error(
            "use case failed: storage", extra={"update_id": update_id, "reason": error.reason}
        )
        if isinstance(update, Update):
            await _explain(update, context, _not_taken())
        return
    if isinstance(error, Forbidden):
        log.info("recipient unreachable", extra={"update_id": update_id})
        return
    if isinstance(error, NetworkError):
        log.warning("network error", extra={"update_id": update_id, "error": type(error).__name__})
        return
    log.error("handler failed", exc_info=error, extra={"update_id": update_id})
    if isinstance(update, Update):
        await _explain(
            update, context, _("Sorry, something went wrong on our side. Please try again.")
        )


def _not_taken() -> str:
    return _(
        "Sorry, your message could not be taken just now: our records are having trouble. "
        "Nothing was saved. Please send it again in a few minutes."
    )


async def _explain(update: Update, context: BotContext, text: str) -> None:
    """An alert on the pressed button, or a message in the private chat. Said straight to
    Telegram, not through the outbox: this is also how a storage failure is told."""
    if update.callback_query:
        try:
            await update.callback_query.answer(text, show_alert=True)
            return
        except BadRequest:
            pass  # the press was answered before the failure: say it in the chat instead
    if update.effective_chat and update.effective_chat.type == "private":
        await context.bot.send_message(update.effective_chat.id, text)
