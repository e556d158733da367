"""The broadcast benchmark runs and its figures make sense (tiny size; not a timing test)."""

from __future__ import annotations

from bench import broadcast


def test_broadcast_bench_reaches_everyone_once() -> None:
    result = broadcast.main(["--subscribers", "40", "--rate", "30", "--timeout", "60"])
    assert result["duplicates"] == 0
    assert result["misses"] == 0
    assert result["achieved_rate"] > 0
