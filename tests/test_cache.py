"""Read-through caches kept current by SQLite, queued writes, and the turn they take."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.cache import RowCache, Watch, trigger_statements
from storage.cases import CaseRecord, CaseRepository, MessagePart, NewCase
from storage.db import Database
from storage.members import MemberRepository
from storage.relay import RelayEntry, RelayRepository
from storage.users import UserRepository

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


async def _resident_with_case(db: Database, resident_id: int) -> CaseRecord:
    """A resident who wrote to the bot, and a new case of theirs."""
    await UserRepository(db).upsert_seen(resident_id, None, NOW)
    new = NewCase(resident_id, "R-1", "dongsheng", "neighbours", False, "chat", None)
    async with db.transaction():
        return await CaseRepository(db).create(new, "DS", 2026, NOW)


class Loads:
    """A load function that counts its calls and can be held mid-read."""

    def __init__(self, value: object) -> None:
        self.value, self.calls = value, 0
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> object:
        self.calls += 1
        await self.release.wait()
        return self.value


# -- RowCache on its own ----------------------------------------------------------------------


async def test_a_kept_value_is_served_without_loading_again() -> None:
    cache: RowCache[int, object] = RowCache("c", [], max_entries=10)
    load = Loads("first")
    assert await cache.get(1, load) == "first"
    load.value = "second"
    assert await cache.get(1, load) == "first"
    assert load.calls == 1
    cache.invalidate(1)
    assert await cache.get(1, load) == "second"


async def test_a_value_read_while_its_rows_changed_is_returned_but_not_kept() -> None:
    cache: RowCache[int, object] = RowCache("c", [], max_entries=10)
    load = Loads("old")
    load.release.clear()
    reading = asyncio.create_task(cache.get(1, load))
    await asyncio.sleep(0)
    cache.invalidate(1)  # the row changed while it was being read
    load.release.set()
    assert await reading == "old"
    load.value = "new"
    assert await cache.get(1, load) == "new"
    assert load.calls == 2


async def test_the_least_recently_used_entry_goes_first() -> None:
    cache: RowCache[int, object] = RowCache("c", [], max_entries=2)
    load = Loads("v")
    for key in (1, 2, 1, 3):  # 1 used again after 2: 2 is the one to go
        await cache.get(key, load)
    assert len(cache) == 2
    calls = load.calls
    await cache.get(1, load)
    await cache.get(3, load)
    assert load.calls == calls
    await cache.get(2, load)
    assert load.calls == calls + 1


async def test_keep_decides_what_is_kept() -> None:
    cache: RowCache[int, object] = RowCache("c", [], max_entries=10)
    load = Loads(None)
    await cache.get(1, load, keep=lambda value: value is not None)
    await cache.get(1, load, keep=lambda value: value is not None)
    assert load.calls == 2


async def test_a_failed_load_keeps_nothing_and_leaves_no_trace() -> None:
    cache: RowCache[int, object] = RowCache("c", [], max_entries=10)

    async def failing() -> object:
        raise RuntimeError("disk")

    with pytest.raises(RuntimeError):
        await cache.get(1, failing)
    assert len(cache) == 0
    assert await cache.get(1, Loads("after")) == "after"


def test_invalidation_from_other_threads_is_safe() -> None:
    cache: RowCache[int, object] = RowCache("c", [], max_entries=1000)

    async def fill() -> None:
        for key in range(1000):
            await cache.get(key, Loads(key))

    asyncio.run(fill())

    def invalidate_all(keys: range) -> None:
        for key in keys:
            cache.invalidate(key)

    threads = [
        threading.Thread(target=invalidate_all, args=(keys,))
        for keys in (range(0, 1000, 2), range(1, 1000, 2))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 0


def test_watched_names_are_plain_sql_names() -> None:
    with pytest.raises(ValueError, match="plain SQL name"):
        Watch("users; DROP TABLE users", ("id",))
    with pytest.raises(ValueError, match="plain SQL name"):
        RowCache("bad name", [], 10)
    cache: RowCache[int, object] = RowCache("c", [Watch("t", ("a",), ("DELETE",))], 10)
    assert trigger_statements(cache) == [
        "CREATE TEMP TRIGGER IF NOT EXISTS cache_c_t_a_delete AFTER DELETE ON main.t "
        "BEGIN SELECT daasao_row_changed('c', OLD.a); END"
    ]


# -- kept current by SQLite -------------------------------------------------------------------


async def test_any_write_to_a_watched_row_refreshes_the_cache(db: Database) -> None:
    users, members = UserRepository(db), MemberRepository(db)
    await users.upsert_seen(7, "zh-hans", NOW)
    assert (await members.seen(7)).language is None  # type: ignore[union-attr]
    # Written behind the repositories' backs: the trigger still reports it.
    await db.execute("UPDATE users SET language = 'en' WHERE id = 7")
    assert (await members.seen(7)).language == "en"  # type: ignore[union-attr]
    await db.execute(
        "INSERT INTO drafts (user_id, step, data, updated_at) VALUES (7, 'x', '{}', '')"
    )
    assert (await members.seen(7)).busy == "draft"  # type: ignore[union-attr]


async def test_cascades_refresh_the_cache_too(db: Database) -> None:
    """Rows changed by a foreign key action fire the triggers as well."""
    cases, relay = CaseRepository(db), RelayRepository(db)
    case = await _resident_with_case(db, 8)
    part = MessagePart("text", "你好", None, 8, 1)
    await relay.record(RelayEntry(case.id, "resident", part, "resident", (30, 2), True, NOW))
    assert len(await cases.open_of_resident(8)) == 1
    assert await relay.find(30, 2) is not None
    await db.execute("DELETE FROM users WHERE id = 8")  # cases.resident_id: SET NULL
    assert await cases.open_of_resident(8) == []
    await db.execute("DELETE FROM cases WHERE id = ?", (case.id,))  # relay_map: CASCADE
    assert await relay.find(30, 2) is None


async def test_a_hit_costs_no_database_round_trip(db: Database) -> None:
    users, members = UserRepository(db), MemberRepository(db)
    await users.upsert_seen(9, None, NOW)
    await members.seen(9)
    reads = 0
    original = db.fetch_all

    async def counting(*args: object, **kwargs: object) -> object:
        nonlocal reads
        reads += 1
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    db.fetch_all = counting  # type: ignore[method-assign,assignment]
    for _ in range(5):
        await members.seen(9)
    assert reads == 0


async def test_nothing_read_inside_a_transaction_is_kept(db: Database) -> None:
    users, members = UserRepository(db), MemberRepository(db)
    await users.upsert_seen(10, None, NOW)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.execute("UPDATE users SET language = 'en' WHERE id = 10")
            assert (await members.seen(10)).language == "en"  # type: ignore[union-attr]
            raise RuntimeError("rolled back")
    assert (await members.seen(10)).language is None  # type: ignore[union-attr]


async def test_other_connections_write_as_before(db: Database, tmp_path: Path) -> None:
    """The triggers are temporary, this connection's own: another process (the CLI, the
    sqlite3 shell) writes without knowing the cache's function."""
    await MemberRepository(db).seen(11)  # puts the triggers in place
    other = sqlite3.connect(tmp_path / "bot.sqlite3")
    try:
        other.execute("INSERT INTO users (id, created_at, updated_at) VALUES (11, '', '')")
        other.commit()
    finally:
        other.close()


