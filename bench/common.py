"""Helpers the benchmarks share: the bots under test, measuring, and reporting.

Most benchmarks run one in-process local Bot API server (``localapi``) and poll it over
loopback HTTP with python-telegram-bot, either a bare ``Application`` (the baseline) or the
real Da'asao application on a temporary database; ``bench.broadcast`` runs the server and
the bot in processes of their own.
"""

from __future__ import annotations

import dataclasses
import json
import math
import resource
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, BaseHandler

from bot.app import DaasaoApp, build_application, open_feed, start_app, stop_app
from bot.core.clock import SystemClock
from bot.core.config import Config, parse_config
from bot.core.i18n import Catalogs
from localapi.server import LocalBotApi

BareApp = Application[Any, Any, Any, Any, Any, Any]

BENCH_AREA: dict[str, Any] = {
    "id": "dongsheng",
    "name": {"zh_CN": "东升社区", "en": "Dongsheng Community"},
    "office_hours": {"zh_CN": "周二 9:00–11:30", "en": "Tue 9:00–11:30"},
}


@dataclasses.dataclass(frozen=True)
class Figures:
    """What one bot achieved."""

    name: str
    messages: int
    seconds: float
    throughput: float  # messages per second
    p50_ms: float
    p99_ms: float
    peak_rss_mb: float


# -- the bots ---------------------------------------------------------------------------------


async def start_polling(app: BareApp) -> None:
    """Poll like the e2e harness: no pause between polls, short long-polls. The bare bot
    uses PTB's Updater; Da'asao has none (its updates come through the inbox)."""
    if app.updater is None:
        await open_feed(app, poll_timeout=1).start_polling()
        return
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES)


async def stop_polling(app: BareApp) -> None:
    """Stop taking updates (the app keeps running); another bot may poll the server now."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()


@asynccontextmanager
async def bare_bot(
    api: LocalBotApi, handlers: Sequence[BaseHandler[Any, Any, Any]], *, polling: bool = True
) -> AsyncIterator[BareApp]:
    """A bare PTB application with just these handlers, started (and polling, by default)."""
    app = (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    app.add_handlers(handlers)
    await app.initialize()
    try:
        if polling:
            await start_polling(app)
        await app.start()
        yield app
    finally:
        await stop_polling(app)
        if app.running:
            await app.stop()
        await app.shutdown()


def daasao_config(api: LocalBotApi, folder: Path, extra: Mapping[str, Any] | None = None) -> Config:
    """A valid config: one area, a database in `folder`, pointed at the local server."""
    data: dict[str, Any] = {
        "storage": {"path": str(folder / "bench.sqlite3")},
        "areas": [BENCH_AREA],
        **(extra or {}),
    }
    config = parse_config(data, env={})
    telegram = dataclasses.replace(
        config.telegram, token=api.token, base_url=api.base_url, base_file_url=api.base_file_url
    )
    return dataclasses.replace(config, telegram=telegram)


@asynccontextmanager
async def daasao_app(
    api: LocalBotApi, extra: Mapping[str, Any] | None = None
) -> AsyncIterator[DaasaoApp]:
    """The real Da'asao application, started as tests/harness.py does, on a temp database."""
    with tempfile.TemporaryDirectory(prefix="daasao-bench-") as folder:
        config = daasao_config(api, Path(folder), extra)
        app: DaasaoApp = build_application(
            config, SystemClock(), Catalogs(default=config.locale.default)
        )
        try:
            await start_app(app, start_polling)
            yield app
        finally:
            await stop_app(app)


# -- measuring --------------------------------------------------------------------------------


def message_text(message: Mapping[str, Any]) -> str:
    """A message the local Bot API recorded (BotMessage.to_json): its text or caption."""
    return str(message.get("text") or message.get("caption") or "")


def button_data(message: Mapping[str, Any], label: str) -> str | None:
    """The callback data of the message's inline button with this label, if it has one."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if button.get("text") == label:
                return str(button["callback_data"])
    return None


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def vm_hwm_mb(pid: int) -> float:
    """Peak resident set size of another process so far (Linux: VmHWM in /proc, in kB)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def figures_of(name: str, latencies: Sequence[float], seconds: float) -> Figures:
    """Figures from per-message latencies (seconds) and the wall time they took."""
    return Figures(
        name=name,
        messages=len(latencies),
        seconds=seconds,
        throughput=len(latencies) / seconds,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        peak_rss_mb=peak_rss_mb(),
    )


def ratios(bot: Figures, baseline: Figures) -> dict[str, float]:
    """How `bot` compares with the baseline: throughput and median latency."""
    return {
        "throughput": bot.throughput / baseline.throughput,
        "p50": bot.p50_ms / baseline.p50_ms,
    }


# -- reporting --------------------------------------------------------------------------------


def table(figures: Sequence[Figures], name_width: int = 10) -> str:
    """A small fixed-width table."""
    header = (
        f"{'bot':<{name_width}}{'msgs':>6}{'secs':>8}{'msg/s':>9}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'RSS MB':>9}"
    )
    rows = [
        f"{f.name:<{name_width}}{f.messages:>6}{f.seconds:>8.2f}{f.throughput:>9.1f}"
        f"{f.p50_ms:>9.1f}{f.p99_ms:>9.1f}{f.peak_rss_mb:>9.1f}"
        for f in figures
    ]
    return "\n".join([header, *rows])


def write_json(path: Path, result: Mapping[str, Any]) -> None:
    """Write the figures as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
