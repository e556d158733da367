"""Ten years of a district: start-up, staff commands, the nightly purge, relay latency.

The bot runs alone in its own process (``python -m bot run``) against the local Bot API in
another (``python -m localapi``), on a copy of the district ``bench.district`` seeds
(200,000 residents, 50,000 cases over 10 years in 50 areas, 1,000,000 book entries, 20,000
subscribers, 100,000 pending reminders; built once a day and cached). This harness plays
the people over the server's control API and times, from a person's send to the last of the
bot's answers in their chat:

* start-up: from spawning the bot to its answer to a /help sent before it started;
* `/stats year` and `/stats` over all ten years (staff), `/overview` (staff), `/cases` of the
  busy mediator (about 1,250 cases), `/mydata` of a resident with 20 cases, `/book` of a case
  with 2,000 entries, `/roster export`;
* relay latency (p50, p99), resident to mediator and back, in cases their mediators
  accepted (a few seeded pairs, each the mediator's current case); every copy is checked to
  arrive in the other chat;
* the nightly retention purge over everything due (some 45,000 cases closed over a year
  ago): the bot is restarted with the purge's reminder due a few seconds later, and relay
  latency is sampled while it runs; its duration is what the bot logs; then as many rounds
  again, in the same process once the purge is done, are the baseline (the first process
  is still drawing the charts of /stats in a child process: no fair baseline);
* the bot's peak RSS, and the database's size before and after.

Goals, printed with the figures: start-up <= 2 s; each command <= 1 s; the purge <= 60 s,
raising relay p99 by no more than 50 ms; peak RSS <= 150 MB.

    python -m bench.scale                # the full district
    python -m bench.scale --tiny         # a few hundred rows (the smoke test)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import percentile, write_json
from bench.district import Landmarks, Sizes, district
from bench.processes import ControlApi, ProcessError, ServerUrls, api_server, child, peak_rss_mb
from bench.relay import Bot, Conversation, Copy, deliver, exchange, warm_up
from bot.features.privacy import RETENTION_JOB
from storage.db import Database
from storage.reminders import ReminderRepository

GOAL_STARTUP_S = 2.0
GOAL_COMMAND_S = 1.0
GOAL_PURGE_S = 60.0
GOAL_PURGE_ADDED_P99_MS = 50.0
GOAL_RSS_MB = 150.0

TINY = Sizes(residents=400, cases=120, areas=5, entries=2_400, subscribers=40, reminders=100,
             long_case=200, resident_cases=20, pairs=2)  # fmt: skip
QUIET = 0.8  # seconds without a new message: the answer is complete
ANSWER_TIMEOUT = 60.0
RELAY_RATE = 5.0  # messages a second while sampling
PURGE_LEAD = 6.0  # seconds from the restart to the purge's due time
FLOOD_LIMIT = 600
PURGE_BATCH_FIELDS = ("batches", "batch_ms_mean", "batch_ms_max")  # how long each held the db
PURGE_LINE = re.compile(r"retention purge\b.*")


@dataclasses.dataclass(frozen=True)
class Command:
    label: str
    sender: int
    text: str
    answers: int  # at least this many messages complete the answer
    text_first: bool = False  # the goal is the first message's (the figures); files follow


def commands(marks: Landmarks) -> list[Command]:
    this_year = datetime.now(UTC).year
    ten_years = f"/stats {this_year - 9}-01-01 {this_year}-12-31"
    return [
        Command("/stats year", marks.staff, "/stats year", 4, text_first=True),
        Command("/stats all years", marks.staff, ten_years, 4, text_first=True),
        Command("/overview", marks.staff, "/overview", 1),
        Command("/cases (busy mediator)", marks.busy_mediator, "/cases", 1),
        Command("/mydata (20 cases)", marks.resident_with_cases, "/mydata", 1),
        Command("/book (2,000 entries)", marks.busy_mediator, "/book", 1),
        Command("/roster export", marks.staff, "/roster export", 2),
    ]


# -- answers ----------------------------------------------------------------------------------


async def answer_times(
    api: ControlApi, chat: int, before: float, expected: int
) -> tuple[float, float]:
    """Seconds from `before` to the first and to the last message of the bot's answer in
    `chat`: at least `expected` new messages, then QUIET seconds without another."""
    start = len(await api.messages_to(chat))
    deadline = time.monotonic() + ANSWER_TIMEOUT
    messages: list[dict[str, Any]] = []
    last_change = time.monotonic()
    while time.monotonic() < deadline:
        found = await api.messages_to(chat, start)
        if len(found) != len(messages):
            messages, last_change = found, time.monotonic()
        if len(messages) >= expected and time.monotonic() - last_change >= QUIET:
            first, last = (float(messages[i]["recorded_at"]) - before for i in (0, -1))
            return first, last
        await asyncio.sleep(0.05)
    raise TimeoutError(f"chat {chat}: {len(messages)} of {expected} answers")


async def answer_time(api: ControlApi, chat: int, before: float, expected: int) -> float:
    """Seconds from `before` to the last message of the bot's answer in `chat`."""
    return (await answer_times(api, chat, before, expected))[1]


