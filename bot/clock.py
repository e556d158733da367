"""Time as a dependency: services ask a clock, tests move one."""

from __future__ import annotations

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
        self.set(self._now + delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)
        for listener in list(self._listeners):
            listener()

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
