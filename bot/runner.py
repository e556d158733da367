"""Running the bot for real: polling, webhook, or the local playground when there is no token."""

from __future__ import annotations

import asyncio
import logging
import signal

from telegram import Update

from bot.app import DaasaoApp, build_application, start_app, stop_app
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.i18n import Catalogs
from bot.playground import Playground

log = logging.getLogger(__name__)


async def serve(config: Config, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or `stop` is set)."""
    stop = stop or _stop_on_signals()
    catalogs = Catalogs(default=config.locale.default)
    playground: Playground | None = None
    clock: Clock = SystemClock()
    if not config.has_token:  # the local Bot API, demo people, a movable clock, the page
        playground = await Playground.open(config)
        config, clock = playground.config, playground.clock
    try:
        app = build_application(config, clock, catalogs)
        try:
            await start_app(app, lambda app: _start_updates(app, config))
            if playground is not None:
                print(playground.banner(), flush=True)
            log.info("bot running", extra={"mode": _mode(config, playground)})
            await stop.wait()
        finally:
            await stop_app(app)
    finally:
        if playground is not None:
            await playground.close()


async def _start_updates(app: DaasaoApp, config: Config) -> None:
    assert app.updater is not None
    if config.telegram.mode == "webhook":
        hook = config.telegram.webhook
        await app.updater.start_webhook(
            listen=hook.listen,
            port=hook.port,
            url_path=hook.path,
            webhook_url=hook.url,
            secret_token=hook.secret_token,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        await app.updater.start_polling(allowed_updates=Update.ALL_TYPES)


def _mode(config: Config, playground: Playground | None) -> str:
    return "playground" if playground else config.telegram.mode


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
