"""Kill test: `python -m bot run` is SIGKILLed at random points while reminders fire.

Claim-before-send and finish-after-send (bot/features/timers.py) promise that a crash loses no
reminder and re-sends at most the message in flight. Here R settled cases each have a revisit
reminder, due over the next SPREAD_SECONDS of real time; the bot runs as a subprocess against
the in-process local Bot API and is SIGKILLed a random 0.2-1.5 s (fixed seed) after its first
Bot API call, restarted and killed again, KILLS times, then left to finish and stopped with
SIGTERM. Every case's revisit card must have reached the mediator (an English speaker), with
at most one duplicate per kill and no kill leaving more than one delivered card unfinished,
and every revisit row must end 'done'.

Two variants: on bare loopback, and with Telegram-like latency (the local API holds each
sendMessage answer back SEND_LATENCY s after recording the message), which widens the window
in which a kill turns a delivered card into a duplicate.

Everything listens on 127.0.0.1, every child is killed in a `finally`, every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.seeding import SeededRevisit, seed_people, seed_revisits
from localapi.server import LocalBotApi
from storage.db import Database
from tests.processes import bot_process

pytestmark = pytest.mark.slow

SEED = 20260302
KILLS = 20
RUN_SECONDS = (0.2, 1.5)  # how long a run lives (after its first Bot API call) before SIGKILL
START_TIMEOUT = 20.0  # from spawn to the first Bot API call
# Due times cover about the whole kill phase (imports take ~0.5-1 s per run), so kills land
# while reminders fire: on time, and in the burst of late ones every restart sends at once.
SPREAD_SECONDS = 25.0
REMINDERS = 120
# Telegram answers sendMessage after some latency; the message exists before the bot hears
# so. That window is where a kill makes a duplicate, so the local API holds each answer back.
SEND_LATENCY = 0.15
SETTLE_SECONDS = 0.1  # lets the local API finish a request the killed bot had sent
FINAL_TIMEOUT = 25.0  # the last run must deliver everything within this
TEST_BUDGET = 90.0
STOP_TIMEOUT = 10.0
MEDIATOR = 2001
CARD = re.compile(r"Revisit 1 of case (QJS-\d{4}-\d{4})")


@dataclass(frozen=True)
class KillRecord:
    """What one SIGKILL interrupted, read from the database and the local API right after it."""

    after: float  # seconds the run lived
    cards: int  # cards the mediator had received in all
    claimed: int  # revisit rows left 'claimed'
    # Cases whose card this run delivered but whose row it did not finish: each will be sent
    # again by the next run. "At most the one message in flight" means at most one here.
    resent: tuple[str, ...]


# -- setting up -------------------------------------------------------------------------------


async def _prepare(path: Path) -> list[SeededRevisit]:
    """R settled cases with a revisit reminder each, due over the next SPREAD_SECONDS."""
    now = datetime.now(UTC)
    dues = [now + timedelta(seconds=SPREAD_SECONDS * i / REMINDERS) for i in range(REMINDERS)]
    db = await Database.open(path)
    try:
        await seed_people(db, MEDIATOR, "en", now)
        return await seed_revisits(db, MEDIATOR, dues, now)
    finally:
        await db.close()


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escaping is TOML's for these)."""
    return json.dumps(text, ensure_ascii=False)


def _write_config(folder: Path, api: LocalBotApi, database: Path) -> Path:
    """A config pointing the bot at the in-process local Bot API; one area."""
    lines = [
        "[telegram]",
        f"token = {_toml(api.token)}",
        f"base_url = {_toml(api.base_url)}",
        f"base_file_url = {_toml(api.base_file_url)}",
        "[storage]",
        f"path = {_toml(str(database))}",
        "[[areas]]",
        'id = "dongsheng"',
        'name = { zh_CN = "东升社区", en = "Dongsheng Community" }',
        'office_hours = { zh_CN = "周二 9:00–11:30", en = "Tue 9:00–11:30" }',
    ]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _stderr_path(logs: Path, run: int) -> Path:
    return logs / f"run{run:02d}.err"


