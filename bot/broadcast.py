"""Delivering one run of an announcement to thousands of residents, politely and exactly once.

* Pace: an overall rate from config (default 25 messages/s, under Telegram's ~30/s), with a
  few concurrent senders so round trips overlap; each recipient gets one message per run,
  so the per-chat limit (1/s) holds by construction.
* 429: every sender pauses for Telegram's retry_after, then the message is tried again.
* 403 (blocked): the resident is marked inactive and leaves later audiences.
* Other failures: retried a bounded number of times, then counted as failed.
* Every recipient's state is a row: a crash or restart in the middle resumes where it
  stopped — nobody is skipped, nobody gets it twice (but for the one message in flight).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from bot.clock import Clock
from bot.config import AnnouncementsConfig
from bot.messaging import Messenger, Outgoing, TransientDeliveryError
from bot.timers import Interrupted
from storage.announcements import AnnouncementRepository
from storage.users import UserRepository

log = logging.getLogger(__name__)

SENDERS = 4  # concurrent senders: enough to keep the rate while one waits for an answer


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
    ) -> None:
        self._repo = announcements
        self._users = users
        self._messenger = messenger
        self._clock = clock
        self._config = config
        # One token at a time: a steady pace with no burst at the start (a full bucket of
        # 25 on top of the steady rate is exactly what earns a 429 from Telegram).
        self._limiter = AsyncLimiter(1, 1 / config.rate_per_second)
        self._resume_at = 0.0  # loop time before which nobody sends (after a 429)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Shutting down: senders finish the message in hand and stop."""
        self._stopping.set()

    async def deliver(
        self, run_id: int, recipients: list[int], render: Callable[[int], Outgoing]
    ) -> Tally:
        """Send `render(user_id)` to each pending recipient of the run; returns the tally."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        for user_id in recipients:
            queue.put_nowait(user_id)
        tallies = await asyncio.gather(
            *(self._sender(run_id, queue, render) for _ in range(min(SENDERS, len(recipients))))
        )
        if not queue.empty():
            raise Interrupted  # the rows know who is still to get it: the next start resumes
        return Tally(
            sent=sum(t.sent for t in tallies),
            blocked=sum(t.blocked for t in tallies),
            failed=sum(t.failed for t in tallies),
        )

    async def _sender(
        self, run_id: int, queue: asyncio.Queue[int], render: Callable[[int], Outgoing]
    ) -> Tally:
        sent = blocked = failed = 0
        while not queue.empty() and not self._stopping.is_set():
            user_id = queue.get_nowait()
            outcome = await self._send_one(run_id, user_id, render(user_id))
            if outcome == "retry":
                queue.put_nowait(user_id)
            sent += outcome == "sent"
            blocked += outcome == "blocked"
            failed += outcome == "failed"
        return Tally(sent, blocked, failed)

    async def _send_one(self, run_id: int, user_id: int, message: Outgoing) -> str:
        await self._wait_out_flood_limit()
        async with self._limiter:
            try:
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
        loop = asyncio.get_running_loop()
        if error.retry_after > 0:
            self._resume_at = max(self._resume_at, loop.time() + error.retry_after)
        tries = await self._repo.attempt_failed(run_id, user_id, self._clock.now())
        if tries > self._config.max_retries:
            await self._repo.delivered(run_id, user_id, "failed", self._clock.now())
            log.warning("announcement delivery failed", extra={"run": run_id})
            return "failed"
        return "retry"

    async def _wait_out_flood_limit(self) -> None:
        delay = self._resume_at - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)
