"""Webhook mode for real: `bot.runner.serve` with `telegram.mode = "webhook"` registers its
URL and secret at the (local) Bot API, listens on loopback, and handles an update only when
it carries the secret token header; the answers go out through the Bot API as usual."""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.core.config import Config
from bot.runner import serve
from localapi.server import LocalBotApi
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


def _inbox(config: Config) -> list[tuple[int, str | None]]:
    with contextlib.closing(sqlite3.connect(config.storage.path)) as db:
        return list(db.execute("SELECT update_id, handled_at FROM inbox ORDER BY update_id"))


async def test_an_update_is_answered_200_only_once_it_is_stored(
    webhook: tuple[LocalBotApi, Config, str],
) -> None:
    api, config, url = webhook
    assert await _post(url, _update(api, 10, WRITER, "/help"), {HEADER: SECRET}) == 200
    # The 200 came after the insert: the row is there the moment the answer is.
    assert [update_id for update_id, _ in _inbox(config)] == [10]
    await api.wait_for_message(WRITER, timeout=10)


async def test_a_replayed_update_id_is_handled_once(
    webhook: tuple[LocalBotApi, Config, str],
) -> None:
    api, config, url = webhook
    update = _update(api, 20, WRITER, "/help")
    for _ in range(3):  # Telegram re-sends when it did not see our answer in time
        assert await _post(url, update, {HEADER: SECRET}) == 200
    await api.wait_for_message(WRITER, timeout=10)
    await asyncio.sleep(0.5)
    assert len(api.messages_to(WRITER)) == 1
    assert [update_id for update_id, _ in _inbox(config)] == [20]


async def test_malformed_bodies_are_refused_without_handling(
    webhook: tuple[LocalBotApi, Config, str],
) -> None:
    _api, config, url = webhook
    async with aiohttp.ClientSession() as http:
        for body in (b"{not json", b"[1, 2]", b'{"update_id": "7"}'):
            async with http.post(url, data=body, headers={HEADER: SECRET}) as response:
                assert response.status == 400, body
        huge = b'{"update_id": 1, "x": "' + b"a" * (2 << 20) + b'"}'
        async with http.post(url, data=io.BytesIO(huge), headers={HEADER: SECRET}) as response:
            assert response.status == 413
    assert _inbox(config) == []


async def test_an_update_the_library_cannot_parse_is_skipped_and_others_go_on(
    webhook: tuple[LocalBotApi, Config, str], caplog: pytest.LogCaptureFixture
) -> None:
    api, config, url = webhook
    broken = _update(api, 30, WRITER, "/help")
    broken["message"]["chat"] = "Secret Name"  # not an object: PTB cannot build the Chat
    assert await _post(url, broken, {HEADER: SECRET}) == 200
    assert await _post(url, _update(api, 31, WRITER, "/help"), {HEADER: SECRET}) == 200
    await api.wait_for_message(WRITER, timeout=10)
    await asyncio.sleep(0.3)
    assert [handled is not None for _, handled in _inbox(config)] == [True, True]
    assert "Secret Name" not in caplog.text
