"""The one owner of the SQLite connection: opening, pragmas, migrations, transactions.

One aiosqlite connection serves the whole process, and the process is the database's only
writer while it runs. A use case that writes more than one row runs in `transaction()`,
which holds a first-come, first-served lock around `BEGIN IMMEDIATE … COMMIT`: it sees and
leaves a consistent database, and a failure (a full disk, a lock held too long by another
process) rolls everything back — never half a use case. Single statements outside a
transaction are atomic on their own.

While an update from Telegram is being handled (`handling()`), the first transaction that
commits also marks that update handled in the inbox: its effects and the mark land
together, so a crash can never leave one without the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Params = Sequence[Any] | Mapping[str, Any]  # positional (?) or named (:name) parameters
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Another process (a backup, `sqlite3` in a shell) may hold the write lock for a while; a
# statement waits this long before its use case fails and the person is told to resend.
BUSY_TIMEOUT_MS = 5000
# The WAL is folded back into the database by a connection of its own (`_Checkpointer`), at
# most every CHECKPOINT_EVERY_S while there are writes, so that no commit of a use case waits
# for a checkpoint (on the ten-year district, the purge's batches took 15 ms on average
# without one inside them, 23 ms with them, and up to 140 ms). Should it fall behind, the
# writer itself folds the WAL back past ~40 MB. Erasure truncates it at once
# (`checkpoint()`), so erased text does not linger in the -wal file.
CHECKPOINT_EVERY_S = 0.5
WAL_AUTOCHECKPOINT_PAGES = 10_000
# A handled update keeps its id (a re-delivery is a no-op) and nothing of what it said:
# its effects are in the book, and an erasure must not find it in other people's updates.
HANDLED_PAYLOAD = "{}"
# Background work (the nightly purge) waits until no use case has touched the database for
# this long, or for this long at most while messages keep coming (then a batch of 20 cases
# goes every quarter of a second at least: a busy night still purges ~80 cases a second).
QUIET_S = 0.02
PATIENCE_S = 0.25


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer version of the bot than this one."""


