"""Ten years of a sub-district, seeded through the storage repositories (``bench.scale``).

By default: 200,000 residents, 50 areas with 4 mediators each, 50,000 cases over 10 years,
1,000,000 book entries, 20,000 subscribers and 100,000 pending reminders. The distributions
are a district's: cases come in evenly over the years, a few areas are busier than the rest
(the first one three times the average, half of its cases with one busy mediator); all but
the last 90 days' cases are closed (about 72% settled, 14% not settled, 10% withdrawn, 4%
closed otherwise), of the last 90 days' about a third are still open; 2% are urgent (and
taken: no alert goes round at start). Each case has a few dozen book entries, resident and
mediator in turn, and the reminders are revisits of settled cases, due over the coming year
(none within the first day, so none fires while a benchmark runs).

Some people are there for the benchmark to use (`Landmarks`): the busy mediator, a resident
with 20 cases, an open case of the busy mediator with 2,000 book entries, and a few residents
whose accepted case is their mediator's current one (relay pairs, for the latency sampler).

Building takes a few minutes, so the file is kept under the temp folder, keyed by the seed's
version, the sizes, the schema version and the day (the reminders' due times are relative
to it); a run copies it and works on the copy.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.cases import CaseState, Delivery, MessagePart, NewCase
from bot.domain.people import Role
from storage.announcements import Subscription, SubscriptionRepository
from storage.cases import CaseRepository
from storage.db import Database, bundled_migrations
from storage.members import MemberRepository
from storage.reminders import ReminderRepository
from storage.users import UserRepository

SEED_VERSION = 4  # bump when what is seeded changes: cached files are rebuilt
PREFIX = "QJS"
CATEGORIES = ("family", "neighbours", "inheritance", "rights", "violence", "other")
TOPICS = ("events", "health", "legal", "family")
CLOSED = (("settled", 72), ("not_settled", 14), ("withdrawn", 10), ("closed", 4))
OPEN = (("accepted", 60), ("offered", 15), ("unassigned", 25))
RECENT_DAYS = 90  # cases younger than this may still be open
OPEN_SHARE = 0.33  # ... about this many of them are
URGENT_SHARE = 0.02
MEDIATORS_PER_AREA = 4
CHUNK = 2000  # cases (or rows) per transaction
FIRST_MESSAGE_ID = 10_000

STAFF = 900_001
MEDIATOR_BASE = 800_000  # mediator k of the district: MEDIATOR_BASE + k; k = 0 is the busy one
RESIDENT_BASE = 1_000_000  # resident i: RESIDENT_BASE + i


@dataclass(frozen=True)
class Sizes:
    residents: int = 200_000
    cases: int = 50_000
    years: int = 10
    areas: int = 50
    entries: int = 1_000_000
    subscribers: int = 20_000
    reminders: int = 100_000
    long_case: int = 2_000  # book entries of the longest case
    resident_cases: int = 20  # cases of the resident whose /mydata is timed
    pairs: int = 5  # relay pairs

    def key(self) -> str:
        text = repr(sorted(asdict(self).items()))
        return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Landmarks:
    """Who and what the benchmark asks about."""

    staff: int
    busy_mediator: int
    resident_with_cases: int
    long_case_number: str
    pairs: tuple[tuple[int, int], ...]  # (resident, mediator): an accepted, current case
    areas: tuple[str, ...]


def area_ids(count: int) -> tuple[str, ...]:
    return tuple(f"area{n:02d}" for n in range(count))


async def landmarks(sizes: Sizes, db: Database) -> Landmarks:
    """Who the benchmark asks about; the long case is the busy mediator's current one."""
    busy = await MemberRepository(db).get(MEDIATOR_BASE)
    case_id = busy.current_case_id if busy else None
    long_case = await CaseRepository(db).get(case_id) if case_id else None
    if long_case is None:
        raise RuntimeError("the district has no long case: rebuild it")
    pairs = tuple((RESIDENT_BASE + 1 + k, MEDIATOR_BASE + 1 + k) for k in range(sizes.pairs))
    return Landmarks(
        staff=STAFF,
        busy_mediator=MEDIATOR_BASE,
        resident_with_cases=RESIDENT_BASE,
        long_case_number=long_case.number,
        pairs=pairs,
        areas=area_ids(sizes.areas),
    )