async def timed(api: ControlApi, command: Command) -> tuple[float, float]:
    """Seconds from the send to the answer's first message and to its last (a chart, a file)."""
    before = time.monotonic()
    await api.send_text(command.sender, command.text)
    return await answer_times(api, command.sender, before, command.answers)


# -- the bot ----------------------------------------------------------------------------------


def write_config(folder: Path, urls: ServerUrls, database: Path, marks: Landmarks) -> Path:
    lines = [
        "[telegram]",
        f"token = {json.dumps(urls.token)}",
        f"base_url = {json.dumps(urls.base_url)}",
        f"base_file_url = {json.dumps(urls.base_file_url)}",
        "[storage]",
        f"path = {json.dumps(str(database))}",
        "[staff]",
        f"admins = [{marks.staff}]",
        "[privacy]",
        f"max_messages_per_minute = {FLOOD_LIMIT}",
    ]
    for n, area in enumerate(marks.areas):
        lines += [
            "[[areas]]",
            f'id = "{area}"',
            f'name = {{ zh_CN = "第{n + 1}社区", en = "Community {n + 1}" }}',
            'office_hours = { zh_CN = "周二 9:00–11:30", en = "Tue 9:00–11:30" }',
        ]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def bot_process(config: Path, log: Path) -> Iterator[tuple[int, float]]:
    """The bot, spawned now: its pid and the moment it was spawned."""
    spawned = time.monotonic()
    with child(["-m", "bot", "run", "--config", str(config)], log) as process:
        yield process.pid, spawned


async def start_up(api: ControlApi, marks: Landmarks, spawned: float, log: Path) -> float:
    """Seconds from spawning the bot to its answer to a /help sent at once."""
    await api.send_text(marks.staff, "/help")
    try:
        return await answer_time(api, marks.staff, spawned, 1)
    except TimeoutError as error:
        raise ProcessError(f"the bot did not answer /help: {error}\n{tail(log)}") from None


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


# -- relay ------------------------------------------------------------------------------------


def relay_bot(pid: int, api: ControlApi, marks: Landmarks) -> Bot:
    return Bot("daasao", pid, api, [Conversation(r, m) for r, m in marks.pairs])


async def sample(bot: Bot, count: int, tag: str) -> list[Copy]:
    """`count` rounds of one message each way per pair, at RELAY_RATE; every copy arrives."""
    return await deliver(bot, exchange(bot.conversations, count, tag), RELAY_RATE, 30.0)


async def sample_until(bot: Bot, done: asyncio.Event, tag: str) -> tuple[list[Copy], int]:
    """Rounds of `sample` until `done` (one at least); the copies and how many rounds."""
    copies: list[Copy] = []
    n = 0
    while n == 0 or not done.is_set():
        copies += await sample(bot, 1, f"{tag}{n}")
        n += 1
    return copies, n


def latency_ms(copies: Sequence[Copy]) -> dict[str, float]:
    values = [c.latency for c in copies]
    return {
        "messages": len(values),
        "p50_ms": percentile(values, 50) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
    }


# -- the purge --------------------------------------------------------------------------------


async def arm_purge(database: Path, due: datetime) -> None:
    """Make the nightly purge due at `due` (the bot is stopped; it reads the row at start)."""
    db = await Database.open(database)
    try:
        await ReminderRepository(db).add(RETENTION_JOB, "retention", due, datetime.now(UTC))
    finally:
        await db.close()


