"""Case numbers: QJS-2026-0007, per local calendar year, unique and gap-free under concurrency."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.cases import NewCase
from storage.cases import CaseRepository
from storage.db import Database
from storage.users import UserRepository

NOW = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


RESIDENT = 1001
CASE = NewCase(
    resident_id=RESIDENT,
    pseudonym="R-1000",
    area_id="dongsheng",
    category="other",
    urgent=False,
    contact="chat",
    phone=None,
)


async def _open(path: Path) -> Database:
    db = await Database.open(path)
    await UserRepository(db).upsert_seen(RESIDENT, "zh-hans", NOW)
    return db


async def _numbers(db: Database) -> list[str]:
    return [row[0] for row in await db.fetch_all("SELECT number FROM cases ORDER BY seq")]


async def test_fifty_concurrent_registrations_get_fifty_gap_free_numbers(tmp_path: Path) -> None:
    db = await _open(tmp_path / "bot.sqlite3")
    cases = CaseRepository(db)

    async def register() -> str:
        async with db.transaction():
            await asyncio.sleep(0)  # let the others run into the lock
            return (await cases.create(CASE, "QJS", 2026, NOW)).number

    try:
        numbers = await asyncio.gather(*(register() for _ in range(50)))
        assert sorted(numbers) == [f"QJS-2026-{n:04d}" for n in range(1, 51)]
        assert await _numbers(db) == sorted(numbers)
    finally:
        await db.close()


async def test_a_failed_registration_leaves_no_gap(tmp_path: Path) -> None:
    db = await _open(tmp_path / "bot.sqlite3")
    cases = CaseRepository(db)
    try:
        async with db.transaction():
            await cases.create(CASE, "QJS", 2026, NOW)
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await cases.create(CASE, "QJS", 2026, NOW)
                raise RuntimeError("routing failed")
        async with db.transaction():
            await cases.create(CASE, "QJS", 2026, NOW)
        assert await _numbers(db) == ["QJS-2026-0001", "QJS-2026-0002"]
    finally:
        await db.close()


async def test_each_year_starts_again_at_one(tmp_path: Path) -> None:
    db = await _open(tmp_path / "bot.sqlite3")
    cases = CaseRepository(db)
    try:
        for year in (2026, 2026, 2027):
            async with db.transaction():
                await cases.create(CASE, "QJS", year, NOW)
        assert await _numbers(db) == ["QJS-2026-0001", "QJS-2027-0001", "QJS-2026-0002"]
    finally:
        await db.close()


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    from storage.cases import CaseRepository, NewCase
    from storage.db import Database

    async def main() -> None:
        db = await Database.open(sys.argv[1])
        cases = CaseRepository(db)
        case = NewCase(1001, "R-1000", "dongsheng", "other", False, "chat", None)
        for _ in range(25):
            async with db.transaction():
                await cases.create(case, "QJS", 2026, datetime.now(UTC))
        await db.close()

    asyncio.run(main())
    """
)


@pytest.mark.slow
async def test_two_processes_registering_at_once_share_one_sequence(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await (await _open(path)).close()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path)]) for _ in range(2)]
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    db = await Database.open(path)
    try:
        assert await _numbers(db) == [f"QJS-2026-{n:04d}" for n in range(1, 51)]
    finally:
        await db.close()
