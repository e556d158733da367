"""Wiring: the one place where config, services and handlers meet the Telegram Application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import BotCommand, BotCommandScopeAllPrivateChats
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot.clock import Clock
from bot.config import Config
from bot.i18n import SUPPORTED_LOCALES, Catalogs
from bot.menus import RESIDENT
from bot.services import Services
from handlers.announcements import announcement_handlers
from handlers.casework import casework_handlers
from handlers.common import UnknownButtons, identify_handlers, on_error
from handlers.context import BotContext, BotData
from handlers.desk import desk_handlers
from handlers.feed import POLL_TIMEOUT, STORE_ATTEMPTS, UpdateFeed
from handlers.followup import followup_handlers
from handlers.intake import intake_handlers
from handlers.language import language_handlers
from handlers.members import member_handlers
from handlers.messages import message_handlers
from handlers.messenger import TelegramMessenger
from handlers.offers import offer_handlers
from handlers.ordering import PerChatUpdateProcessor
from handlers.parties import party_handlers
from handlers.privacy import guard_handlers, privacy_handlers
from handlers.profile import publish_profile
from handlers.ratelimit import FloodLimiter
from handlers.staff import staff_handlers
from handlers.start import start_handlers
from handlers.status import status_handlers
from handlers.urgent import urgent_handlers
from storage.inbox import InboxRepository

DaasaoApp = Application[Any, BotContext, dict[Any, Any], dict[Any, Any], BotData, Any]

# Handler groups run in this order for every update; within a group the first match wins.
GROUP_IDENTIFY = -2  # who is writing and in which language: before anything answers
GROUP_GUARD = -1  # blocked users and floods stop here (ApplicationHandlerStop)
GROUP_MAIN = 0  # unknown buttons first, then commands, buttons and flows; the fallback last

# The bot-wide menu is the residents'; each team member's chat has its own (bot/menus.py).
COMMANDS = RESIDENT


def build_application(config: Config, clock: Clock, catalogs: Catalogs) -> DaasaoApp:
    """The bot, ready to `initialize()`; services are opened in post_init, closed after."""

    async def post_init(app: DaasaoApp) -> None:
        messenger = TelegramMessenger(app.bot)
        services = await Services.start(config, clock, catalogs, messenger, messenger)
        app.bot_data.attach(services)
        await _publish_commands(app, catalogs)
        await publish_profile(app.bot, catalogs)  # a refusal is logged, start goes on
        await services.run_timers()  # the scheduler starts here and stops in post_shutdown

    async def post_shutdown(app: DaasaoApp) -> None:
        services = app.bot_data.detach()
        if services is not None:
            await services.close()

    app: DaasaoApp = (
        ApplicationBuilder()
        .token(config.telegram.token)
        .base_url(config.telegram.base_url)
        .base_file_url(config.telegram.base_file_url)
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .job_queue(None)  # one timer mechanism: bot.timers, on APScheduler
        .updater(None)  # updates come through the inbox: handlers/feed.py
        .concurrent_updates(PerChatUpdateProcessor())
        # Obey Telegram's 429 retry_after on every call, no throttling: broadcasts pace
        # themselves (bot/broadcast.py) and hear their 429s at once (handlers/ratelimit.py).
        .rate_limiter(FloodLimiter(overall_max_rate=0, group_max_rate=0, max_retries=2))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    _add_handlers(app)
    return app


def _add_handlers(app: DaasaoApp) -> None:
    app.add_handlers(identify_handlers(), group=GROUP_IDENTIFY)
    app.add_handlers(guard_handlers(), group=GROUP_GUARD)
    # Order matters inside a group: the first handler that matches takes the update.
    # /start join-… (members) must come before the plain /start; free messages come last.
    main = [
        *member_handlers(),
        *party_handlers(),  # /start party-… before the plain /start
        *start_handlers(),
        *intake_handlers(),
        *urgent_handlers(),
        *offer_handlers(),
        *casework_handlers(),
        *desk_handlers(),
        *followup_handlers(),
        *announcement_handlers(),
        *status_handlers(),
        *language_handlers(),
        *privacy_handlers(),
        *staff_handlers(),  # before the fallback: staff's roster files are not messages
        *message_handlers(),
    ]
    # Callback data is checked once, against the patterns of the button handlers above:
    # in their group and before them, so that none of them sees a press it does not know.
    app.add_handlers([UnknownButtons(main), *main], group=GROUP_MAIN)
    app.add_error_handler(on_error)


async def _publish_commands(app: DaasaoApp, catalogs: Catalogs) -> None:
    """The commands menu, in each supported language (Telegram picks by the user's client)."""
    scope = BotCommandScopeAllPrivateChats()
    for locale in SUPPORTED_LOCALES:
        with catalogs.using(locale):
            commands = [BotCommand(name, describe()) for name, describe in COMMANDS]
        code = locale.split("_")[0]
        await app.bot.set_my_commands(commands, scope=scope, language_code=code)
        if locale == catalogs.default:
            await app.bot.set_my_commands(commands, scope=scope)


def open_feed(
    app: DaasaoApp, poll_timeout: int = POLL_TIMEOUT, store_attempts: int = STORE_ATTEMPTS
) -> UpdateFeed:
    """The inbox feed of a started application; `stop_app` stops it."""
    services = app.bot_data.services
    feed = UpdateFeed(
        app,
        InboxRepository(services.db),
        services.clock,
        services.catalogs,
        poll_timeout=poll_timeout,
        store_attempts=store_attempts,
    )
    app.bot_data.feed = feed
    return feed


async def start_app(app: DaasaoApp, begin_updates: Callable[[DaasaoApp], Awaitable[None]]) -> None:
    """What `run_polling` does, for a caller that owns the event loop (runner, tests).

    PTB calls post_init/post_shutdown only from its own run_* helpers, so we do it here.
    The application is started before updates flow, so none waits for it.
    """
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    await app.start()
    await begin_updates(app)


async def stop_app(app: DaasaoApp) -> None:
    feed, app.bot_data.feed = app.bot_data.feed, None
    if feed is not None:
        await feed.stop()
    if app.running:
        await app.stop()
    if app.post_stop:
        await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)
