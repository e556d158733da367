"""The one owner of the SQLite connection: opening, pragmas, migrations, transactions.

One aiosqlite connection serves the whole process. Writes from different use cases
are serialised by `transaction()`, which holds an asyncio lock around
`BEGIN IMMEDIATE … COMMIT`, so a use case sees and leaves a consistent database.
Hot reads can go through a `RowCache` (`storage.cache`), which SQLite keeps current.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.cache import CHANGED_FUNCTION, RowCache, Watch, trigger_statements

log = logging.getLogger(__name__)

Params = Sequence[Any] | Mapping[str, Any]  # positional (?) or named (:name) parameters
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 5000
CACHE_ENTRIES = 10_000  # per cache; an entry is one small frozen record or a few
MAX_ROWS_PER_INSERT = 500  # rows queued by insert_behind that go in one statement

K = TypeVar("K")
V = TypeVar("V")


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer version of the bot than this one."""


@dataclass(frozen=True, order=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """The numbered `.sql` files shipped in `storage/migrations`, in order."""
    folder = resources.files("storage") / "migrations"
    return load_migrations((entry.name, entry.read_text("utf-8")) for entry in folder.iterdir())


def load_migrations(files: Iterable[tuple[str, str]]) -> list[Migration]:
    """Parse `(file name, sql)` pairs; versions must run 1, 2, 3… without gaps."""
    found = sorted(
        Migration(int(match.group(1)), name, sql)
        for name, sql in files
        if (match := MIGRATION_NAME.match(name))
    )
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration {migration.name}: expected version {expected:04d}")
    return found


class Database:
    """An open database; create it with `await Database.open(path)`."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._conn = connection
        self._lock = _TransactionLock()
        self._caches: dict[str, RowCache[Any, Any]] = {}
        self._watching: set[str] = set()  # caches whose triggers are in place
        self._behind: set[asyncio.Task[None]] = set()  # inserts queued by insert_behind
        self._queued: _QueuedRows | None = None  # the latest of them
        self._closing = False

    @classmethod
    async def open(
        cls, path: Path | str, migrations: Sequence[Migration] | None = None
    ) -> Database:
        """Open (creating it 0600 if needed) and migrate the database at `path`."""
        path = Path(path)
        if str(path) != ":memory:":
            _create_private_file(path)
        connection = await aiosqlite.connect(path, isolation_level=None)
        connection.row_factory = aiosqlite.Row
        try:
            await _configure(connection)
            database = cls(connection)
            await connection.create_function(CHANGED_FUNCTION, -1, database._row_changed)
            await database.migrate(bundled_migrations() if migrations is None else migrations)
        except BaseException:
            await connection.close()
            raise
        return database

    async def close(self) -> None:
        """Close, once every row queued with `insert_behind` is in."""
        self._closing = True
        while self._behind:  # a queued insert may have queued more behind it
            await asyncio.gather(*self._behind, return_exceptions=True)
        await self._conn.close()

    async def schema_version(self) -> int:
        row = await self.fetch_one("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self, migrations: Sequence[Migration]) -> list[int]:
        """Apply pending migrations, each atomically with its version; returns those applied."""
        current = await self.schema_version()
        latest = migrations[-1].version if migrations else 0
        if current > latest:
            raise SchemaTooNewError(
                f"the database is at schema version {current}, but this version of the bot "
                f"knows only up to {latest}; upgrade the bot or restore a matching backup"
            )
        applied = []
        for migration in migrations:
            if migration.version > current:
                await self._apply(migration)
                applied.append(migration.version)
        return applied

    async def _apply(self, migration: Migration) -> None:
        # executescript() would commit a pending transaction first, so the BEGIN and the
        # version bump live inside the script: the file and its version land together.
        script = (
            f"BEGIN IMMEDIATE;\n{migration.sql}\n"
            f"PRAGMA user_version = {migration.version};\nCOMMIT;"
        )
        async with self._lock:
            try:
                await self._conn.executescript(script)
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.rollback()
                raise
        log.info("migration applied", extra={"version": migration.version})

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run one use case atomically: everything inside commits together or not at all."""
        if self._lock.held_by_current_task():
            yield self._conn  # already inside this task's transaction: join it
            return
        async with self._lock:
            try:
                # Inside the try: cancelled while waiting for BEGIN, the BEGIN still runs in
                # aiosqlite's thread, and the ROLLBACK queued after it undoes it.
                await self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                await self._conn.commit()
            except BaseException:
                await self._conn.rollback()
                raise

    def cache(
        self, name: str, watches: Sequence[Watch], max_entries: int = CACHE_ENTRIES
    ) -> RowCache[Any, Any]:
        """The cache called `name`, kept current by changes to the `watches` rows (one
        per name: repositories sharing this database share it)."""
        if name not in self._caches:
            self._caches[name] = RowCache(name, watches, max_entries)
        cache = self._caches[name]
        if cache.watches != tuple(watches):
            raise ValueError(f"cache {name!r} is already watching other rows")
        return cache

    async def read_through(
        self,
        cache: RowCache[K, V],
        key: K,
        load: Callable[[], Awaitable[V]],
        keep: Callable[[V], bool] | None = None,
    ) -> V:
        """`load()`'s value for `key`, from `cache` when it has it.

        Inside a transaction nothing is kept: the transaction may see rows it is yet to
        commit or roll back.
        """
        if self._lock.held_by_current_task():
            return await load()
        if cache.name not in self._watching:
            async with self._turn():
                for statement in trigger_statements(cache):
                    await self._conn.execute(statement)
            self._watching.add(cache.name)
        return await cache.get(key, load, keep)

    def _row_changed(self, name: str, *key: object) -> None:
        """Called by SQLite (in aiosqlite's thread) for each watched row written."""
        try:
            self._caches[name].invalidate(key[0] if len(key) == 1 else key)
        except Exception:  # an error here would fail the write itself
            log.exception("cache invalidation failed", extra={"cache": name})
            for cache in self._caches.values():
                cache.clear()

    async def fetch_one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        async with self._turn():
            return list(await self._conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the row count it changed.

        On its own it is atomic (the connection is in autocommit mode); inside this task's
        `transaction()` it commits with the rest.
        """
        async with self._turn():
            cursor = await self._conn.execute(sql, params)
            return cursor.rowcount

    async def insert_behind(self, into: str, values: Sequence[Any]) -> None:
        """Queue one row for `INSERT INTO {into} VALUES (…)`; return without waiting for it.

        It takes its turn now: every statement asked for afterwards runs after it and sees
        it — except those of a transaction already under way, whose task passes straight
        through. Rows queued one after another with nothing else in line between them go in
        one multi-row statement: one round trip, all or none (and if it fails, row by row, so
        a bad row loses only itself). For writes that must not hold up what comes next: the
        relay books each message, and the next message need not wait for the disk. A failure
        is logged; `close()` waits for every queued row. Inside this task's transaction the
        row is inserted at once, as part of it.

        A cache hit does not wait for queued rows: queue nothing a `RowCache` keeps a missing
        value for (the relay's rows feed only `relay_map`, whose cache keeps found rows).
        """
        if self._closing:
            raise RuntimeError("the database is closing: nothing more can be queued")
        if self._lock.held_by_current_task():
            await self.execute(_insert_sql(into, len(values), 1), values)
            return
        queued = self._queued
        if (
            queued is not None
            and queued.into == into
            and not queued.started
            and len(queued.rows) < MAX_ROWS_PER_INSERT
            and self._lock.is_last(queued.turn_ends)
        ):
            queued.rows.append(values)  # next in line anyway: it joins that statement
            return
        queued = _QueuedRows(into, [values])
        task, queued.turn_ends = self._lock.hand_over(self._insert(queued))
        self._queued = queued
        self._behind.add(task)
        task.add_done_callback(self._inserted)

    async def _insert(self, queued: _QueuedRows) -> None:
        queued.started = True
        rows, width = queued.rows, len(queued.rows[0])
        try:
            sql = _insert_sql(queued.into, width, len(rows))
            await self._conn.execute(sql, [value for row in rows for value in row])
        except sqlite3.Error:
            if len(rows) == 1:
                raise
            for row in rows:  # one bad row must not take the others with it
                try:
                    await self._conn.execute(_insert_sql(queued.into, width, 1), row)
                except sqlite3.Error:
                    log.exception("a queued row could not be inserted")

    def _inserted(self, task: asyncio.Task[None]) -> None:
        self._behind.discard(task)
        if task.cancelled():
            log.error("queued rows were cancelled before they were inserted")
        elif (error := task.exception()) is not None:
            log.error("a queued row could not be inserted", exc_info=error)

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """One statement at a time, never inside another task's open transaction: a read
        sees only committed data, and a write never lands in someone else's use case."""
        if self._lock.held_by_current_task():
            yield
            return
        async with self._lock:
            yield


class _TransactionLock:
    """A first-come, first-served lock that knows which task holds it, and whose turns can
    be taken without waiting: a write queued by `hand_over` keeps its place ahead of
    everything asked for after it.

    Repositories may be called on their own or inside a service's `Database.transaction()`;
    the owning task passes straight through.
    """

    def __init__(self) -> None:
        self._last: asyncio.Future[None] | None = None  # done when the last turn in line ends
        self._owner: asyncio.Task[Any] | None = None
        self._held: _Turn | None = None

    def held_by_current_task(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task()

    def _line_up(self) -> _Turn:
        """A place in line, taken now."""
        turn = _Turn(self._last, asyncio.get_running_loop().create_future())
        self._last = turn.done
        return turn

    async def __aenter__(self) -> None:
        turn = self._line_up()
        await turn.wait()
        self._owner, self._held = asyncio.current_task(), turn

    async def __aexit__(self, *exc: object) -> None:
        turn, self._owner, self._held = self._held, None, None
        assert turn is not None
        turn.end()

    def is_last(self, turn_ends: asyncio.Future[None] | None) -> bool:
        """Whether the turn that ends with `turn_ends` is the last one in line."""
        return self._last is turn_ends

    def hand_over(
        self, work: Coroutine[Any, Any, None]
    ) -> tuple[asyncio.Task[None], asyncio.Future[None]]:
        """Take a place in line now, for a new task that runs `work` in its turn; returns
        the task and what ends the turn."""
        turn = self._line_up()

        async def in_turn() -> None:
            await turn.wait()
            self._owner = asyncio.current_task()
            try:
                await work
            finally:
                self._owner = None
                turn.end()

        def after(_: asyncio.Task[None]) -> None:
            # Cancelled before it started, `work` never ran: the line must still move on.
            work.close()
            turn.give_up()

        task = asyncio.get_running_loop().create_task(in_turn())
        task.add_done_callback(after)
        return task, turn.done


@dataclass
class _QueuedRows:
    """Rows for one table queued by `insert_behind`, inserted together in their turn."""

    into: str
    rows: list[Sequence[Any]]
    turn_ends: asyncio.Future[None] | None = None
    started: bool = False


def _insert_sql(into: str, width: int, rows: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return f"INSERT INTO {into} VALUES " + ", ".join([row] * rows)


@dataclass
class _Turn:
    """One place in a `_TransactionLock`'s line: it starts when the one before it ends."""

    before: asyncio.Future[None] | None
    done: asyncio.Future[None]

    async def wait(self) -> None:
        if self.before is None or self.before.done():
            return
        try:
            # Shielded: a waiter that is cancelled must not cancel the turn before it.
            await asyncio.shield(self.before)
        except asyncio.CancelledError:
            self.give_up()
            raise

    def end(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def give_up(self) -> None:
        """Leave the line without letting the next one in before the one ahead is done."""
        if self.before is None or self.before.done():
            self.end()
        else:
            self.before.add_done_callback(lambda _: self.end())


def _create_private_file(path: Path) -> None:
    """Create the database file (and its folder) readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    path.chmod(0o600)


async def _configure(connection: aiosqlite.Connection) -> None:
    await connection.execute("PRAGMA journal_mode = WAL")
    await connection.execute("PRAGMA foreign_keys = ON")
    await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await connection.execute("PRAGMA synchronous = NORMAL")
