"""The broadcast benchmark runs and its figures make sense (tiny size; not a timing test)."""

from __future__ import annotations

from bench import broadcast


def test_broadcast_bench_reaches_everyone_once_beside_conversations_and_alarms() -> None:
    args = ["--subscribers", "40", "--rate", "30", "--timeout", "60", "--relay-baseline", "3"]
    result = broadcast.main([*args, "--alarms", "2"])
    assert result["duplicates"] == 0
    assert result["misses"] == 0
    assert result["achieved_rate"] > 0
    relay = result["relay"]
    assert relay["without"]["messages"] == 12  # three rounds, a message each way, two talks
    assert relay["during"]["messages"] >= 4
    assert result["rate_goal"] == broadcast.GOAL_BESIDE
    found = result["alarms"]
    for phase in ("without", "during"):
        assert found[phase]["count"] == 2
        assert 0 < found[phase]["numbers_p50_ms"] <= found[phase]["numbers_max_ms"]
        assert 0 < found[phase]["cards_p50_ms"] <= found[phase]["cards_max_ms"]


def test_broadcast_bench_alone_has_no_relay_figures() -> None:
    result = broadcast.main(["--subscribers", "20", "--rate", "30", "--relay-rate", "0"])
    assert result["misses"] == 0
    assert result["relay"] is None
    assert result["alarms"] is None
    assert result["rate_goal"] == broadcast.GOAL_ALONE
