"""Running the bot for real: polling, webhook, or the local playground when there is no token."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal

from telegram import Update

from bot.app import DaasaoApp, build_application, start_app, stop_app
from bot.clock import SystemClock
from bot.config import Config
from bot.i18n import Catalogs
from bot.localapi.server import LocalBotApi

log = logging.getLogger(__name__)


async def serve(config: Config, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or `stop` is set)."""
    stop = stop or _stop_on_signals()
    catalogs = Catalogs(default=config.locale.default)
    local_api: LocalBotApi | None = None
    if not config.has_token:
        local_api, config = await _start_playground_api(config)
    app = build_application(config, SystemClock(), catalogs)
    try:
        try:
            await start_app(app, lambda app: _start_updates(app, config))
            log.info("bot running", extra={"mode": _mode(config, local_api)})
            await stop.wait()
        finally:
            await stop_app(app)
    finally:
        if local_api is not None:
            await local_api.stop()


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


async def _start_playground_api(config: Config) -> tuple[LocalBotApi, Config]:
    """No token: the project's own Bot API server on loopback stands in for Telegram."""
    api = LocalBotApi()
    await api.start(config.playground.host, config.playground.api_port)
    telegram = dataclasses.replace(
        config.telegram,
        token=api.token,
        mode="polling",
        base_url=api.base_url,
        base_file_url=api.base_file_url,
    )
    print(_playground_banner(api), flush=True)
    return api, dataclasses.replace(config, telegram=telegram)


def _playground_banner(api: LocalBotApi) -> str:
    control = api.control_url
    return (
        "No Telegram token configured: running against the local Bot API server.\n"
        f"  Bot API:     {api.base_url}<token>/<method>\n"
        f"  Control API: {control}\n"
        "  Talk to the bot as resident 1001, then read its answers:\n"
        f'    curl -s -X POST {control}/users -d \'{{"id": 1001, "first_name": "Demo", '
        '"language_code": "zh-hans"}\'\n'
        f'    curl -s -X POST {control}/users/1001/send -d \'{{"text": "/start"}}\'\n'
        f"    curl -s {control}/chats/1001/messages\n"
        "  Stop with Ctrl+C."
    )


def _mode(config: Config, local_api: LocalBotApi | None) -> str:
    return "playground" if local_api else config.telegram.mode


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