@contextmanager
def _bot_process(config: Path, logs: Path, run: int) -> Iterator[subprocess.Popen[bytes]]:
    """The run-th bot process, its output in `logs`."""
    out, err = logs / f"run{run:02d}.out", _stderr_path(logs, run)
    with bot_process(config, out, err, STOP_TIMEOUT) as process:
        yield process


# -- observing --------------------------------------------------------------------------------


def _cards(api: LocalBotApi) -> Counter[str]:
    """How many revisit cards each case number got."""
    found: Counter[str] = Counter()
    for message in api.messages_to(MEDIATOR):
        match = CARD.search(message.content)
        if match:
            found[match.group(1)] += 1
    return found


def _revisit_rows(database: Path) -> dict[str, str]:
    """job id → state of every revisit:* reminder (read with a short-lived connection)."""
    connection = sqlite3.connect(database, timeout=5)
    try:
        rows = connection.execute(
            "SELECT job_id, state FROM reminders WHERE job_id LIKE 'revisit:%'"
        ).fetchall()
    finally:
        connection.close()
    return {str(job): str(state) for job, state in rows}


def _numbers_by_job(seeded: list[SeededRevisit]) -> dict[str, str]:
    return {s.job_id: s.number for s in seeded}


def _record_kill(
    api: LocalBotApi,
    database: Path,
    seeded: list[SeededRevisit],
    before: Counter[str],
    after: float,
) -> KillRecord:
    """What the kill left in flight: claimed rows whose card this run had already delivered."""
    cards, numbers = _cards(api), _numbers_by_job(seeded)
    claimed = [job for job, state in _revisit_rows(database).items() if state == "claimed"]
    resent = tuple(numbers[j] for j in claimed if cards[numbers[j]] > before[numbers[j]])
    return KillRecord(after, cards.total(), len(claimed), resent)


def _stderr_of_all(logs: Path) -> str:
    return "\n".join(
        f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
        for path in sorted(logs.glob("run*.err"))
    )


# -- running ----------------------------------------------------------------------------------


async def _killed_run(
    api: LocalBotApi, config: Path, run: int, lifetime: float, deadline: float
) -> float:
    """Start the bot; `lifetime` s after its first Bot API call (or at the deadline), SIGKILL.

    Counting from the first call (getMe, once the imports are done) puts every kill where the
    bot works: opening the database, scheduling, sending the late burst, or on time.
    """
    logs = config.parent / "logs"
    with _bot_process(config, logs, run) as process:
        await _first_call(api, process, _stderr_path(logs, run))
        started = time.monotonic()
        await asyncio.sleep(max(0.0, min(lifetime, deadline - started)))
        lived = time.monotonic() - started
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)
    return lived


async def _first_call(api: LocalBotApi, process: subprocess.Popen[bytes], stderr: Path) -> None:
    """Wait (bounded) until the new process calls getMe; fail if it dies or never does."""
    calls = api.calls("getMe")
    deadline = time.monotonic() + START_TIMEOUT
    while api.calls("getMe") == calls:
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the bot did not start (exit {process.poll()}):\n{stderr.read_text()}")
        await asyncio.sleep(0.01)


async def _final_run(
    api: LocalBotApi, config: Path, database: Path, expected: int, *, run: int, budget: float
) -> int | None:
    """Run until every revisit row is done and every card arrived; SIGTERM; the exit code."""
    logs = config.parent / "logs"
    with _bot_process(config, logs, run) as process:
        deadline = min(time.monotonic() + FINAL_TIMEOUT, budget - STOP_TIMEOUT)
        while time.monotonic() < deadline and process.poll() is None:
            done = sum(1 for s in _revisit_rows(database).values() if s == "done")
            if done == expected and len(_cards(api)) == expected:
                break
            await asyncio.sleep(0.1)
        if not await _running(process, _stderr_path(logs, run)):
            return process.poll()
        process.send_signal(signal.SIGTERM)
        return await _exit_code(process)


