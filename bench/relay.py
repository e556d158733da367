"""Relay cost: residents and mediators talking through Da'asao, against a bare copy bot.

What a user feels and what a host pays, measured from outside, with every party in a process
of its own as on a real deployment (a fake Telegram inside the bot's own event loop stalls
whenever the bot does, and rewards work no user would notice):

* the local Bot API (``python -m localapi``), one server process per bot, as Telegram
  keeps every bot's updates apart; each holds every answer back one round trip
  (``POST /control/latency``), and the run goes through each of ``--round-trips`` (0, 150 ms);
* Da'asao, ``python -m bot run --config …``, on a database seeded with N residents, each
  with a case accepted by one of K mediators (``bench.seeding.seed_conversations``);
* the baseline, ``python -m bench.copybot``: bare python-telegram-bot copying every private
  message to the sender's fixed partner chat (one getUpdates, one copyMessage a message),
  on a server of its own with the same residents, each with a partner of their own;
* this harness, playing the users over the servers' HTTP control API.

Both bots first relay one message each way per conversation, untimed (Da'asao introduces a
case with a header before its first copy in a chat). Then, at each round trip, the bots take
R turns each, interleaved (bare, Da'asao; Da'asao, bare; …) so that other load on the
machine hits both alike. A turn sends its share of the M messages each way: every resident
writes, then every partner answers (replying to the copy of the resident's first message,
which tells Da'asao the case), and again. Sends are paced at ``--rate`` messages a second
in all, not flooded: the figures say what one message costs, not how deep a queue grows.

Measured for each bot's process only:

* CPU ms per relayed message: utime + stime of all its threads (``/proc/<pid>/stat``) over
  a turn, which ends SETTLE s after the last copy, so work a copy leaves behind counts;
* latency, p50 and p99: from the user's send (just before the control-API call) to the copy
  in the other chat (``recorded_at`` of the server's record; both are the machine's
  CLOCK_MONOTONIC); the latency Da'asao adds is its figure minus the bare bot's. With
  round trips, a message that arrives while a poll's answer is on its way waits for the next
  poll, for both bots alike: at 10 msg/s and 150 ms, p50 is some 240 ms;
* peak RSS: VmHWM (``/proc/<pid>/status``) at the end of the run.

The goals, printed with the figures: CPU per message at most 1.5 times the bare bot's,
at most 10 ms added at p99 with 150 ms round trips (each Bot API call made before the copy
would cost a round trip more), peak RSS at most 1.3 times the bare bot's.

Profiling: the harness prints both bots' pids, so ``py-spy record --pid <pid> --gil -o
relay.svg`` can sample Da'asao while it runs (py-spy needs ptrace rights); ``--profile
relay.prof`` runs Da'asao under cProfile (``python -m pstats relay.prof``), and its figures
then carry the profiler's overhead. ``--logs DIR`` keeps the config, the database and the
processes' logs.

    python -m bench.relay --residents 10 --mediators 2 --messages 20 --rounds 4 --rate 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import BENCH_AREA, percentile, write_json
from bench.processes import (
    ControlApi,
    ProcessError,
    ServerUrls,
    api_server,
    child,
    cpu_ms,
    peak_rss_mb,
)
from bench.seeding import seed_conversations
from storage.db import Database

GOAL_CPU = 1.5  # Da'asao's CPU per message, at most this times the bare bot's
GOAL_ADDED_P99_MS = 10.0  # latency added at p99 ...
GOAL_AT_MS = 150.0  # ... with round trips this long
GOAL_RSS = 1.3  # Da'asao's peak RSS, at most this times the bare bot's

# User ids; each bot has a server of its own, so both can use the same residents.
RESIDENT_BASE = 300_000
MEDIATOR_BASE = 400_000
PARTNER_BASE = 500_000  # the bare bot's fixed partner of each resident
FLOOD_LIMIT = 600  # the highest privacy.max_messages_per_minute the config accepts
SETTLE = 0.3  # seconds after the last copy before a turn's CPU time is read
POLL = 0.05  # seconds between looks for copies that have not arrived yet
READY_TIMEOUT = 30.0  # from spawning a bot to its first getUpdates
BARE, DAASAO = "bare", "daasao"
TO_MEDIATOR, TO_RESIDENT = "to_mediator", "to_resident"


@dataclasses.dataclass(frozen=True)
class Sizes:
    """N residents, K mediators, M messages each way per conversation (at each round trip),
    R turns per bot and round trip, the pace, the round trips, the longest wait for copies."""

    residents: int
    mediators: int
    messages: int
    rounds: int
    rate: float  # messages per second, all conversations together
    round_trips_ms: tuple[float, ...]
    wait: float = 30.0

    def cases_of_busiest(self) -> int:
        return math.ceil(self.residents / self.mediators)

    def busiest_per_minute(self) -> int:
        """The most messages one person sends to Da'asao within a minute: the busiest
        mediator, who answers in all their cases (the warm-up included)."""
        cases = self.cases_of_busiest()
        total = cases * (1 + self.messages * len(self.round_trips_ms))
        paced = self.rate / 2 * cases / self.residents * 60 + cases
        return min(total, math.ceil(paced))


@dataclasses.dataclass(frozen=True)
class Conversation:
    """A resident and who their messages go to: their mediator, or the bare bot's partner."""

    resident: int
    partner: int
    reply_to: int | None = None  # the copy (in the partner's chat) the partner answers


