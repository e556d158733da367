"""Kill test: `python -m bot run` is SIGKILLed at random points while four conversations run.

The relay promises that a message a resident or a mediator sent reaches the other side and
the case's registration book, whatever moment the bot dies at. Here 4 residents talk to their
4 mediators (one accepted case each, seeded with bench/seeding.py) in two-way bursts, each
text unique and traceable ("r3-17": resident 3's 17th, "m2-05": mediator 2's 5th), some of
them Telegram replies to a copy the sender had received. The bot runs as a subprocess against
the in-process local Bot API; each run is SIGKILLed a random time (fixed seed) after its
first Bot API call, KILLS times, and the next run takes over after a random down time. The
users keep writing while the bot is down: the local API keeps their updates for getUpdates,
as Telegram does. Then the last run is left to finish (until everything is accounted for,
or nothing but polling has happened for QUIET_SECONDS) and stopped with SIGTERM.

A new process spends a second or more importing Python before its first Bot API call (more
on a busy machine), which would make 30 kill cycles take well over a minute. So each run's
process is started while its predecessor still lives, and its first call is held by the
local API (`LocalBotApi.hold`) until the predecessor is dead and the down time has passed;
a cycle then costs its lifetime and its down time. This takes python-telegram-bot's order
of things for granted: a run's first call is getMe (`Application.initialize`), and the bot
opens its database only after it. A busy machine stretches the down times (the report on a
failure shows them), and so the test's wall time.

The test only looks from outside, so it holds for any relay design: the book is read from the
database file (sqlite3, read-only) and what each chat received from the local API. Figures:

* lost: sent, but neither delivered to the other side nor in the book; must be 0;
* unbooked: delivered, but not in the book; must be 0;
* stuck: in the book, but neither delivered nor marked 'undelivered' or 'held'; must be 0;
* duplicates: a text delivered into its chat more than once (each extra copy counts); in
  each chat at most one per kill. The bound is per chat: copies into different chats go
  out concurrently, so one kill can catch one copy in flight in each of them;
* misthreaded: a reply to a copy whose copy on the other side does not reply to the message
  that copy was a copy of (the other side's own message); must be 0;
* misdirected: a text delivered into any chat but its recipient's; must be 0.

How they are read:

* The book entry of a message is its case's `case_messages` row with the (chat_id,
  message_id) of the original message; rows with `edit_of` set are edits and skipped (this
  test edits nothing). The `delivery` column ('pending', 'delivered', 'undelivered', 'held')
  is read if it exists; without it (older schemas) every row counts as 'delivered'. A message
  booked twice counts once, and is shown as double-booked (not asserted).
* A delivery is a message of the bot in the recipient's chat whose text is the sent text.
  Everything else the bot sends is not a delivery and is counted as "other": the case headers
  ("📨 QJS-… · R-0001 · …" to the mediator, "💬 大姐1 · case …" to the resident), and any
  notice. A resident with one open case is never asked "which case is this for?"; should
  the bot ask, the question is "other" and the message not in the book counts as lost.
* The flood guard is set to the highest limit the config accepts (600 a minute), and no
  sender sends that many in the whole test, so none is kept back by it. Should one be
  anyway, the notice is "other", and its row marked 'held' is not stuck.
* Threading: a copy replies to what a reply was replying to on the other side. A kill can
  leave a copy the bot never heard of (it went out, the answer was lost, the bot sent it
  again: a duplicate). The last of a text's copies in a chat is the one the bot knows of;
  a reply to an earlier one, an orphan, cannot be threaded by anyone, and is excused when
  it does not thread (shown, not counted). Senders reply only to copies they have seen for
  REPLY_AGE s: sooner, the bot may not have heard back yet that its copy arrived.

Two variants: on bare loopback, and with Telegram-like latency: the local API answers every
call (getUpdates included) LATENCY s after carrying it out (`LocalBotApi.set_latency`), so a
kill in that window leaves a message delivered that the bot never heard of. The senders
write in bursts (BURST_GAP apart) and pauses, whether the bot is up or not, at 50 messages
a second on loopback (all together, on average), until the kills are over or each sent its
share. The share bounds what a busy machine, whose kill cycles take longer, piles up for
the final run. With latency one chat's copies go out one after the other, at most 1/LATENCY
a second, and each restart spends about six round trips (getMe, the command menus,
deleteWebhook, getUpdates) before it relays anything: 50 a second would leave a backlog no
correct relay could work off in the test's time. The latency variant sends 16 a second
(its bursts as fast), and its runs live longer.

Failures are reported as the figures and a few examples of each, not as a traceback. Every
child is killed in a `finally`, everything listens on 127.0.0.1, every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.seeding import SeededCase, seed_accepted_cases
from bot.localapi.server import LocalBotApi
from bot.localapi.state import BotMessage
from storage.db import Database
from tests.processes import bot_process

pytestmark = pytest.mark.slow

SEED = 20260315
KILLS = 30
PAIRS = 4
RESIDENT_BASE = 7000  # residents 7001..7004
MEDIATOR_BASE = 8000  # mediators 8001..8004
START_TIMEOUT = 20.0  # from spawn to the first Bot API call, and for it to be let in
STOP_TIMEOUT = 10.0
QUIET_SECONDS = 1.5  # the final run is done when nothing but polling happened this long
# The final run's most time to deliver the backlog: a correct relay ends it as soon as all is
# accounted for, one that lost messages after QUIET_SECONDS of idling. The backlog drains at
# the bot-wide pacer's ~30 sends/s, and each mediator message is two sends (the copy and her
# quiet "→ case" line): thousands of sends after 30 kills need more than a minute.
FINAL_TIMEOUT = 180.0
POLL = 0.2  # how often the final run's progress is read
BURST = (3, 8)  # messages in one burst of one sender
BURST_GAP = 0.08  # mean seconds between two messages of a burst (12.5/s for one sender)
REPLY_SHARE = 0.2  # messages sent as a reply to a copy the sender received
RECENT_COPIES = 20  # a reply picks one of the sender's last copies...
REPLY_AGE = 1.0  # ... that the sender has seen for this long at least, as a person would
FLOOD_LIMIT = 600  # privacy.max_messages_per_minute: the highest the config accepts
LATENCY = 0.15  # Telegram's answers take about that long
# The next run's process starts at most this long before its predecessor's kill: time for
# its imports, and its held getMe is let in before python-telegram-bot gives up (5 s).
HEAD_START = 3.0
TEXT = re.compile(r"[rm][1-9]\d*-\d{2,}")
EXAMPLES = 8  # examples of each failure in the report


@dataclass(frozen=True)
class Variant:
    """One way of running the test."""

    name: str
    latency: float  # seconds every Bot API answer is held back
    lifetimes: tuple[float, float]  # how long a run lives after its first Bot API call
    downtimes: tuple[float, float]  # from a kill to the next run's first Bot API call
    rate: float  # messages a second, all 8 senders together, on average
    messages: int  # each sender's most: then they stop, even if the kills go on


VARIANTS = [
    pytest.param(Variant("loopback", 0.0, (0.1, 1.2), (0.1, 0.6), 50.0, 250), id="loopback"),
    pytest.param(
        Variant("telegram-latency", LATENCY, (0.2, 1.6), (0.1, 0.6), 16.0, 100),
        id="telegram-latency",
    ),
]


@dataclass(frozen=True)
class Sent:
    """A message a user sent, and where and how its copy should land."""

    sender: int
    to_chat: int
    case_id: int
    message_id: int
    text: str
    replied_copy: int | None = None  # the copy in the sender's chat this one replies to
    thread_to: int | None = None  # the message in `to_chat` its copy must reply to


@dataclass(frozen=True)
class BookRow:
    case_id: int
    chat_id: int
    message_id: int
    text: str | None
    delivery: str


@dataclass
class Runs:
    """What the kill phase did."""

    lifetimes: list[float] = field(default_factory=list)
    planned: list[float] = field(default_factory=list)  # the lifetimes drawn
    downtimes: list[float] = field(default_factory=list)  # from a kill to the next let-in
    crashed: list[str] = field(default_factory=list)  # runs that ended before their kill
    seconds: float = 0.0  # the kill phase's wall time
    final_seconds: float = 0.0  # the final run's, from its let-in to its exit


@dataclass(frozen=True)
class Figures:
    """Everything the summary line says, and examples for a failure's report."""

    sent: int
    to_mediators: int
    to_residents: int
    replies: int
    lost: list[str]
    unbooked: list[str]
    stuck: list[str]
    duplicates: int
    worst_chat: int  # the most duplicates in one chat
    duplicated: list[str]
    misthreaded: list[str]
    excused: list[str]
    misdirected: list[str]
    book_rows: int
    marks: Counter[str]
    double_booked: int
    foreign_rows: int  # book rows of no message this test sent
    headers: int
    others: list[str]  # the bot's other messages that are not deliveries


