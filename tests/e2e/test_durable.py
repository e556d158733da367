"""Nothing lost, nothing silent: a full disk, a locked database, a refused copy, a flood,
edits, and updates a crash left unhandled — each told to someone, each in the book."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.e2e.flows import (
    CLOSED_TO_HER,
    KEPT,
    accepted_case,
    close_settled,
    expect_shaped,
    hand_over,
)
from tests.harness import BotUnderTest, Person, zh

NOT_TAKEN = "没能收下"  # zh: "…could not be taken just now… Please send it again"
TOO_LONG = "太长了"


def _book_rows(path: Path, number: str) -> list[tuple[str, str | None, str, str | None, Any]]:
    """(author, text, delivery, failure, edit_of) of a case's book, straight from the file."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return list(
            db.execute(
                """SELECT m.author, m.text, m.delivery, m.failure, m.edit_of
                   FROM case_messages m JOIN cases c ON c.id = m.case_id
                   WHERE c.number = ? ORDER BY m.id""",
                (number,),
            )
        )


async def settled_book(
    path: Path, number: str, timeout: float = 5.0, *, at_least: int = 0
) -> list[tuple[str, str | None, str, str | None, Any]]:
    """The book once it has `at_least` entries and none is 'pending' any more: a copy is
    marked delivered just after Telegram answers, a moment after the other side sees it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = _book_rows(path, number)
        settled = len(rows) >= at_least and all(r[2] != "pending" for r in rows)
        if settled or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.05)


async def _db_execute(bot: BotUnderTest, sql: str) -> None:
    assert bot.app is not None
    await bot.app.bot_data.services.db.execute(sql)


async def _fill_the_disk(path: Path) -> None:
    """Cap the file at its size and fill every free page, then the room left inside pages
    (a handled update keeps only its id, so inbox pages have some): as when the disk is
    full."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
        size = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {size}")
        for blob in (1000, 100, 10):
            with contextlib.suppress(sqlite3.OperationalError):  # full at last
                while True:
                    db.execute(f"INSERT INTO filler VALUES (zeroblob({blob}))")


