"""The benchmarks still run (tiny loads), so `make bench` cannot rot unnoticed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import common, relay, roundtrip, run_all


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


def test_relay_bench_relays_both_ways_and_compares_with_a_bare_copy_bot(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "relay.json"
    argv = ["--residents", "3", "--mediators", "2", "--messages", "2", "--rounds", "1"]
    figures = relay.main([*argv, "--timeout", "10", "--json", str(out)])
    assert figures["baseline"]["messages"] == 6
    assert figures["to_mediator"]["messages"] == figures["to_resident"]["messages"] == 6
    assert figures["relay"]["messages"] == 12
    for name in ("baseline", "relay", "to_mediator", "to_resident"):
        assert figures[name]["throughput"] > 0
        assert 0 < figures[name]["p50_ms"] <= figures[name]["p99_ms"]
    assert figures["ratio"]["throughput"] > 0
    assert sorted(figures["cases_per_mediator"]) == [1, 2]  # every case accepted, spread
    # Every relayed message is one copyMessage, for the bare bot and for Da'asao alike.
    for name in ("baseline", "to_mediator", "to_resident"):
        assert figures["calls_per_message"][name]["copymessage"] == 1.0
    assert json.loads(out.read_text(encoding="utf-8")) == figures
    assert "relay/baseline: throughput x" in capsys.readouterr().out


def test_run_all_finds_every_bench() -> None:
    modules = run_all.bench_modules()
    assert roundtrip in modules
    assert relay in modules
    assert common not in modules  # helpers, no main()


def test_percentile_is_nearest_rank() -> None:
    assert common.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0
    assert common.percentile([3.0, 1.0, 2.0, 4.0], 99) == 4.0
    assert common.percentile([7.0], 99) == 7.0


def test_calls_per_message_counts_only_what_a_phase_added() -> None:
    before = {"getupdates": 5, "copymessage": 2}
    after = {"getupdates": 7, "copymessage": 6, "sendmessage": 2}
    assert relay._calls_per_message(before, after, 4) == {
        "copymessage": 1.0,
        "getupdates": 0.5,
        "sendmessage": 0.5,
    }
