"""Webhook mode for real: `bot.runner.serve` with `telegram.mode = "webhook"` registers its
URL and secret at the (local) Bot API, listens on loopback, and handles an update only when
it carries the secret token header; the answers go out through the Bot API as usual."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Config
from bot.localapi.server import LocalBotApi
from bot.runner import serve
from tests.harness import make_config

SECRET = "s3cret_Token-for-the-webhook"
PUBLIC_URL = "https://bot.example.org/telegram"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
WRITER, INTRUDER = 4242, 4343


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _webhook_config(tmp_path: Path, api: LocalBotApi, port: int) -> Config:
    telegram = {
        "token": api.token,
        "mode": "webhook",
        "base_url": api.base_url,
        "base_file_url": api.base_file_url,
        "webhook": {
            "listen": "127.0.0.1",
            "port": port,
            "path": "telegram",
            "url": PUBLIC_URL,
            "secret_token": SECRET,
        },
    }
    return make_config(tmp_path, {"telegram": telegram})


async def _listening(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on the port."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


@pytest.fixture
async def webhook(tmp_path: Path) -> AsyncIterator[tuple[LocalBotApi, Config, str]]:
    """The local Bot API, and the bot serving its webhook on a free loopback port."""
    async with LocalBotApi() as api:
        port = _free_port()
        config = _webhook_config(tmp_path, api, port)
        stop = asyncio.Event()
        running = asyncio.create_task(serve(config, stop))
        try:
            await api.wait_for(lambda: api.world.webhook is not None, timeout=10, what="hook")
            await _listening(port)
            yield api, config, f"http://127.0.0.1:{port}/telegram"
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(running, 10)


def _update(api: LocalBotApi, update_id: int, user_id: int, command: str) -> dict[str, Any]:
    """What Telegram would POST for a user's command (the chat exists at the Bot API)."""
    if user_id not in api.world.users:
        api.add_user(user_id, "Web", language_code="en", started=True)
    chat = api.world.chat(user_id)
    assert chat is not None
    entity = {"type": "bot_command", "offset": 0, "length": len(command)}
    message = api.world.new_message(
        chat, chat.user.to_dict(), {"text": command, "entities": [entity]}
    )
    return {"update_id": update_id, "message": message}


async def _post(url: str, update: dict[str, Any], headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as http, http.post(url, json=update, headers=headers) as r:
        return r.status


async def test_webhook_registers_its_url_and_secret_and_polls_nothing(
    webhook: tuple[LocalBotApi, Config, str],
) -> None:
    api, _config, _url = webhook
    assert api.world.webhook is not None
    assert api.world.webhook["url"] == PUBLIC_URL
    assert api.world.webhook["secret_token"] == SECRET
    assert api.calls("getUpdates") == 0


async def test_updates_with_the_secret_are_handled_and_others_refused(
    webhook: tuple[LocalBotApi, Config, str],
) -> None:
    api, config, url = webhook
    assert await _post(url, _update(api, 1, WRITER, "/help"), {HEADER: SECRET}) == 200
    answer = await api.wait_for_message(WRITER, timeout=10)
    assert "/status" in answer.content  # the help text, sent through the Bot API

    for headers in ({}, {HEADER: "wrong-secret"}, {HEADER: SECRET.lower()}):
        update = _update(api, 2, INTRUDER, "/start")
        assert await _post(url, update, headers) == 403, headers

    # A later good update is answered; the refused ones were never handled.
    assert await _post(url, _update(api, 3, WRITER, "/status"), {HEADER: SECRET}) == 200
    await api.wait_for_message(WRITER, after=1, timeout=10)
    assert api.messages_to(INTRUDER) == []
    with contextlib.closing(sqlite3.connect(config.storage.path)) as db:
        seen = {row[0] for row in db.execute("SELECT id FROM users")}
    assert WRITER in seen and INTRUDER not in seen