async def purge_finished(log: Path, done: asyncio.Event, timeout: float) -> dict[str, Any]:
    """Wait for the bot's "retention purge" line; its fields (cases, ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if "retention purge" in line and "ms=" in line:
                done.set()
                return dict(re.findall(r"(\w+)=(\S+)", line))
        await asyncio.sleep(0.1)
    done.set()
    raise TimeoutError(f"no retention purge within {timeout}s:\n{tail(log)}")


# -- the run ----------------------------------------------------------------------------------


async def run(sizes: Sizes, folder: Path, baseline: int) -> dict[str, Any]:
    database = folder / "district.sqlite3"
    built = time.monotonic()
    marks = await district(sizes, database)
    seeded_s = time.monotonic() - built
    size_before = database.stat().st_size
    result: dict[str, Any] = {"sizes": dataclasses.asdict(sizes), "seed_or_copy_s": seeded_s}
    with api_server(folder / "localapi.log") as urls:
        async with aiohttp.ClientSession() as http:
            api = ControlApi(http, urls)
            people = {marks.staff, marks.busy_mediator, marks.resident_with_cases}
            for user in sorted(people | {p for pair in marks.pairs for p in pair}):
                await api.add_user(user, f"用户{user}")
            config = write_config(folder, urls, database, marks)
            log = folder / "bot.log"
            with bot_process(config, log) as (pid, spawned):
                result["startup_s"] = await start_up(api, marks, spawned, log)
                times = {c: await timed(api, c) for c in commands(marks)}
                result["commands_s"] = {
                    c.label: t[0] if c.text_first else t[1] for c, t in times.items()
                }
                result["files_s"] = {c.label: t[1] for c, t in times.items() if c.text_first}
                rss_commands = peak_rss_mb(pid)
            await arm_purge(database, datetime.now(UTC) + timedelta(seconds=PURGE_LEAD))
            purge_log = folder / "bot-purge.log"
            with bot_process(config, purge_log) as (pid, spawned):
                result["restart_s"] = await start_up(api, marks, spawned, purge_log)
                bot = relay_bot(pid, api, marks)
                await warm_up(bot, 30.0)  # a round each way before the purge is due
                done = asyncio.Event()
                finished = asyncio.create_task(purge_finished(purge_log, done, 600.0))
                copies, rounds = await sample_until(bot, done, "purge")
                purge = await finished
                result["relay_during_purge"] = latency_ms(copies)
                # The baseline: as many rounds, in the same process, once the purge is done.
                without = await sample(bot, max(baseline, rounds), "base")
                result["relay_without"] = latency_ms(without)
                result["purge"] = {
                    "cases": int(purge["cases"]),
                    "s": int(purge["ms"]) / 1000,
                    **{k: int(purge.get(k, 0)) for k in PURGE_BATCH_FIELDS},
                }
                rss_purge = peak_rss_mb(pid)
                result["peak_rss_mb"] = max(rss_commands, rss_purge)
                result["rss_mb"] = {"commands": rss_commands, "purge": rss_purge}
    result["db_mb"] = {"before": size_before / 1e6, "after": database.stat().st_size / 1e6}
    return result


def _met(value: float, goal: float) -> str:
    return "met" if value <= goal else "MISSED"


def report(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    lines = [
        f"scale: {sizes['residents']:,} residents, {sizes['cases']:,} cases over "
        f"{sizes['years']} years in {sizes['areas']} areas, {sizes['entries']:,} book entries, "
        f"{sizes['subscribers']:,} subscribers, {sizes['reminders']:,} pending reminders; "
        f"database {result['db_mb']['before']:.0f} MB (after the purge "
        f"{result['db_mb']['after']:.0f} MB)",
        f"  start-up to first update handled  {result['startup_s']:6.2f} s  "
        f"(goal <= {GOAL_STARTUP_S:g} s: {_met(result['startup_s'], GOAL_STARTUP_S)}; "
        f"restart {result['restart_s']:.2f} s)",
    ]
    for label, seconds in result["commands_s"].items():
        files = result.get("files_s", {}).get(label)
        lines.append(
            f"  {label:<33}{seconds:6.2f} s  (goal <= {GOAL_COMMAND_S:g} s: "
            f"{_met(seconds, GOAL_COMMAND_S)})"
            + (
                ""
                if files is None
                else f"; the text; charts and workbook follow, last at {files:.2f} s"
            )
        )
    purge, without, during = result["purge"], result["relay_without"], result["relay_during_purge"]
    added = during["p99_ms"] - without["p99_ms"]
    lines += [
        f"  retention purge of {purge['cases']:,} cases     {purge['s']:6.2f} s  "
        f"(goal <= {GOAL_PURGE_S:g} s: {_met(purge['s'], GOAL_PURGE_S)}; "
        f"{purge.get('batches', 0):,} batches, each {purge.get('batch_ms_mean', 0)} ms "
        f"on average, {purge.get('batch_ms_max', 0)} ms at most)",
        f"  relay latency without: p50 {without['p50_ms']:.0f} ms, p99 {without['p99_ms']:.0f} ms "
        f"({without['messages']} messages); during the purge: p50 {during['p50_ms']:.0f} ms, "
        f"p99 {during['p99_ms']:.0f} ms ({during['messages']} messages)",
        f"  relay p99 added by the purge      {added:+6.0f} ms (goal <= "
        f"{GOAL_PURGE_ADDED_P99_MS:g} ms: {_met(added, GOAL_PURGE_ADDED_P99_MS)})",
        f"  bot peak RSS                      {result['peak_rss_mb']:6.1f} MB (goal <= "
        f"{GOAL_RSS_MB:g} MB: {_met(result['peak_rss_mb'], GOAL_RSS_MB)}; with the commands "
        f"{result['rss_mb']['commands']:.0f} MB, "
        f"during the purge {result['rss_mb']['purge']:.0f} MB)",
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def workspace(logs: Path | None) -> Iterator[Path]:
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
        yield logs.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="daasao-scale-bench-") as folder:
        yield Path(folder)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tiny", action="store_true", help="a tiny district (smoke test)")
    parser.add_argument(
        "--baseline",
        type=int,
        default=10,
        help="relay rounds without purge (at least as many as during it)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--logs", type=Path, help="keep the database and the logs here")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else Sizes()
    with workspace(args.logs) as folder:
        result = asyncio.run(run(sizes, folder, args.baseline))
    print(report(result), flush=True)
    if args.json is not None:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
