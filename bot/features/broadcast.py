"""Delivering one run of an announcement to thousands of residents, politely and exactly once.

* Pace: the configured rate (default 25 messages/s, Telegram takes about 30), on a schedule
  of the loop's clock (bot/core/pacing.py), not tied to when answers come back; enough sends are
  in flight to cover the round trips. Each recipient gets one message per run, so the
  per-chat limit (1/s) holds by construction.
* 429: the pacer pauses every sender for Telegram's retry_after, then the message is tried
  again. The sends are `self_paced()`, so the 429 reaches us at once (bot/app.py).
* 403 (blocked): the resident is marked inactive and leaves later audiences.
* Other failures: retried a bounded number of times, then counted as failed.
* Every recipient's state is a row, written as soon as Telegram answers: a restart in the
  middle resumes where it stopped, nobody skipped and nobody served twice. A kill can only
  re-send what was in flight at that moment (rate × round trip, about 5 messages).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.clock import Clock
from bot.core.config import AnnouncementsConfig
from bot.core.messaging import Messenger, Outgoing, TransientDeliveryError
from bot.core.pacing import BROADCAST, SendPacer, self_paced
from bot.features.timers import Interrupted
from storage.announcements import AnnouncementRepository
from storage.users import UserRepository

log = logging.getLogger(__name__)

# Sends under way at once. 30/s with 150 ms round trips keeps 5 busy; the rest cover slow
# answers and the row written after each send, so the schedule never waits for a sender.
IN_FLIGHT = 16


@dataclass(frozen=True)
class Tally:
    sent: int = 0
    blocked: int = 0
    failed: int = 0


class Broadcaster:
    def __init__(
        self,
        *,
        announcements: AnnouncementRepository,
        users: UserRepository,
        messenger: Messenger,
        clock: Clock,
        config: AnnouncementsConfig,
        pacer: SendPacer | None = None,
    ) -> None:
        self._repo = announcements
        self._users = users
        self._messenger = messenger
        self._clock = clock
        self._config = config
        # A pacer of its own unless given one to share with other senders.
        self._pacer = pacer or SendPacer(config.rate_per_second)
        self._stopping = asyncio.Event()
        self._waiting: set[asyncio.Task[object]] = set()  # senders waiting for a slot

    def stop(self) -> None:
        """Shutting down: sends in flight finish and are recorded; no new one starts."""
        self._stopping.set()
        for sender in self._waiting:  # a slot may be far off (a 429 pause): stop waiting
            sender.cancel()

    async def deliver(
        self, run_id: int, recipients: list[int], render: Callable[[int], Outgoing]
    ) -> Tally:
        """Send `render(user_id)` to each pending recipient of the run; returns the tally."""
        queue = deque(recipients)
        outcomes: Counter[str] = Counter()
        senders = min(IN_FLIGHT, len(recipients))
        await asyncio.gather(
            *(self._sender(run_id, queue, render, outcomes) for _ in range(senders))
        )
        if queue:
            raise Interrupted  # the rows know who is still to get it: the next start resumes
        return Tally(outcomes["sent"], outcomes["blocked"], outcomes["failed"])

    async def _sender(
        self,
        run_id: int,
        queue: deque[int],
        render: Callable[[int], Outgoing],
        outcomes: Counter[str],
    ) -> None:
        while queue and await self._slot():
            if not queue:
                return  # the others took the last ones while this one waited
            user_id = queue.popleft()
            outcome = await self._send_one(run_id, user_id, render(user_id))
            if outcome == "retry":
                queue.append(user_id)
            else:
                outcomes[outcome] += 1

    async def _slot(self) -> bool:
        """Wait for the pacer; False if the bot began to shut down first."""
        sender = asyncio.current_task()
        if self._stopping.is_set() or sender is None:
            return False
        self._waiting.add(sender)
        try:
            await self._pacer.take(BROADCAST)
        except asyncio.CancelledError:
            # stop() cancelled the wait: that one ends the sender quietly; any other goes on.
            if not self._stopping.is_set() or sender.uncancel() > 0:
                raise
            return False
        finally:
            self._waiting.discard(sender)
        return not self._stopping.is_set()

    async def _send_one(self, run_id: int, user_id: int, message: Outgoing) -> str:
        try:
            with self_paced():
                message_id = await self._messenger.send(user_id, message)
        except TransientDeliveryError as error:
            return await self._transient(run_id, user_id, error)
        now = self._clock.now()
        if message_id is None:
            await self._repo.delivered(run_id, user_id, "blocked", now)
            await self._users.mark_blocked(user_id, now)
            return "blocked"
        await self._repo.delivered(run_id, user_id, "sent", now, message_id)
        return "sent"

    async def _transient(self, run_id: int, user_id: int, error: TransientDeliveryError) -> str:
        if error.retry_after > 0:
            self._pacer.pause(error.retry_after)  # everyone waits: the limit is the bot's
        tries = await self._repo.attempt_failed(run_id, user_id, self._clock.now())
        if tries > self._config.max_retries:
            await self._repo.delivered(run_id, user_id, "failed", self._clock.now())
            log.warning("announcement delivery failed", extra={"run": run_id})
            return "failed"
        return "retry"
