"""The flood limit never drops a message: over it, messages are kept in the book and held,
the writer is told so, and the other side gets one notice with a button to receive them."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.conftest import ROSTER
from tests.e2e.flows import accepted_case, intake_up_to
from tests.e2e.test_durable import settled_book
from tests.harness import BotUnderTest, Person, zh


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"roster": ROSTER, "privacy": {"max_messages_per_minute": 5}}


async def test_the_flood_limit_holds_and_never_drops(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1805), team["wang"]
    number = await accepted_case(resident, wang)
    bot.clock.advance(timedelta(seconds=61))  # what she wrote to join is a minute old
    for n in range(8):  # 5 a minute pass; the rest are held
        await wang.send(f"第{n}句")
    await wang.expect(  # she is told they are kept and held
        zh(
            "You are writing very fast. Your messages are kept in the registration book and held"
            " for now; the other side has been told and can receive them with one tap."
        )
    )
    await resident.expect("💬 王大姐")
    got = [m.content for m in await resident.expect_many(*(f"第{n}句" for n in range(5)))]
    notice = await resident.expect(
        zh(
            "Case {number}: more messages are waiting. They were written very fast, so they were"
            " held back. Press the button when you are ready for them.",
            number=number,
        )
    )
    assert len(got) == 5 and notice.buttons
    rows = await settled_book(bot.config.storage.path, number, at_least=9)
    deliveries = [r[2] for r in rows[-8:]]
    assert deliveries == ["delivered"] * 5 + ["held"] * 3
    await resident.press(zh("Show the waiting messages"))
    await resident.expect_many("这就把收着的 3 条消息发给您", "第5句", "第6句", "第7句")
    deliveries = [r[2] for r in (await settled_book(bot.config.storage.path, number))[-8:]]
    assert deliveries == ["delivered"] * 8


async def test_an_intake_description_keeps_every_message_over_the_limit(
    bot: BotUnderTest,
) -> None:
    resident = bot.person(1806)
    await intake_up_to(resident, "description")
    for n in range(9):
        await resident.send(f"描述{n}")
    await asyncio.sleep(0.5)
    with contextlib.closing(sqlite3.connect(bot.config.storage.path)) as db:
        (data,) = db.execute("SELECT data FROM drafts WHERE user_id = ?", (resident.id,)).fetchone()
    assert all(f"描述{n}" in data for n in range(9))