async def test_a_full_disk_refuses_the_message_and_says_so(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    """Whatever the bot took is booked and passed on; whatever it could not take, the
    resident is told about (never that it was saved), and it is in neither place."""
    resident, wang = bot.person(1801), team["wang"]
    number = await accepted_case(resident, wang)
    path = bot.config.storage.path
    await _fill_the_disk(path)
    await _db_execute(bot, "PRAGMA max_page_count = 1")  # the bot's connection too
    sent: list[str] = []

    def refused() -> bool:
        return any(NOT_TAKEN in m.content for m in bot.api.messages_to(resident.id))

    # The first few may fit in room left inside the file's pages; then the disk is full.
    for _round in range(10):
        for n in range(len(sent), len(sent) + 6):
            sent.append(f"满了 {n}")
            await resident.send(sent[-1])
        await asyncio.sleep(3)
        if refused():
            break
    await asyncio.sleep(8)  # two tries per batch, each up to the busy timeout
    await _db_execute(bot, "PRAGMA max_page_count = 1073741823")
    await resident.send("又能写了")
    # Not necessarily the next message: one written while the disk was full may have fit
    # in space freed inside the file (a handled update keeps only its id), and gone first.
    await bot.api.wait_for(
        lambda: any("又能写了" in m.content for m in bot.api.messages_to(wang.id)),
        timeout=20,
        what="the message after the disk had room again",
    )
    told = [m for m in bot.api.messages_to(resident.id) if NOT_TAKEN in m.content]
    delivered = {m.content for m in bot.api.messages_to(wang.id)} & set(sent)
    booked = {r[1] for r in _book_rows(path, number)} & set(sent)
    assert told, "the full disk refused nothing: the test did not fill it"
    assert delivered == booked
    assert len(told) + len(booked) == len(sent)
    assert "又能写了" in {r[1] for r in _book_rows(path, number)}


async def test_a_locked_database_delays_but_loses_nothing(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1802), team["wang"]
    number = await accepted_case(resident, wang)
    path = bot.config.storage.path
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        for n in range(3):
            await resident.send(f"锁着 {n}")
        await asyncio.sleep(6.5)  # beyond the busy timeout: the feed tries again
    finally:
        other.execute("ROLLBACK")
        other.close()
    await wang.expect_many("锁着 0", "锁着 1", "锁着 2", timeout=15)
    rows = [(text, delivery) for _, text, delivery, *_ in await settled_book(path, number)]
    assert [r for r in rows if r[0] and r[0].startswith("锁着")] == [
        (f"锁着 {n}", "delivered") for n in range(3)
    ]


async def _discreet(resident: Person) -> None:
    await resident.send("/privacy")
    await expect_shaped(resident, KEPT, days=r"\d+")
    await resident.press(zh("Discreet mode: on"))
    await resident.expect(zh("📩 New message"))


async def test_a_text_too_long_for_a_discreet_resident_is_reported_to_the_mediator(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1803), team["wang"]
    number = await accepted_case(resident, wang)
    await _discreet(resident)
    long_text = "长" * 4096  # fits Telegram alone, not under the neutral first line
    sent = await wang.send(long_text)
    report = await wang.expect(TOO_LONG)
    assert report.message["reply_to_message"]["message_id"] == sent["message_id"]
    last = _book_rows(bot.config.storage.path, number)[-1]
    assert last[:4] == ("mediator", long_text, "undelivered", "too_long")


async def test_captions_too_long_are_reported_on_either_side(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1804), team["wang"]
    number = await accepted_case(resident, wang)
    await bot.api.send_photo(resident.id, b"jpeg", caption="图" * 2013)  # a premium caption
    await resident.expect(TOO_LONG)
    await _discreet(resident)
    await bot.api.send_photo(wang.id, b"jpeg", caption="片" * 1020)  # + the neutral line
    await wang.expect(TOO_LONG)
    rows = _book_rows(bot.config.storage.path, number)
    assert [(r[0], r[2], r[3]) for r in rows[-2:]] == [
        ("resident", "undelivered", "too_long"),
        ("mediator", "undelivered", "too_long"),
    ]


async def test_edits_are_booked_and_followed_while_allowed(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1807), team["wang"]
    number = await accepted_case(resident, wang)
    sent = await resident.send("周四见")
    await wang.expect("周四见")
    await bot.api.edit_text(resident.id, sent["message_id"], "周五见")
    await wang.expect_edit("周五见")
    rows = await settled_book(bot.config.storage.path, number)
    assert [r[1] for r in rows[-2:]] == ["周四见", "周五见"]  # the original stays readable
    assert rows[-1][4] is not None and rows[-1][2] == "delivered"


async def test_an_edit_after_the_close_is_refused_and_changes_nothing(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1808), team["wang"]
    number = await accepted_case(resident, wang)
    sent = await resident.send("原话")
    copy = await wang.expect("原话")
    await close_settled(wang, "各让一步")
    await resident.expect(zh(CLOSED_TO_HER, number=number, outcome=zh("settled")))
    before = _book_rows(bot.config.storage.path, number)
    await bot.api.edit_text(resident.id, sent["message_id"], "改过的话")
    await resident.expect(
        zh(
            "This case is closed, so your edit was not passed on. The registration"
            " book keeps the message as it was."
        )
    )
    assert _book_rows(bot.config.storage.path, number) == before
    assert bot.api.messages_to(wang.id)[copy.index].edits == []


async def test_an_edit_by_a_former_mediator_is_refused(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1809), team["wang"]
    number = await accepted_case(resident, wang)
    sent = await wang.send("明天上午来")
    await resident.expect_many("💬 王大姐", "明天上午来")
    await hand_over(wang, "/transfer", number, "李阿姨", "交接")
    await bot.api.edit_text(wang.id, sent["message_id"], "打我电话 13800000000")
    await wang.expect(
        zh(
            "You can no longer write in this case, so your edit was not passed on."
            " The registration book keeps the message as it was."
        )
    )
    texts = [r[1] for r in _book_rows(bot.config.storage.path, number)]
    assert "打我电话 13800000000" not in texts


async def test_updates_a_crash_left_unhandled_are_handled_at_start(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    """Stored in the inbox but never handled (the process died): handled at the next start,
    in order, once."""
    resident, wang = bot.person(1810), team["wang"]
    number = await accepted_case(resident, wang)
    await bot.stop()
    for text in ("崩溃前一", "崩溃前二"):
        await resident.send(text)
    pending, bot.api.world.updates = list(bot.api.world.updates), []
    with contextlib.closing(sqlite3.connect(bot.config.storage.path)) as db, db:
        for update in pending:
            db.execute(
                "INSERT INTO inbox (update_id, chat_id, payload, received_at) VALUES (?, ?, ?, ?)",
                (update["update_id"], resident.id, json.dumps(update), "2026-03-02T01:30:00"),
            )
    await bot.start()
    await wang.expect_many("崩溃前一", "崩溃前二")
    await wang.expect_silence()
    texts = [r[1] for r in _book_rows(bot.config.storage.path, number)]
    assert texts.count("崩溃前一") == 1 and texts.count("崩溃前二") == 1


async def test_an_edit_by_a_blocked_resident_is_refused(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    resident, wang = bot.person(1811), team["wang"]
    number = await accepted_case(resident, wang)
    sent = await resident.send("普通的一句")
    copy = await wang.expect("普通的一句")
    await staff.send(f"/block {number} 骚扰")
    await staff.expect(number)
    await bot.api.edit_text(resident.id, sent["message_id"], "改成骂人的话")
    await resident.expect(zh("Sorry, your messages cannot be received now."))
    await wang.expect_silence()
    assert bot.api.messages_to(wang.id)[copy.index].edits == []
    texts = [r[1] for r in _book_rows(bot.config.storage.path, number)]
    assert "改成骂人的话" not in texts
