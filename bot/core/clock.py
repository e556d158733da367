"""Time as a dependency: services ask a clock, tests move one."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

Listener = Callable[[], None]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""
        ...

    def subscribe(self, listener: Listener) -> None:
        """Be told when the clock jumps (only a fake clock ever does)."""
        ...

    def unsubscribe(self, listener: Listener) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def subscribe(self, listener: Listener) -> None:
        """Real time never jumps."""

    def unsubscribe(self, listener: Listener) -> None:
        """Nothing to forget."""


class FakeClock:
    """A clock that stands still until it is told to move (tests, playground)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._listeners: list[Listener] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self._jump(delta)
        return self.now()

    def set(self, moment: datetime) -> None:
        self._jump(moment.astimezone(UTC) - self.now())

    def _jump(self, delta: timedelta) -> None:
        """Move by `delta`, then tell every subscriber (the timers re-time their jobs)."""
        self._now += delta
        for listener in list(self._listeners):
            listener()

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)


class MovableClock(FakeClock):
    """Real time that can also jump forward (the playground's "+1 day" button).

    `now()` is the start plus the real time elapsed since plus every jump so far; a jump tells
    the subscribers, exactly as `FakeClock` does, so timers re-time their jobs.
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        elapsed: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(start or datetime.now(UTC))
        self._start = self._now
        self._elapsed = elapsed
        self._origin = elapsed()

    def now(self) -> datetime:
        return self._now + timedelta(seconds=self._elapsed() - self._origin)

    @property
    def offset(self) -> timedelta:
        """How far the jumps have moved this clock ahead of (or behind) real time."""
        return self._now - self._start
