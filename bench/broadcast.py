"""Broadcast: N subscribers, the local Bot API limited like Telegram, the real composer.

Seeds N subscribed residents, lets a staff member compose and confirm an announcement
through the bot's own /announce dialogue, then measures the delivery: the achieved
messages per second against the configured rate (goal ≥ 95%), the total time, peak RSS,
and duplicates and misses (both must be 0). The local server enforces Telegram's limits
(30 messages/s overall, 1 per second per chat) and answers 429 beyond them.

    python -m bench.broadcast --subscribers 10000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from typing import Any

from bench.common import daasao_app, peak_rss_mb, write_json
from bot.app import DaasaoApp
from bot.localapi.server import LocalBotApi
from storage.announcements import Subscription, SubscriptionRepository
from storage.users import UserRepository

STAFF = 900
FIRST_RESIDENT = 100_000
TEXT = "BENCH-BROADCAST 妇女健康讲座，周六上午九点，社区礼堂"
TELEGRAM_RATE = 30.0


async def seed(api: LocalBotApi, app: DaasaoApp, count: int) -> None:
    """Subscribed residents, as if each had pressed /subscribe earlier."""
    db = app.bot_data.services.db
    users, subs = UserRepository(db), SubscriptionRepository(db)
    now = app.bot_data.services.clock.now()
    for user_id in range(FIRST_RESIDENT, FIRST_RESIDENT + count):
        api.add_user(user_id, "居民", language_code="zh-hans", started=True)
        await users.upsert_seen(user_id, "zh-hans", now)
        await subs.save(Subscription(user_id, True, frozenset(), frozenset()), now)


async def press(api: LocalBotApi, label: str) -> None:
    for message in reversed(api.messages_to(STAFF)):
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if button.get("text") == label:
                    await api.press_button(STAFF, message.message_id, button["callback_data"])
                    return
    raise RuntimeError(f"no button {label!r}")


async def step(api: LocalBotApi, action: Any, expect: str) -> None:
    """Do something as staff and wait for the bot's answer containing `expect`."""
    seen = len(api.messages_to(STAFF))
    await action
    await api.wait_for(
        lambda: any(expect in m.content for m in api.messages_to(STAFF)[seen:]),
        timeout=30,
        what=expect,
    )


async def compose(api: LocalBotApi) -> None:
    """The real /announce dialogue, to everyone, now, without RSVP."""
    await step(api, api.send_text(STAFF, "/announce"), "请发送通知的文字")
    await step(api, api.send_text(STAFF, TEXT), "发给谁")
    await step(api, press(api, "下一步 ›"), "什么时候发送")
    await step(api, press(api, "现在发送"), "要加上")
    await step(api, press(api, "不用"), "请检查上面的通知")
    await press(api, "✓ 确认发送")


def delivered_times(api: LocalBotApi, count: int) -> tuple[list[float], int, int]:
    """Send times of the announcement per resident, duplicates, misses."""
    times: list[float] = []
    duplicates = misses = 0
    for user_id in range(FIRST_RESIDENT, FIRST_RESIDENT + count):
        copies = [m for m in api.messages_to(user_id) if TEXT in m.content]
        duplicates += max(0, len(copies) - 1)
        misses += not copies
        times += [m.date.timestamp() for m in copies[:1]]
    return times, duplicates, misses


async def run_bench(subscribers: int, rate: float, timeout: float) -> dict[str, Any]:
    api = LocalBotApi()
    await api.start()
    try:
        api.add_user(STAFF, "Staff", language_code="zh-hans", started=True)
        extra = {"staff": {"admins": [STAFF]}, "announcements": {"rate_per_second": rate}}
        async with daasao_app(api, extra) as app:
            await seed(api, app, subscribers)
            api.set_rate_limit(TELEGRAM_RATE, 1.0)
            await compose(api)
            started = time.perf_counter()
            await api.wait_for(
                lambda: sum(1 for m in api.messages_to(STAFF) if "已送达" in m.content) >= 1,
                timeout=timeout,
                what="the delivery report",
            )
            total = time.perf_counter() - started
        times, duplicates, misses = delivered_times(api, subscribers)
    finally:
        await api.stop()
    window = max(times) - min(times) if len(times) > 1 else total
    achieved = (len(times) - 1) / window if window > 0 else float(len(times))
    return {
        "subscribers": subscribers,
        "configured_rate": rate,
        "achieved_rate": round(achieved, 2),
        "of_configured": round(achieved / rate, 3),
        "total_seconds": round(total, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "duplicates": duplicates,
        "misses": misses,
        "server_429s": sum(1 for e in api.errors if e.status == 429),
    }


def report(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"broadcast to {result['subscribers']} subscribers "
            f"(local Bot API limited to {TELEGRAM_RATE:.0f}/s overall, 1/s per chat)",
            f"  configured rate   {result['configured_rate']:.1f} msg/s",
            f"  achieved rate     {result['achieved_rate']:.1f} msg/s "
            f"({result['of_configured']:.1%} of configured; goal >= 95%)",
            f"  total time        {result['total_seconds']:.1f} s",
            f"  peak RSS          {result['peak_rss_mb']:.1f} MB",
            f"  duplicates        {result['duplicates']}",
            f"  misses            {result['misses']}",
            f"  429s from server  {result['server_429s']}",
        ]
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="announcements.rate_per_second")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", type=str, default=None, help="also write the figures here")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _parser().parse_args(argv)
    result = asyncio.run(run_bench(args.subscribers, args.rate, args.timeout))
    print(report(result), flush=True)
    if args.json:
        from pathlib import Path

        write_json(Path(args.json), result)
    return result


if __name__ == "__main__":
    main()
