"""Relay throughput: residents and mediators talking through Da'asao vs a bare copy bot.

One in-process local Bot API server (``bot.localapi``) stands in for Telegram; two bots use
it over loopback HTTP, in the same process and run, taking turns (only one polls at a time):

* ``baseline``: a bare PTB ``Application`` whose one ``MessageHandler`` copies every text to
  a fixed other chat with ``copyMessage`` (one getUpdates, one copyMessage: a bare relay);
  N senders, sender i copied to one of K sink chats;
* ``relay``: the real application (``bot.app.build_application``) on a temporary database.
  Not timed: staff invite K mediators (``/invite`` and the join link), who go ``/duty on``;
  N residents each open a case through the intake, and its mediator accepts it. Timed:
  ``to_mediator``, each resident sends M texts; then ``to_resident``, each conversation's
  mediator sends M texts in reply to the resident's latest copy. ``relay`` pools both.

Each stream sends its messages one after the other, the streams concurrently. A message
counts when its copy (``copied_from`` the sent message) appears in the other chat; its
latency runs from the control-API send to that moment. The bots alternate for R rounds and
each phase's best round counts, so a burst of other load on the machine hits both alike.
Process CPU per message (server, harness and bot share one event loop) backs the ratio up:
when the loop is saturated, throughput follows its inverse. Peak RSS is the process maximum
so far (``getrusage``), so both bots' figures include the other's.

What this bench taught: the relay's queries are cheap, its round trips to aiosqlite's thread
are not. Each one leaves the event loop idle, so the server answers getUpdates with one
update at a time (see "getupdates" per message), and the GIL changes hands twice. Hence the
hot path reads from caches SQLite keeps current (``storage/cache.py``) and writes one queued
row per message (``Database.insert_behind``); py-spy (``py-spy record --gil``) shows where
the rest goes: mostly python-telegram-bot's and httpx's own work per Bot API call.

    python -m bench.relay --residents 10 --mediators 2 --messages 20 --rounds 5   # the defaults
    python -m bench.relay --profile relay.prof    # cProfile of the relay's timed rounds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import re
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bench.common import (
    BareApp,
    Figures,
    bare_bot,
    daasao_app,
    figures_of,
    ratios,
    start_polling,
    stop_polling,
    table,
    write_json,
)
from bot.config import PrivacyConfig
from bot.localapi.server import LocalBotApi
from bot.localapi.state import BotMessage, JSONDict

# User ids: each role its own range, so the two bots never share a chat.
SENDER_BASE = 100_000  # baseline senders (the first warms the bot up)
SINK_BASE = 110_000  # baseline sink chats, one per "mediator"
RESIDENT_BASE = 300_000
MEDIATOR_BASE = 400_000
STAFF_ID = 500_000

# The zh_CN labels the e2e tests use (tests/e2e/flows.py, conftest.py).
MEDIATOR_INVITE = "调解员 · 东升社区"
INTAKE_BUTTONS = ("我同意", "东升社区", "邻里纠纷")
REVIEW_BUTTONS = ("说完了 ✓", "就在这里聊", "✓ 提交给大阿嫂")
DESCRIPTION = "家里的矛盾"
CASE_NUMBER = re.compile(r"[A-Z]{2,8}-\d{4}-\d{4,}")
JOIN_LINK = re.compile(r"start=(join-[\w-]+)")
FLOOD_LIMIT = 600  # the highest privacy.max_messages_per_minute the config accepts
SETUP_MESSAGES = 10  # the most one person sends while setting up (intake, joining)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """N residents, K mediators, M messages each way per conversation, R rounds, a max wait."""

    residents: int
    mediators: int
    messages: int
    rounds: int = 1  # each phase is timed this often; the best round counts
    wait: float = 30.0


@dataclasses.dataclass(frozen=True)
class Stream:
    """One sender's texts to one other chat, each sent once the previous copy arrived."""

    sender: int
    to_chat: int
    texts: tuple[str, ...]
    reply_to: int | None = None