def anchor() -> datetime:
    """The seed's 'now': today at 00:00 UTC (cached files are per day)."""
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC)


def cached_path(sizes: Sizes, now: datetime) -> Path:
    folder = Path(os.environ.get("DAASAO_BENCH_CACHE", Path(tempfile.gettempdir()) / "daasao"))
    schema = hashlib.sha256("".join(m.sql for m in bundled_migrations()).encode()).hexdigest()
    name = f"district-v{SEED_VERSION}-s{schema[:8]}-{sizes.key()}-{now.date().isoformat()}.sqlite3"
    return folder / name


async def district(sizes: Sizes, copy_to: Path) -> Landmarks:
    """A copy of the district at `copy_to`, building (and caching) it first if needed."""
    now = anchor()
    cached = cached_path(sizes, now)
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        building = cached.with_suffix(".building")
        building.unlink(missing_ok=True)
        await build(building, sizes, now)
        building.rename(cached)
    copy_to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, copy_to)
    db = await Database.open(copy_to)
    try:
        return await landmarks(sizes, db)
    finally:
        await db.close()


async def build(path: Path, sizes: Sizes, now: datetime) -> None:
    db = await Database.open(path)
    try:
        await _Seeder(db, sizes, now).seed()
        await db.checkpoint()
    finally:
        await db.close()


def _created_times(sizes: Sizes, now: datetime) -> Iterator[datetime]:
    """Registration times, evenly over the years, oldest first (all but the long case)."""
    span = timedelta(days=365 * sizes.years)
    start = now - span
    others = sizes.cases - 1 - sizes.pairs
    for i in range(others):
        yield start + span * (i / others)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


