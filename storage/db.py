"""The one owner of the SQLite connection: opening, pragmas, migrations, transactions.

One aiosqlite connection serves the whole process. Writes from different use cases
are serialised by `transaction()`, which holds an asyncio lock around
`BEGIN IMMEDIATE … COMMIT`, so a use case sees and leaves a consistent database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Params = Sequence[Any] | Mapping[str, Any]  # positional (?) or named (:name) parameters
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 5000


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
        except BaseException:
            await connection.close()
            raise
        return database

    async def close(self) -> None:
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
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.rollback()
                raise
            await self._conn.commit()

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
    """An asyncio lock that knows which task holds it.

    Repositories may be called on their own or inside a service's
    `Database.transaction()`; the owning task passes straight through.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    def held_by_current_task(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task()

    async def __aenter__(self) -> None:
        await self._lock.acquire()
        self._owner = asyncio.current_task()

    async def __aexit__(self, *exc: object) -> None:
        self._owner = None
        self._lock.release()


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