# -- setting up -------------------------------------------------------------------------------


def _pairs() -> list[tuple[int, int]]:
    return [(RESIDENT_BASE + k, MEDIATOR_BASE + k) for k in range(1, PAIRS + 1)]


async def _prepare(path: Path) -> list[SeededCase]:
    db = await Database.open(path)
    try:
        return await seed_accepted_cases(db, _pairs(), datetime.now(UTC))
    finally:
        await db.close()


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escaping is TOML's for these)."""
    return json.dumps(text, ensure_ascii=False)


def _write_config(folder: Path, api: LocalBotApi, database: Path) -> Path:
    """A config pointing the bot at the in-process local Bot API; one area, a lax flood guard."""
    lines = [
        "[telegram]",
        f"token = {_toml(api.token)}",
        f"base_url = {_toml(api.base_url)}",
        f"base_file_url = {_toml(api.base_file_url)}",
        "[storage]",
        f"path = {_toml(str(database))}",
        "[privacy]",
        f"max_messages_per_minute = {FLOOD_LIMIT}",
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
def _bot_process(config: Path, run: int) -> Iterator[subprocess.Popen[bytes]]:
    """The run-th bot process, its output in the config's folder's logs/."""
    logs = config.parent / "logs"
    with bot_process(
        config, logs / f"run{run:02d}.out", _stderr_path(logs, run), STOP_TIMEOUT
    ) as p:
        yield p


# -- the users --------------------------------------------------------------------------------


class Conversations:
    """The 8 senders: each writes bursts of unique texts to their partner, some as replies."""

    def __init__(self, api: LocalBotApi, cases: Sequence[SeededCase], variant: Variant) -> None:
        self.api, self.messages = api, variant.messages
        self.sent: list[Sent] = []
        self.by_text: dict[str, Sent] = {}
        self.stop = asyncio.Event()
        self._seen: dict[tuple[int, int], float] = {}  # (chat, message) -> first seen
        self._per_sender = variant.rate / (2 * len(cases))
        self._senders = [
            (f"{side}{k}", sender, partner, case.case_id)
            for k, case in enumerate(cases, start=1)
            for side, sender, partner in (
                ("r", case.resident_id, case.mediator_id),
                ("m", case.mediator_id, case.resident_id),
            )
        ]

    async def run(self) -> None:
        """Every sender at once, until each sent its messages or `stop` is set."""
        await asyncio.gather(
            *(self._talk(random.Random(f"{SEED}-{s[0]}"), *s) for s in self._senders)
        )

    async def _talk(
        self, rng: random.Random, prefix: str, sender: int, partner: int, case_id: int
    ) -> None:
        """Bursts of BURST messages BURST_GAP apart, with pauses that make the mean rate."""
        count = 0
        mean_burst = sum(BURST) / 2
        pause = max(0.0, mean_burst / self._per_sender - mean_burst * BURST_GAP)
        while count < self.messages and not self.stop.is_set():
            for _ in range(min(rng.randint(*BURST), self.messages - count)):
                count += 1
                await self._send(rng, sender, partner, case_id, f"{prefix}-{count:02d}")
                if await self._paused(rng.expovariate(1 / BURST_GAP)):
                    return
            if await self._paused(pause * rng.uniform(0.5, 1.5)):
                return

    async def _send(
        self, rng: random.Random, sender: int, partner: int, case_id: int, text: str
    ) -> None:
        copies = self._copies_seen(sender)
        replied = rng.choice(copies[-RECENT_COPIES:]) if copies else None
        if rng.random() >= REPLY_SHARE:
            replied = None
        reply_to = replied.message_id if replied is not None else None
        message = await self.api.send_text(sender, text, reply_to=reply_to)
        thread_to = self.by_text[replied.content].message_id if replied is not None else None
        sent = Sent(sender, partner, case_id, int(message["message_id"]), text, reply_to, thread_to)
        self.sent.append(sent)
        self.by_text[text] = sent

    async def _paused(self, seconds: float) -> bool:
        """Sleep; True once the senders are to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
        return self.stop.is_set()

    def _copies_seen(self, sender: int) -> list[BotMessage]:
        """The copies of the partner's texts in the sender's chat that the sender has seen
        for REPLY_AGE s (looked at whenever they send): no one replies within milliseconds
        of a message's arrival, before the bot has even heard back that it arrived. Copies
        of a text that came twice are left out while there are others: a reply to an orphan
        is not judged (see the docstring), so these would test less."""
        now, copies = time.monotonic(), []
        for m in self.api.messages_to(sender):
            seen = self._seen.setdefault((sender, m.message_id), now)
            sent = self.by_text.get(m.content)
            if sent is not None and sent.to_chat == sender and now - seen >= REPLY_AGE:
                copies.append(m)
        texts = Counter(m.content for m in copies)
        return [m for m in copies if texts[m.content] == 1] or copies


# -- observing --------------------------------------------------------------------------------


def _book(database: Path) -> list[BookRow]:
    """Every case's book, read-only; without a `delivery` column every row is 'delivered'."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(case_messages)")}
        delivery = "delivery" if "delivery" in columns else "'delivered'"
        originals = "WHERE edit_of IS NULL" if "edit_of" in columns else ""
        rows = connection.execute(
            f"SELECT case_id, chat_id, message_id, text, {delivery} FROM case_messages "
            f"{originals} ORDER BY id"
        ).fetchall()
    finally:
        connection.close()
    return [BookRow(int(c), int(chat), int(m), t, str(d)) for c, chat, m, t, d in rows]


def _received(api: LocalBotApi, chats: Sequence[int]) -> dict[int, list[BotMessage]]:
    """What the bot put into each chat (deleted messages too: they did arrive)."""
    return {chat: api.messages_to(chat) for chat in chats}


@dataclass
class Arrivals:
    """What the bot put into the chats, sorted: deliveries of sent texts and the rest."""

    deliveries: defaultdict[str, list[BotMessage]] = field(
        default_factory=lambda: defaultdict(list)
    )  # text -> its copies in its recipient's chat
    misdirected: list[str] = field(default_factory=list)
    headers: int = 0
    others: list[str] = field(default_factory=list)


def _arrivals(by_text: dict[str, Sent], received: dict[int, list[BotMessage]]) -> Arrivals:
    found = Arrivals()
    for chat, messages in received.items():
        for message in messages:
            origin = by_text.get(message.content)
            if origin is not None and origin.to_chat == chat:
                found.deliveries[origin.text].append(message)
            elif origin is not None or TEXT.fullmatch(message.content):
                found.misdirected.append(f"{message.content} in chat {chat}")
            elif message.content.startswith(("📨", "💬")):
                found.headers += 1
            else:
                found.others.append(f"to {chat}: {message.content[:60]!r}")
    return found


def _threading(
    sent: Sequence[Sent], arrivals: Arrivals, received: dict[int, list[BotMessage]]
) -> tuple[list[str], list[str]]:
    """Replies whose copies thread elsewhere: misthreaded, and excused (see the docstring)."""
    misthreaded: list[str] = []
    excused: list[str] = []
    for s in sent:
        if s.thread_to is None:
            continue
        copies = arrivals.deliveries.get(s.text, [])
        wrong = [m.reply_to_message_id for m in copies if m.reply_to_message_id != s.thread_to]
        if not wrong:
            continue
        what = f"{s.text} -> {wrong}, not #{s.thread_to}"
        replied = next(m for m in received[s.sender] if m.message_id == s.replied_copy)
        twins = [m for m in received[s.sender] if m.content == replied.content]
        if twins[-1] is not replied:  # an orphan: the bot knows the last of them only
            excused.append(what)
        else:
            misthreaded.append(what)
    return misthreaded, excused


def _figures(
    sent: Sequence[Sent], book: Sequence[BookRow], received: dict[int, list[BotMessage]]
) -> Figures:
    """Match what was sent with the book and with what arrived."""
    arrivals = _arrivals({s.text: s for s in sent}, received)
    rows: defaultdict[tuple[int, int, int], list[BookRow]] = defaultdict(list)
    for row in book:
        rows[row.case_id, row.chat_id, row.message_id].append(row)
    known = {(s.case_id, s.sender, s.message_id) for s in sent}
    lost: list[str] = []
    unbooked: list[str] = []
    stuck: list[str] = []
    for s in sent:
        booked = rows.get((s.case_id, s.sender, s.message_id), [])
        delivered = bool(arrivals.deliveries.get(s.text))
        if not delivered and not booked:
            lost.append(s.text)
        elif not booked:
            unbooked.append(s.text)
        elif not delivered and not {r.delivery for r in booked} & {"undelivered", "held"}:
            stuck.append(f"{s.text} ({'/'.join(r.delivery for r in booked)})")
    misthreaded, excused = _threading(sent, arrivals, received)
    copies = arrivals.deliveries.items()
    extra: Counter[int] = Counter()
    for delivered in arrivals.deliveries.values():
        if delivered:
            extra[delivered[0].chat_id] += len(delivered) - 1
    return Figures(
        sent=len(sent),
        to_mediators=sum(1 for s in sent if s.text.startswith("r")),
        to_residents=sum(1 for s in sent if s.text.startswith("m")),
        replies=sum(1 for s in sent if s.thread_to is not None),
        lost=lost,
        unbooked=unbooked,
        stuck=stuck,
        duplicates=sum(len(d) - 1 for _, d in copies if d),
        worst_chat=max(extra.values(), default=0),
        duplicated=[f"{text} x{len(d)}" for text, d in copies if len(d) > 1],
        misthreaded=misthreaded,
        excused=excused,
        misdirected=arrivals.misdirected,
        book_rows=len(book),
        marks=Counter(r.delivery for r in book),
        double_booked=sum(len(r) - 1 for key, r in rows.items() if key in known),
        foreign_rows=sum(len(r) for key, r in rows.items() if key not in known),
        headers=arrivals.headers,
        others=arrivals.others,
    )


def _accounted(conversations: Conversations, api: LocalBotApi, database: Path) -> bool:
    """Whether every message sent arrived or is booked as one that cannot, nothing pending."""
    book = _book(database)
    if any(r.delivery == "pending" for r in book):
        return False
    chats = {s.to_chat for s in conversations.sent} | {s.sender for s in conversations.sent}
    figures = _figures(conversations.sent, book, _received(api, sorted(chats)))
    return not (figures.lost or figures.unbooked or figures.stuck)


# -- running ----------------------------------------------------------------------------------


class Processes:
    """The bot processes of one test, each started early and let in at its turn; leaving
    the stack kills any still alive (tests/processes.py)."""

    def __init__(self, config: Path, stack: contextlib.ExitStack) -> None:
        self.config, self._stack = config, stack

    def start(self, run: int) -> subprocess.Popen[bytes]:
        return self._stack.enter_context(_bot_process(self.config, run))

    def stderr(self, run: int) -> Path:
        return _stderr_path(self.config.parent / "logs", run)


async def _let_in(
    api: LocalBotApi, process: subprocess.Popen[bytes], stderr: Path, not_before: float
) -> float:
    """Once the process waits with its first call (getMe) and not before `not_before`, let it
    in; when that was. Bounded: fails if it dies or never calls."""
    deadline = time.monotonic() + START_TIMEOUT
    while not api.waiting("getMe"):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = stderr.read_text(errors="replace")[-2000:]
            pytest.fail(f"the bot did not start (exit {process.poll()}):\n{tail}", pytrace=False)
        await asyncio.sleep(0.01)
    await asyncio.sleep(max(0.0, not_before - time.monotonic()))
    api.admit("getMe")
    await api.wait_for(lambda: not api.waiting("getMe"), timeout=START_TIMEOUT, what="getMe")
    return time.monotonic()


async def _kill_repeatedly(
    api: LocalBotApi, processes: Processes, variant: Variant
) -> tuple[Runs, subprocess.Popen[bytes]]:
    """KILLS runs, each SIGKILLed a random time after its first Bot API call; the next run's
    process, started while this one lives, waiting to be let in.

    Each process starts HEAD_START s before its predecessor's kill (or as it is let in): its
    imports (a second or more of Python, no Bot API call, no database) overlap the
    predecessor's life; its getMe waits (`LocalBotApi.hold`) until the predecessor is dead
    and a random down time has passed. So a cycle costs its lifetime and its down time, not
    the imports too.
    """
    rng, runs = random.Random(SEED), Runs()
    waiting, killed = processes.start(0), time.monotonic()
    began = killed
    for run in range(KILLS):
        lifetime, down = rng.uniform(*variant.lifetimes), rng.uniform(*variant.downtimes)
        process = waiting
        started = await _let_in(api, process, processes.stderr(run), killed + down)
        runs.downtimes.append(started - killed)
        await asyncio.sleep(max(0.0, lifetime - HEAD_START))
        waiting = processes.start(run + 1)
        await asyncio.sleep(max(0.0, started + lifetime - time.monotonic()))
        if process.poll() is not None:
            runs.crashed.append(f"run {run} exited with {process.returncode}")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)
        killed = time.monotonic()
        runs.lifetimes.append(killed - started)
        runs.planned.append(lifetime)
    runs.seconds = time.monotonic() - began
    return runs, waiting