async def _running(process: subprocess.Popen[bytes], stderr: Path) -> bool:
    """Wait (bounded) until the bot logged that it runs, so SIGTERM is handled, not fatal."""
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if "bot running" in stderr.read_text(errors="replace"):
            return True
        await asyncio.sleep(0.05)
    return False


async def _exit_code(process: subprocess.Popen[bytes]) -> int | None:
    """Wait (bounded, without blocking the local API) for a process to exit."""
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return process.returncode
        await asyncio.sleep(0.05)
    return None


def _explain(kills: list[KillRecord], cards: Counter[str]) -> str:
    """A per-kill account for assertion messages."""
    lines = [
        f"kill {i:02d} after {k.after:.2f}s: {k.cards} cards so far, {k.claimed} rows claimed, "
        f"{len(k.resent)} delivered but unfinished {list(k.resent)}"
        for i, k in enumerate(kills)
    ]
    duplicated = {number: n for number, n in cards.items() if n > 1}
    return "\n".join([*lines, f"duplicated cards: {duplicated}"])


async def _kill_repeatedly(
    api: LocalBotApi, config: Path, database: Path, seeded: list[SeededRevisit], deadline: float
) -> list[KillRecord]:
    """KILLS runs, each SIGKILLed after a random lifetime; what each kill left behind."""
    rng = random.Random(SEED)
    kills: list[KillRecord] = []
    for run in range(KILLS):
        before = _cards(api)
        lived = await _killed_run(api, config, run, rng.uniform(*RUN_SECONDS), deadline)
        await asyncio.sleep(SETTLE_SECONDS)
        kills.append(_record_kill(api, database, seeded, before, lived))
    return kills


# -- the test ---------------------------------------------------------------------------------

LATENCIES = [
    pytest.param(0.0, id="loopback"),
    pytest.param(SEND_LATENCY, id="telegram-latency"),
]


@pytest.mark.parametrize("latency", LATENCIES)
async def test_sigkill_loses_no_reminder_and_resends_at_most_one_per_kill(
    tmp_path: Path, latency: float
) -> None:
    budget = time.monotonic() + TEST_BUDGET
    (tmp_path / "logs").mkdir()
    database = tmp_path / "data" / "bot.sqlite3"
    async with LocalBotApi() as api:
        api.add_user(MEDIATOR, "Mei", language_code="en", started=True)
        if latency:
            api.inject_fault("sendMessage", kind="slow", delay=latency, times=100 * REMINDERS)
        seeded = await _prepare(database)
        config = _write_config(tmp_path, api, database)
        kill_deadline = budget - FINAL_TIMEOUT - STOP_TIMEOUT
        kills = await _kill_repeatedly(api, config, database, seeded, kill_deadline)
        code = await _final_run(api, config, database, len(seeded), run=KILLS, budget=budget)
        cards = _cards(api)

    report = _explain(kills, cards)
    print(report)  # shown with -s / -rA: the per-kill account of a passing run
    stderr = _stderr_of_all(tmp_path / "logs")
    assert code == 0, f"the final run exited with {code}\n{report}\n{stderr}"
    assert time.monotonic() < budget, f"the test took over {TEST_BUDGET}s\n{report}"
    missing = [s.number for s in seeded if cards[s.number] == 0]
    assert not missing, f"revisit cards never delivered: {missing}\n{report}"
    duplicates = sum(n - 1 for n in cards.values() if n > 1)
    assert duplicates <= len(kills), f"{duplicates} duplicates for {len(kills)} kills\n{report}"
    worst = max(len(k.resent) for k in kills)
    assert worst <= 1, f"a kill left {worst} delivered cards unfinished (max 1)\n{report}"
    states = _revisit_rows(database)
    not_done = {job: state for job, state in states.items() if state != "done"}
    assert len(states) == len(seeded) and not not_done, f"not done: {not_done}\n{report}"
    assert "Traceback" not in stderr, stderr
