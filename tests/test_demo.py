"""The playground's demo data: seeded once with the bot's repositories, removed exactly."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.core.config import Config, load_config
from bot.domain.cases import NewCase
from bot.domain.roster import Slot
from playground.demo import CASES, DEMO_PEOPLE, MEDIATORS, RESIDENTS, remove, seed
from storage.cases import CaseRepository
from storage.db import Database
from storage.members import MemberRepository
from storage.reminders import ReminderRepository
from storage.roster import RosterRepository
from storage.users import UserRepository

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # Wednesday 20:00 in Shanghai
REAL_RESIDENT, REAL_MEDIATOR = 987654321, 987654322


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The example config (the five demo areas) with a database in tmp_path."""
    example = load_config(REPO / "config.example.toml", env={})
    storage = dataclasses.replace(example.storage, path=tmp_path / "data" / "bot.sqlite3")
    return dataclasses.replace(example, storage=storage)


@pytest.fixture
async def db(config: Config) -> AsyncIterator[Database]:
    database = await Database.open(config.storage.path)
    yield database
    await database.close()


async def _count(db: Database, sql: str) -> int:
    row = await db.fetch_one(sql)
    assert row is not None
    return int(row[0])


async def test_seeding_writes_the_whole_cast_once(db: Database, config: Config) -> None:
    assert await seed(db, config, NOW)
    assert not await seed(db, config, NOW)  # a second start keeps what is there
    members = MemberRepository(db)
    mediators = await members.active("mediator")
    assert len(mediators) == 12
    assert {m.area_id for m in mediators} == {area.id for area in config.areas}
    assert all(m.display_name for m in mediators)
    assert [m.user_id for m in await members.active("head")] == [2100]
    assert [m.user_id for m in await members.active("adviser")] == [2200]
    assert {m.user_id for m in await members.active("staff")} == {3001, 3002}
    slots = await RosterRepository(db).slots()
    assert len(slots) == 24
    assert {s.mediator_id for s in slots} == {m.id for m in MEDIATORS}
    assert await _count(db, "SELECT count(*) FROM demo_people") == len(DEMO_PEOPLE)
    assert await _count(db, "SELECT count(*) FROM subscribers WHERE active = 1") == 3
    rows = await db.fetch_all("SELECT state, outcome_text FROM cases ORDER BY id")
    assert sorted(r[0] for r in rows) == ["not_settled", "settled", "settled", "settled"]
    assert all(r[1].startswith("【演示】") for r in rows)


async def test_the_seeded_timers_fall_due_at_the_next_revisit_hour(
    db: Database, config: Config
) -> None:
    await seed(db, config, NOW)
    pending = {r.job_id.split(":")[0]: r.due_at for r in await ReminderRepository(db).open()}
    hour = datetime.combine(NOW.date() + timedelta(days=1), time(10), config.locale.zone)
    assert pending["survey"] == hour  # 20:00 now: tomorrow at 10:00, within "+1 day"
    assert pending["announce"] == hour
    revisits = sorted(r.due_at for r in await ReminderRepository(db).open() if r.kind == "revisit")
    assert revisits[0] == hour
    assert all(due > NOW for due in revisits)
    new_resident = RESIDENTS[0]
    user = await UserRepository(db).get(new_resident.id)
    assert user is not None and user.consented_at is None  # sees the privacy notice first


async def _real_data(db: Database, config: Config) -> str:
    """A real resident, mediator, roster slot and case, registered after the demo ones."""
    users, members = UserRepository(db), MemberRepository(db)
    await users.upsert_seen(REAL_RESIDENT, "zh-hans", NOW)
    await users.upsert_seen(REAL_MEDIATOR, "zh-hans", NOW)
    await members.save(REAL_MEDIATOR, "mediator", "dongsheng", NOW)
    await RosterRepository(db).add_slots([Slot("dongsheng", 0, time(9), time(11), REAL_MEDIATOR)])
    case = NewCase(REAL_RESIDENT, "R-1234", "dongsheng", "family", False, "chat", None)
    async with db.transaction():
        created = await CaseRepository(db).create(case, "QJS", 2026, NOW)
    return created.number


async def test_removal_deletes_exactly_the_demo_data(db: Database, config: Config) -> None:
    await seed(db, config, NOW)
    number = await _real_data(db, config)
    for user_id in (RESIDENTS[0].id, REAL_RESIDENT):  # what the bot sent them, say
        await db.execute(
            "INSERT INTO sent_messages (user_id, message_id, at) VALUES (?, 1, ?)",
            (user_id, NOW.isoformat()),
        )
    assert number == f"QJS-2026-{len(CASES) + 1:04d}"
    removed = await remove(db)
    assert removed.people == len(DEMO_PEOPLE)
    assert removed.cases == len(CASES)
    assert await _count(db, "SELECT count(*) FROM users") == 2
    assert [m.user_id for m in await MemberRepository(db).active()] == [REAL_MEDIATOR]
    assert [s.mediator_id for s in await RosterRepository(db).slots()] == [REAL_MEDIATOR]
    assert await CaseRepository(db).get_by_number(number) is not None
    for table in ("case_events", "offers", "revisits", "surveys", "subscribers", "announcements"):
        assert await _count(db, f"SELECT count(*) FROM {table}") == 0, table
    assert await ReminderRepository(db).open() == []
    kept = await db.fetch_all("SELECT user_id FROM sent_messages")
    assert [row[0] for row in kept] == [REAL_RESIDENT]
    assert await db.fetch_all("PRAGMA foreign_key_check") == []
    # The real case keeps its number; the next one follows it, no number is given twice.
    assert await _count(db, "SELECT last_seq FROM case_counters WHERE year = 2026") == 5
    assert (await remove(db)).people == 0


async def test_without_real_cases_numbering_starts_again_at_one(
    db: Database, config: Config
) -> None:
    await seed(db, config, NOW)
    await remove(db)
    case = NewCase(None, "R-1", "dongsheng", "family", False, "chat", None)
    async with db.transaction():
        created = await CaseRepository(db).create(case, "QJS", 2026, NOW)
    assert created.number == "QJS-2026-0001"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
async def test_the_demo_remove_command(config: Config, tmp_path: Path) -> None:
    database = await Database.open(config.storage.path)
    try:
        await seed(database, config, NOW)
    finally:
        await database.close()
    path = tmp_path / "config.toml"
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    old = 'path = "data/daasao.sqlite3"'
    assert text.count(old) == 1
    path.write_text(text.replace(old, f'path = "{config.storage.path.as_posix()}"'), "utf-8")
    first = _cli("demo", "remove", "--config", str(path))
    assert first.returncode == 0, first.stderr
    assert f"demo data removed from {config.storage.path}: " in first.stdout
    assert f"{len(DEMO_PEOPLE)} people, {len(CASES)} cases" in first.stdout
    second = _cli("demo", "remove", "--config", str(path))
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"no demo data in {config.storage.path}"
    usage = _cli("demo")
    assert usage.returncode == 2
    assert "ACTION" in usage.stderr