async def _final_run(
    api: LocalBotApi,
    process: subprocess.Popen[bytes],
    stderr: Path,
    conversations: Conversations,
    database: Path,
) -> int | None:
    """Let the last run in; run until all is accounted for or quiet, then SIGTERM; the exit
    code (None: it did not stop)."""
    await _let_in(api, process, stderr, time.monotonic())
    api.release("getMe")
    deadline = time.monotonic() + FINAL_TIMEOUT
    if not await _running(process, stderr, deadline):
        return process.poll()
    busy, quiet_since = _busy(api), time.monotonic()
    while time.monotonic() < deadline and process.poll() is None:
        await asyncio.sleep(POLL)
        if _accounted(conversations, api, database) and not api.pending_updates:
            break
        now_busy = _busy(api)
        if now_busy != busy or api.pending_updates:
            busy, quiet_since = now_busy, time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_SECONDS:
            break
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    return await _exit_code(process)


def _busy(api: LocalBotApi) -> dict[str, int]:
    """Bot API calls so far, polling left out."""
    calls = api.all_calls()
    calls.pop("getupdates", None)
    return calls


async def _running(process: subprocess.Popen[bytes], stderr: Path, deadline: float) -> bool:
    """Wait (bounded) until the bot logged that it runs, so SIGTERM is handled, not fatal."""
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


