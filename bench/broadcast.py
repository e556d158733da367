"""Broadcast: N subscribers, the real composer, and the bot and "Telegram" in processes apart.

Three processes, as in production:

* the local Bot API (``python -m localapi``) stands in for Telegram: every answer comes
  after a round trip (150 ms), and it is limited like Telegram: 30 messages/s overall
  (short bursts of up to 5 allowed, so a few milliseconds of jitter are no overrun), 1 per
  second per chat, 429 with retry_after beyond;
* the bot (``python -m bot run``) on a database seeded with N subscribed residents;
* this driver, which plays the staff member through the HTTP control API (/announce, the
  text, everyone, now, no RSVP, confirm) and then watches; and, beside the broadcast, two
  residents and their mediators in accepted cases, who keep writing to each other, and
  residents in danger who raise the alarm (bench/alarms.py).

Figures: the achieved rate (first to last copy, on the server's clock) against the
configured one (goal >= 97%), the total time from the confirm press to the delivery report
reaching staff, the 429 answers to residents during the delivery and their share of the
sends (goal <= 1%; the composer's own answers to staff may meet the per-chat limit too,
counted apart), duplicates and misses (both must be 0), and the bot process's peak RSS (VmHWM).

Conversations go first: the relayed messages of the two conversations, `--relay-rate` a
second in all (the turns alternate, so neither chat meets its own limit of one a second:
a person answers in seconds, not in a second), while the broadcast runs, against
`--relay-baseline` rounds sent before it (the baseline, same process):
p99 latency added (goal <= 1 s), while the broadcast keeps >= 95% of its configured rate
(the conversations' copies take their slots from the same budget). Urgent alerts go first
of all: `--alarms` residents raise one each, spread over the broadcast's expected length,
against as many one by one before it; the slowest alarm's cards may come at most 1 s later
than before. With `--relay-rate 0` the broadcast runs alone (no conversations, no alarms),
and its goal is >= 97%.

    python -m bench.broadcast --subscribers 10000 --rate 29
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import httpx

from bench import alarms
from bench.alarms import Alarms
from bench.common import button_data, message_text, vm_hwm_mb, write_json
from bench.processes import ControlApi, ServerUrls
from bench.relay import Bot, Conversation, Copy, Latency, deliver, exchange, latency_of, warm_up
from bench.seeding import seed_conversations
from storage.announcements import Subscription, SubscriptionRepository
from storage.db import Database
from storage.users import UserRepository

STAFF = 900
FIRST_RESIDENT = 100_000
TEXT = "BENCH-BROADCAST 妇女健康讲座，周六上午九点，社区礼堂"
TELEGRAM_RATE = 30.0
TELEGRAM_BURST = 5  # sends that may come at once: Telegram allows "short bursts"
PER_CHAT_RATE = 1.0
ROUND_TRIP = 0.15
SEED_CHUNK = 500  # residents per transaction
START_TIMEOUT = 30.0  # for a process to come up
STEP_TIMEOUT = 30.0  # for one answer of the composer
POLL = 0.2  # seconds between looks at the staff chat
REPO = Path(__file__).resolve().parent.parent
RELAY_MEDIATOR_OF = {1001: 2001, 1002: 2002}  # the conversations beside the broadcast
RELAY_WAIT = 30.0  # seconds for a relayed message's copy to arrive
RELAY_BATCH = 5  # rounds sent before their copies are looked for
# After the warm-up, its last "→ case" lines in the mediators' chats go out before the
# baseline begins: a copy a second after one meets that chat's limit of one a second.
RELAY_SETTLE = 2.0
GOAL_ALONE, GOAL_BESIDE = 0.97, 0.95  # of the configured rate
GOAL_RELAY_ADDED_P99_MS = 1000.0
GOAL_ALARM_ADDED_MS = 1000.0  # to the slowest alarm's cards
ALARMED_BEFORE, ALARMED_DURING = 1101, 1201  # the first resident in danger of each phase
ALARM_GAP = 3.0  # seconds between the alarms before the broadcast: no chat meets its limit


# -- the processes ----------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    """This environment without DAASAO_TOKEN (the config file decides), unbuffered."""
    env = {k: v for k, v in os.environ.items() if k != "DAASAO_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def _process(
    command: list[str], stdout: int | IO[bytes], stderr: IO[bytes]
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, asked to stop with SIGTERM at the end (killed if it will not)."""
    with subprocess.Popen(
        command, cwd=REPO, env=_child_env(), stdout=stdout, stderr=stderr
    ) as process:
        try:
            yield process
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@asynccontextmanager
async def telegram_server(folder: Path, args: argparse.Namespace) -> AsyncIterator[dict[str, str]]:
    """`python -m localapi`, limited like Telegram; yields where it listens."""
    command = [
        *(sys.executable, "-m", "localapi", "--latency", str(args.round_trip)),
        *("--per-second", str(TELEGRAM_RATE), "--burst", str(args.burst)),
        *("--per-chat-per-second", str(PER_CHAT_RATE)),
    ]
    with (
        (folder / "server.err").open("wb") as stderr,
        _process(command, subprocess.PIPE, stderr) as server,
    ):
        assert server.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(server.stdout.readline), START_TIMEOUT)
        if not line:
            raise RuntimeError(f"the local Bot API did not start:\n{_tail(folder / 'server.err')}")
        yield json.loads(line)


