"""The round-trip benchmark still runs (tiny load), so `make bench` cannot rot unnoticed."""

from __future__ import annotations

import pytest

from bench import roundtrip, run_all


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


def test_run_all_finds_the_roundtrip_bench() -> None:
    assert roundtrip in run_all.bench_modules()


def test_percentile_is_nearest_rank() -> None:
    assert roundtrip.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0
    assert roundtrip.percentile([3.0, 1.0, 2.0, 4.0], 99) == 4.0
    assert roundtrip.percentile([7.0], 99) == 7.0