# -- reporting --------------------------------------------------------------------------------


def _summary(variant: Variant, runs: Runs, f: Figures, code: int | None, seconds: float) -> str:
    """The one line a closing note quotes."""
    marks = ", ".join(f"{mark} {n}" for mark, n in sorted(f.marks.items())) or "none"
    return (
        f"relay kill [{variant.name}, latency {variant.latency * 1000:.0f} ms]: "
        f"{len(runs.lifetimes)} kills; {f.sent} sent ({f.to_mediators} to mediators, "
        f"{f.to_residents} to residents, {f.replies} replies); lost {len(f.lost)}, "
        f"delivered-unbooked {len(f.unbooked)}, booked-undelivered {len(f.stuck)}, "
        f"duplicates {f.duplicates} (worst chat {f.worst_chat}, allowed "
        f"{len(runs.lifetimes)} a chat), misthreaded {len(f.misthreaded)} "
        f"(+{len(f.excused)} excused), misdirected {len(f.misdirected)}; "
        f"book {f.book_rows} rows ({marks}), double-booked {f.double_booked}, foreign "
        f"{f.foreign_rows}; other bot messages {f.headers} headers + {len(f.others)}; "
        f"final run exit {code}; {seconds:.1f}s (kills {runs.seconds:.1f}s, final "
        f"{runs.final_seconds:.1f}s)"
    )