@dataclasses.dataclass(frozen=True)
class Send:
    sender: int
    to_chat: int
    text: str
    direction: str
    reply_to: int | None = None


@dataclasses.dataclass(frozen=True)
class Copy:
    """A sent message's copy: where it landed, and how long after the send."""

    chat_id: int
    message_id: int
    latency: float
    direction: str
    sent_at: float  # when the driver sent the original (monotonic)


@dataclasses.dataclass
class Bot:
    """A bot under test: its process, its server, its conversations, the copies seen so far."""

    name: str
    pid: int
    api: ControlApi
    conversations: list[Conversation]
    seen: dict[int, int] = dataclasses.field(default_factory=dict)  # chat -> messages read


@dataclasses.dataclass(frozen=True)
class Phase:
    """One turn of one bot at one round trip: its copies, its CPU time, its Bot API calls."""

    bot: str
    round_trip_ms: float
    copies: list[Copy]
    cpu_ms: float
    calls: dict[str, int]


# -- traffic ----------------------------------------------------------------------------------


def exchange(conversations: Sequence[Conversation], count: int, tag: str) -> list[Send]:
    """`count` messages each way per conversation: every resident writes, every partner
    answers, and again."""
    sends: list[Send] = []
    for i in range(count):
        for c in conversations:
            text = f"居民{c.resident}的消息{tag}.{i}"
            sends.append(Send(c.resident, c.partner, text, TO_MEDIATOR))
        for c in conversations:
            text = f"调解员回复{c.resident}{tag}.{i}"
            sends.append(Send(c.partner, c.resident, text, TO_RESIDENT, c.reply_to))
    return sends


async def deliver(bot: Bot, sends: Sequence[Send], rate: float, wait: float) -> list[Copy]:
    """Send at `rate` per second, then wait for every copy; the copies in order of sending."""
    started = time.monotonic()
    sent: dict[tuple[int, int], tuple[float, Send]] = {}
    for k, send in enumerate(sends):
        await asyncio.sleep(max(0.0, started + k / rate - time.monotonic()))
        before = time.monotonic()
        message_id = await bot.api.send_text(send.sender, send.text, send.reply_to)
        sent[send.sender, message_id] = (before, send)
    found = await _copies(bot, sent, wait)
    return [found[key] for key in sent]


async def _copies(
    bot: Bot, sent: Mapping[tuple[int, int], tuple[float, Send]], wait: float
) -> dict[tuple[int, int], Copy]:
    """Look at the receiving chats until every sent message's copy is there."""
    chats = sorted({send.to_chat for _, send in sent.values()})
    found: dict[tuple[int, int], Copy] = {}
    deadline = time.monotonic() + wait
    while len(found) < len(sent):
        if time.monotonic() > deadline:
            missing = [key for key in sent if key not in found]
            raise TimeoutError(f"{bot.name}: no copy of {len(missing)} messages, e.g. {missing[0]}")
        await asyncio.sleep(POLL)
        for chat in chats:
            for message in await bot.api.messages_to(chat, bot.seen.get(chat, 0)):
                bot.seen[chat] = message["index"] + 1
                copied = message["copied_from"]
                source = (int(copied[0]), int(copied[1])) if copied else None
                if source is not None and source in sent:
                    before, send = sent[source]
                    latency = message["recorded_at"] - before
                    copy = Copy(chat, message["message_id"], latency, send.direction, before)
                    found[source] = copy
    return found


