"""The outbox without Telegram: order per chat, retries, refusals, crash recovery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import FakeClock
from bot.core.i18n import Catalogs
from bot.core.messaging import DeliveryRefused, TransientDeliveryError
from bot.core.pacing import BROADCAST, CONVERSATION, SendPacer
from bot.features.outbox import Outbox
from storage.db import Database
from storage.outbox import OutboxRepository, OutboxRow


class Recorder:
    """A deliverer that records what it sends; `fail` says what to raise, per text."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.done: list[str] = []
        self.refusals: list[tuple[str, str]] = []
        self.fail: dict[str, list[Exception]] = {}
        self.delay = 0.0

    async def deliver(self, row: OutboxRow) -> int:
        text = row.payload["text"]
        if self.fail.get(text):
            raise self.fail[text].pop(0)
        await asyncio.sleep(self.delay)
        self.sent.append((row.chat_id, text))
        return len(self.sent)

    async def delivered(self, row: OutboxRow, result: Any) -> None:
        self.done.append(row.payload["text"])

    async def refused(self, row: OutboxRow, error: DeliveryRefused) -> None:
        self.refusals.append((row.payload["text"], error.reason))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "outbox.sqlite3")
    yield database
    await database.close()


def _outbox(db: Database, recorder: Recorder) -> Outbox:
    clock = FakeClock(datetime(2026, 3, 2, tzinfo=UTC))
    outbox = Outbox(db, OutboxRepository(db), clock, Catalogs())
    outbox.register("test", recorder)
    return outbox


async def _until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_each_chat_in_order_chats_side_by_side(db: Database) -> None:
    recorder = Recorder()
    recorder.delay = 0.02
    outbox = _outbox(db, recorder)
    await outbox.start()
    for n in range(5):
        for chat in (1, 2, 3):
            await outbox.put(chat, "test", {"text": f"{chat}-{n}"})
    await _until(lambda: len(recorder.done) == 15)
    await outbox.stop()
    for chat in (1, 2, 3):
        assert [t for c, t in recorder.sent if c == chat] == [f"{chat}-{n}" for n in range(5)]
    assert await OutboxRepository(db).waiting() == 0


async def test_passing_trouble_is_retried_and_a_refusal_is_final(db: Database) -> None:
    recorder = Recorder()
    recorder.fail = {
        "flaky": [TransientDeliveryError(0), TransientDeliveryError(0)],
        "too long": [DeliveryRefused("too_long")],
    }
    outbox = _outbox(db, recorder)
    await outbox.start()
    for text in ("flaky", "too long", "after"):
        await outbox.put(7, "test", {"text": text})
    await _until(lambda: len(recorder.done) == 2)
    await outbox.stop()
    assert recorder.sent == [(7, "flaky"), (7, "after")]  # order kept through the retries
    assert recorder.refusals == [("too long", "too_long")]


@pytest.mark.parametrize(("just_wrote_there", "everyone_waits"), [(True, False), (False, True)])
async def test_a_429_of_one_chat_holds_that_chat_and_a_429_of_the_bot_holds_all(
    db: Database, just_wrote_there: bool, everyone_waits: bool
) -> None:
    """A 429 right after a message to the same chat is that chat's limit: the other chats
    go on at once. A 429 for a chat nobody wrote to just now is the bot's: everyone waits."""
    recorder = Recorder()
    recorder.fail = {"7-b": [TransientDeliveryError(1.0)]}
    clock = FakeClock(datetime(2026, 3, 2, tzinfo=UTC))
    outbox = Outbox(db, OutboxRepository(db), clock, Catalogs(), pacer=SendPacer(30))
    outbox.register("test", recorder)
    await outbox.start()
    if just_wrote_there:
        await outbox.put(7, "test", {"text": "7-a"})
        await _until(lambda: len(recorder.done) == 1)
    await outbox.put(7, "test", {"text": "7-b"})
    await _until(lambda: not recorder.fail["7-b"])  # the 429 came back
    started = time.monotonic()
    await outbox.put(8, "test", {"text": "8-a"})  # someone else's message, an urgent alert
    await _until(lambda: (8, "8-a") in recorder.sent)
    waited = time.monotonic() - started
    await _until(lambda: (7, "7-b") in recorder.sent)  # and the held one went after all
    await outbox.stop()
    assert (waited >= 0.9) is everyone_waits, waited


async def test_a_row_queued_in_a_transaction_goes_only_after_the_commit(db: Database) -> None:
    recorder = Recorder()
    outbox = _outbox(db, recorder)
    await outbox.start()
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await outbox.put(1, "test", {"text": "rolled back"})
            raise RuntimeError("the use case failed")
    async with db.transaction():
        await outbox.put(1, "test", {"text": "committed"})
        await asyncio.sleep(0.05)
        assert recorder.sent == []  # not before the commit
    await _until(lambda: recorder.done == ["committed"])
    await outbox.stop()


async def test_what_a_crash_left_goes_at_start_in_order(db: Database) -> None:
    """Rows written by a run that died (one of them perhaps on its way): all go, in order."""
    repo = OutboxRepository(db)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    await repo.add(1, "test", {"text": "in flight"}, now)
    await repo.add(1, "test", {"text": "queued"}, now)
    recorder = Recorder()
    outbox = _outbox(db, recorder)
    await outbox.start()
    await _until(lambda: len(recorder.done) == 2)
    await outbox.stop()
    assert recorder.sent == [(1, "in flight"), (1, "queued")]


async def test_conversations_go_before_broadcasts_in_a_chat(db: Database) -> None:
    repo = OutboxRepository(db)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    await repo.add(1, "test", {"text": "notice"}, now, priority=BROADCAST)
    await repo.add(1, "test", {"text": "reply"}, now, priority=CONVERSATION)
    recorder = Recorder()
    outbox = _outbox(db, recorder)
    await outbox.start()
    await _until(lambda: len(recorder.done) == 2)
    await outbox.stop()
    assert [t for _, t in recorder.sent] == ["reply", "notice"]


async def test_a_row_its_caller_sends_again_after_a_crash_is_left_to_it(db: Database) -> None:
    """A reminder fired again, an update handled again: their rows are not sent twice."""
    repo = OutboxRepository(db)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    await repo.add(1, "test", {"text": "redone by its caller", "redo": True}, now)
    await repo.add(1, "test", {"text": "only here"}, now)
    recorder = Recorder()
    outbox = _outbox(db, recorder)
    await outbox.start()
    await _until(lambda: len(recorder.done) == 1)
    await outbox.stop()
    assert recorder.sent == [(1, "only here")]
    assert await repo.waiting() == 0