def _examples(label: str, items: Sequence[str]) -> str:
    shown = ", ".join(items[:EXAMPLES]) + (" …" if len(items) > EXAMPLES else "")
    return f"{label} ({len(items)}): {shown}"


def _failures(runs: Runs, f: Figures, code: int | None) -> list[str]:
    """One line per broken promise, with examples."""
    failures = [
        _examples(label, items)
        for label, items in (
            ("lost", f.lost),
            ("delivered but not booked", f.unbooked),
            ("booked, neither delivered nor marked undelivered/held", f.stuck),
            ("misthreaded", f.misthreaded),
            ("delivered into the wrong chat", f.misdirected),
            ("runs that ended before their kill", runs.crashed),
        )
        if items
    ]
    if f.worst_chat > len(runs.lifetimes):
        failures.append(
            _examples(
                f"{f.worst_chat} duplicates in one chat for {len(runs.lifetimes)} kills",
                f.duplicated,
            )
        )
    if code != 0:
        failures.append(f"the final run exited with {code} (SIGTERM should end it with 0)")
    return failures


def _lifetimes(runs: Runs) -> str:
    if not runs.lifetimes:
        return "no kills"
    lived, down = runs.lifetimes, runs.downtimes
    late = [a - b for a, b in zip(lived, runs.planned, strict=True)]
    return (
        f"runs lived {min(lived):.2f}-{max(lived):.2f}s after their first Bot API call "
        f"(median {statistics.median(lived):.2f}s, {statistics.median(late):.2f}s over the "
        f"plan); down {min(down):.2f}-{max(down):.2f}s (median {statistics.median(down):.2f}s)"
    )


