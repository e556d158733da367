"""Send slots on a schedule, so that many senders share one budget of Telegram messages.

A sender awaits `SendPacer.take(priority)` before each Bot API send. Slots come at a fixed
rate on the event loop's clock, lowest priority number first (0: urgent alerts, 1: the
conversation, 2: broadcasts), in arrival order within a priority:

* On a grid: a slot handed out late (the loop was busy, the process was not scheduled)
  does not push the later ones back, so lateness does not add up to a lower rate. Slots
  missed while senders waited are made up at once, at most `CATCH_UP` of them: the stall
  left Telegram at least that much room. Slots nobody waited for are not made up, so an
  idle pacer starts without a burst.
* Never more than `limit` slots in any `window` seconds: Telegram takes about 30 messages a
  second from a bot, and a window a little over a second leaves room for sends that reach
  it a few milliseconds closer together than they left. A rate above `limit / window` is
  held there, evenly spaced (not 29 quick slots and a gap).
* `pause(seconds)`: Telegram answered 429 with retry_after; nobody gets a slot until then.

The pacer only hands out slots; how many sends are under way at once is the caller's choice
(bot/features/broadcast.py keeps enough in flight to cover the round trips).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

TELEGRAM_LIMIT = 30  # messages a second Telegram takes from one bot
# 30 slots span at least 1.01 s: a send may arrive up to 10 ms early and still not be the
# 31st in a second. At 29/s this never binds; at 30/s it holds the pace at 29.7/s (with
# 1.02 it held 29.4/s, and each 429 under load, a second's pause, took it below 97%).
LIMIT_WINDOW = 1.01

URGENT, CONVERSATION, BROADCAST = 0, 1, 2  # priorities: lower goes first
CATCH_UP = 3  # missed slots made up after a stall: at most 4 sends at once

_self_paced: ContextVar[bool] = ContextVar("self_paced", default=False)


class SendPacer:
    """`rate` send slots a second, at most `limit` in any `window` seconds."""

    def __init__(
        self, rate: float, *, limit: int = TELEGRAM_LIMIT, window: float = LIMIT_WINDOW
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be more than 0, not {rate}")
        if limit < 1 or not window > 0:
            raise ValueError(f"need limit >= 1 and window > 0, not {limit} in {window}")
        self._interval = max(1 / rate, window / limit)
        self._window = window
        self._recent: deque[float] = deque(maxlen=limit)  # when the last `limit` slots went
        self._next = -math.inf  # grid time of the next slot
        self._resume_at = -math.inf  # no slot before this (a 429's retry_after)
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []  # a heap
        self._arrivals = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def rate(self) -> float:
        """Slots a second: as asked, or `limit / window` if that is less."""
        return 1 / self._interval

    async def take(self, priority: int) -> None:
        """Wait for a slot; a lower `priority` number is served first. Cancellable."""
        loop = asyncio.get_running_loop()
        if self._first_waiter() is None:  # idle: past slots were unused, not missed
            self._next = max(self._next, loop.time())
        future = loop.create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrivals), future))
        self._hand_out()
        await future

    def pause(self, seconds: float) -> None:
        """No slot for anyone during the next `seconds` (Telegram's retry_after)."""
        now = asyncio.get_running_loop().time()
        self._resume_at = max(self._resume_at, now + seconds)
        self._hand_out()  # re-arms the timer for the later time

    def _hand_out(self) -> None:
        """Give every slot that is due to the best waiter; arm a timer for the next one."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        loop = asyncio.get_running_loop()
        while self._first_waiter() is not None:
            now = loop.time()
            due = self._due()
            if due > now:
                self._timer = loop.call_at(due, self._hand_out)
                return
            _, _, future = heapq.heappop(self._waiting)
            future.set_result(None)
            # Late, the slot keeps its place on the grid, so the next ones are due at once;
            # after a long stall the grid starts again CATCH_UP slots back.
            slot = max(due, now - CATCH_UP * self._interval)
            self._next = slot + self._interval
            self._recent.append(now)

    def _due(self) -> float:
        """The earliest loop time the next slot may go out."""
        due = max(self._next, self._resume_at)
        if len(self._recent) == self._recent.maxlen:
            due = max(due, self._recent[0] + self._window)
        return due

    def _first_waiter(self) -> asyncio.Future[None] | None:
        """The waiter to serve next, dropping those that gave up (cancelled)."""
        while self._waiting and self._waiting[0][2].done():
            heapq.heappop(self._waiting)
        return self._waiting[0][2] if self._waiting else None


@contextmanager
def self_paced() -> Iterator[None]:
    """Bot API calls made in here are paced by their caller, who must hear of a 429 at once
    to pause every sender: the wiring (bot/app.py) neither waits nor retries for them."""
    token = _self_paced.set(True)
    try:
        yield
    finally:
        _self_paced.reset(token)


def is_self_paced() -> bool:
    """Whether the current call was made inside `self_paced()`."""
    return _self_paced.get()
