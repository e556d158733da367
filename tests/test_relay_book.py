"""The relay's book under timing the end-to-end tests cannot arrange: a slow copy, an erasure
while a message is on its way, a refused copy. RelayService and the outbox, with a
messenger that is slow (or refuses) on purpose; no Telegram."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.i18n import Catalogs
from bot.core.messaging import DeliveryRefused, Outgoing
from bot.domain.cases import CaseRecord, MessagePart, NewCase
from bot.domain.people import Person
from bot.features.deps import Deps, Repositories
from bot.features.outbox import MessageDeliverer, Outbox, OutboxMessenger
from bot.features.people import PeopleService
from bot.features.relay import Envelope, RelayService
from bot.features.timers import Timers
from storage.cases import CaseRepository
from storage.db import Database
from storage.members import MemberRepository
from storage.outbox import OutboxRepository
from storage.privacy import PrivacyRepository
from storage.relay import RelayRepository
from storage.reminders import ReminderRepository
from storage.users import UserRepository
from tests.harness import make_config

RESIDENT, MEDIATOR = 100, 200


class SlowMessenger:
    """Copies into `slow_chat` take `delay` seconds; everything else is instant."""

    def __init__(self) -> None:
        self.slow_chat: int | None = None
        self.delay = 0.1
        self._next_id = 1000

    async def send(self, chat_id: int, message: Outgoing, *, reply_to: int | None = None) -> int:
        self._next_id += 1
        return self._next_id

    async def copy(
        self,
        from_chat_id: int,
        message_id: int,
        to_chat_id: int,
        *,
        reply_to: int | None = None,
        caption: str | None = None,
        protect: bool = False,
    ) -> int:
        if to_chat_id == self.slow_chat:
            await asyncio.sleep(self.delay)
        self._next_id += 1
        return self._next_id


@dataclass
class Desk:
    db: Database
    relay: RelayService
    messenger: SlowMessenger
    clock: FakeClock
    case: CaseRecord
    resident: Person
    mediator: Person

    def text(self, sender: int, message_id: int, text: str) -> Envelope:
        return Envelope(MessagePart("text", text, None, sender, message_id))

    async def book(self) -> list[tuple[str, str | None]]:
        conversation = await CaseRepository(self.db).conversation(self.case.id)
        return [(author, part.text) for author, part, _at in conversation]


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """A resident with a case accepted by a mediator; both chats already show its header."""
    config, clock = make_config(tmp_path), FakeClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    db = await Database.open(config.storage.path)
    users, members, cases = UserRepository(db), MemberRepository(db), CaseRepository(db)
    for user_id in (RESIDENT, MEDIATOR):
        await users.upsert_seen(user_id, "en", clock.now())
    await members.save(MEDIATOR, "mediator", "dongsheng", clock.now())
    new = NewCase(RESIDENT, "R-1", "dongsheng", "neighbours", False, "chat", None)
    async with db.transaction():
        case = await cases.create(new, "DS", 2026, clock.now())
    await db.execute(
        "UPDATE cases SET state = 'accepted', mediator_id = ? WHERE id = ?", (MEDIATOR, case.id)
    )
    await members.set_current_case(MEDIATOR, case.id)
    catalogs = Catalogs(default="zh_CN")
    people = PeopleService(users, members, clock, config, catalogs)
    messenger = SlowMessenger()
    outbox = Outbox(db, OutboxRepository(db), clock, catalogs)
    outbox.register("message", MessageDeliverer(messenger))
    timers = Timers(ReminderRepository(db), clock)
    deps = Deps(
        db,
        Repositories.over(db),
        clock,
        config,
        catalogs,
        outbox,
        OutboxMessenger(outbox),
        people,
        timers,
    )
    relay = RelayService(deps, transport=messenger, telegram=messenger)
    await outbox.start()
    resident, mediator = await people.seen(RESIDENT, "en"), await people.seen(MEDIATOR, "en")
    accepted = await cases.get(case.id)
    assert accepted is not None
    desk = Desk(db, relay, messenger, clock, accepted, resident, mediator)
    await relay.from_resident(resident, desk.text(RESIDENT, 1, "hello"))
    await relay.from_member(mediator, desk.text(MEDIATOR, 1, "hello back"))
    await sent(db)
    yield desk
    await outbox.stop()
    await db.close()


async def sent(db: Database, timeout: float = 5.0) -> None:
    """Until the outbox is empty: every queued copy sent and recorded."""
    async with asyncio.timeout(timeout):
        while await OutboxRepository(db).waiting():
            await asyncio.sleep(0.01)


async def test_the_book_keeps_the_order_of_arrival_whatever_the_copies_take(
    desk: Desk,
) -> None:
    desk.messenger.slow_chat = MEDIATOR  # the resident's message is slow to copy (a big photo)
    first = asyncio.create_task(
        desk.relay.from_resident(desk.resident, desk.text(RESIDENT, 2, "first"))
    )
    await asyncio.sleep(0.02)
    desk.clock.advance(timedelta(seconds=1))
    await desk.relay.from_member(desk.mediator, desk.text(MEDIATOR, 2, "second"))
    await first
    await sent(desk.db)
    assert (await desk.book())[-2:] == [("resident", "first"), ("mediator", "second")]


async def test_a_message_on_its_way_during_an_erasure_does_not_come_back(desk: Desk) -> None:
    desk.messenger.slow_chat = RESIDENT
    on_its_way = asyncio.create_task(
        desk.relay.from_member(desk.mediator, desk.text(MEDIATOR, 3, "on its way"))
    )
    await asyncio.sleep(0.02)  # copying into the resident's chat
    async with desk.db.transaction():  # as PrivacyService.forget does
        await PrivacyRepository(desk.db).erase(RESIDENT, [desk.case.id])
        await CaseRepository(desk.db).add_event(desk.case.id, "erased", desk.clock.now())
    await on_its_way
    await sent(desk.db)
    assert await desk.book() == []
    mapped = await desk.db.fetch_all("SELECT * FROM relay_map WHERE case_id = ?", (desk.case.id,))
    assert mapped == []


async def test_a_refused_copy_is_booked_undelivered_and_the_writer_told(desk: Desk) -> None:
    async def refusing_copy(*args: object, **kwargs: object) -> int:
        raise DeliveryRefused("too_long")

    told: list[str] = []

    async def recording_send(chat_id: int, message: Outgoing, **kwargs: object) -> int:
        told.append(f"{chat_id}:{message.text}")
        return 999

    desk.messenger.copy = refusing_copy  # type: ignore[method-assign,assignment]
    desk.messenger.send = recording_send  # type: ignore[method-assign,assignment]
    await desk.relay.from_resident(desk.resident, desk.text(RESIDENT, 4, "lost in transit"))
    await sent(desk.db)
    entries = await CaseRepository(desk.db).book(desk.case.id)
    assert (entries[-1].part.text, entries[-1].delivery, entries[-1].failure) == (
        "lost in transit",
        "undelivered",
        "too_long",
    )
    assert len(told) == 1 and told[0].startswith(f"{RESIDENT}:")  # told in her chat
    mapped = await RelayRepository(desk.db).find(RESIDENT, 4)
    assert mapped is not None and mapped.peer_chat is None  # its case known, no copy