async def warm_up(bot: Bot, wait: float) -> None:
    """One message each way per conversation, untimed; partners then answer that copy."""
    firsts = [Send(c.resident, c.partner, "你好", TO_MEDIATOR) for c in bot.conversations]
    copies = await deliver(bot, firsts, rate=50.0, wait=wait)
    bot.conversations = [
        dataclasses.replace(c, reply_to=copy.message_id)
        for c, copy in zip(bot.conversations, copies, strict=True)
    ]
    answers = [
        Send(c.partner, c.resident, "您好", TO_RESIDENT, c.reply_to) for c in bot.conversations
    ]
    await deliver(bot, answers, rate=50.0, wait=wait)


async def measure(bot: Bot, round_trip_ms: float, count: int, tag: str, sizes: Sizes) -> Phase:
    """One turn of one bot: its process's CPU time and its Bot API calls over the turn."""
    calls, cpu = await bot.api.calls(), cpu_ms(bot.pid)
    copies = await deliver(bot, exchange(bot.conversations, count, tag), sizes.rate, sizes.wait)
    await asyncio.sleep(SETTLE)
    used, after = cpu_ms(bot.pid) - cpu, await bot.api.calls()
    added = {m: n - calls.get(m, 0) for m, n in sorted(after.items()) if n > calls.get(m, 0)}
    return Phase(bot.name, round_trip_ms, copies, used, added)


def shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` nearly equal whole shares."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def run_rounds(bots: Sequence[Bot], sizes: Sizes) -> list[Phase]:
    """At each round trip, R turns of each bot, interleaved (and which goes first alternates)."""
    phases: list[Phase] = []
    for round_trip in sizes.round_trips_ms:
        for bot in bots:
            await bot.api.set_latency(round_trip / 1000)
        for r, count in enumerate(shares(sizes.messages, sizes.rounds)):
            for bot in bots if r % 2 == 0 else list(reversed(bots)):
                tag = f"{round_trip:g}ms{r}"
                phases.append(await measure(bot, round_trip, count, tag, sizes))
    return phases


# -- the processes ----------------------------------------------------------------------------


def plan(sizes: Sizes) -> tuple[dict[int, int], dict[int, int]]:
    """Resident -> mediator (resident i gets mediator i mod K), and resident -> bare partner."""
    residents = [RESIDENT_BASE + i for i in range(sizes.residents)]
    mediator_of = {r: MEDIATOR_BASE + i % sizes.mediators for i, r in enumerate(residents)}
    partner_of = {r: PARTNER_BASE + i for i, r in enumerate(residents)}
    return mediator_of, partner_of


async def seed(database: Path, mediator_of: Mapping[int, int]) -> None:
    db = await Database.open(database)
    try:
        await seed_conversations(db, mediator_of, datetime.now(UTC))
    finally:
        await db.close()


def _toml(value: object) -> str:
    """A TOML value: JSON's strings and numbers are TOML's."""
    return json.dumps(value, ensure_ascii=False)


def write_config(folder: Path, urls: ServerUrls, database: Path) -> Path:
    """Da'asao's config: the bench's server, the seeded database, the flood guard at its laxest."""
    names = ", ".join(f"{k} = {_toml(v)}" for k, v in BENCH_AREA["name"].items())
    hours = ", ".join(f"{k} = {_toml(v)}" for k, v in BENCH_AREA["office_hours"].items())
    lines = [
        "[telegram]",
        f"token = {_toml(urls.token)}",
        f"base_url = {_toml(urls.base_url)}",
        f"base_file_url = {_toml(urls.base_file_url)}",
        "[storage]",
        f"path = {_toml(str(database))}",
        "[privacy]",
        f"max_messages_per_minute = {FLOOD_LIMIT}",
        "[[areas]]",
        f"id = {_toml(BENCH_AREA['id'])}",
        f"name = {{ {names} }}",
        f"office_hours = {{ {hours} }}",
    ]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def daasao_argv(config: Path, profile: Path | None) -> list[str]:
    run = ["-m", "bot", "run", "--config", str(config)]
    return ["-m", "cProfile", "-o", str(profile), *run] if profile is not None else run


def copybot_argv(urls: ServerUrls, partner_of: Mapping[int, int]) -> list[str]:
    both_ways = {**partner_of, **{p: r for r, p in partner_of.items()}}
    partners = _toml({str(k): v for k, v in both_ways.items()})
    return ["-m", "bench.copybot", "--token", urls.token, "--base-url", urls.base_url,
            "--partners", partners]  # fmt: skip


async def until_polling(bot: Bot, log: Path) -> None:
    """Wait for the bot's first getUpdates (Da'asao polls once it has started up)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while (await bot.api.calls()).get("getupdates", 0) == 0:
        if time.monotonic() > deadline:
            raise ProcessError(f"{bot.name} did not poll within {READY_TIMEOUT}s:\n{tail(log)}")
        await asyncio.sleep(POLL)


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def workspace(logs: Path | None) -> Iterator[Path]:
    """`--logs DIR` if given (kept), else a temporary folder."""
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
        yield logs
        return
    with tempfile.TemporaryDirectory(prefix="daasao-relay-bench-") as folder:
        yield Path(folder)


@dataclasses.dataclass(frozen=True)
class Run:
    phases: list[Phase]
    peak_rss_mb: dict[str, float]
    cases_per_mediator: list[int]


async def run_bench(sizes: Sizes, folder: Path, profile: Path | None = None) -> Run:
    """A server for each bot, then the bots; warm up, take turns, read peak RSS; stop it all."""
    mediator_of, partner_of = plan(sizes)
    database = folder / "bench.sqlite3"
    database.unlink(missing_ok=True)
    await seed(database, mediator_of)
    with (
        api_server(folder / "localapi-bare.log") as bare_urls,
        api_server(folder / "localapi-daasao.log") as our_urls,
    ):
        async with aiohttp.ClientSession() as http:
            bare_api, our_api = ControlApi(http, bare_urls), ControlApi(http, our_urls)
            for api, users in ((our_api, mediator_of), (bare_api, partner_of)):
                for user in sorted({*users, *users.values()}):
                    await api.add_user(user, f"用户{user}")
            config = write_config(folder, our_urls, database)
            bare_log, our_log = folder / "copybot.log", folder / "bot.log"
            with (
                child(copybot_argv(bare_urls, partner_of), bare_log) as bare_process,
                child(daasao_argv(config, profile), our_log) as our_process,
            ):
                print(f"pids: {BARE} {bare_process.pid}, {DAASAO} {our_process.pid}", flush=True)
                bots = [
                    Bot(BARE, bare_process.pid, bare_api,
                        [Conversation(r, p) for r, p in partner_of.items()]),
                    Bot(DAASAO, our_process.pid, our_api,
                        [Conversation(r, m) for r, m in mediator_of.items()]),
                ]  # fmt: skip
                phases = await _measured(bots, sizes, {BARE: bare_log, DAASAO: our_log})
                rss = {bot.name: peak_rss_mb(bot.pid) for bot in bots}
    load = [list(mediator_of.values()).count(MEDIATOR_BASE + k) for k in range(sizes.mediators)]
    return Run(phases, rss, load)


async def _measured(bots: Sequence[Bot], sizes: Sizes, logs: Mapping[str, Path]) -> list[Phase]:
    """Every bot polling and warmed up, then the turns; a timeout quotes the bots' logs."""
    for bot in bots:
        await until_polling(bot, logs[bot.name])
    try:
        for bot in bots:
            await warm_up(bot, sizes.wait)
        return await run_rounds(bots, sizes)
    except TimeoutError as error:
        quoted = "\n".join(f"{name}'s log:\n{tail(path)}" for name, path in logs.items())
        raise TimeoutError(f"{error}\n{quoted}") from None


# -- figures ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Latency:
    messages: int
    p50_ms: float
    p99_ms: float


def latency_of(copies: Sequence[Copy]) -> Latency:
    latencies = [copy.latency for copy in copies]
    ms = (percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000)
    return Latency(len(latencies), *ms)


def _cpu_per_message(phases: Sequence[Phase]) -> float:
    return sum(p.cpu_ms for p in phases) / sum(len(p.copies) for p in phases)


def _calls_per_message(phases: Sequence[Phase]) -> dict[str, float]:
    messages = sum(len(p.copies) for p in phases)
    methods = sorted({m for p in phases for m in p.calls})
    return {m: sum(p.calls.get(m, 0) for p in phases) / messages for m in methods}


def at_round_trip(phases: Sequence[Phase]) -> dict[str, Any]:
    """One round trip's figures: both bots, Da'asao by direction, what Da'asao adds."""
    of = {name: [p for p in phases if p.bot == name] for name in (BARE, DAASAO)}
    copies = {name: [c for p in group for c in p.copies] for name, group in of.items()}
    figures = {
        name: {
            **dataclasses.asdict(latency_of(copies[name])),
            "cpu_ms_per_message": _cpu_per_message(group),
            "calls_per_message": _calls_per_message(group),
        }
        for name, group in of.items()
    }
    bare, ours = figures[BARE], figures[DAASAO]
    return {
        **figures,
        **{
            d: dataclasses.asdict(latency_of([c for c in copies[DAASAO] if c.direction == d]))
            for d in (TO_MEDIATOR, TO_RESIDENT)
        },
        "added_ms": {q: ours[f"{q}_ms"] - bare[f"{q}_ms"] for q in ("p50", "p99")},
        "ratio": {
            "p50": _ratio(ours["p50_ms"], bare["p50_ms"]),
            "p99": _ratio(ours["p99_ms"], bare["p99_ms"]),
            "cpu": _ratio(ours["cpu_ms_per_message"], bare["cpu_ms_per_message"]),
        },
    }


def _ratio(ours: float, bare: float) -> float:
    """ours / bare; infinite if the bare bot's figure is 0 (CPU time comes in 10 ms steps)."""
    return ours / bare if bare else math.inf


def _goal(value: float | None, goal: float) -> dict[str, Any]:
    return {"value": value, "goal": goal, "met": value is not None and value <= goal}


def summary(sizes: Sizes, run: Run) -> dict[str, Any]:
    """The figures as plain data: per round trip, overall, the goals."""
    by_trip = {
        f"{trip:g}": at_round_trip([p for p in run.phases if p.round_trip_ms == trip])
        for trip in sizes.round_trips_ms
    }
    cpu = {
        name: _cpu_per_message([p for p in run.phases if p.bot == name]) for name in (BARE, DAASAO)
    }
    ratio = {
        "cpu": _ratio(cpu[DAASAO], cpu[BARE]),
        "rss": _ratio(run.peak_rss_mb[DAASAO], run.peak_rss_mb[BARE]),
    }
    at_goal = by_trip.get(f"{GOAL_AT_MS:g}")
    added_p99 = at_goal["added_ms"]["p99"] if at_goal else None
    return {
        "sizes": {**dataclasses.asdict(sizes), "round_trips_ms": list(sizes.round_trips_ms)},
        "round_trips": by_trip,
        "cpu_ms_per_message": cpu,
        "peak_rss_mb": run.peak_rss_mb,
        "ratio": ratio,
        "goals": {
            "cpu_ratio": _goal(ratio["cpu"], GOAL_CPU),
            "added_p99_ms": _goal(added_p99, GOAL_ADDED_P99_MS),
            "rss_ratio": _goal(ratio["rss"], GOAL_RSS),
        },
        "cases_per_mediator": run.cases_per_mediator,
    }


# -- reporting --------------------------------------------------------------------------------


def _row(label: str, figures: Mapping[str, Any]) -> str:
    cpu = figures.get("cpu_ms_per_message")
    cpu_text = f"{cpu:>12.2f}" if cpu is not None else ""
    return (
        f"{label:<22}{figures['messages']:>6}{figures['p50_ms']:>9.1f}{figures['p99_ms']:>9.1f}"
        f"{cpu_text}"
    )


def _trip_lines(trip: str, figures: Mapping[str, Any]) -> list[str]:
    added, ratio = figures["added_ms"], figures["ratio"]
    return [
        f"round trip {trip} ms",
        _row(f"  {BARE}", figures[BARE]),
        _row(f"  {DAASAO}", figures[DAASAO]),
        _row("    to mediator", figures[TO_MEDIATOR]),
        _row("    to resident", figures[TO_RESIDENT]),
        f"  added by {DAASAO}: p50 {added['p50']:+.1f} ms, p99 {added['p99']:+.1f} ms; "
        f"{DAASAO}/{BARE}: p50 x{ratio['p50']:.2f}, p99 x{ratio['p99']:.2f}, "
        f"CPU x{ratio['cpu']:.2f}",
    ]


def _verdict(goal: Mapping[str, Any]) -> str:
    if goal["value"] is None:
        return "not run"
    return "met" if goal["met"] else "MISSED"


def _calls_line(result: Mapping[str, Any]) -> str:
    parts = []
    for trip, figures in result["round_trips"].items():
        for name in (BARE, DAASAO):
            calls = figures[name]["calls_per_message"]
            methods = ", ".join(f"{m} {n:.2f}" for m, n in calls.items())
            parts.append(f"{name} at {trip} ms: {methods}")
    return "Bot API calls per relayed message: " + "; ".join(parts)


def report(result: Mapping[str, Any]) -> str:
    """The printed summary: sizes, a table per round trip, each goal with its figure."""
    sizes, goals, cpu, rss = (
        result[k] for k in ("sizes", "goals", "cpu_ms_per_message", "peak_rss_mb")
    )
    cases = "/".join(str(n) for n in result["cases_per_mediator"])
    added = goals["added_p99_ms"]
    added_text = f"{added['value']:+.1f} ms" if added["value"] is not None else "n/a"
    lines = [
        f"relay: {sizes['residents']} residents, {sizes['mediators']} mediators (cases {cases}), "
        f"{sizes['messages']} messages each way per conversation at each round trip, "
        f"{sizes['rate']:g} msg/s, {sizes['rounds']} interleaved turns each; the local Bot API, "
        "each bot and this harness in processes of their own",
        f"{'':<22}{'msgs':>6}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/msg':>12}",
    ]
    for trip, figures in result["round_trips"].items():
        lines += _trip_lines(trip, figures)
    lines += [
        f"CPU per message: {DAASAO} {cpu[DAASAO]:.2f} ms, {BARE} {cpu[BARE]:.2f} ms: "
        f"x{result['ratio']['cpu']:.2f} (goal <= x{GOAL_CPU:g}: {_verdict(goals['cpu_ratio'])})",
        f"latency added at p99 with {GOAL_AT_MS:g} ms round trips: {added_text} "
        f"(goal <= {GOAL_ADDED_P99_MS:g} ms: {_verdict(added)})",
        f"peak RSS: {DAASAO} {rss[DAASAO]:.1f} MB, {BARE} {rss[BARE]:.1f} MB: "
        f"x{result['ratio']['rss']:.2f} (goal <= x{GOAL_RSS:g}: {_verdict(goals['rss_ratio'])})",
        _calls_line(result),
    ]
    return "\n".join(lines)


# -- the command line -------------------------------------------------------------------------


def _round_trips(text: str) -> tuple[float, ...]:
    try:
        trips = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of milliseconds: {text!r}") from None
    if any(not math.isfinite(t) or t < 0 for t in trips):
        raise argparse.ArgumentTypeError("round trips are milliseconds >= 0")
    return trips


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.relay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--residents", type=int, default=10, help="residents with a case (N)")
    parser.add_argument("--mediators", type=int, default=2, help="mediators (K)")
    parser.add_argument(
        "--messages", type=int, default=20, help="messages each way per conversation (M)"
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="turns each bot takes at each round trip (R)"
    )
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second in all")
    parser.add_argument(
        "--round-trips", type=_round_trips, default=(0.0, 150.0), help="ms, e.g. 0,150"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="max wait for the copies")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--logs", type=Path, help="keep config, database and logs here")
    parser.add_argument("--profile", type=Path, help="run Da'asao under cProfile into this file")
    return parser


def sizes_of(args: argparse.Namespace) -> Sizes:
    """The sizes, or SystemExit saying what is wrong with them."""
    if min(args.residents, args.mediators, args.messages, args.rounds) < 1 or args.rate <= 0:
        raise SystemExit("--residents, --mediators, --messages, --rounds and --rate must be > 0")
    if args.rounds > args.messages:
        raise SystemExit("--rounds must not exceed --messages: each turn sends at least one")
    sizes = Sizes(
        args.residents, args.mediators, args.messages, args.rounds, args.rate,
        args.round_trips, args.timeout,
    )  # fmt: skip
    if sizes.busiest_per_minute() > FLOOD_LIMIT:
        raise SystemExit(
            f"a mediator would send {sizes.busiest_per_minute()} messages a minute, more than "
            f"the bot's flood guard lets through ({FLOOD_LIMIT}): add --mediators or lower --rate"
        )
    return sizes


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench, print the figures with their goals; return them."""
    args = _parser().parse_args(argv)
    sizes = sizes_of(args)
    profile = args.profile.resolve() if args.profile is not None else None
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
    with workspace(args.logs) as folder:
        result = summary(sizes, asyncio.run(run_bench(sizes, folder.resolve(), profile)))
    print(report(result))
    if args.json is not None:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
