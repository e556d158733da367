"""bot.features.broadcast.Broadcaster against a messenger with Telegram's round trip, in virtual
time.

The loop is tests/test_pacing.py's: its clock jumps to the next timer, so a broadcast of
hundreds of messages with 150 ms answers runs in milliseconds, with exact timings.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any, cast

import pytest

from bot.core.clock import SystemClock
from bot.core.config import AnnouncementsConfig
from bot.core.messaging import Messenger, Outgoing, TransientDeliveryError
from bot.features.broadcast import Broadcaster, Tally
from bot.features.timers import Interrupted
from storage.announcements import AnnouncementRepository
from storage.users import UserRepository
from tests.test_pacing import run

ROUND_TRIP = 0.15


class FakeTelegram:
    """Answers each send after a round trip; refuses the sends listed in `refuse` with 429."""

    def __init__(self, refuse: dict[int, float] | None = None, blocked: set[int] | None = None):
        self.sent: list[tuple[int, float]] = []  # (chat, loop time it arrived)
        self.refused: list[tuple[int, float]] = []
        self._refuse = dict(refuse or {})  # chat → retry_after, once
        self._blocked = blocked or set()

    async def send(self, chat_id: int, message: Outgoing, *, reply_to: int | None = None) -> Any:
        now = asyncio.get_running_loop().time()
        await asyncio.sleep(ROUND_TRIP)
        if chat_id in self._refuse:
            self.refused.append((chat_id, now))
            raise TransientDeliveryError(self._refuse.pop(chat_id))
        if chat_id in self._blocked:
            return None
        self.sent.append((chat_id, now))
        return len(self.sent)


class Rows:
    """The per-recipient rows the broadcaster keeps (storage.announcements' part of it)."""

    def __init__(self) -> None:
        self.states: dict[int, str] = {}
        self.tries: Counter[int] = Counter()
        self.blocked: set[int] = set()

    async def delivered(
        self, run_id: int, user_id: int, state: str, now: datetime, message_id: int | None = None
    ) -> None:
        assert user_id not in self.states, f"{user_id} recorded twice"
        self.states[user_id] = state

    async def attempt_failed(self, run_id: int, user_id: int, now: datetime) -> int:
        self.tries[user_id] += 1
        return self.tries[user_id]

    async def mark_blocked(self, user_id: int, now: datetime) -> None:
        self.blocked.add(user_id)


def broadcaster(telegram: FakeTelegram, rows: Rows, rate: float) -> Broadcaster:
    return Broadcaster(
        announcements=cast("AnnouncementRepository", rows),
        users=cast("UserRepository", rows),
        messenger=cast("Messenger", telegram),
        clock=SystemClock(),
        config=AnnouncementsConfig(rate_per_second=rate, max_retries=3),
    )


def rate_of(times: list[float]) -> float:
    return (len(times) - 1) / (max(times) - min(times))


async def deliver(sender: Broadcaster, recipients: list[int]) -> Tally:
    return await sender.deliver(1, recipients, lambda user_id: Outgoing("讲座"))


@pytest.mark.parametrize("rate", [25, 29])
def test_sends_leave_at_the_configured_rate_whatever_the_round_trip(rate: float) -> None:
    telegram, rows = FakeTelegram(), Rows()
    recipients = list(range(1, 601))
    tally = run(deliver(broadcaster(telegram, rows, rate), recipients))
    assert tally == Tally(sent=600)
    assert sorted(chat for chat, _ in telegram.sent) == recipients
    assert rate_of([at for _, at in telegram.sent]) == pytest.approx(rate, rel=1e-6)


def test_a_429_pauses_every_sender_then_that_resident_gets_it_too() -> None:
    telegram, rows = FakeTelegram(refuse={50: 2.0}, blocked={70}), Rows()
    tally = run(deliver(broadcaster(telegram, rows, 20), list(range(1, 201))))
    assert tally == Tally(sent=199, blocked=1)
    assert rows.blocked == {70}
    assert sorted(chat for chat, _ in telegram.sent) == [u for u in range(1, 201) if u != 70]
    [(_, refused_at)] = telegram.refused
    heard_at = refused_at + ROUND_TRIP
    later = [at for _, at in telegram.sent if at > refused_at]
    in_flight = [at for at in later if at <= heard_at + 1e-6]  # left before the 429 came back
    assert len(in_flight) <= ROUND_TRIP * 20
    assert min(set(later) - set(in_flight)) == pytest.approx(heard_at + 2.0)


def test_stop_during_a_pause_ends_at_once_and_leaves_the_rest_pending() -> None:
    telegram, rows = FakeTelegram(refuse={10: 60.0}), Rows()

    async def main() -> tuple[float, float]:
        sender = broadcaster(telegram, rows, 20)
        task = asyncio.create_task(deliver(sender, list(range(1, 101))))
        await asyncio.sleep(1.5)  # the 429 came back at ~0.6 s: a minute's pause began
        stopped_at = asyncio.get_running_loop().time()
        sender.stop()
        with pytest.raises(Interrupted):
            await task
        return stopped_at, asyncio.get_running_loop().time()

    stopped_at, ended_at = run(main())
    assert ended_at == pytest.approx(stopped_at, abs=0.01)
    assert set(rows.states) == {chat for chat, _ in telegram.sent}  # every send recorded
    assert 10 not in rows.states and len(rows.states) < 100
