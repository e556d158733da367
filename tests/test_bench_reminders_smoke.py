"""The reminders benchmark still runs (tiny sizes), so `make bench-reminders` cannot rot."""

from __future__ import annotations

import logging

import pytest

from bench import reminders, run_all


def test_reminders_bench_returns_positive_figures(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers = root.handlers[:]
    result = reminders.main(["--pending", "50", "--due", "10", "--timeout", "20"])
    assert root.handlers == handlers, "the bench must restore the logging setup"
    assert result["startup_empty_s"] > 0
    assert result["startup_pending_s"] > 0
    assert result["cards_delivered"] == 10
    assert result["firing_rate_msg_s"] > 0
    assert result["peak_rss_mb"] > 0
    runs = result["runs"]
    assert set(runs) == {"empty", "future", "due"}
    assert runs["future"]["pending"] == 50 and runs["future"]["cards"] == 0
    assert runs["due"]["fire_s"] > 0
    printed = capsys.readouterr().out
    assert "start-up:" in printed and "msg/s" in printed


def test_reminders_bench_refuses_more_due_than_pending() -> None:
    with pytest.raises(SystemExit):
        reminders.main(["--pending", "5", "--due", "6"])


def test_run_all_finds_the_reminders_bench_but_not_the_seeding_helper() -> None:
    names = {module.__name__ for module in run_all.bench_modules()}
    assert "bench.reminders" in names
    assert "bench.seeding" not in names
