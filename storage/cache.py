"""Read-through caches that SQLite itself keeps honest.

The relay reads the same few rows for every message: who is writing, their open cases, the
case, the message being replied to. Each read is a round trip to aiosqlite's thread, and on
a busy bot those round trips, not the queries, are what costs (see `bench/relay.py`). A
`RowCache` keeps what it read until SQLite reports that a row it depends on changed:
`Database` puts temporary triggers on the watched tables of its own connection, and every
insert, update or delete — whichever repository makes it, cascades included — calls back
into the cache, in aiosqlite's thread, before the write's `await` returns. No repository
has to remember to invalidate anything.

Temporary triggers live in this connection only: writes by another process are not seen.
While the bot runs it is the database's only writer; `daasao migrate` and `daasao demo
remove` are for when it is stopped (README, "Running it").
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

CHANGED_FUNCTION = "daasao_row_changed"  # the SQL function the triggers call
_NAME = re.compile(r"^[a-z_]+$")


Event = Literal["INSERT", "UPDATE", "DELETE"]


@dataclass(frozen=True)
class Watch:
    """Rows of `table` whose `columns` hold the key of the cache entries they feed.

    Each report is a call from SQLite into Python in the middle of the write, in aiosqlite's
    thread: it must take the GIL from the event loop. A cache that never keeps a missing
    value need not hear of inserts, and is then spared that on its hot write path.
    """

    table: str
    columns: tuple[str, ...]
    events: tuple[Event, ...] = ("INSERT", "UPDATE", "DELETE")

    def __post_init__(self) -> None:
        for name in (self.table, *self.columns):
            if not _NAME.match(name):  # they are pasted into SQL: code constants only
                raise ValueError(f"not a plain SQL name: {name!r}")


class RowCache(Generic[K, V]):
    """Values by key, least recently used dropped beyond `max_entries`.

    `invalidate` may be called from any thread (SQLite calls it from aiosqlite's). A value
    whose read overlapped an invalidation of its key is returned but not kept: it may
    predate the change.
    """

    def __init__(self, name: str, watches: Sequence[Watch], max_entries: int) -> None:
        if not _NAME.match(name):
            raise ValueError(f"not a plain SQL name: {name!r}")
        self.name = name
        self.watches = tuple(watches)
        self._max_entries = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._loading: dict[K, int] = {}  # keys being read now, and by how many readers
        self._changed_while_loading: set[K] = set()
        self._lock = threading.Lock()

    async def get(
        self, key: K, load: Callable[[], Awaitable[V]], keep: Callable[[V], bool] | None = None
    ) -> V:
        """The cached value, or `load()`'s (kept if `keep` says so, by default always)."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            self._loading[key] = self._loading.get(key, 0) + 1
        fresh = False
        try:
            value = await load()
            fresh = True
        finally:
            with self._lock:
                kept = fresh and (keep is None or keep(value))
                if kept and key not in self._changed_while_loading:
                    self._keep(key, value)
                self._done_loading(key)
        return value

    def invalidate(self, key: K) -> None:
        """The rows behind `key` changed."""
        with self._lock:
            self._entries.pop(key, None)
            if key in self._loading:
                self._changed_while_loading.add(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._changed_while_loading.update(self._loading)

    def __len__(self) -> int:
        return len(self._entries)

    def _keep(self, key: K, value: V) -> None:
        self._entries[key] = value
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def _done_loading(self, key: K) -> None:
        self._loading[key] -= 1
        if not self._loading[key]:
            del self._loading[key]
            self._changed_while_loading.discard(key)


def trigger_statements(cache: RowCache[K, V]) -> list[str]:
    """`CREATE TEMP TRIGGER` statements reporting changes of the cache's watched rows."""
    statements = []
    for watch in cache.watches:
        base = f"cache_{cache.name}_{watch.table}_{'_'.join(watch.columns)}"

        def report(row: str, watch: Watch = watch) -> str:
            values = ", ".join(f"{row}.{column}" for column in watch.columns)
            return f"SELECT {CHANGED_FUNCTION}('{cache.name}', {values});"

        bodies = {
            "INSERT": report("NEW"),
            "UPDATE": report("OLD") + " " + report("NEW"),  # the key itself may change
            "DELETE": report("OLD"),
        }
        for event in watch.events:
            body = bodies[event]
            statements.append(
                f"CREATE TEMP TRIGGER IF NOT EXISTS {base}_{event.lower()} "
                f"AFTER {event} ON main.{watch.table} BEGIN {body} END"
            )
    return statements
