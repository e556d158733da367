"""Reminders benchmark: start-up with many pending reminders, then a burst of due ones.

The real Da'asao application (``bot.app``, as tests/harness.py starts it) runs in this process
against the local Bot API server on loopback, each time on a fresh temporary database seeded
with settled cases of one mediator and a ``revisit`` reminder per case (``bench.seeding``):

* ``empty``: no reminders besides the weekly digest the bot creates itself (the baseline);
* ``future``: P pending reminders, all due in a month, so start-up only schedules them;
* ``due``: P pending reminders of which D are due now: start-up schedules them all and the
  D fire at once (late), each sending a revisit card to the mediator.

Start-up is the time ``start_app`` takes (initialize, open the database, publish commands,
load and schedule every open reminder, start polling). The firing rate is D divided by the
seconds from the scheduler's start (the ``timers started`` log record) to the D-th card
arriving at the local API. Peak RSS is the process maximum (``getrusage``), so it includes
every earlier scenario. A warm-up start with an empty database runs first and is not shown.
The bot logs as it does by default (INFO, here to /dev/null); ``--log-level off`` leaves
logging unconfigured. The issue's goal: start-up with 10,000 pending under 2 s.

    python -m bench.reminders --pending 10000 --due 1000
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.seeding import seed_people, seed_revisits
from bot.app import DaasaoApp, build_application, open_feed, start_app, stop_app
from bot.core.clock import SystemClock
from bot.core.config import Config, parse_config
from bot.core.i18n import Catalogs
from bot.core.logs import LIBRARY_CEILINGS, setup_logging
from localapi.server import LocalBotApi
from storage.db import Database
from storage.reminders import ReminderRepository

GOAL_STARTUP_SECONDS = 2.0  # the goal for start-up with 10,000 pending reminders
AREA = {
    "id": "dongsheng",
    "name": {"zh_CN": "东升社区", "en": "Dongsheng Community"},
    "office_hours": {"zh_CN": "周二 9:00–11:30", "en": "Tue 9:00–11:30"},
}
FUTURE = timedelta(days=30)  # when the reminders that must not fire are due
MEDIATOR = 2001  # every revisit card goes to this chat


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One start of the bot: how many reminders are pending, and how many of them are due."""

    name: str
    pending: int
    due: int


@dataclasses.dataclass(frozen=True)
class Run:
    """What one scenario measured."""

    name: str
    pending: int
    due: int
    startup_s: float
    cards: int  # revisit cards that arrived (should equal `due`)
    fire_s: float  # scheduler start → the last due card arrived (0 when nothing was due)
    rate_msg_s: float  # due cards per second of fire_s (0 when nothing was due)
    peak_rss_mb: float


# -- preparing --------------------------------------------------------------------------------


async def seed_database(path: Path, pending: int) -> None:
    """A migrated database with the mediator and `pending` reminders, all due in a month."""
    now = datetime.now(UTC)
    dues = [now + FUTURE + timedelta(seconds=i) for i in range(pending)]
    db = await Database.open(path)
    try:
        await seed_people(db, MEDIATOR, "en", now)
        await seed_revisits(db, MEDIATOR, dues, now)
    finally:
        await db.close()


async def copy_with_due(template: Path, target: Path, due: int) -> None:
    """Copy a seeded database and make its first `due` reminders due a minute ago."""
    shutil.copyfile(template, target)
    now = datetime.now(UTC)
    db = await Database.open(target)
    try:
        reminders = ReminderRepository(db)
        async with db.transaction():
            for reminder in (await reminders.open())[:due]:
                await reminders.add(
                    reminder.job_id,
                    reminder.kind,
                    now - timedelta(minutes=1),
                    now,
                    case_id=reminder.case_id,
                    ref=reminder.ref,
                )
    finally:
        await db.close()


def bench_config(api: LocalBotApi, database: Path) -> Config:
    """A valid config: one area, the database, pointed at the local server."""
    config = parse_config({"storage": {"path": str(database)}, "areas": [AREA]}, env={})
    telegram = dataclasses.replace(
        config.telegram, token=api.token, base_url=api.base_url, base_file_url=api.base_file_url
    )
    return dataclasses.replace(config, telegram=telegram)


async def _poll(app: DaasaoApp) -> None:
    """Poll like the e2e harness: short long-polls, through the inbox."""
    await open_feed(app, poll_timeout=1).start_polling()


# -- measuring --------------------------------------------------------------------------------