async def test_the_open_cases_and_the_case_follow_their_rows(db: Database) -> None:
    cases = CaseRepository(db)
    case = await _resident_with_case(db, 12)
    assert [c.id for c in await cases.open_of_resident(12)] == [case.id]
    assert (await cases.get(case.id)).state == "new"  # type: ignore[union-attr]
    await db.execute("UPDATE cases SET state = 'withdrawn' WHERE id = ?", (case.id,))
    assert await cases.open_of_resident(12) == []
    assert (await cases.get(case.id)).state == "withdrawn"  # type: ignore[union-attr]


# -- queued inserts ---------------------------------------------------------------------------


async def test_a_queued_row_is_seen_by_everything_asked_for_after_it(db: Database) -> None:
    await db.execute("CREATE TABLE t (x)")
    await db.insert_behind("t (x)", (1,))
    assert [tuple(r) for r in await db.fetch_all("SELECT x FROM t")] == [(1,)]


async def test_queued_rows_keep_their_order_and_close_waits_for_them(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    await db.execute("CREATE TABLE t (x)")
    for x in range(50):
        await db.insert_behind("t (x)", (x,))
    await db.close()
    db = await Database.open(path)
    try:
        rows = await db.fetch_all("SELECT x FROM t ORDER BY rowid")
        assert [r[0] for r in rows] == list(range(50))
    finally:
        await db.close()


async def test_rows_queued_together_go_in_one_statement(db: Database) -> None:
    await db.execute("CREATE TABLE t (x)")
    statements: list[str] = []
    await db._conn.set_trace_callback(statements.append)  # the connection logs its statements
    for x in range(5):
        await db.insert_behind("t (x)", (x,))
    await db.fetch_all("SELECT 1")
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert inserts == ["INSERT INTO t (x) VALUES (0), (1), (2), (3), (4)"]


async def test_a_row_queued_after_another_statement_keeps_its_place(db: Database) -> None:
    """A row may join the statement of rows queued before it only if nothing else lined up
    in between: here the DELETE, asked for in between, must not see the later row."""
    await db.execute("CREATE TABLE t (x)")
    await db.insert_behind("t (x)", (1,))
    deleting = asyncio.create_task(db.execute("DELETE FROM t"))
    await asyncio.sleep(0)  # the DELETE lines up
    await db.insert_behind("t (x)", (2,))
    await deleting
    assert [r[0] for r in await db.fetch_all("SELECT x FROM t")] == [2]


async def test_a_bad_row_loses_only_itself(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    await db.execute("CREATE TABLE t (x INTEGER NOT NULL CHECK (x > 0))")
    with caplog.at_level(logging.ERROR, logger="storage.db"):
        for x in (1, -1, 2):
            await db.insert_behind("t (x)", (x,))
        await db.insert_behind("no_such_table (x)", (3,))
        rows = await db.fetch_all("SELECT x FROM t ORDER BY rowid")
        await asyncio.sleep(0)
    assert [r[0] for r in rows] == [1, 2]
    assert caplog.text.count("a queued row could not be inserted") == 2


async def test_a_queued_row_inside_a_transaction_is_part_of_it(db: Database) -> None:
    await db.execute("CREATE TABLE t (x)")
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.insert_behind("t (x)", (1,))
            raise RuntimeError("rolled back")
    assert await db.fetch_all("SELECT x FROM t") == []


async def test_cancelled_waiters_do_not_break_the_line(db: Database) -> None:
    """A statement cancelled while it waits its turn, and a queued write cancelled before it
    started, leave the others in order and one at a time."""
    await db.execute("CREATE TABLE t (x)")
    inside, leave = asyncio.Event(), asyncio.Event()

    async def long_transaction() -> None:
        async with db.transaction():
            await db.execute("INSERT INTO t VALUES ('first')")
            inside.set()
            await leave.wait()

    holder = asyncio.create_task(long_transaction())
    await inside.wait()
    waiter = asyncio.create_task(db.execute("INSERT INTO t VALUES ('cancelled')"))
    await db.insert_behind("t (x)", ("queued",))
    late = asyncio.create_task(db.execute("INSERT INTO t VALUES ('last')"))
    await asyncio.sleep(0.01)
    waiter.cancel()
    leave.set()
    await holder
    await late
    rows = await db.fetch_all("SELECT x FROM t ORDER BY rowid")
    assert [r[0] for r in rows] == ["first", "queued", "last"]


# -- one statement per relayed message --------------------------------------------------------


async def test_a_relay_entry_books_and_maps_in_one_statement(db: Database) -> None:
    cases, relay = CaseRepository(db), RelayRepository(db)
    case = await _resident_with_case(db, 20)
    part = MessagePart("text", "你好", None, 20, 5)
    await relay.record(RelayEntry(case.id, "resident", part, "resident", (30, 9), True, NOW))
    book = await cases.conversation(case.id)
    assert [(author, p.text) for author, p, _ in book] == [("resident", "你好")]
    there, back = await relay.find(20, 5), await relay.find(30, 9)
    assert there is not None and (there.peer_chat, there.peer_message) == (30, 9)
    assert back is not None and (back.peer_chat, back.peer_message) == (20, 5)
    # Held for a mediator: booked, mapped alone. Failed: booked only. Backlog: mapped only.
    held = MessagePart("text", "等等", None, 20, 6)
    await relay.record(RelayEntry(case.id, "resident", held, "resident", None, True, NOW))
    lost = MessagePart("text", "没送到", None, 20, 7)
    await relay.record(RelayEntry(case.id, "resident", lost, "resident", None, False, NOW))
    await relay.record(RelayEntry(case.id, "resident", held, None, (30, 10), True, NOW))
    texts = [p.text for _, p, _ in await cases.conversation(case.id)]
    assert texts == ["你好", "等等", "没送到"]
    assert (await relay.find(20, 6)).peer_chat is None  # type: ignore[union-attr]
    assert await relay.find(20, 7) is None
    assert (await relay.find(30, 10)).peer_message == 6  # type: ignore[union-attr]


async def test_nothing_can_be_queued_once_closing(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    await db.close()
    with pytest.raises(RuntimeError, match="closing"):
        await db.insert_behind("users (id)", (1,))


async def test_a_use_case_cancelled_while_it_begins_leaves_no_transaction_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    await db.execute("CREATE TABLE t (x)")

    async def use_case() -> None:
        async with db.transaction():
            await db.execute("INSERT INTO t VALUES ('use case')")

    task = asyncio.create_task(use_case())
    await asyncio.sleep(0)  # it has its turn and has sent BEGIN to aiosqlite's thread
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await db.execute("INSERT INTO t VALUES ('after')")
    async with db.transaction():  # would fail inside a transaction nobody owns
        await db.execute("INSERT INTO t VALUES ('next use case')")
    await db.close()
    db = await Database.open(path)
    try:
        rows = await db.fetch_all("SELECT x FROM t ORDER BY rowid")
        assert [r[0] for r in rows] == ["after", "next use case"]
    finally:
        await db.close()