@dataclass
class _Seeder:
    db: Database
    sizes: Sizes
    now: datetime
    rng: random.Random = field(default_factory=lambda: random.Random(SEED_VERSION))

    def __post_init__(self) -> None:
        self.users = UserRepository(self.db)
        self.members = MemberRepository(self.db)
        self.cases = CaseRepository(self.db)
        self.reminders = ReminderRepository(self.db)
        self.subscriptions = SubscriptionRepository(self.db)
        self.areas = area_ids(self.sizes.areas)
        self.settled: list[int] = []
        # Telegram numbers the messages of each chat in turn: a mediator's messages of one
        # case lie together in (chat_id, message_id), as they do on a real desk. The
        # seeded ones start above FIRST_MESSAGE_ID, clear of those the bench sends live.
        self.last_message_id: dict[int, int] = {}

    async def seed(self) -> None:
        await self._people()
        counts = self._entry_counts()
        created = list(_created_times(self.sizes, self.now))
        for start in range(0, len(created), CHUNK):
            async with self.db.transaction():
                for offset, moment in enumerate(created[start : start + CHUNK]):
                    await self._case(start + offset, moment, counts[start + offset])
        async with self.db.transaction():
            for k in range(self.sizes.pairs):
                resident, mediator = RESIDENT_BASE + 1 + k, MEDIATOR_BASE + 1 + k
                case_id = await self._accepted(resident, mediator, 4)
                await self.members.set_current_case(mediator, case_id)
            long_case = await self._accepted(
                RESIDENT_BASE + 2 * self.sizes.pairs + 7, MEDIATOR_BASE, self.sizes.long_case
            )
            await self.members.set_current_case(MEDIATOR_BASE, long_case)
        await self._subscribers()
        await self._revisits()

    # -- people --------------------------------------------------------------------------

    async def _people(self) -> None:
        async with self.db.transaction():
            await self.users.add_consented([(STAFF, "zh-hans", self.areas[0])], self.now)
            await self.members.save(STAFF, "staff", None, self.now)
            for k in range(self.sizes.areas * MEDIATORS_PER_AREA):
                mediator = MEDIATOR_BASE + k
                await self.users.add_consented([(mediator, "zh-hans", self._area_of(k))], self.now)
                role: Role = "head" if k == MEDIATORS_PER_AREA else "mediator"
                await self.members.save(mediator, role, self._area_of(k), self.now)
                await self.members.set_display_name(mediator, f"大姐{k}")
        for start in range(0, self.sizes.residents, CHUNK * 10):
            stop = min(start + CHUNK * 10, self.sizes.residents)
            people = [
                (RESIDENT_BASE + i, "zh-hans", self.areas[i % len(self.areas)])
                for i in range(start, stop)
            ]
            async with self.db.transaction():
                await self.users.add_consented(people, self.now)

    def _area_of(self, mediator_index: int) -> str:
        return self.areas[mediator_index // MEDIATORS_PER_AREA]

    # -- cases ---------------------------------------------------------------------------

    def _entry_counts(self) -> list[int]:
        """Book entries per case (the old ones), together the entries the long case and
        the relay pairs leave."""
        others = self.sizes.cases - 1 - self.sizes.pairs
        total = self.sizes.entries - self.sizes.long_case - 4 * self.sizes.pairs
        mean = max(total // max(others, 1), 1)
        counts = [
            self.rng.randint(max(mean // 3, 1), 2 * mean - max(mean // 3, 1)) for _ in range(others)
        ]
        difference = total - sum(counts)
        step = 1 if difference > 0 else -1
        while difference:
            i = self.rng.randrange(others)
            if counts[i] + step >= 1:
                counts[i] += step
                difference -= step
        return counts

    def _mediator_for(self, area_index: int) -> int:
        if area_index == 0 and self.rng.random() < 0.5:
            return MEDIATOR_BASE  # the busy one
        return (
            MEDIATOR_BASE + area_index * MEDIATORS_PER_AREA + self.rng.randrange(MEDIATORS_PER_AREA)
        )

    def _area_index(self) -> int:
        """The first area three times the average, the next four twice, the rest alike."""
        weights = [3 if i == 0 else 2 if i < 5 else 1 for i in range(len(self.areas))]
        return self.rng.choices(range(len(self.areas)), weights)[0]

    def _resident_for(self, index: int) -> int:
        if index % (max(self.sizes.cases // self.sizes.resident_cases, 1)) == 0:
            return RESIDENT_BASE  # the resident with 20 cases, over the years
        return RESIDENT_BASE + 100 + self.rng.randrange(max(self.sizes.residents - 100, 1))

    async def _case(self, index: int, created: datetime, entries: int) -> None:
        area = self._area_index()
        mediator = self._mediator_for(area)
        urgent = self.rng.random() < URGENT_SHARE
        recent = self.now - created < timedelta(days=RECENT_DAYS)
        state = (
            _pick(self.rng, OPEN)
            if recent and self.rng.random() < OPEN_SHARE
            else _pick(self.rng, CLOSED)
        )
        if urgent and state in dict(OPEN):
            state = "accepted"  # someone took it: no alert goes round at start
        resident = self._resident_for(index)
        new = NewCase(
            resident,
            f"R-{index:05d}",
            self.areas[area],
            "violence" if urgent else self.rng.choice(CATEGORIES),
            urgent,
            "chat",
            None,
        )
        case = await self.cases.create(new, PREFIX, created.year, created)
        events: list[tuple[int, str, datetime, int | None, dict[str, Any]]] = [
            (case.id, "registered", created, None, {"by": "resident", "urgent": urgent})
        ]
        if state == "accepted" or state in dict(CLOSED):  # an offered case has nobody yet
            accepted = created + timedelta(minutes=self.rng.randint(5, 600))
            await self.cases.set_state(case.id, CaseState.ACCEPTED, mediator, accepted)
            events.append((case.id, "accepted", accepted, mediator, {}))
        if state in dict(CLOSED):
            closed = min(created + timedelta(days=self.rng.randint(3, 40)), self.now)
            outcome = "双方同意轮流使用楼道" if state == "settled" else None
            await self.cases.close(case.id, CaseState(state), outcome, closed)
            events.append((case.id, state, closed, mediator, {}))
            if state == "settled":
                self.settled.append(case.id)
        elif state != "accepted":
            await self.cases.set_state(case.id, CaseState(state), None, created)
        await self.cases.add_events(events)
        await self._book(case.id, resident, mediator, created, entries)

    async def _accepted(self, resident: int, mediator: int, entries: int) -> int:
        """An open case accepted by `mediator` a day ago, with `entries` book entries."""
        created = self.now - timedelta(days=1)
        area = self.areas[(mediator - MEDIATOR_BASE) // MEDIATORS_PER_AREA]
        new = NewCase(resident, f"R-P{resident}", area, "neighbours", False, "chat", None)
        case = await self.cases.create(new, PREFIX, created.year, created)
        await self.cases.set_state(case.id, CaseState.ACCEPTED, mediator, created)
        await self.cases.add_events(
            [
                (case.id, "registered", created, None, {}),
                (case.id, "accepted", created, mediator, {}),
            ]
        )
        await self._book(case.id, resident, mediator, created, entries)
        return case.id

    async def _book(
        self, case_id: int, resident: int, mediator: int, created: datetime, count: int
    ) -> None:
        entries: list[tuple[int, str, MessagePart, datetime, Delivery]] = []
        for n in range(count):
            by_resident = n % 2 == 0
            author, chat = ("resident", resident) if by_resident else ("mediator", mediator)
            text = (
                "楼上装修每天早上七点就开始，孩子睡不好，能不能帮忙说一说？"
                if by_resident
                else "我明天下午去找物业和楼上的邻居一起坐下来谈谈。"
            )
            part = MessagePart("text", f"{text} ({n})", None, chat, self._next_message_id(chat))
            entries.append((case_id, author, part, created + timedelta(minutes=n), "delivered"))
        await self.cases.add_messages(entries)

    def _next_message_id(self, chat: int) -> int:
        self.last_message_id[chat] = self.last_message_id.get(chat, FIRST_MESSAGE_ID) + 1
        return self.last_message_id[chat]

    # -- subscribers and reminders -------------------------------------------------------

    async def _subscribers(self) -> None:
        pool = range(100, max(self.sizes.residents, 101))
        people = self.rng.sample(pool, min(self.sizes.subscribers, len(pool)))
        for start in range(0, len(people), CHUNK):
            async with self.db.transaction():
                for i in people[start : start + CHUNK]:
                    areas = frozenset(self.rng.sample(self.areas, self.rng.randint(0, 2)))
                    topics = frozenset(self.rng.sample(TOPICS, self.rng.randint(0, 2)))
                    subscription = Subscription(RESIDENT_BASE + i, True, areas, topics)
                    await self.subscriptions.save(subscription, self.now)

    async def _revisits(self) -> None:
        """Pending revisits of settled cases (1st, 2nd, 3rd…), due over the coming year."""
        rows: list[tuple[str, str, datetime, int | None, int | None]] = []
        n = 1
        while len(rows) < self.sizes.reminders and self.settled:
            for case_id in self.settled:
                if len(rows) == self.sizes.reminders:
                    break
                minutes = self.rng.randint(26 * 60, 365 * 24 * 60)
                due = self.now + timedelta(minutes=minutes)
                rows.append((f"revisit:{case_id}:{n}", "revisit", due, case_id, n))
            n += 1
        for start in range(0, len(rows), CHUNK * 10):
            async with self.db.transaction():
                await self.reminders.add_many(rows[start : start + CHUNK * 10], self.now)