@dataclasses.dataclass(frozen=True)
class Phase:
    """A timed phase: its figures, per-message latencies, Bot API calls and CPU per message."""

    figures: Figures
    latencies: list[float]
    calls: dict[str, float]  # by method, lower case
    cpu_ms: float  # process CPU (all threads: server, harness, bot, SQLite) per message


# -- measuring --------------------------------------------------------------------------------


class CopyWatcher:
    """Notices the bot's copies of sent messages: one waiter for every stream of a phase.

    One waiter per stream would wake N coroutines on every Bot API call; this one checks
    all awaited copies per wake-up, so the harness costs both bots about the same.
    """

    def __init__(self, api: LocalBotApi) -> None:
        self.api = api
        self._awaited: dict[tuple[int, int], tuple[int, int, asyncio.Future[None]]] = {}

    def expect(self, source: tuple[int, int], chat: int, after: int) -> asyncio.Future[None]:
        """A future done once `chat` has a copy of `source` among its messages from `after`."""
        future = asyncio.get_running_loop().create_future()
        self._awaited[source] = (chat, after, future)
        self._check()
        return future

    def _check(self) -> bool:
        for source, (chat, after, future) in list(self._awaited.items()):
            if any(m.copied_from == source for m in self.api.messages_to(chat)[after:]):
                del self._awaited[source]
                future.set_result(None)
        return False  # keep watching until cancelled

    async def run(self, seconds: float) -> None:
        """Watch (wake up on every change of the server's world) for up to `seconds`."""
        with contextlib.suppress(TimeoutError):
            await self.api.wait_for(self._check, timeout=seconds)


async def _relay_one(watcher: CopyWatcher, stream: Stream, text: str, wait: float) -> float:
    """Send one text and wait for its copy in the stream's other chat; seconds."""
    api = watcher.api
    after = len(api.messages_to(stream.to_chat))
    started = time.perf_counter()
    sent = await api.send_text(stream.sender, text, reply_to=stream.reply_to)
    source = (stream.sender, int(sent["message_id"]))
    try:
        await asyncio.wait_for(watcher.expect(source, stream.to_chat, after), wait)
    except TimeoutError:
        raise TimeoutError(f"no copy of message {source} in chat {stream.to_chat}") from None
    return time.perf_counter() - started


async def _run_stream(watcher: CopyWatcher, stream: Stream, wait: float) -> list[float]:
    return [await _relay_one(watcher, stream, text, wait) for text in stream.texts]


def _calls_per_message(
    before: Mapping[str, int], after: Mapping[str, int], messages: int
) -> dict[str, float]:
    """Bot API calls made during a phase, per message, by method (lower case)."""
    return {
        method: (count - before.get(method, 0)) / messages
        for method, count in sorted(after.items())
        if count > before.get(method, 0)
    }


async def measure(api: LocalBotApi, name: str, streams: Sequence[Stream], wait: float) -> Phase:
    """All streams concurrently, each sending its texts one after the other."""
    watcher = CopyWatcher(api)
    watching = asyncio.create_task(watcher.run(wait * max(len(s.texts) for s in streams)))
    calls, cpu = api.all_calls(), time.process_time()
    started = time.perf_counter()
    try:
        results = await asyncio.gather(*(_run_stream(watcher, s, wait) for s in streams))
    finally:
        seconds = time.perf_counter() - started
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    latencies = [latency for stream in results for latency in stream]
    return Phase(
        figures_of(name, latencies, seconds),
        latencies,
        _calls_per_message(calls, api.all_calls(), len(latencies)),
        (time.process_time() - cpu) * 1000 / len(latencies),
    )


def best(phases: Sequence[Phase]) -> Phase:
    """The round with the highest throughput: the one least disturbed by other load."""
    return max(phases, key=lambda phase: phase.figures.throughput)


def _texts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}第{i + 1}条消息" for i in range(count))


# -- the baseline: a bare copy bot ------------------------------------------------------------


