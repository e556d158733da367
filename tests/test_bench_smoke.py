"""The benchmarks still run (tiny loads), so `make bench` cannot rot unnoticed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import broadcast, common, copybot, district, relay, roundtrip, run_all, scale


def test_roundtrip_bench_returns_figures_for_both_bots(capsys: pytest.CaptureFixture[str]) -> None:
    figures = roundtrip.main(["--users", "2", "--messages", "2", "--timeout", "10"])
    for name in ("baseline", "daasao"):
        assert figures[name]["messages"] == 4
        assert figures[name]["throughput"] > 0
        assert 0 < figures[name]["p50_ms"] <= figures[name]["p99_ms"]
        assert figures[name]["peak_rss_mb"] > 0
    assert figures["ratio"]["throughput"] > 0
    printed = capsys.readouterr().out
    assert "daasao/baseline: throughput x" in printed


def test_relay_bench_measures_both_bots_in_their_own_processes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "relay.json"
    argv = ["--residents", "2", "--mediators", "1", "--messages", "2", "--rounds", "2"]
    tiny = ["--rate", "40", "--round-trips", "0,50", "--timeout", "20"]
    figures = relay.main([*argv, *tiny, "--json", str(out), "--logs", str(tmp_path / "logs")])
    assert set(figures["round_trips"]) == {"0", "50"}
    for trip, at in figures["round_trips"].items():
        for name in ("bare", "daasao"):
            assert at[name]["messages"] == 8  # 2 conversations x 2 messages x 2 ways
            assert 0 < at[name]["p50_ms"] <= at[name]["p99_ms"] < 5000
            assert at[name]["p50_ms"] >= float(trip)  # a copy takes a round trip at least
            assert at[name]["cpu_ms_per_message"] >= 0
            # Every relayed message is one copyMessage, for the bare bot and Da'asao alike.
            assert at[name]["calls_per_message"]["copymessage"] == 1.0
        assert at["to_mediator"]["messages"] == at["to_resident"]["messages"] == 4
        assert at["added_ms"]["p99"] == at["daasao"]["p99_ms"] - at["bare"]["p99_ms"]
    assert figures["cpu_ms_per_message"]["daasao"] > 0 and figures["ratio"]["cpu"] > 0
    assert 20 < figures["peak_rss_mb"]["bare"] < 1000 and figures["ratio"]["rss"] > 0
    assert figures["goals"]["added_p99_ms"]["value"] is None  # not run at 150 ms
    assert figures["cases_per_mediator"] == [2]
    assert json.loads(out.read_text(encoding="utf-8")) == figures
    printed = capsys.readouterr().out
    for line in ("CPU per message: daasao", "latency added at p99", "peak RSS: daasao"):
        assert line in printed
    assert "(goal <= x1.5: " in printed and "(goal <= 10 ms: not run)" in printed


def test_relay_bench_refuses_sizes_the_flood_guard_would_cut() -> None:
    with pytest.raises(SystemExit, match="flood guard"):
        relay.main(["--residents", "40", "--mediators", "1", "--rate", "100"])
    with pytest.raises(SystemExit, match="--rounds"):
        relay.main(["--messages", "2", "--rounds", "3"])


def test_run_all_finds_every_bench() -> None:
    modules = run_all.bench_modules()
    assert roundtrip in modules
    assert relay in modules
    assert broadcast in modules and scale in modules
    assert district not in modules  # the scale bench's seeding, no main()
    assert common not in modules  # helpers, no main()
    assert copybot not in modules  # the relay bench's baseline bot: it would serve forever


def test_percentile_is_nearest_rank() -> None:
    assert common.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0
    assert common.percentile([3.0, 1.0, 2.0, 4.0], 99) == 4.0
    assert common.percentile([7.0], 99) == 7.0


def test_relay_rounds_share_the_messages_out() -> None:
    assert relay.shares(20, 4) == [5, 5, 5, 5]
    assert relay.shares(5, 3) == [2, 2, 1]
