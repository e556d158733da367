"""Cross-cutting handlers: who is writing (first group), which button presses are real
(first in the main group), and what went wrong (errors)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import BaseHandler, CallbackQueryHandler, TypeHandler

from bot.core.callbacks import MAX_BYTES, REGISTRY
from bot.core.errors import DomainError, StaleActionError
from bot.core.i18n import _
from bot.core.messaging import Outgoing
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


class UnknownButtons(BaseHandler[Update, BotContext, None]):
    """Takes every press that no button handler of `handlers` would accept, so that none of
    them sees it: callback data that is missing or empty, longer than Telegram allows, or
    matched by none of their patterns (each built from the PREFIX constant of the module
    whose buttons it handles). Put it before them, in their group; the press gets the
    stale-button answer, and nothing changes."""

    def __init__(self, handlers: Iterable[BaseHandler[Update, BotContext, Any]]) -> None:
        super().__init__(_refuse_button)
        self.patterns = button_patterns(handlers)

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.callback_query is None:
            return False
        return not self.known(update.callback_query.data)

    def known(self, data: object) -> bool:
        if not isinstance(data, str) or not 1 <= _size(data) <= MAX_BYTES:
            return False
        return any(pattern.match(data) for pattern in self.patterns)


def button_patterns(
    handlers: Iterable[BaseHandler[Update, BotContext, Any]],
) -> tuple[re.Pattern[str], ...]:
    """The callback data patterns of the button handlers, as PTB matches them (re.match).

    A button handler must match through a kind of bot/core/callbacks.py: one that does not
    (a regular expression of its own, or none, which takes any press) is a wiring
    mistake, refused at start."""
    declared = {kind.pattern for kind in REGISTRY.values()}
    patterns: list[re.Pattern[str]] = []
    for handler in handlers:
        if isinstance(handler, CallbackQueryHandler):
            if handler.pattern not in declared:
                name = getattr(handler.callback, "__qualname__", repr(handler.callback))
                raise TypeError(f"the button handler {name} must match a declared button kind")
            assert isinstance(handler.pattern, re.Pattern)
            patterns.append(handler.pattern)
    return tuple(patterns)


def _size(data: str) -> int:
    """Bytes in UTF-8; a lone surrogate (JSON may carry one) counts, rather than failing."""
    return len(data.encode("utf-8", "surrogatepass"))


async def _refuse_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    size = _size(query.data) if query and isinstance(query.data, str) else None
    log.info("unknown button refused", extra={"update_id": update.update_id, "bytes": size})
    await _explain(update, context, StaleActionError().user_message())


async def on_error(update: object, context: BotContext) -> None:
    """Domain errors become friendly answers here; anything else is logged and apologised for."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, StaleActionError) and isinstance(update, Update):
        await _put_away(update, context)
        return
    if isinstance(error, DomainError) and isinstance(update, Update):
        await _explain(update, context, error.user_message())
        return
    if isinstance(error, StorageFailure):
        log.error(
            "use case failed: storage", extra={"update_id": update_id, "reason": error.reason}
        )
        if isinstance(update, Update):
            await _explain(update, context, _not_taken(), direct=True)
        return
    if isinstance(error, Forbidden):
        log.info("recipient unreachable", extra={"update_id": update_id})
        return
    if isinstance(error, NetworkError):
        log.warning("network error", extra={"update_id": update_id, "error": type(error).__name__})
        return
    log.error("handler failed", exc_info=error, extra={"update_id": update_id})
    if isinstance(update, Update):
        sorry = _("Sorry, something went wrong on our side. Please try again.")
        await _explain(update, context, sorry, direct=True)  # the outbox may be what failed


def _not_taken() -> str:
    return _(
        "Sorry, your message could not be taken just now: our records are having trouble. "
        "Nothing was saved. Please send it again in a few minutes."
    )


async def _put_away(update: Update, context: BotContext) -> None:
    """A button whose action is over: a short note on the button (no alert to dismiss),
    and the buttons taken off the message, so that nobody presses them again. A command
    that turned stale (a link, an old request) is told in the chat."""
    query = update.callback_query
    text = StaleActionError().user_message()
    if query is None:
        await _explain(update, context, text)
        return
    with suppress(BadRequest):  # answered already, or too old: taking the buttons off helps
        await query.answer(text)
    message = query.message
    if isinstance(message, Message) and _carries(message, query.data):
        await context.services.messenger.set_buttons(message.chat.id, message.message_id)


def _carries(message: Message, data: str | None) -> bool:
    """The message (in a private chat) shows a button with this callback data."""
    markup = message.reply_markup
    if markup is None or message.chat.type != "private":
        return False
    return any(b.callback_data == data for row in markup.inline_keyboard for b in row)


async def _explain(update: Update, context: BotContext, text: str, *, direct: bool = False) -> None:
    """An alert on the pressed button, or a message in the private chat, through the
    messenger like every send (discreet mode applies). `direct`: straight to Telegram,
    for a storage failure, when the outbox cannot take a row either."""
    if update.callback_query:
        try:
            await update.callback_query.answer(text, show_alert=True)
            return
        except BadRequest:
            pass  # the press was answered before the failure: say it in the chat instead
    if not (update.effective_chat and update.effective_chat.type == "private"):
        return
    if direct:
        await context.bot.send_message(update.effective_chat.id, text)
    else:
        await context.services.messenger.send(update.effective_chat.id, Outgoing(text))
