"""The command line, as a user runs it: `python -m bot run|migrate|check-config` in a process.

Every child process is killed in a `finally`, every wait is bounded, and everything listens on
127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from storage.db import Database, Migration, bundled_migrations
from tests.harness import TEST_AREAS
from tests.processes import REPO, bot_env, bot_process

LATEST = bundled_migrations()[-1].version
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
ANSWER_TIMEOUT = 10.0
COMMAND_TIMEOUT = 60.0

pytestmark = pytest.mark.slow


def _free_port() -> int:
    """A port nothing listens on right now (the OS picks it on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _toml(value: Any) -> str:
    """Just enough TOML for the test config: strings, integers, lists and inline tables."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _write_config(tmp_path: Path, api_port: int | None = None) -> Path:
    """The structure of tests.harness.make_config, as a file: tmp database, two areas."""
    api_port = api_port or _free_port()
    web_port = _free_port()
    while web_port == api_port:
        web_port = _free_port()
    lines = [
        "[playground]",
        'host = "127.0.0.1"',
        f"api_port = {api_port}",
        f"port = {web_port}",
        "[storage]",
        f"path = {_toml(str(tmp_path / 'data' / 'bot.sqlite3'))}",
        "[staff]",
        "admins = [900]",
    ]
    for area in TEST_AREAS:
        lines.append("[[areas]]")
        lines.extend(f"{key} = {_toml(value)}" for key, value in area.items())
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` to completion (bounded)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO,
        env=bot_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


async def _wait_until_up(
    session: aiohttp.ClientSession, control: str, process: subprocess.Popen[bytes], err: Path
) -> float:
    """Poll the control API until it answers; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT:
        if process.poll() is not None:
            pytest.fail(f"the bot exited with {process.returncode}:\n{err.read_text()}")
        try:
            async with session.get(f"{control}/users") as response:
                if response.status == 200:
                    return time.monotonic() - started
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail(f"the control API did not answer within {START_TIMEOUT}s:\n{err.read_text()}")


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    async with session.post(url, json=body) as response:
        payload = await response.json()
        assert response.status == 200 and payload["ok"], payload
        return payload["result"]


async def _greeting(
    session: aiohttp.ClientSession, control: str, user: dict[str, Any], expected: str
) -> str:
    """A user sends /start over HTTP; waits (bounded) for a bot message containing `expected`."""
    await _post(session, f"{control}/users", user)
    await _post(session, f"{control}/users/{user['id']}/send", {"text": "/start"})
    deadline = time.monotonic() + ANSWER_TIMEOUT
    texts: list[str] = []
    while time.monotonic() < deadline:
        async with session.get(f"{control}/chats/{user['id']}/messages") as response:
            texts = [m.get("text") or "" for m in (await response.json())["result"]]
        found = next((text for text in texts if expected in text), None)
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    pytest.fail(f"user {user['id']} got no {expected!r} within {ANSWER_TIMEOUT}s: {texts}")


async def test_run_serves_the_playground_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    api_port = _free_port()
    config = _write_config(tmp_path, api_port)
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    control = f"http://127.0.0.1:{api_port}/control"
    timeout = aiohttp.ClientTimeout(total=5)
    with bot_process(config, out, err, STOP_TIMEOUT) as process:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await _wait_until_up(session, control, process, err)
            chinese = {"id": 1001, "first_name": "Mei", "language_code": "zh-hans"}
            # 1001 is the playground's demo resident who is new to the bot; 1099 is not a demo
            # person at all: both are greeted with the privacy notice.
            english = {"id": 1099, "first_name": "Mary", "language_code": "en"}
            await _greeting(session, control, chinese, "开始之前，先说说您的隐私")
            await _greeting(session, control, english, "Before we start, about your privacy")
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=STOP_TIMEOUT)
    stderr = err.read_text()
    assert returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    banner = out.read_text()
    assert "No Telegram token configured" in banner
    assert f"Control API: {control}" in banner
    database = tmp_path / "data" / "bot.sqlite3"
    assert database.is_file()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_migrate_prints_the_version_and_a_second_run_is_a_no_op(tmp_path: Path) -> None:
    config = _write_config(tmp_path)
    database = tmp_path / "data" / "bot.sqlite3"
    first = _run("migrate", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert f"database at schema version {LATEST}: {database}" in first.stdout
    assert "migration applied" in first.stderr
    second = _run("migrate", "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert f"database at schema version {LATEST}" in second.stdout
    assert "migration applied" not in second.stderr
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


async def _migrate_to_a_newer_schema(path: Path) -> None:
    future = Migration(LATEST + 1, f"{LATEST + 1:04d}_future.sql", "CREATE TABLE future (x);")
    database = await Database.open(path, [*bundled_migrations(), future])
    await database.close()


@pytest.mark.parametrize("command", ["run", "migrate"])
async def test_a_database_from_a_newer_bot_is_refused_without_a_traceback(
    tmp_path: Path, command: str
) -> None:
    config = _write_config(tmp_path)
    await _migrate_to_a_newer_schema(tmp_path / "data" / "bot.sqlite3")
    result = _run(command, "--config", str(config))
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("database error:")]
    assert len(errors) == 1, result.stderr
    assert f"schema version {LATEST + 1}" in errors[0]
    assert "upgrade the bot" in errors[0]
    assert "Traceback" not in result.stderr


def test_no_subcommand_prints_usage_and_exits_2() -> None:
    result = _run()
    assert result.returncode == 2
    assert result.stderr.startswith("usage: daasao")
    assert "the following arguments are required: COMMAND" in result.stderr


def test_the_daasao_console_script_checks_the_example_config() -> None:
    script = Path(sys.executable).parent / "daasao"
    assert script.is_file() and os.access(script, os.X_OK), f"{script} is not installed"
    result = subprocess.run(
        [str(script), "check-config", "config.example.toml"],
        cwd=REPO,
        env=bot_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("config ok: 5 areas")
