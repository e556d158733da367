"""The bot's profile per language, set at start and read back from the local Bot API."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from telegram import Bot

from tests.harness import BotUnderTest, make_config, zh


async def test_profile_in_each_language_read_back(bot: BotUnderTest) -> None:
    client = Bot(bot.api.token, base_url=bot.api.base_url)
    async with client:
        zh_name = await client.get_my_name(language_code="zh")
        en_name = await client.get_my_name(language_code="en")
        zh_short = await client.get_my_short_description(language_code="zh")
        en_about = await client.get_my_description(language_code="en")
        fallback = await client.get_my_name(language_code="fr")  # no French: the default one
    assert zh_name.name == zh("Da'asao") and en_name.name == "Da'asao"
    assert fallback.name == zh("Da'asao")  # the configured default language, Chinese
    assert zh_short.short_description == zh(
        "Got a conflict? Find Da'asao: the neighbourhood's volunteer women mediators. Free and"
        " private."
    )
    assert "Press Start" in en_about.description and "private" in en_about.description
    description = bot.api.profile("description", "zh")
    assert description == zh(
        "Trouble at home, with neighbours, a landlord or an employer? Press Start and tell us. A"
        " volunteer woman mediator of your neighbourhood will answer you herself. Free, and what"
        " you say stays private."
    )
    for field in ("name", "description", "short_description"):
        for code in ("zh", "en", ""):
            assert bot.api.profile(field, code), (field, code)


async def test_a_refused_profile_is_logged_and_the_bot_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    running = BotUnderTest(make_config(tmp_path, {}))
    await running.api.start()
    running.api.inject_fault("setMyName", kind="500", times=10)
    try:
        with caplog.at_level(logging.WARNING, logger="handlers.profile"):
            await running.start()
        refused = [r for r in caplog.records if r.getMessage() == "bot profile refused"]
        assert len(refused) == 3  # zh, en and the default: each told in the log
        assert running.api.profile("name", "zh") is None
        resident = running.person(5101)
        await resident.send("/start")
        await resident.expect(
            zh(
                "Hello! This is Da'asao, the volunteer women mediators of your"
                " neighbourhood. Tell us what troubles you, at home or with neighbours,"
                " landlords or employers: one of us will answer you herself, and what you"
                " say stays private."
            )
        )  # the bot works without its profile
    finally:
        await running.stop()
        await running.api.stop()