@contextmanager
def bot_process(folder: Path, config: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m bot run`, its output in `folder`."""
    command = [sys.executable, "-m", "bot", "run", "--config", str(config)]
    with (
        (folder / "bot.out").open("wb") as stdout,
        (folder / "bot.err").open("wb") as stderr,
        _process(command, stdout, stderr) as process,
    ):
        yield process


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


# -- setting up -------------------------------------------------------------------------------


def _toml(value: str) -> str:
    """A TOML basic string (JSON's escaping is TOML's for these)."""
    return json.dumps(value, ensure_ascii=False)


def write_config(folder: Path, where: dict[str, str], database: Path, rate: float) -> Path:
    """The bot's config: the local server, two areas, staff admin, the broadcast rate."""
    lines = [
        "[telegram]",
        *(f"{key} = {_toml(where[key])}" for key in ("token", "base_url", "base_file_url")),
        "[storage]",
        f"path = {_toml(str(database))}",
        "[staff]",
        f"admins = [{STAFF}]",
        "[announcements]",
        f"rate_per_second = {rate}",
        "[urgent]",
        "take_within_minutes = 120  # no louder round to everyone while it runs",
        "[[areas]]",
        'id = "dongsheng"',
        'name = { zh_CN = "东升社区", en = "Dongsheng Community" }',
        'office_hours = { zh_CN = "周二 9:00–11:30", en = "Tue 9:00–11:30" }',
        *alarms.area_config(),
    ]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def in_danger(count: int) -> tuple[list[int], list[int]]:
    """The residents who raise an alarm before the broadcast, and during it."""
    return list(range(ALARMED_BEFORE, ALARMED_BEFORE + count)), list(
        range(ALARMED_DURING, ALARMED_DURING + count)
    )


def beside_chats(alarm_count: int) -> list[int]:
    """The chats of the conversations and the alarms: none of them a subscriber's."""
    before, during = in_danger(alarm_count)
    talking = [*RELAY_MEDIATOR_OF, *RELAY_MEDIATOR_OF.values()]
    return [*talking, *before, *during, *alarms.ALARM_MEDIATORS]


async def seed_database(database: Path, count: int, alarm_count: int) -> None:
    """Subscribed residents, as if each had pressed /subscribe earlier; beside them, the
    conversations and the alarms' area (not subscribed)."""
    db = await Database.open(database)
    try:
        users, subs = UserRepository(db), SubscriptionRepository(db)
        now = datetime.now(UTC)
        residents = range(FIRST_RESIDENT, FIRST_RESIDENT + count)
        for start in range(0, count, SEED_CHUNK):
            async with db.transaction():
                for user_id in residents[start : start + SEED_CHUNK]:
                    await users.upsert_seen(user_id, "zh-hans", now)
                    await subs.save(Subscription(user_id, True, frozenset(), frozenset()), now)
        await seed_conversations(db, RELAY_MEDIATOR_OF, now)
        before, during = in_danger(alarm_count)
        await alarms.seed_alarm_area(db, [*before, *during], now)
    finally:
        await db.close()


# -- the control API --------------------------------------------------------------------------


@dataclass
class Control:
    """The local server's HTTP control API."""

    http: httpx.AsyncClient

    async def call(self, method: str, path: str, **request: Any) -> Any:
        answer = (await self.http.request(method, path, **request)).json()
        if not answer.get("ok"):
            raise RuntimeError(f"{method} {path}: {answer.get('description')}")
        return answer["result"]

    async def add_users(self, count: int, alarm_count: int) -> None:
        residents = [
            {"id": u, "first_name": "居民", "language_code": "zh-hans", "started": True}
            for u in range(FIRST_RESIDENT, FIRST_RESIDENT + count)
        ]
        talking = [(u, "居民") for u in RELAY_MEDIATOR_OF] + [
            (u, "大姐") for u in RELAY_MEDIATOR_OF.values()
        ]
        before, during = in_danger(alarm_count)
        people = [(STAFF, "Staff"), *talking, *alarms.people([*before, *during])]
        others = [
            {"id": u, "first_name": name, "language_code": "zh-hans", "started": True}
            for u, name in people
        ]
        await self.call("POST", "/users/bulk", json={"users": [*others, *residents]})

    async def staff_messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = await self.call("GET", f"/chats/{STAFF}/messages")
        return messages

    async def calls(self, method: str) -> int:
        return int((await self.call("GET", "/calls")).get(method, 0))

    async def refusals_in(self, chats: Sequence[int]) -> int:
        return sum([await self.refusals(chat) for chat in chats])

    async def refusals(self, chat_id: int | None = None) -> int:
        """429 answers so far (to calls for one chat)."""
        params = {} if chat_id is None else {"chat_id": chat_id}
        return int((await self.call("GET", "/errors", params=params))["counts"].get("429", 0))


async def wait_for_staff(
    control: Control, expect: str, after: int, timeout: float
) -> dict[str, Any]:
    """The first new message to staff (index >= after) containing `expect`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in (await control.staff_messages())[after:]:
            if expect in message_text(message):
                return message
        await asyncio.sleep(POLL)
    raise TimeoutError(f"no {expect!r} for staff within {timeout}s")


async def press(control: Control, label: str) -> None:
    """Staff presses the latest inline button with this label."""
    for message in reversed(await control.staff_messages()):
        if (data := button_data(message, label)) is not None:
            body = {"message_id": message["message_id"], "callback_data": data}
            await control.call("POST", f"/users/{STAFF}/press", json=body)
            return
    raise RuntimeError(f"no button {label!r}")


async def compose(control: Control) -> None:
    """The real /announce dialogue, to everyone, now, without RSVP; not yet confirmed."""

    async def step(expect: str, *, text: str | None = None, button: str | None = None) -> None:
        seen = len(await control.staff_messages())
        if text is not None:
            await control.call("POST", f"/users/{STAFF}/send", json={"text": text})
        if button is not None:
            await press(control, button)
        await wait_for_staff(control, expect, seen, STEP_TIMEOUT)

    await step("请发送通知的文字", text="/announce")
    await step("发给谁", text=TEXT)
    await step("什么时候发送", button="下一步 ›")
    await step("要加上", button="现在发送")
    await step("请看一下上面的通知", button="不用")


async def wait_started(control: Control, process: subprocess.Popen[bytes], folder: Path) -> None:
    """Until the bot polls for updates (its start-up is done)."""
    deadline = time.monotonic() + START_TIMEOUT
    while await control.calls("getupdates") == 0:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the bot did not start:\n{_tail(folder / 'bot.err')}")
        await asyncio.sleep(POLL)


# -- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    pressed_at: float  # monotonic, this machine's (the server's clock is the same one)
    report_at: float
    refused: int  # 429 answers to sends for subscribers during the delivery
    to_staff: int  # and to staff (the composer's answers: the 1/s per chat limit)
    beside: int  # and in the conversations' and alarms' chats (each chat's own limit)
    sends: int  # sendMessage calls during the delivery
    peak_rss_mb: float


async def broadcast(
    control: Control, bot: subprocess.Popen[bytes], timeout: float, alarm_count: int
) -> Delivery:
    """Confirm, wait for the delivery report, and count what happened in between."""
    others = beside_chats(alarm_count)
    refused, to_staff = await control.refusals(), await control.refusals(STAFF)
    beside = await control.refusals_in(others)
    sends = await control.calls("sendmessage")
    seen = len(await control.staff_messages())
    pressed_at = time.monotonic()
    await press(control, "✓ 确认发送")
    report = await wait_for_staff(control, "已送达", seen, timeout)
    to_staff = await control.refusals(STAFF) - to_staff
    beside = await control.refusals_in(others) - beside
    return Delivery(
        pressed_at=pressed_at,
        report_at=float(report["recorded_at"]),
        refused=await control.refusals() - refused - to_staff - beside,
        to_staff=to_staff,
        beside=beside,
        sends=await control.calls("sendmessage") - sends,
        peak_rss_mb=vm_hwm_mb(bot.pid),
    )


@dataclass(frozen=True)
class Copies:
    times: list[float]  # when each resident got the announcement (the first copy), sorted
    duplicates: int
    misses: int


async def copies(control: Control, count: int) -> Copies:
    """What the server recorded of the announcement, resident by resident."""
    found = await control.call("GET", "/messages", params={"contains": TEXT})
    firsts: dict[int, float] = {}
    per_chat: Counter[int] = Counter()
    for message in found:
        chat, at = int(message["chat_id"]), float(message["recorded_at"])
        if FIRST_RESIDENT <= chat < FIRST_RESIDENT + count:
            per_chat[chat] += 1
            firsts[chat] = min(at, firsts.get(chat, at))
    duplicates = sum(n - 1 for n in per_chat.values())
    return Copies(sorted(firsts.values()), duplicates, count - len(per_chat))


# -- the conversation beside it --------------------------------------------------------------


@dataclass(frozen=True)
class Relayed:
    without: Latency  # before the broadcast
    during: Latency


@dataclass(frozen=True)
class Alarmed:
    without: Alarms  # before the broadcast
    during: Alarms


async def relay_rounds(talk: Bot, rate: float, rounds: int, tag: str) -> list[Copy]:
    """`rounds` rounds (a message each way in each conversation), `rate` a second in all on
    one schedule, whatever the copies' delays; every copy arrives."""
    return await deliver(talk, exchange(talk.conversations, rounds, tag), rate, RELAY_WAIT)


async def relay_until(talk: Bot, rate: float, done: asyncio.Event) -> list[Copy]:
    """Batches of `relay_rounds` until `done` (one at least), each on the time its turn
    would have had in one long schedule: the pace does not depend on how the bot is doing."""
    found: list[Copy] = []
    batch = 0
    seconds = RELAY_BATCH * 2 * len(talk.conversations) / rate
    while batch == 0 or not done.is_set():
        started = time.monotonic()
        found += await relay_rounds(talk, rate, RELAY_BATCH, f"during{batch}.")
        batch += 1
        await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
    return found


async def broadcast_beside(
    control: Control, bot: subprocess.Popen[bytes], talk: Bot, args: argparse.Namespace
) -> tuple[Delivery, Relayed, Alarmed | None]:
    """The baselines (conversation rounds, alarms one by one), then the broadcast with the
    conversations going on beside it and the alarms spread over its expected length."""
    await warm_up(talk, RELAY_WAIT)
    await asyncio.sleep(RELAY_SETTLE)
    without = await relay_rounds(talk, args.relay_rate, args.relay_baseline, "before")
    before, during = in_danger(args.alarms)
    gaps = [ALARM_GAP * k for k in range(len(before))]
    alarms_before = await alarms.alarms_at(talk.api, before, gaps)
    await compose(control)
    done = asyncio.Event()
    beside = asyncio.create_task(relay_until(talk, args.relay_rate, done))
    expected = args.subscribers / args.rate
    spread = [expected * (k + 1) / (len(during) + 1) for k in range(len(during))]
    alarming = asyncio.create_task(alarms.alarms_at(talk.api, during, spread))
    try:
        delivery = await broadcast(control, bot, args.timeout, args.alarms)
    finally:
        done.set()
    # Not the tail of the last batch, sent after the report.
    during_it = [c for c in await beside if c.sent_at <= delivery.report_at]
    relayed = Relayed(latency_of(without), latency_of(during_it))
    alarms_during = await alarming
    if not alarms_during:
        return delivery, relayed, None
    alarmed = Alarmed(alarms.summary(alarms_before), alarms.summary(alarms_during))
    return delivery, relayed, alarmed


async def deliver_once(
    folder: Path, where: dict[str, str], args: argparse.Namespace
) -> tuple[Delivery, Copies, Relayed | None, Alarmed | None]:
    """Seed both sides, start the bot, compose, confirm, wait for the report; what arrived."""
    async with (
        httpx.AsyncClient(base_url=where["control_url"], timeout=60) as http,
        aiohttp.ClientSession() as session,
    ):
        control = Control(http)
        await control.add_users(args.subscribers, args.alarms)
        database = folder / "bench.sqlite3"
        await seed_database(database, args.subscribers, args.alarms)
        config = write_config(folder, where, database, args.rate)
        relayed = alarmed = None
        with bot_process(folder, config) as bot:
            await wait_started(control, bot, folder)
            if args.relay_rate > 0:
                urls = ServerUrls(
                    token=where["token"],
                    base_url=where["base_url"],
                    base_file_url=where["base_file_url"],
                    control_url=where["control_url"],
                )
                talk = Bot(
                    "daasao",
                    bot.pid,
                    ControlApi(session, urls),
                    [Conversation(r, m) for r, m in RELAY_MEDIATOR_OF.items()],
                )
                delivery, relayed, alarmed = await broadcast_beside(control, bot, talk, args)
            else:
                await compose(control)
                delivery = await broadcast(control, bot, args.timeout, args.alarms)
        return delivery, await copies(control, args.subscribers), relayed, alarmed


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="daasao-bench-") as name:
        folder = Path(name)
        async with telegram_server(folder, args) as where:
            delivery, arrived, relayed, alarmed = await deliver_once(folder, where, args)
    return figures(args, delivery, arrived, relayed, alarmed)


def figures(
    args: argparse.Namespace,
    delivery: Delivery,
    arrived: Copies,
    relayed: Relayed | None,
    alarmed: Alarmed | None,
) -> dict[str, Any]:
    times = arrived.times
    window = times[-1] - times[0] if len(times) > 1 else 0.0
    achieved = (len(times) - 1) / window if window > 0 else 0.0
    return {
        "subscribers": args.subscribers,
        "configured_rate": args.rate,
        "round_trip_ms": round(args.round_trip * 1000),
        "burst": args.burst,
        "achieved_rate": round(achieved, 2),
        "of_configured": round(achieved / args.rate, 3),
        "total_seconds": round(delivery.report_at - delivery.pressed_at, 2),
        "first_copy_seconds": round(times[0] - delivery.pressed_at, 2) if times else None,
        "server_429s": delivery.refused,
        "staff_429s": delivery.to_staff,
        "beside_429s": delivery.beside,
        "share_429": round(delivery.refused / delivery.sends, 4) if delivery.sends else 0.0,
        "sends": delivery.sends,
        "duplicates": arrived.duplicates,
        "misses": arrived.misses,
        "bot_peak_rss_mb": round(delivery.peak_rss_mb, 1),
        "rate_goal": GOAL_ALONE if relayed is None else GOAL_BESIDE,
        "relay": None if relayed is None else _relay_figures(args.relay_rate, relayed),
        "alarms": None if alarmed is None else _alarm_figures(alarmed),
    }


def _alarm_figures(alarmed: Alarmed) -> dict[str, Any]:
    return {
        "without": dataclasses.asdict(alarmed.without),
        "during": dataclasses.asdict(alarmed.during),
        "cards_added_ms": round(alarmed.during.cards_max_ms - alarmed.without.cards_max_ms, 1),
    }


def _relay_figures(rate: float, relayed: Relayed) -> dict[str, Any]:
    return {
        "rate": rate,
        "without": dataclasses.asdict(relayed.without),
        "during": dataclasses.asdict(relayed.during),
        "p99_added_ms": round(relayed.during.p99_ms - relayed.without.p99_ms, 1),
    }


def report(result: dict[str, Any]) -> str:
    beside = "alone"
    if result["relay"]:
        beside = "beside conversations" + (" and alarms" if result["alarms"] else "")
    return "\n".join(
        [
            f"broadcast to {result['subscribers']} subscribers (local Bot API in its own "
            f"process: {result['round_trip_ms']} ms round trips, {TELEGRAM_RATE:.0f}/s "
            f"overall with bursts of {result['burst']}, {PER_CHAT_RATE:.0f}/s per chat)",
            f"  configured rate   {result['configured_rate']:.1f} msg/s",
            f"  achieved rate     {result['achieved_rate']:.2f} msg/s "
            f"({result['of_configured']:.1%} of configured; {beside}, goal >= "
            f"{result['rate_goal']:.0%})",
            f"  total time        {result['total_seconds']:.1f} s (confirm -> report; "
            f"first copy after {result['first_copy_seconds']} s)",
            f"  429s from server  {result['server_429s']} of {result['sends']} sends "
            f"({result['share_429']:.2%}; goal <= 1%); {result['staff_429s']} to staff, "
            f"{result['beside_429s']} in the chats beside it",
            f"  duplicates        {result['duplicates']}",
            f"  misses            {result['misses']}",
            f"  bot peak RSS      {result['bot_peak_rss_mb']:.1f} MB (VmHWM)",
            *_relay_lines(result["relay"]),
            *_alarm_lines(result["alarms"]),
        ]
    )


def _alarm_lines(found: dict[str, Any] | None) -> list[str]:
    if found is None:
        return []
    without, during, added = found["without"], found["during"], found["cards_added_ms"]
    verdict = "met" if added <= GOAL_ALARM_ADDED_MS else "MISSED"
    mediators = len(alarms.ALARM_MEDIATORS)
    return [
        f"  someone in danger, {during['count']} alarms during it: the numbers p50 "
        f"{during['numbers_p50_ms']:.0f} ms, max {during['numbers_max_ms']:.0f} ms; "
        f"cards to her area's {mediators} mediators p50 {during['cards_p50_ms']:.0f} ms, "
        f"max {during['cards_max_ms']:.0f} ms after the press",
        f"    {without['count']} before it: the numbers p50 {without['numbers_p50_ms']:.0f} ms, "
        f"max {without['numbers_max_ms']:.0f} ms; cards p50 {without['cards_p50_ms']:.0f} ms, "
        f"max {without['cards_max_ms']:.0f} ms",
        f"  alarm cards added {added:+.0f} ms at most (goal <= {GOAL_ALARM_ADDED_MS:.0f} ms: "
        f"{verdict})",
    ]


def _relay_lines(relay: dict[str, Any] | None) -> list[str]:
    if relay is None:
        return []
    without, during, added = relay["without"], relay["during"], relay["p99_added_ms"]
    verdict = "met" if added <= GOAL_RELAY_ADDED_P99_MS else "MISSED"
    return [
        f"  relay, {len(RELAY_MEDIATOR_OF)} conversations at {relay['rate']:g} msg/s: "
        f"without the broadcast "
        f"p50 {without['p50_ms']:.0f} ms, p99 {without['p99_ms']:.0f} ms "
        f"({without['messages']} messages); during it p50 {during['p50_ms']:.0f} ms, "
        f"p99 {during['p99_ms']:.0f} ms ({during['messages']} messages)",
        f"  relay p99 added   {added:+.0f} ms "
        f"(goal <= {GOAL_RELAY_ADDED_P99_MS:.0f} ms: {verdict})",
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=29.0, help="announcements.rate_per_second")
    parser.add_argument("--round-trip", type=float, default=ROUND_TRIP, help="seconds")
    parser.add_argument("--burst", type=int, default=TELEGRAM_BURST, help="server's allowance")
    parser.add_argument("--timeout", type=float, default=900.0, help="for the whole delivery")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--relay-rate",
        type=float,
        default=1.0,
        help="messages a second of the conversations beside it, in all (0: none)",
    )
    parser.add_argument(
        "--alarms",
        type=int,
        default=3,
        help="residents in danger during the broadcast, and as many before it (0: none; "
        "only beside conversations)",
    )
    parser.add_argument(
        "--relay-baseline",
        type=int,
        default=30,
        help="rounds (a message each way in each conversation) before the broadcast",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _parser().parse_args(argv)
    if args.subscribers < 2:
        raise SystemExit("--subscribers must be at least 2")
    result = asyncio.run(run_bench(args))
    print(report(result), flush=True)
    if args.json is not None:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