def _tail(logs: Path, run: int) -> str:
    text = _stderr_path(logs, run).read_text(errors="replace") if logs.exists() else ""
    return f"--- final run's stderr, last lines:\n{text[-1500:]}"


# -- the test ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
async def test_sigkill_loses_no_relayed_message(tmp_path: Path, variant: Variant) -> None:
    started = time.monotonic()
    logs = tmp_path / "logs"
    logs.mkdir()
    database = tmp_path / "data" / "bot.sqlite3"
    async with LocalBotApi() as api:
        for resident, mediator in _pairs():
            api.add_user(resident, f"居民{resident}", language_code="zh-hans", started=True)
            api.add_user(mediator, f"Mediator {mediator}", language_code="en", started=True)
        api.set_latency(variant.latency)
        cases = await _prepare(database)
        config = _write_config(tmp_path, api, database)
        conversations = Conversations(api, cases, variant)
        api.hold("getMe")  # each run begins when the test lets its first call in
        with contextlib.ExitStack() as stack:
            processes = Processes(config, stack)
            talking = asyncio.create_task(conversations.run())
            try:
                runs, last = await _kill_repeatedly(api, processes, variant)
            finally:
                conversations.stop.set()
                await asyncio.wait_for(talking, STOP_TIMEOUT)
            stderr, final = processes.stderr(KILLS), time.monotonic()
            code = await _final_run(api, last, stderr, conversations, database)
            runs.final_seconds = time.monotonic() - final
        chats = [chat for pair in _pairs() for chat in pair]
        figures = _figures(conversations.sent, _book(database), _received(api, chats))
    seconds = time.monotonic() - started

    summary = _summary(variant, runs, figures, code, seconds)
    print(summary)  # shown with -s / -rA: the figures of a passing run
    print(_lifetimes(runs))
    failures = _failures(runs, figures, code)
    if failures:
        notes = [_lifetimes(runs)]
        if figures.others:
            notes.append(_examples("other bot messages", figures.others))
        if figures.excused:
            notes.append(_examples("excused (replies to an orphan copy)", figures.excused))
        crashes = [
            path.name
            for path in sorted(logs.glob("run*.err"))
            if "Traceback" in path.read_text(errors="replace")
        ]
        if crashes:
            notes.append(_examples("runs that logged a traceback", crashes))
        if code != 0:
            notes.append(_tail(logs, KILLS))
        pytest.fail("\n".join([summary, *failures, *notes]), pytrace=False)
