"""Round trips through the local Bot API: a bare python-telegram-bot echo bot vs Da'asao.

One in-process local Bot API server (``localapi``) stands in for Telegram; two bots poll
it in turn over loopback HTTP, in the same process and run:

* ``baseline``: a bare PTB ``Application`` with one ``MessageHandler`` that echoes the text;
* ``daasao``: the real application (``bot.app.build_application``) on a temporary database,
  where each resident sends ``/help`` (identify + one command handler + one answer).

N users each send M messages one after the other, the users concurrently. A message's latency
runs from the control-API send to the bot's answer appearing in the chat. Peak RSS is the
process maximum so far (``getrusage``), so the second bot's figure includes the first's.

    python -m bench.roundtrip --users 20 --messages 10
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bench.common import Figures, bare_bot, daasao_app, figures_of, ratios, table, write_json
from localapi.server import LocalBotApi

BotRunner = Callable[[LocalBotApi], AbstractAsyncContextManager[None]]


# -- the two bots -----------------------------------------------------------------------------


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(update.effective_message.text)


@asynccontextmanager
async def baseline_bot(api: LocalBotApi) -> AsyncIterator[None]:
    """A bare PTB echo bot polling the local server."""
    async with bare_bot(api, [MessageHandler(filters.TEXT, _echo)]):
        yield


@asynccontextmanager
async def daasao_bot(api: LocalBotApi) -> AsyncIterator[None]:
    """The real Da'asao application, started as tests/harness.py does, on a temp database."""
    async with daasao_app(api):
        yield


# -- measuring --------------------------------------------------------------------------------


async def _round_trip(api: LocalBotApi, user_id: int, text: str, index: int, wait: float) -> float:
    """Send one text and wait for the bot's answer number `index` in that chat; seconds."""
    started = time.perf_counter()
    await api.send_text(user_id, text)
    await api.wait_for_message(user_id, after=index, timeout=wait)
    return time.perf_counter() - started


async def _one_user(
    api: LocalBotApi, user_id: int, texts: Sequence[str], wait: float
) -> list[float]:
    """One user's messages, each after the answer to the previous one."""
    already = len(api.messages_to(user_id))
    return [
        await _round_trip(api, user_id, text, already + i, wait) for i, text in enumerate(texts)
    ]


@dataclasses.dataclass(frozen=True)
class Load:
    """N users, M messages each, and the longest wait for one answer."""

    users: int
    per_user: int
    wait: float = 30.0


@dataclasses.dataclass(frozen=True)
class Contender:
    """A bot under measurement: how to run it and what its users send."""

    name: str
    runner: BotRunner
    first_id: int  # user ids from here on are this bot's (the first warms it up)
    text: Callable[[int], str]  # the i-th message of each user


async def measure(
    api: LocalBotApi, contender: Contender, user_ids: Sequence[int], load: Load
) -> Figures:
    """All users concurrently, each sending `load.per_user` messages sequentially."""
    for user_id in user_ids:
        api.add_user(user_id, "Bench", language_code="zh-hans")
    texts = [contender.text(i) for i in range(load.per_user)]
    started = time.perf_counter()
    results = await asyncio.gather(*(_one_user(api, u, texts, load.wait) for u in user_ids))
    seconds = time.perf_counter() - started
    latencies = [latency for user in results for latency in user]
    return figures_of(contender.name, latencies, seconds)


async def bench_one(api: LocalBotApi, contender: Contender, load: Load) -> Figures:
    """Start a bot, warm it up with one round trip, measure, stop it."""
    async with contender.runner(api):
        await measure(api, contender, [contender.first_id], Load(1, 1, load.wait))
        ids = range(contender.first_id + 1, contender.first_id + 1 + load.users)
        return await measure(api, contender, ids, load)


CONTENDERS = (
    Contender("baseline", baseline_bot, 100_000, lambda i: f"ping {i}"),
    Contender("daasao", daasao_bot, 200_000, lambda i: "/help"),
)


async def run_bench(load: Load) -> list[Figures]:
    """Every contender, one after the other, against one local Bot API server."""
    async with LocalBotApi() as api:
        return [await bench_one(api, contender, load) for contender in CONTENDERS]


# -- reporting --------------------------------------------------------------------------------


def summary(baseline: Figures, daasao: Figures) -> dict[str, dict[str, float]]:
    """The figures as plain data, with the daasao/baseline ratios."""
    return {
        "baseline": dataclasses.asdict(baseline),
        "daasao": dataclasses.asdict(daasao),
        "ratio": ratios(daasao, baseline),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.roundtrip", description=__doc__)
    parser.add_argument("--users", type=int, default=20, help="concurrent users (N)")
    parser.add_argument("--messages", type=int, default=10, help="messages per user (M)")
    parser.add_argument("--timeout", type=float, default=30.0, help="max wait for one answer")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench, print the table and ratios; return the figures."""
    args = _parser().parse_args(argv)
    if args.users < 1 or args.messages < 1:
        raise SystemExit("--users and --messages must be at least 1")
    baseline, daasao = asyncio.run(run_bench(Load(args.users, args.messages, args.timeout)))
    result = summary(baseline, daasao)
    print(f"roundtrip: {args.users} users x {args.messages} messages, local Bot API on loopback")
    print(table([baseline, daasao]))
    ratio = result["ratio"]
    print(f"daasao/baseline: throughput x{ratio['throughput']:.2f}, p50 x{ratio['p50']:.2f}")
    if args.json is not None:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
