"""bot.core.pacing.SendPacer on an event loop whose clock jumps instead of sleeping.

`VirtualTimeLoop` is a real asyncio loop whose `time()` only moves when the loop would wait
for a timer: it then jumps to that timer. Timings are exact, and a minute of pacing takes
milliseconds.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from bot.core.pacing import (
    BROADCAST,
    CONVERSATION,
    LIMIT_WINDOW,
    URGENT,
    SendPacer,
    is_self_paced,
    self_paced,
)

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    """Polls without blocking; when nothing is ready, the loop's clock jumps the wait."""

    def __init__(self, loop_time: list[float]) -> None:
        super().__init__()
        self._time = loop_time

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if not events and timeout is None:
            raise RuntimeError("deadlock: nothing ready and no timer set")
        if not events and timeout:
            self._time[0] += timeout
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._time = [1000.0]
        super().__init__(_JumpingSelector(self._time))

    def time(self) -> float:
        return self._time[0]

    def busy(self, seconds: float) -> None:
        """As if the running callback had kept the loop busy this long."""
        self._time[0] += seconds


def run(main: Coroutine[Any, Any, T]) -> T:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()


def now() -> float:
    return asyncio.get_running_loop().time()


async def slot_times(pacer: SendPacer, count: int, *, senders: int = 8) -> list[float]:
    """`senders` tasks take slots until `count` went out; when each slot came."""
    times: list[float] = []

    async def sender() -> None:
        while len(times) < count:
            await pacer.take(BROADCAST)
            times.append(now())

    await asyncio.gather(*(sender() for _ in range(senders)))
    return times[:count]


def most_in_any(times: list[float], window: float) -> int:
    """The most slots within any `window` seconds (a window open at its far end)."""
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_the_rate_holds_on_the_grid() -> None:
    async def main() -> list[float]:
        return await slot_times(SendPacer(20, limit=100), 200)

    times = run(main())
    for k, moment in enumerate(times):
        assert moment == pytest.approx(times[0] + k / 20)  # every 50 ms, no burst at first


def test_at_the_limit_30_a_second_go_evenly_at_least_the_window_apart() -> None:
    async def main() -> tuple[float, list[float]]:
        pacer = SendPacer(30)
        return pacer.rate, await slot_times(pacer, 600)

    rate, times = run(main())
    assert rate == pytest.approx(30 / LIMIT_WINDOW)
    assert most_in_any(times, LIMIT_WINDOW) == 30
    for k, moment in enumerate(times):
        assert moment == pytest.approx(times[0] + k * LIMIT_WINDOW / 30)


def test_at_29_a_second_the_window_costs_nothing() -> None:
    async def main() -> list[float]:
        return await slot_times(SendPacer(29), 300)

    times = run(main())
    assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(29, rel=1e-9)
    assert most_in_any(times, LIMIT_WINDOW) == 30  # the window never had to step in


def test_a_stall_makes_up_at_most_three_slots_and_idling_none() -> None:
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        pacer = SendPacer(10, limit=100)
        start = now()
        loop.call_at(start + 0.25, loop.busy, 0.06)  # the slot due at 0.3 goes at 0.31
        loop.call_at(start + 0.45, loop.busy, 0.17)  # 0.5 and 0.6 go at 0.62
        loop.call_at(start + 0.85, loop.busy, 0.57)  # 0.9 .. 1.4 missed, three made up
        return [round(t - start, 6) for t in await slot_times(pacer, 14, senders=3)]

    assert run(main()) == [
        *(0.0, 0.1, 0.2, 0.31, 0.4),  # 0.4 still on the grid after a late 0.31
        *(0.62, 0.62, 0.7, 0.8),  # both late slots at once, then the grid again
        *(1.42, 1.42, 1.42, 1.42, 1.52),  # the late one and three made up; the grid anew
    ]


def test_slots_nobody_waited_for_are_not_made_up() -> None:
    async def main() -> list[float]:
        pacer = SendPacer(10, limit=100)
        await pacer.take(BROADCAST)
        await asyncio.sleep(1.0)  # idle for ten slots
        start = now()
        return [round(t - start, 6) for t in await slot_times(pacer, 3)]

    assert run(main()) == [0.0, 0.1, 0.2]


def test_a_lower_priority_number_goes_first_and_ties_keep_their_order() -> None:
    async def main() -> list[str]:
        pacer = SendPacer(10, limit=100)
        served: list[str] = []
        await pacer.take(BROADCAST)
        await pacer.take(BROADCAST)  # the grid is running: the next slot is 100 ms away

        async def wants(name: str, priority: int, after: float) -> None:
            await asyncio.sleep(after)
            await pacer.take(priority)
            served.append(name)

        await asyncio.gather(
            wants("broadcast 1", BROADCAST, 0.0),
            wants("broadcast 2", BROADCAST, 0.0),
            wants("broadcast 3", BROADCAST, 0.0),
            wants("reply", CONVERSATION, 0.01),
            wants("alert", URGENT, 0.02),
        )
        return served

    assert run(main()) == ["alert", "reply", "broadcast 1", "broadcast 2", "broadcast 3"]


def test_pause_holds_every_sender_for_retry_after_then_the_pace_resumes() -> None:
    async def main() -> list[float]:
        pacer = SendPacer(10, limit=100)
        times: list[float] = []

        async def sender() -> None:
            while len(times) < 10:
                await pacer.take(BROADCAST)
                times.append(now())
                if len(times) == 3:
                    pacer.pause(2.0)  # a 429 with retry_after 2

        start = now()
        await asyncio.gather(*(sender() for _ in range(4)))
        return [round(t - start, 6) for t in times[:10]]

    times = run(main())
    assert times[:3] == [0.0, 0.1, 0.2]
    assert times[3:] == [2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8]


def test_a_cancelled_wait_gives_its_slot_to_the_next() -> None:
    async def main() -> list[float]:
        pacer = SendPacer(10, limit=100)
        await pacer.take(BROADCAST)
        await pacer.take(BROADCAST)
        start = now()
        gives_up = asyncio.create_task(pacer.take(URGENT))
        waits = asyncio.create_task(pacer.take(BROADCAST))
        await asyncio.sleep(0.05)
        gives_up.cancel()
        await waits
        return [now() - start]

    assert run(main()) == [pytest.approx(0.1)]


def test_the_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate"):
        SendPacer(0)


def test_self_paced_marks_only_the_calls_inside() -> None:
    assert not is_self_paced()
    with self_paced():
        assert is_self_paced()
    assert not is_self_paced()
