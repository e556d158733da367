"""Callback data is checked in one place before any handler (handlers.common.UnknownButtons).

A modified client can press any data on any message of the bot. Empty data used to reach
the invite chooser, first of the button handlers (PTB lets empty data match every pattern),
and fail there with an AssertionError; data longer than Telegram's 64 bytes was taken at its
word. Each bad press must get the stale-button answer in the presser's language, and change
nothing: no message, no row of the database, no error in a handler.
"""

from __future__ import annotations

import pytest
from telegram.ext import CallbackQueryHandler

from bot.core.errors import StaleActionError
from bot.core.i18n import Catalogs
from handlers.common import button_patterns
from tests.e2e.driving import Watcher, changed_tables, count, database, settled, snapshot
from tests.harness import BotUnderTest, Person

STAFF, RESIDENT = 900, 1701
TOO_LONG = "inv:mediator:" + "东" * 17 + "d"  # 31 characters, but 65 bytes in UTF-8
BAD = {"empty": "", "65 bytes": TOO_LONG, "unknown prefix": "zz:1"}


def _stale(locale: str) -> str:
    with Catalogs().using(locale):
        return StaleActionError().user_message()


async def _press(bot: BotUnderTest, person: Person, data: str) -> str:
    """Press `data`, forged on the person's newest message; the answer to the press."""
    newest = bot.api.messages_to(person.id)[-1]
    query = await bot.api.press_button(person.id, newest.message_id, data, forged=True)
    return await person.callback_answer(query)


@pytest.mark.parametrize("data", list(BAD.values()), ids=list(BAD))
async def test_bad_callback_data_gets_the_stale_answer_and_changes_nothing(
    bot: BotUnderTest, data: str
) -> None:
    assert len(TOO_LONG.encode()) == 65
    assert bot.app is not None
    watcher = Watcher(bot.api)
    watcher.attach(bot.app)
    staff = bot.person(STAFF, "Staff", language_code="zh-hans")
    resident = bot.person(RESIDENT, "Ann", language_code="en")
    await staff.send("/invite")  # the invite chooser: where empty data used to fail
    await staff.expect("您要邀请谁")
    await resident.send("/help")
    await resident.expect()
    for person in (staff, resident):
        await settled(person)
    before, messages_before = await snapshot(database(bot)), (count(staff), count(resident))

    assert await _press(bot, staff, data) == _stale("zh_CN")
    assert await _press(bot, resident, data) == _stale("en")

    for person in (staff, resident):
        await settled(person)
    assert (count(staff), count(resident)) == messages_before
    assert changed_tables(before, await snapshot(database(bot))) == set()
    assert watcher.errors == []  # refused before any handler: not even a DomainError
    assert bot.api.errors == []


async def test_data_of_64_bytes_still_reaches_its_handler(bot: BotUnderTest) -> None:
    resident = bot.person(RESIDENT, "Ann", language_code="en")
    await resident.send("/language")
    await resident.expect("Which language")
    data = "lang:" + "x" * 59
    assert len(data.encode()) == 64
    assert await _press(bot, resident, data) == "That language is not available."


def test_a_button_handler_without_a_pattern_is_a_wiring_mistake() -> None:
    async def anything(update: object, context: object) -> None:
        """Would take every press."""

    with pytest.raises(TypeError, match="anything"):
        button_patterns([CallbackQueryHandler(anything)])
