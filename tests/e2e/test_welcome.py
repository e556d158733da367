"""First contact: the welcome in the user's language, /language, and answers to the unexpected."""

from __future__ import annotations

from tests.harness import BotUnderTest, zh

PRIVATE = {"type": "all_private_chats"}
RESIDENT_HELP = "\n".join(  # /help for a resident, whole
    zh(line)
    for line in (
        "Write 找大阿嫂 (or press the button) to talk to a Da'asao mediator in private.",
        "/status – your cases · /withdraw – withdraw one",
        "/subscribe – event notices · /privacy – your data, discreet mode",
        "/cancel – stop what you are doing",
        "/language – choose your language",
    )
)


async def test_start_greets_in_chinese_for_zh_hans(bot: BotUnderTest) -> None:
    resident = bot.person(1001, language_code="zh-hans")
    await resident.send("/start")
    await resident.expect("开始之前，先说说您的隐私")


async def test_start_greets_in_english_for_en(bot: BotUnderTest) -> None:
    resident = bot.person(1002, "Mary", language_code="en")
    await resident.send("/start")
    await resident.expect("Before we start, about your privacy")


async def test_unsupported_language_code_gets_the_default_chinese(bot: BotUnderTest) -> None:
    resident = bot.person(1003, language_code="ru")
    await resident.send("/help")
    await resident.expect(RESIDENT_HELP)


async def test_language_choice_survives_a_restart(bot: BotUnderTest) -> None:
    resident = bot.person(1004, language_code="zh-hans")
    await resident.send("/language")
    await resident.expect("您希望我用哪种语言")
    await resident.press("English")
    await resident.expect_edit("From now on I will write to you in English.")

    await bot.restart()
    await resident.send("/help")
    await resident.expect("Write “Find Da'asao” (or press the button)")


async def test_switching_back_to_chinese(bot: BotUnderTest) -> None:
    resident = bot.person(1005, "Ann", language_code="en")
    await resident.send("/language")
    await resident.expect("Which language")
    await resident.press("中文")
    await resident.expect_edit("以后我用中文和您交流")
    await resident.send("/help")
    await resident.expect("私下联系大阿嫂调解员")


async def test_forged_language_button_is_refused_politely(bot: BotUnderTest) -> None:
    resident = bot.person(1006, language_code="en")
    await resident.send("/language")
    message = await resident.expect("Which language")
    query_id = await bot.api.press_button(1006, message.message_id, "lang:xx", forged=True)
    assert await resident.callback_answer(query_id) == "That language is not available."


async def test_anything_unexpected_gets_an_answer(bot: BotUnderTest) -> None:
    resident = bot.person(1007, language_code="en")
    await resident.send("hello?")
    await resident.expect("did not understand")
    await bot.api.send_sticker(1007, b"webp")
    await resident.expect("did not understand")
    await resident.send("/nosuchcommand")
    await resident.expect("I don't know the command /nosuchcommand")


async def test_commands_menu_is_published_in_both_languages(bot: BotUnderTest) -> None:
    chinese = {c["command"]: c["description"] for c in bot.api.commands(PRIVATE, "zh")}
    en = {c["command"]: c["description"] for c in bot.api.commands(PRIVATE, "en")}
    assert chinese["start"] == zh("Talk to Da'asao")
    assert en["start"] == "Talk to Da'asao"
    assert (
        set(chinese)
        == set(en)
        == {"start", "status", "withdraw", "subscribe", "privacy", "cancel", "language", "help"}
    )
