"""The database owner: file mode, pragmas, migrations, transactions, crash safety."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.core.pacing import BROADCAST, CONVERSATION
from storage.db import (
    CHECKPOINT_EVERY_S,
    PATIENCE_S,
    QUIET_S,
    Database,
    Migration,
    SchemaTooNewError,
    bundled_migrations,
    load_migrations,
)

LATEST = bundled_migrations()[-1].version


async def test_new_database_is_private_wal_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "bot.sqlite3"
    db = await Database.open(path)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
        assert (await db.fetch_one("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
        assert (await db.fetch_one("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
        assert await db.schema_version() == LATEST
    finally:
        await db.close()


async def test_deleted_text_is_zeroed_and_never_copied_to_a_temporary_file(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    try:
        assert (await db.fetch_one("PRAGMA secure_delete"))[0] == 1  # type: ignore[index]
        assert (await db.fetch_one("PRAGMA temp_store"))[0] == 2  # type: ignore[index]  # memory
    finally:
        await db.close()


async def test_database_files_stay_private_whatever_the_umask(tmp_path: Path) -> None:
    """With a umask that would let everyone read: the folder made for the database is 0700,
    the database and SQLite's -wal and -shm files beside it are 0600, and a database file
    someone made readable is tightened again at the next start."""
    path = tmp_path / "data" / "state" / "bot.sqlite3"
    previous = os.umask(0)
    try:
        db = await Database.open(path)
        try:
            await db.execute("CREATE TABLE written (x)")
            files = [path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")]
            modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
            assert modes == dict.fromkeys(modes, 0o600)
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        finally:
            await db.close()
        path.chmod(0o644)
        await (await Database.open(path)).close()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(previous)


async def test_reopening_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await (await Database.open(path)).close()
    db = await Database.open(path)
    try:
        assert await db.migrate(bundled_migrations()) == []
        assert await db.schema_version() == LATEST
    finally:
        await db.close()


async def test_migrations_apply_in_order_and_only_once(tmp_path: Path) -> None:
    first = [Migration(1, "0001_a.sql", "CREATE TABLE a (x);")]
    both = [*first, Migration(2, "0002_b.sql", "CREATE TABLE b (y);")]
    db = await Database.open(tmp_path / "t.sqlite3", first)
    try:
        assert await db.migrate(both) == [2]
        assert await db.migrate(both) == []
        assert await db.schema_version() == 2
    finally:
        await db.close()


async def test_database_newer_than_code_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    newer = [*bundled_migrations(), Migration(LATEST + 1, "9999_future.sql", "CREATE TABLE f (x);")]
    await (await Database.open(path, newer)).close()
    with pytest.raises(SchemaTooNewError, match="upgrade the bot"):
        await Database.open(path)


async def test_rows_an_older_run_left_in_the_outbox_keep_their_order(tmp_path: Path) -> None:
    """Before 0019 the outbox spoke 0 conversation, 2 broadcast; now 0 is urgent alerts."""
    path = tmp_path / "bot.sqlite3"
    before = [m for m in bundled_migrations() if m.version < 19]
    db = await Database.open(path, before)
    for priority in (0, 2):
        await db.execute(
            "INSERT INTO outbox (chat_id, priority, purpose, payload, created_at)"
            " VALUES (1, ?, 'message', '{}', '2026-03-02T00:00:00Z')",
            (priority,),
        )
    await db.close()
    db = await Database.open(path)
    try:
        rows = await db.fetch_all("SELECT priority FROM outbox ORDER BY id")
        assert [row[0] for row in rows] == [CONVERSATION, BROADCAST]
    finally:
        await db.close()


async def test_failed_migration_leaves_previous_version(tmp_path: Path) -> None:
    broken = [
        Migration(1, "0001_a.sql", "CREATE TABLE a (x);"),
        Migration(2, "0002_bad.sql", "CREATE TABLE b (y); INSERT INTO nowhere VALUES (1);"),
    ]
    with pytest.raises(Exception, match="no such table"):
        await Database.open(tmp_path / "t.sqlite3", broken)
    db = await Database.open(tmp_path / "t.sqlite3", broken[:1])
    try:
        assert await db.schema_version() == 1
        assert await db.fetch_one("SELECT name FROM sqlite_master WHERE name = 'b'") is None
    finally:
        await db.close()


def test_migration_files_must_be_numbered_without_gaps() -> None:
    with pytest.raises(RuntimeError, match="expected version 0002"):
        load_migrations([("0001_a.sql", ""), ("0003_c.sql", "")])
    assert [m.version for m in load_migrations([("0002_b.sql", ""), ("0001_a.sql", "")])] == [1, 2]


async def test_transaction_rolls_back_the_whole_use_case(tmp_path: Path) -> None:
    db = await Database.open(
        tmp_path / "t.sqlite3", [Migration(1, "0001_a.sql", "CREATE TABLE a (x);")]
    )
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO a VALUES (1)")
                await db.execute("INSERT INTO a VALUES (2)")  # joins the open transaction
                raise RuntimeError("use case failed")
        assert await db.fetch_all("SELECT x FROM a") == []
    finally:
        await db.close()


async def test_concurrent_transactions_do_not_interleave(tmp_path: Path) -> None:
    db = await Database.open(
        tmp_path / "t.sqlite3", [Migration(1, "0001_a.sql", "CREATE TABLE a (x);")]
    )

    async def read_then_write() -> None:
        async with db.transaction() as conn:
            row = await db.fetch_one("SELECT count(*) FROM a")
            await asyncio.sleep(0)
            await conn.execute("INSERT INTO a VALUES (?)", (row[0],))  # type: ignore[index]

    try:
        await asyncio.gather(*(read_then_write() for _ in range(20)))
        values = [row[0] for row in await db.fetch_all("SELECT x FROM a ORDER BY x")]
        assert values == list(range(20))
    finally:
        await db.close()


async def test_background_work_waits_for_a_quiet_moment(tmp_path: Path) -> None:
    """A use case that arrives while the purge waits goes first; the purge's batch starts
    only once nobody has touched the database for QUIET_S, and is atomic as ever."""
    db = await Database.open(
        tmp_path / "t.sqlite3", [Migration(1, "0001_a.sql", "CREATE TABLE a (x TEXT);")]
    )
    try:
        async with db.transaction() as conn:  # a use case holds the lock ...
            background = asyncio.create_task(_background_insert(db, "purge"))
            await asyncio.sleep(0.01)
            await conn.execute("INSERT INTO a VALUES ('first')")
        # ... and two more come right after it: each goes before the waiting batch.
        await db.execute("INSERT INTO a VALUES ('second')")
        await asyncio.sleep(QUIET_S / 4)
        await db.execute("INSERT INTO a VALUES ('third')")
        quiet_from = time.monotonic()
        started = await background
        assert started - quiet_from >= QUIET_S * 0.9
        rows = await db.fetch_all("SELECT x FROM a ORDER BY rowid")
        assert [row[0] for row in rows] == ["first", "second", "third", "purge"]
    finally:
        await db.close()


async def test_background_work_is_not_starved_by_steady_traffic(tmp_path: Path) -> None:
    """Statements every few ms, never a quiet moment: the batch still runs after
    PATIENCE_S, between two of them."""
    db = await Database.open(
        tmp_path / "t.sqlite3", [Migration(1, "0001_a.sql", "CREATE TABLE a (x TEXT);")]
    )
    stop = asyncio.Event()

    async def traffic() -> None:
        while not stop.is_set():
            await db.execute("INSERT INTO a VALUES ('message')")
            await asyncio.sleep(QUIET_S / 4)

    try:
        steady = asyncio.create_task(traffic())
        asked = time.monotonic()
        started = await asyncio.wait_for(_background_insert(db, "purge"), PATIENCE_S * 3)
        stop.set()
        await steady
        assert PATIENCE_S * 0.9 <= started - asked < PATIENCE_S * 2
        purged = await db.fetch_all("SELECT x FROM a WHERE x = 'purge'")
        assert len(purged) == 1
    finally:
        await db.close()


async def test_a_use_case_waits_for_one_batch_at_most(tmp_path: Path) -> None:
    """Back-to-back background batches of 30 ms (the purge's size), and a message whose
    five statements come 2 ms apart: it waits for the batch under way, then goes through
    without another batch slipping in between its statements."""
    db = await Database.open(
        tmp_path / "t.sqlite3", [Migration(1, "0001_a.sql", "CREATE TABLE a (x TEXT);")]
    )
    stop = asyncio.Event()
    batch_s = 0.03

    async def purge() -> None:
        while not stop.is_set():
            async with db.background_transaction() as conn:
                await conn.execute("INSERT INTO a VALUES ('purge')")
                await asyncio.sleep(batch_s)

    async def message() -> float:
        started = time.monotonic()
        for _ in range(5):
            await db.execute("INSERT INTO a VALUES ('message')")
            await asyncio.sleep(0.002)
        return time.monotonic() - started

    try:
        purging = asyncio.create_task(purge())
        took = []
        for _ in range(5):
            await asyncio.sleep(0.1)  # a quiet gap: the purge is under way again
            took.append(await message())
        stop.set()
        await purging
        assert max(took) < batch_s + 5 * 0.002 + 0.03, took  # one batch, five gaps, slack
    finally:
        await db.close()


async def test_the_wal_is_folded_back_beside_the_writer(tmp_path: Path) -> None:
    """Commits never checkpoint (below the writer's own limit), yet what they wrote reaches
    the database file within CHECKPOINT_EVERY_S: another connection folds the WAL back."""
    path = tmp_path / "t.sqlite3"
    db = await Database.open(path, [Migration(1, "0001_a.sql", "CREATE TABLE a (x TEXT);")])
    try:
        for n in range(50):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO a VALUES (?)", (f"row {n}",))
        await asyncio.sleep(CHECKPOINT_EVERY_S * 2.5)
        # immutable=1 reads the database file alone, ignoring the -wal file beside it.
        file_only = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            assert file_only.execute("SELECT count(*) FROM a").fetchone() == (50,)
        finally:
            file_only.close()
    finally:
        await db.close()


async def _background_insert(db: Database, value: str) -> float:
    """Insert `value` in a background transaction; when it started."""
    async with db.background_transaction() as conn:
        started = time.monotonic()
        await conn.execute("INSERT INTO a VALUES (?)", (value,))
    return started


SLOW_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from storage.db import Database, Migration, bundled_migrations
    slow = Migration(len(bundled_migrations()) + 1, "slow.sql", '''
        CREATE TABLE big (i INTEGER);
        WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000000)
        INSERT INTO big SELECT i FROM c;''')
    asyncio.run(Database.open(sys.argv[1], [*bundled_migrations(), slow]))
    """
)


@pytest.mark.slow
async def test_kill_during_migration_then_next_start_migrates(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", SLOW_CHILD, str(path)])
    wal = Path(f"{path}-wal")
    deadline = time.monotonic() + 30
    while not (wal.exists() and wal.stat().st_size > 2_000_000):
        assert child.poll() is None, "the slow migration ended before it could be killed"
        assert time.monotonic() < deadline, "the slow migration never started writing"
        await asyncio.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    fast = Migration(
        LATEST + 1, "slow.sql", "CREATE TABLE big (i INTEGER); INSERT INTO big VALUES (7);"
    )
    db = await Database.open(path, [*bundled_migrations(), fast])
    try:
        assert await db.schema_version() == LATEST + 1
        assert [row[0] for row in await db.fetch_all("SELECT i FROM big")] == [7]
    finally:
        await db.close()
