"""Running the bot for real: polling, webhook, or the local playground when there is no token."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.app import DaasaoApp, build_application, open_feed, start_app, stop_app
from bot.core.clock import Clock, SystemClock
from bot.core.config import Config
from bot.core.i18n import Catalogs
from playground import Playground

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
    feed = open_feed(app)
    if config.telegram.mode == "webhook":
        await feed.start_webhook(config.telegram.webhook)
    else:
        await feed.start_polling()


def _mode(config: Config, playground: Playground | None) -> str:
    return "playground" if playground else config.telegram.mode


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