class _TimersStarted(logging.Handler):
    """Notes when bot.features.timers logs 'timers started': the scheduler has just begun firing."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.at: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "timers started":
            self.at = time.perf_counter()


@contextmanager
def production_logging(level: str) -> Iterator[None]:
    """Log as `daasao run` does at `level` (to /dev/null), then restore the logging setup.

    The bot runs at INFO by default, where APScheduler notes every job it adds: with many
    reminders that is part of the start-up. "off" leaves logging as it is.
    """
    if level == "off":
        yield
        return
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARY_CEILINGS}
    with Path(os.devnull).open("w", encoding="utf-8") as sink:
        setup_logging(level, stream=sink)
        try:
            yield
        finally:
            root.handlers[:] = handlers
            root.setLevel(root_level)
            for name, saved in levels.items():
                logging.getLogger(name).setLevel(saved)


@contextmanager
def _watch_timers() -> Iterator[_TimersStarted]:
    """Listen to bot.features.timers at INFO for the duration (whatever the logging setup)."""
    logger = logging.getLogger("bot.features.timers")
    handler, level = _TimersStarted(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def _cards_arrived(api: LocalBotApi, chat_id: int, count: int, timeout: float) -> float:
    """Wait until `count` messages reached `chat_id`; when (perf_counter), or inf on timeout."""
    arrived = await api.world.signal.wait_for(
        lambda: len(api.messages_to(chat_id)) >= count, timeout
    )
    return time.perf_counter() if arrived else float("inf")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def measure(api: LocalBotApi, scenario: Scenario, database: Path, timeout: float) -> Run:
    """Start the bot on a prepared database, wait for the due cards, stop it."""
    config = bench_config(api, database)
    app = build_application(config, SystemClock(), Catalogs(default=config.locale.default))
    expected = len(api.messages_to(MEDIATOR)) + scenario.due
    with _watch_timers() as timers:
        started = time.perf_counter()
        try:
            await start_app(app, _poll)
            startup = time.perf_counter() - started
            last = await _cards_arrived(api, MEDIATOR, expected, timeout)
        finally:
            await stop_app(app)
    cards = len(api.messages_to(MEDIATOR)) - expected + scenario.due
    return _run(scenario, cards, startup, (timers.at or started, last))


def _run(scenario: Scenario, cards: int, startup: float, window: tuple[float, float]) -> Run:
    """The figures of one scenario; `window` is (scheduler start, last due card)."""
    fire = window[1] - window[0] if scenario.due else 0.0
    return Run(
        name=scenario.name,
        pending=scenario.pending,
        due=scenario.due,
        startup_s=startup,
        cards=cards,
        fire_s=fire,
        rate_msg_s=scenario.due / fire if scenario.due and fire > 0 else 0.0,
        peak_rss_mb=peak_rss_mb(),
    )


async def run_bench(pending: int, due: int, timeout: float) -> list[Run]:
    """Warm-up, empty, future, due: one after the other against one local Bot API server.

    The warm-up pays for first imports and caches and is not returned. `future` and `due`
    start from copies of one seeded database (seeding 10,000 cases takes a while).
    """
    with tempfile.TemporaryDirectory(prefix="daasao-bench-") as name:
        folder = Path(name)
        await seed_database(folder / "empty.sqlite3", 0)
        await seed_database(folder / "template.sqlite3", pending)
        for target, count in (("future", 0), ("due", due)):
            await copy_with_due(folder / "template.sqlite3", folder / f"{target}.sqlite3", count)
        async with LocalBotApi() as api:
            api.add_user(MEDIATOR, "Mediator", language_code="en", started=True)
            runs = []
            for scenario, database in (
                (Scenario("warm-up", 0, 0), "empty"),
                (Scenario("empty", 0, 0), "empty"),
                (Scenario("future", pending, 0), "future"),
                (Scenario("due", pending, due), "due"),
            ):
                runs.append(await measure(api, scenario, folder / f"{database}.sqlite3", timeout))
    return runs[1:]


# -- reporting --------------------------------------------------------------------------------


def table(runs: Sequence[Run]) -> str:
    """A small fixed-width table."""
    header = (
        f"{'scenario':<10}{'pending':>9}{'due':>7}{'start s':>9}{'cards':>7}"
        f"{'fire s':>8}{'msg/s':>9}{'RSS MB':>9}"
    )
    rows = [
        f"{r.name:<10}{r.pending:>9}{r.due:>7}{r.startup_s:>9.3f}{r.cards:>7}"
        f"{r.fire_s:>8.2f}{r.rate_msg_s:>9.1f}{r.peak_rss_mb:>9.1f}"
        for r in runs
    ]
    return "\n".join([header, *rows])


def summary(runs: Sequence[Run]) -> dict[str, Any]:
    """The figures as plain data, with the start-up cost of the pending reminders."""
    by_name = {r.name: r for r in runs}
    empty, due = by_name["empty"], by_name["due"]
    return {
        "runs": {r.name: dataclasses.asdict(r) for r in runs},
        "startup_empty_s": empty.startup_s,
        "startup_pending_s": due.startup_s,
        "startup_difference_s": due.startup_s - empty.startup_s,
        "startup_goal_met": due.startup_s < GOAL_STARTUP_SECONDS,
        "firing_rate_msg_s": due.rate_msg_s,
        "cards_delivered": due.cards,
        "peak_rss_mb": max(r.peak_rss_mb for r in runs),
    }


def _report(result: dict[str, Any], pending: int, due: int) -> None:
    goal = "met" if result["startup_goal_met"] else "NOT met"
    print(
        f"start-up: {result['startup_empty_s']:.3f} s empty, "
        f"{result['startup_pending_s']:.3f} s with {pending} pending ({due} due): "
        f"{result['startup_difference_s']:+.3f} s; goal < {GOAL_STARTUP_SECONDS:.0f} s {goal}"
    )
    print(
        f"firing: {result['cards_delivered']}/{due} cards, "
        f"{result['firing_rate_msg_s']:.1f} msg/s; peak RSS {result['peak_rss_mb']:.1f} MB"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.reminders", description=__doc__)
    parser.add_argument("--pending", type=int, default=10_000, help="pending reminders (P)")
    parser.add_argument("--due", type=int, default=1_000, help="of them, due now (D)")
    parser.add_argument("--timeout", type=float, default=120.0, help="max wait for the cards")
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "off"],
        default="INFO",
        help="log as the bot does at this level, to /dev/null (default INFO, the bot's default)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench, print the table and the summary; return the figures."""
    args = _parser().parse_args(argv)
    if not 1 <= args.due <= args.pending:
        raise SystemExit("--due must be at least 1 and at most --pending")
    with production_logging(args.log_level):
        runs = asyncio.run(run_bench(args.pending, args.due, args.timeout))
    result = summary(runs)
    print(
        f"reminders: {args.pending} pending, {args.due} due at once, "
        f"logging at {args.log_level}, local Bot API on loopback"
    )
    print(table(runs))
    _report(result, args.pending, args.due)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
