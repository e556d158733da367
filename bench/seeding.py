"""Seed a database with settled cases and their revisit reminders, or with open conversations.

Shared by the reminders benchmark (``bench.reminders``) and the kill tests
(``tests/test_reminder_kill.py``, ``tests/test_relay_kill.py``). Rows are written with the
storage repositories, exactly as the bot would leave them after a mediator closed each case as
settled: a mediator (a user row and a member), one settled case per reminder with
``mediator_id`` set, and a ``revisit`` row ``revisit:{case}:1`` due at the given time.
Everything is one transaction per chunk, so 10,000 reminders take seconds, not minutes.

The relay benchmark (``bench.relay``) seeds conversations instead (``seed_conversations``):
mediators of the area, and residents who each have one case their mediator accepted, as the
intake and the offer leave it (playground/demo.py writes its demo cases the same way).
Accepted cases for the relay kill test (``seed_accepted_cases``) are also each mediator's
current one (/case), so both sides can simply write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.cases import CaseState, NewCase
from storage.cases import CaseRepository
from storage.db import Database
from storage.members import MemberRepository
from storage.reminders import ReminderRepository
from storage.users import UserRepository

AREA = "dongsheng"
PREFIX = "QJS"
RESIDENT = 1001
CHUNK = 500  # reminders per transaction


@dataclass(frozen=True)
class SeededRevisit:
    """One settled case and its revisit reminder."""

    case_id: int
    number: str  # QJS-2026-0001
    job_id: str  # revisit:{case_id}:1
    due: datetime


async def seed_people(db: Database, mediator_id: int, language: str, now: datetime) -> None:
    """A resident (1001) and a mediator of the area who reads `language` ('en' or 'zh-hans')."""
    users, members = UserRepository(db), MemberRepository(db)
    await users.upsert_seen(RESIDENT, "zh-hans", now)
    await users.upsert_seen(mediator_id, language, now)
    await members.save(mediator_id, "mediator", AREA, now)
    await members.set_display_name(mediator_id, f"王大姐 {mediator_id}")


async def seed_revisits(
    db: Database, mediator_id: int, dues: Sequence[datetime], now: datetime
) -> list[SeededRevisit]:
    """One settled case of `mediator_id` per due time, each with a pending revisit reminder."""
    seeded: list[SeededRevisit] = []
    for start in range(0, len(dues), CHUNK):
        async with db.transaction():
            for due in dues[start : start + CHUNK]:
                seeded.append(await _settled_case_with_revisit(db, mediator_id, due, now))
    return seeded


@dataclass(frozen=True)
class SeededCase:
    """An accepted case: a resident talking to their mediator through the relay."""

    case_id: int
    number: str
    resident_id: int
    mediator_id: int


async def seed_accepted_cases(
    db: Database, pairs: Sequence[tuple[int, int]], now: datetime
) -> list[SeededCase]:
    """One accepted case per (resident, mediator) pair, in one transaction.

    Residents read Chinese, mediators English; mediator k is named 大姐k. Each mediator's
    case is their current one, so a message that replies to nothing goes to it.
    """
    users, members, cases = UserRepository(db), MemberRepository(db), CaseRepository(db)
    seeded: list[SeededCase] = []
    async with db.transaction():
        for k, (resident_id, mediator_id) in enumerate(pairs, start=1):
            await users.upsert_seen(resident_id, "zh-hans", now)
            await users.upsert_seen(mediator_id, "en", now)
            await members.save(mediator_id, "mediator", AREA, now)
            await members.set_display_name(mediator_id, f"大姐{k}")
            new = dataclasses.replace(_new_case(), resident_id=resident_id, pseudonym=f"R-{k:04d}")
            case = await cases.create(new, PREFIX, now.year, now)
            await cases.set_state(case.id, CaseState.ACCEPTED, mediator_id, now)
            await cases.add_event(case.id, "accepted", now, actor_id=mediator_id)
            await members.set_current_case(mediator_id, case.id)
            seeded.append(SeededCase(case.id, case.number, resident_id, mediator_id))
    return seeded


async def _settled_case_with_revisit(
    db: Database, mediator_id: int, due: datetime, now: datetime
) -> SeededRevisit:
    """Register a case, settle it with `mediator_id`, and add its first revisit reminder."""
    cases, reminders = CaseRepository(db), ReminderRepository(db)
    case = await cases.create(_new_case(), PREFIX, now.year, now)
    await cases.set_state(case.id, CaseState.ACCEPTED, mediator_id, now)
    await cases.close(case.id, CaseState.SETTLED, "双方同意轮流使用楼道 (agreement)", now)
    job_id = f"revisit:{case.id}:1"
    await reminders.add(job_id, "revisit", due, now, case_id=case.id, ref=1)
    return SeededRevisit(case.id, case.number, job_id, due)


def _new_case() -> NewCase:
    return NewCase(
        resident_id=RESIDENT,
        pseudonym="R-0001",
        area_id=AREA,
        category="neighbours",
        urgent=False,
        contact="chat",
        phone=None,
    )


# -- open conversations (the relay benchmark) ------------------------------------------------


async def seed_conversations(db: Database, mediator_of: Mapping[int, int], now: datetime) -> None:
    """Each resident (a key) has one accepted case of their mediator (the value).

    Everyone reads Chinese; the mediators are members of the area named 大姐<id>; the
    residents consented and chose the area, as the intake leaves them.
    """
    users, members = UserRepository(db), MemberRepository(db)
    async with db.transaction():
        for mediator_id in sorted(set(mediator_of.values())):
            await users.upsert_seen(mediator_id, "zh-hans", now)
            await members.save(mediator_id, "mediator", AREA, now)
            await members.set_display_name(mediator_id, f"大姐{mediator_id}")
        for number, (resident_id, mediator_id) in enumerate(sorted(mediator_of.items())):
            await _accepted_case(db, resident_id, mediator_id, number, now)


async def _accepted_case(
    db: Database, resident_id: int, mediator_id: int, number: int, now: datetime
) -> None:
    """A consenting resident's case, offered to `mediator_id` and accepted a minute later."""
    users, cases = UserRepository(db), CaseRepository(db)
    await users.upsert_seen(resident_id, "zh-hans", now)
    await users.consent(resident_id, now)
    await users.remember_area(resident_id, AREA, now)
    new = NewCase(resident_id, f"R-{number + 1:04d}", AREA, "neighbours", False, "chat", None)
    case = await cases.create(new, PREFIX, now.year, now)
    await cases.add_event(case.id, "registered", now, by="resident", urgent=False)
    offer = await cases.add_offer(case.id, mediator_id, now, now + timedelta(minutes=30))
    await cases.add_event(case.id, "offered", now, mediator=mediator_id)
    accepted = now + timedelta(minutes=1)
    await cases.end_offer(offer.id, "accepted", accepted)
    await cases.set_state(case.id, CaseState.ACCEPTED, mediator_id, accepted)
    await cases.add_event(case.id, "accepted", accepted, actor_id=mediator_id)