class StorageFailure(RuntimeError):
    """A write (or read) could not be done: the disk is full, the database is locked by
    another process past the busy timeout, or the file cannot be written. The use case
    failed as a whole; whoever asked must be told to try again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # 'full', 'locked' or 'io'


@dataclass
class _Handling:
    """The update being handled in this task, marked handled by its first commit."""

    update_id: int
    at: str
    marked: bool = False


_handling: contextvars.ContextVar[_Handling | None] = contextvars.ContextVar(
    "handling_update", default=None
)


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


@contextmanager
def handling(update_id: int, at: str) -> Iterator[None]:
    """Mark `update_id` handled in the first transaction committed inside this block."""
    token = _handling.set(_Handling(update_id, at))
    try:
        yield
    finally:
        _handling.reset(token)


def replayed_after_a_crash() -> bool:
    """Whether the update being handled would be handled again after a crash now: nothing
    of its use case has committed (and marked it) yet."""
    current = _handling.get()
    return current is not None and not current.marked


def handled_by_commit() -> bool:
    """Whether a transaction of the update being handled has already marked it."""
    current = _handling.get()
    return current is not None and current.marked


class Database:
    """An open database; create it with `await Database.open(path)`."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._conn = connection
        self._lock = _TransactionLock()
        self._after_commit: list[Callable[[], None]] = []
        self._checkpointer: _Checkpointer | None = None  # set by open() for a file

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
            await database.migrate(bundled_migrations() if migrations is None else migrations)
            if str(path) != ":memory:":
                database._checkpointer = await _Checkpointer.open(path)
        except BaseException:
            await connection.close()
            raise
        return database

    async def close(self) -> None:
        if self._checkpointer is not None:
            await self._checkpointer.close()
        async with self._lock:
            await self._conn.close()

    def _wrote(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.nudge()

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
        async with self._lock, self._committing():
            yield self._conn
        self._run_after_commit()

    @asynccontextmanager
    async def background_transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A transaction of work nobody is waiting for (the nightly purge): it starts only in
        a quiet moment, so that a person's use case waits for at most one of these."""
        async with self._lock.when_quiet(), self._committing():
            yield self._conn
        self._run_after_commit()

    @asynccontextmanager
    async def _committing(self) -> AsyncIterator[None]:
        """BEGIN … COMMIT (marking the update handled) or ROLLBACK, with the lock held."""
        try:
            with _translated():
                # Inside the try: cancelled while waiting for BEGIN, the BEGIN still
                # runs in aiosqlite's thread, and the ROLLBACK queued after it undoes it.
                await self._conn.execute("BEGIN IMMEDIATE")
            yield
            with _translated():
                marking = await self._mark_handled()
                await self._conn.commit()
            self._wrote()
            if marking is not None:
                marking.marked = True
        except BaseException:
            self._after_commit.clear()
            await self._rollback()
            raise

    def _run_after_commit(self) -> None:
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this task's transaction has committed (nothing on rollback);
        outside a transaction, at once."""
        if self._lock.held_by_current_task():
            self._after_commit.append(callback)
        else:
            callback()

    async def _mark_handled(self) -> _Handling | None:
        current = _handling.get()
        if current is None or current.marked:
            return None
        await self._conn.execute(
            f"UPDATE inbox SET handled_at = ?, payload = '{HANDLED_PAYLOAD}' "
            "WHERE update_id = ? AND handled_at IS NULL",
            (current.at, current.update_id),
        )
        return current

    async def _rollback(self) -> None:
        try:
            await self._conn.rollback()
        except sqlite3.Error:  # a full disk can fail the rollback too; SQLite undoes it
            log.warning("rollback failed", exc_info=True)

    async def fetch_one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        async with self._turn():
            with _translated():
                return list(await self._conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the row count it changed.

        On its own it is atomic (the connection is in autocommit mode); inside this task's
        `transaction()` it commits with the rest.
        """
        async with self._turn():
            with _translated():
                cursor = await self._conn.execute(sql, params)
            self._wrote()
            return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT; returns the new row's id."""
        async with self._turn():
            with _translated():
                cursor = await self._conn.execute(sql, params)
            self._wrote()
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        async with self._turn():
            with _translated():
                await self._conn.executemany(sql, rows)
            self._wrote()

    async def trace(self, callback: Callable[[str], None] | None) -> None:
        """Hand every statement SQLite runs, its values filled in, to `callback` (from the
        connection's thread); None stops. For tests that check the query plans."""
        await self._conn.set_trace_callback(callback)  # type: ignore[arg-type]  # None stops it

    async def checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it: after an erasure, the erased
        text is gone from the -wal file too."""
        async with self._turn():
            with _translated():
                await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

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
    """An asyncio lock that knows which task holds it, so that repositories called inside a
    service's `transaction()` pass straight through; and that puts people first: background
    work takes it only when no use case has wanted it for a moment (`when_quiet`)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._wanted = 0  # use cases holding the lock or waiting for it
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._last_wanted = -QUIET_S  # monotonic time a use case last let go

    def held_by_current_task(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task()

    async def __aenter__(self) -> None:
        self._wanted += 1
        self._quiet.clear()
        try:
            await self._lock.acquire()
        except BaseException:
            self._let_go()
            raise
        self._owner = asyncio.current_task()

    async def __aexit__(self, *exc: object) -> None:
        self._owner = None
        self._lock.release()
        self._let_go()

    def _let_go(self) -> None:
        self._wanted -= 1
        self._last_wanted = time.monotonic()
        if not self._wanted:
            self._quiet.set()

    @asynccontextmanager
    async def when_quiet(self) -> AsyncIterator[None]:
        """Hold the lock once no use case has wanted it for QUIET_S: the few statements of
        one message come a few ms apart, and the purge must not slip in between them. After
        PATIENCE_S of steady traffic it goes at the first moment nobody is waiting."""
        started = time.monotonic()
        while True:
            await self._quiet.wait()
            rest = QUIET_S - (time.monotonic() - self._last_wanted)
            if rest <= 0 or time.monotonic() - started >= PATIENCE_S:
                break
            await asyncio.sleep(rest)
        await self._lock.acquire()  # at once: no use case holds it (another background may)
        self._owner = asyncio.current_task()
        try:
            yield
        finally:
            self._owner = None
            self._lock.release()


class _Checkpointer:
    """Folds the WAL back into the database on its own connection and thread: in WAL mode
    SQLite lets a passive checkpoint run beside the writer, so a commit never waits for
    one. Nudged after writes; at most one checkpoint every CHECKPOINT_EVERY_S."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._conn = connection
        self._due = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="wal-checkpointer")

    @classmethod
    async def open(cls, path: Path) -> _Checkpointer:
        connection = await aiosqlite.connect(path, isolation_level=None)
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return cls(connection)

    def nudge(self) -> None:
        self._due.set()

    async def _run(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            try:
                await self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:  # the writer folds the WAL back itself past its limit
                log.warning("checkpoint failed", exc_info=True)
            await asyncio.sleep(CHECKPOINT_EVERY_S)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._conn.close()


SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL = 5, 6, 13  # primary result codes


@contextmanager
def _translated() -> Iterator[None]:
    """SQLite's operational errors become StorageFailure; programming errors stay as they are."""
    try:
        yield
    except sqlite3.OperationalError as error:
        raise StorageFailure(_reason(error)) from error


def _reason(error: sqlite3.OperationalError) -> str:
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code == SQLITE_FULL or "full" in str(error):
        return "full"
    if code in (SQLITE_BUSY, SQLITE_LOCKED) or "locked" in str(error):
        return "locked"
    return "io"


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
    # FULL: a commit is on disk before we tell Telegram an update was received or tell a
    # person their message is in the book; the registration book is a legal record.
    # In WAL mode this costs one fsync per commit (about 2 ms here).
    await connection.execute("PRAGMA synchronous = FULL")
    await connection.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    # Deleted and overwritten content is zeroed in the file, not left in free space: after
    # an erasure or the retention purge (and the checkpoint that follows), the text is
    # nowhere in the database's bytes.
    await connection.execute("PRAGMA secure_delete = ON")
    # A statement's undo pages and a query's sorts stay in memory, never in temporary files
    # beside the database: those would hold copies of deleted text that secure_delete does
    # not reach, and the purge would write every page it changes once more to the disk.
    await connection.execute("PRAGMA temp_store = MEMORY")