def _copier(
    targets: Mapping[int, int],
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """A handler copying each text of a known sender to that sender's fixed other chat."""

    async def copy_to_partner(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        target = targets.get(message.chat_id) if message is not None else None
        if message is not None and target is not None:
            await context.bot.copy_message(target, message.chat_id, message.message_id)

    return copy_to_partner


@dataclasses.dataclass(frozen=True)
class CopyBot:
    """The baseline's handler, its warm-up and its N senders' streams to K sink chats."""

    handler: MessageHandler[Any, Any]
    warm_up: Stream
    streams: list[Stream]


def copy_bot(api: LocalBotApi, sizes: Sizes) -> CopyBot:
    """Sender i (after one warming the bot up) is copied to sink i mod K."""
    sinks = [SINK_BASE + k for k in range(sizes.mediators)]
    senders = [SENDER_BASE + i for i in range(sizes.residents + 1)]
    for user_id in (*sinks, *senders):
        api.add_user(user_id, "Bench", language_code="zh-hans", started=True)
    targets = {sender: sinks[i % len(sinks)] for i, sender in enumerate(senders)}
    return CopyBot(
        MessageHandler(filters.TEXT, _copier(targets)),
        Stream(senders[0], targets[senders[0]], ("热身",)),
        [Stream(s, targets[s], _texts(f"发送者{s}", sizes.messages)) for s in senders[1:]],
    )


# -- the relay: setting up the team and the cases (not timed) ---------------------------------


class Actor:
    """One simulated Telegram user who reads the bot's messages to them in order."""

    def __init__(self, api: LocalBotApi, user_id: int, wait: float) -> None:
        api.add_user(user_id, f"用户{user_id}", language_code="zh-hans")
        self.api, self.id, self.wait = api, user_id, wait
        self._read = 0  # the bot's messages here before this index are read

    async def send(self, text: str) -> JSONDict:
        return await self.api.send_text(self.id, text)

    async def expect(self, contains: str = "") -> BotMessage:
        """The next unread message containing `contains`; those before it count as read."""
        return await self._next(lambda m: contains in m.content, repr(contains))

    async def press(self, label: str) -> None:
        """Press the button `label` on the next unread message that has one."""
        found = await self._next(lambda m: _button_data(m, label) is not None, repr(label))
        data = _button_data(found, label)
        assert data is not None
        await self.api.press_button(self.id, found.message_id, data)

    async def _next(self, test: Callable[[BotMessage], bool], what: str) -> BotMessage:
        def unread() -> BotMessage | None:
            return next((m for m in self.api.messages_to(self.id)[self._read :] if test(m)), None)

        await self.api.wait_for(lambda: unread() is not None, timeout=self.wait, what=what)
        found = unread()
        assert found is not None
        self._read = found.index + 1
        return found


def _button_data(message: BotMessage, label: str) -> str | None:
    markup = message.reply_markup or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if button.get("text") == label and "callback_data" in button:
                return str(button["callback_data"])
    return None


async def join_mediator(staff: Actor, mediator: Actor, name: str) -> None:
    """The real invite flow: /invite, the join link, a display name, then /duty on."""
    await staff.send("/invite")
    await staff.press(MEDIATOR_INVITE)
    link = JOIN_LINK.search((await staff.expect("start=join-")).content)
    assert link is not None
    await mediator.send(f"/start {link.group(1)}")
    await mediator.expect()
    await mediator.send(name)
    await mediator.expect(name)
    await mediator.send("/duty on")
    await mediator.expect()


async def open_case(resident: Actor) -> str:
    """The resident's whole intake, as tests/e2e/flows.py walks it; the case number."""
    await resident.send("找大阿嫂")
    for label in INTAKE_BUTTONS:
        await resident.press(label)
    await resident.expect("请用您自己的话")
    await resident.send(DESCRIPTION)
    for label in REVIEW_BUTTONS:
        await resident.press(label)
    match = CASE_NUMBER.search((await resident.expect("您的求助已登记")).content)
    assert match is not None
    return match.group(0)


async def accept_offer(api: LocalBotApi, mediators: Sequence[int], number: str, wait: float) -> int:
    """Whoever got the offer card of case `number` presses 接受; returns who."""

    def card() -> tuple[int, BotMessage, str] | None:
        for mediator in mediators:
            for message in reversed(api.messages_to(mediator)):
                data = _button_data(message, "接受")
                if data is not None and f"新案件 {number}" in message.content:
                    return mediator, message, data
        return None

    await api.wait_for(lambda: card() is not None, timeout=wait, what=f"the offer of {number}")
    found = card()
    assert found is not None
    mediator, message, data = found
    await api.press_button(mediator, message.message_id, data)
    return mediator


async def accepted_case(api: LocalBotApi, resident: Actor, mediators: Sequence[int]) -> int:
    """A case opened by `resident` and accepted by its mediator; returns the mediator."""
    number = await open_case(resident)
    mediator = await accept_offer(api, mediators, number, resident.wait)
    await resident.expect(f"已经接手您的案件 {number}")
    return mediator


async def set_up_relay(api: LocalBotApi, sizes: Sizes) -> dict[int, int]:
    """The team and one accepted case per resident; resident id -> their mediator's id."""
    staff = Actor(api, STAFF_ID, sizes.wait)
    mediators = [MEDIATOR_BASE + k for k in range(sizes.mediators)]
    for k, user_id in enumerate(mediators):
        await join_mediator(staff, Actor(api, user_id, sizes.wait), f"大姐{k + 1}")
    residents = [Actor(api, RESIDENT_BASE + i, sizes.wait) for i in range(sizes.residents)]
    assigned = await asyncio.gather(*(accepted_case(api, r, mediators) for r in residents))
    return {resident.id: mediator for resident, mediator in zip(residents, assigned, strict=True)}


async def settle(api: LocalBotApi, quiet: float = 0.1, wait: float = 10.0) -> None:
    """Wait until the bot has taken every update and made no Bot API call for `quiet` s."""

    def busy() -> dict[str, int]:
        calls = api.all_calls()
        calls.pop("getupdates", None)
        return calls

    deadline = time.perf_counter() + wait
    while time.perf_counter() < deadline:
        before = busy()
        await asyncio.sleep(quiet)
        if busy() == before and not api.pending_updates:
            return
    raise TimeoutError(f"the bot was still busy after {wait}s")


def _latest_copy_from(api: LocalBotApi, mediator: int, resident: int) -> int:
    """The message id of the newest copy of a resident's message in the mediator's chat."""
    return next(
        m.message_id
        for m in reversed(api.messages_to(mediator))
        if m.copied_from is not None and m.copied_from[0] == resident
    )


def relay_config() -> dict[str, Any]:
    """Config beyond the defaults: the staff admin, and the flood guard as lax as it goes."""
    config: dict[str, Any] = {"staff": {"admins": [STAFF_ID]}}
    if "max_messages_per_minute" in {f.name for f in dataclasses.fields(PrivacyConfig)}:
        config["privacy"] = {"max_messages_per_minute": FLOOD_LIMIT}
    return config


def busiest_sender(sizes: Sizes) -> int:
    """The most messages one person sends in a run: a mediator with the most cases."""
    cases = -(-sizes.residents // sizes.mediators)
    return SETUP_MESSAGES + cases * sizes.messages * sizes.rounds


# -- the timed rounds -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Run:
    """The best round of each phase, how long setting up took, who had how many cases."""

    baseline: Phase
    to_mediator: Phase
    to_resident: Phase
    setup_seconds: float
    cases_per_mediator: list[int]


async def take_turn(api: LocalBotApi, active: BareApp, idle: BareApp) -> None:
    """Only one bot may poll the server: `idle` stops taking updates, `active` starts."""
    await settle(api)
    await stop_polling(idle)
    if active.updater is not None and not active.updater.running:
        await start_polling(active)


async def relay_round(
    api: LocalBotApi, mediator_of: Mapping[int, int], sizes: Sizes
) -> tuple[Phase, Phase]:
    """Residents write M texts each; then their mediators answer M texts each."""
    inbound = [Stream(r, m, _texts(f"居民{r}", sizes.messages)) for r, m in mediator_of.items()]
    to_mediator = await measure(api, "to_mediator", inbound, sizes.wait)
    outbound = [
        Stream(m, r, _texts(f"调解员回复{r}", sizes.messages), _latest_copy_from(api, m, r))
        for r, m in mediator_of.items()
    ]
    return to_mediator, await measure(api, "to_resident", outbound, sizes.wait)


async def _profiled(
    profile: cProfile.Profile | None, timed: Coroutine[Any, Any, tuple[Phase, Phase]]
) -> tuple[Phase, Phase]:
    if profile is not None:
        profile.enable()
    try:
        return await timed
    finally:
        if profile is not None:
            profile.disable()


async def run_rounds(
    api: LocalBotApi,
    bots: tuple[BareApp, BareApp],
    copier: CopyBot,
    mediator_of: Mapping[int, int],
    sizes: Sizes,
    *,
    profile: cProfile.Profile | None = None,
) -> list[tuple[Phase, Phase, Phase]]:
    """R rounds, the two bots taking turns, so that other load on the machine hits both."""
    baseline_app, relay_app = bots
    rounds = []
    for _ in range(sizes.rounds):
        await take_turn(api, baseline_app, relay_app)
        baseline = await measure(api, "baseline", copier.streams, sizes.wait)
        await take_turn(api, relay_app, baseline_app)
        relay = await _profiled(profile, relay_round(api, mediator_of, sizes))
        rounds.append((baseline, *relay))
    return rounds


async def run_bench(sizes: Sizes, profile: cProfile.Profile | None = None) -> Run:
    """Set up both bots on one local Bot API server, then time R rounds of each."""
    async with LocalBotApi() as api, daasao_app(api, relay_config()) as app:
        started = time.perf_counter()
        mediator_of = await set_up_relay(api, sizes)
        setup_seconds = time.perf_counter() - started
        copier = copy_bot(api, sizes)
        async with bare_bot(api, [copier.handler], polling=False) as baseline_app:
            await take_turn(api, baseline_app, app)
            await measure(api, "warm-up", [copier.warm_up], sizes.wait)
            bots = (baseline_app, app)
            rounds = await run_rounds(api, bots, copier, mediator_of, sizes, profile=profile)
    baseline, to_mediator, to_resident = (best(phases) for phases in zip(*rounds, strict=True))
    load = [list(mediator_of.values()).count(MEDIATOR_BASE + k) for k in range(sizes.mediators)]
    return Run(baseline, to_mediator, to_resident, setup_seconds, load)


def pooled(name: str, phases: Sequence[Phase]) -> Figures:
    """One figure for phases run one after the other: all their messages, their summed time."""
    latencies = [latency for phase in phases for latency in phase.latencies]
    return figures_of(name, latencies, sum(phase.figures.seconds for phase in phases))


# -- reporting --------------------------------------------------------------------------------


def summary(sizes: Sizes, run: Run) -> dict[str, Any]:
    """The figures as plain data, with the relay/baseline ratios."""
    baseline, relay = run.baseline, pooled("relay", [run.to_mediator, run.to_resident])
    directions = {"to_mediator": run.to_mediator, "to_resident": run.to_resident}
    return {
        "sizes": dataclasses.asdict(sizes),
        "baseline": dataclasses.asdict(baseline.figures),
        "relay": dataclasses.asdict(relay),
        **{name: dataclasses.asdict(phase.figures) for name, phase in directions.items()},
        "ratio": {
            **ratios(relay, baseline.figures),
            "cpu": cpu_per_message([run.to_mediator, run.to_resident]) / baseline.cpu_ms,
        },
        "ratio_by_direction": {
            name: ratios(phase.figures, baseline.figures) for name, phase in directions.items()
        },
        "calls_per_message": {
            "baseline": baseline.calls,
            **{name: phase.calls for name, phase in directions.items()},
        },
        "cpu_ms_per_message": {
            "baseline": baseline.cpu_ms,
            **{name: phase.cpu_ms for name, phase in directions.items()},
        },
        "setup_seconds": run.setup_seconds,
        "cases_per_mediator": run.cases_per_mediator,
    }


def cpu_per_message(phases: Sequence[Phase]) -> float:
    """Process CPU ms per message over several phases (weighted by their messages)."""
    total = sum(phase.cpu_ms * phase.figures.messages for phase in phases)
    return total / sum(phase.figures.messages for phase in phases)


def _calls_line(calls: Mapping[str, Mapping[str, float]]) -> str:
    return "; ".join(
        f"{name}: " + ", ".join(f"{method} {count:.2f}" for method, count in by_method.items())
        for name, by_method in calls.items()
    )


def report(result: Mapping[str, Any]) -> str:
    """The printed summary: sizes, the table, the ratios and the Bot API calls."""
    sizes, ratio, by_direction = result["sizes"], result["ratio"], result["ratio_by_direction"]
    rows = [Figures(**result[name]) for name in ("baseline", "relay", *by_direction)]
    cases = "/".join(str(count) for count in result["cases_per_mediator"])
    return "\n".join(
        [
            f"relay: {sizes['residents']} residents, {sizes['mediators']} mediators (cases "
            f"{cases}), {sizes['messages']} messages each way, best of {sizes['rounds']} "
            f"rounds; setup "
            f"{result['setup_seconds']:.1f}s untimed; local Bot API on loopback",
            table(rows, name_width=13),
            f"relay/baseline: throughput x{ratio['throughput']:.2f} "
            f"(to mediator x{by_direction['to_mediator']['throughput']:.2f}, "
            f"to resident x{by_direction['to_resident']['throughput']:.2f}), "
            f"p50 x{ratio['p50']:.2f}, CPU per message x{ratio['cpu']:.2f}",
            f"Bot API calls per message: {_calls_line(result['calls_per_message'])}",
            "process CPU ms per message (all threads; when CPU-bound, throughput follows "
            "its inverse): "
            + ", ".join(f"{name} {ms:.2f}" for name, ms in result["cpu_ms_per_message"].items()),
        ]
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.relay", description=__doc__)
    parser.add_argument("--residents", type=int, default=10, help="residents with a case (N)")
    parser.add_argument("--mediators", type=int, default=2, help="mediators on duty (K)")
    parser.add_argument("--messages", type=int, default=20, help="messages each way (M)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds; the best counts")
    parser.add_argument("--timeout", type=float, default=30.0, help="max wait for one copy")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--profile",
        type=Path,
        help="cProfile the relay's timed rounds into this .prof file (slows the relay down)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench, print the table and ratios; return the figures."""
    args = _parser().parse_args(argv)
    if min(args.residents, args.mediators, args.messages, args.rounds) < 1:
        raise SystemExit("--residents, --mediators, --messages and --rounds must be at least 1")
    sizes = Sizes(args.residents, args.mediators, args.messages, args.rounds, args.timeout)
    if busiest_sender(sizes) > FLOOD_LIMIT:
        raise SystemExit(
            f"a mediator would send {busiest_sender(sizes)} messages, more than the bot's flood "
            f"guard lets through in a minute ({FLOOD_LIMIT}): add --mediators, or lower "
            "--messages or --rounds"
        )
    profile = cProfile.Profile() if args.profile is not None else None
    result = summary(sizes, asyncio.run(run_bench(sizes, profile)))
    print(report(result))
    if args.json is not None:
        write_json(args.json, result)
    if profile is not None:
        args.profile.parent.mkdir(parents=True, exist_ok=True)
        profile.dump_stats(args.profile)
    return result


if __name__ == "__main__":
    main()
