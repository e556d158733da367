"""Processes for the relay benchmark: the local Bot API server, the bots, and what /proc says.

Each runs as its own ``python`` child of the benchmark, so a bot's CPU time and memory are its
own: ``/proc/<pid>/stat`` (utime + stime, every thread) and ``/proc/<pid>/status`` (VmHWM).
The server is driven over its HTTP control API (``ControlApi``), as any other process would.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_TIMEOUT = 10.0


class ProcessError(RuntimeError):
    """A child process did not start, or died."""


# -- /proc ------------------------------------------------------------------------------------


def cpu_ms(pid: int) -> float:
    """CPU time the process used so far, user and system, all threads (ms; 10 ms steps)."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is field 3
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) * 1000 / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size so far (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise ProcessError(f"no VmHWM for process {pid}")


# -- children ---------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """This environment without DAASAO_TOKEN (the config decides), unbuffered."""
    env = {k: v for k, v in os.environ.items() if k != "DAASAO_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def child(
    argv: Sequence[str], log: Path, *, stdout: int | IO[bytes] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`python <argv>` from the repository; SIGTERM at the end, SIGKILL if it lingers."""
    with (
        log.open("wb") as stderr,
        subprocess.Popen(
            [sys.executable, *argv],
            cwd=REPO,
            env=child_env(),
            stdout=stdout if stdout is not None else stderr,
            stderr=stderr,
        ) as process,
    ):
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@dataclass(frozen=True)
class ServerUrls:
    """Where a server of `python -m localapi` listens (the JSON line it prints)."""

    token: str
    base_url: str
    base_file_url: str
    control_url: str


def _announced(process: subprocess.Popen[bytes], wait: float) -> ServerUrls:
    """The JSON line the server prints once it listens."""
    assert process.stdout is not None
    fd, buffer = process.stdout.fileno(), b""
    deadline = time.monotonic() + wait
    while b"\n" not in buffer:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            raise ProcessError(f"the local Bot API did not start within {wait}s")
        buffer += chunk
    return ServerUrls(**json.loads(buffer.splitlines()[0]))


@contextmanager
def api_server(log: Path, wait: float = 20.0) -> Iterator[ServerUrls]:
    """`python -m localapi` (no latency yet) for one bot: where it listens."""
    with child(["-m", "localapi"], log, stdout=subprocess.PIPE) as process:
        yield _announced(process, wait)


# -- the control API --------------------------------------------------------------------------


class ControlApi:
    """One bot's server, played over HTTP: users, their messages, what the bot sent."""

    def __init__(self, http: aiohttp.ClientSession, urls: ServerUrls) -> None:
        self.http, self.urls = http, urls

    async def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        url = f"{self.urls.control_url}/{path}"
        async with self.http.request(method, url, json=body) as response:
            answer = await response.json()
        if not answer.get("ok"):
            raise ProcessError(f"{method} {path}: {answer.get('description')}")
        return answer["result"]

    async def add_user(self, user_id: int, first_name: str) -> None:
        """A user who reads Chinese and has started the bot (it may write to them)."""
        body = {"id": user_id, "first_name": first_name, "language_code": "zh-hans"}
        await self._call("POST", "users", {**body, "started": True})

    async def send_text(self, user_id: int, text: str, reply_to: int | None = None) -> int:
        """The user sends a text (replying to `reply_to`); its message id."""
        body: dict[str, Any] = {"text": text}
        if reply_to is not None:
            body["reply_to"] = reply_to
        sent = await self._call("POST", f"users/{user_id}/send", body)
        return int(sent["message_id"])

    async def press(self, user_id: int, message_id: int, callback_data: str) -> None:
        """The user presses an inline button of the bot's message `message_id`."""
        body = {"message_id": message_id, "callback_data": callback_data}
        await self._call("POST", f"users/{user_id}/press", body)

    async def messages_to(self, chat_id: int, after: int = 0) -> list[dict[str, Any]]:
        """What the bot sent to a chat from index `after` on (BotMessage.to_json)."""
        found: list[dict[str, Any]] = await self._call(
            "GET", f"chats/{chat_id}/messages?after={after}"
        )
        return found

    async def calls(self) -> dict[str, int]:
        """Bot API calls so far, by method (lower case)."""
        counted: dict[str, int] = await self._call("GET", "calls")
        return counted

    async def set_latency(self, seconds: float) -> None:
        """Hold every later Bot API answer back `seconds` (a round trip)."""
        await self._call("POST", "latency", {"seconds": seconds})
