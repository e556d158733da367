"""The scale bench still runs, on a tiny district, so `make bench` cannot rot unnoticed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import scale
from bench.district import CLOSED, OPEN, Landmarks, Sizes, build
from storage.db import Database


def test_scale_bench_times_everything_on_a_tiny_district(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAASAO_BENCH_CACHE", str(tmp_path / "cache"))  # built afresh
    out = tmp_path / "scale.json"
    figures = scale.main(["--tiny", "--baseline", "2", "--json", str(out), "--logs",
                          str(tmp_path / "logs")])  # fmt: skip
    assert 0 < figures["startup_s"] < 30
    assert set(figures["commands_s"]) == {c.label for c in scale.commands(_marks())}
    assert all(0 < seconds < 30 for seconds in figures["commands_s"].values())
    # Every sampled message's copy arrived in the other chat (deliver waits for each one).
    without, during = (
        figures["relay_without"]["messages"],
        figures["relay_during_purge"]["messages"],
    )
    assert without >= during and without >= 2 * 2 * scale.TINY.pairs
    assert figures["relay_during_purge"]["messages"] >= 2 * scale.TINY.pairs
    assert figures["purge"]["cases"] > 0
    assert figures["peak_rss_mb"] > 0 and figures["db_mb"]["before"] > 0
    assert json.loads(out.read_text(encoding="utf-8"))["purge"] == figures["purge"]
    printed = capsys.readouterr().out
    assert "goal <= 2 s" in printed and "relay p99 added by the purge" in printed


def _marks() -> Landmarks:
    return Landmarks(0, 0, 0, "", (), ())


async def test_the_seeded_district_holds_every_state_and_a_message_id_once_a_chat(
    tmp_path: Path,
) -> None:
    # One year of cases, so that enough are recent to be open; the tiny district has too
    # few of them to meet every open state.
    sizes = Sizes(residents=200, cases=400, years=1, areas=5, entries=800, subscribers=10,
                  reminders=20, long_case=20, resident_cases=5, pairs=2)  # fmt: skip
    path = tmp_path / "district.sqlite3"
    await build(path, sizes, datetime.now(UTC))
    db = await Database.open(path)
    try:
        rows = await db.fetch_all("SELECT state, COUNT(*) FROM cases GROUP BY state")
        repeated = await db.fetch_all(
            "SELECT chat_id, message_id FROM case_messages GROUP BY 1, 2 HAVING COUNT(*) > 1"
        )
    finally:
        await db.close()
    seeded = {str(row[0]): int(row[1]) for row in rows}
    assert set(seeded) == {name for name, _ in OPEN + CLOSED}
    assert sum(seeded.values()) == sizes.cases
    assert repeated == []  # a chat's message ids are its own, as in Telegram
