"""Find Da'asao: the resident's intake, end to end through the local Bot API."""

from __future__ import annotations

import asyncio
import re

from tests.e2e.flows import (
    CHECK_REQUEST,
    DESCRIBE,
    GOT_IT,
    REACH,
    REGISTERED,
    TOPIC,
    WHICH_AREA,
    consent_screen,
    describe_and_confirm,
    expect_shaped,
    intake_up_to,
    open_case,
    sensitive_consent,
    start_intake,
)
from tests.harness import BotUnderTest, Person, zh, zh_n

PHONE_ASK = (  # after "A phone call"
    "You can share your phone number with the button below, or type it. Only your mediator will"
    " see it. Or press Skip."
)
PHONE_AGAIN = (
    "Please share your number with the button below, type it (digits only), or press Skip."
)


async def test_full_intake_in_chinese(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident = bot.person(1001, "秀英", last_name="钟", username="zhongxy")
    await intake_up_to(resident, "description", category="婚姻家庭")
    await resident.send("老公最近总是喝酒，回家就吵")
    await resident.expect(zh(GOT_IT))
    await bot.api.send_photo(1001, b"jpeg-bytes", caption="他摔坏的东西")
    await resident.expect(zh(GOT_IT))
    await bot.api.send_voice(1001, b"ogg-bytes", duration=12)
    await resident.expect(zh(GOT_IT))
    await resident.press(zh("Done ✓"))
    await resident.expect(zh(REACH))
    await resident.press(zh("Visit the desk during office hours"))
    summary = await resident.expect(zh(CHECK_REQUEST))
    assert "东升社区" in summary.content
    assert "婚姻家庭" in summary.content
    assert "老公最近总是喝酒" in summary.content
    media = zh(", ").join(
        (
            zh_n("{count} photo", "{count} photos", 1),
            zh_n("{count} voice message", "{count} voice messages", 1),
        )
    )
    assert zh("(with {attachments})", attachments=media) in summary.content
    assert "坐班时间：周二、周四 9:00–11:30" in summary.content
    await resident.press(zh("✓ Send to Da'asao"))
    registered = await resident.expect(zh(REGISTERED, number="QJS-2026-0001"))
    assert zh("{name} will answer you here soon.", name="王大姐") in registered.content
    assert (
        registered.reply_markup and registered.reply_markup["keyboard"][0][0]["text"] == "找大阿嫂"
    )

    card = await team["wang"].expect(zh("New case {number}", number="QJS-2026-0001"))
    assert "东升社区" in card.content
    assert re.search(r"居民 R-\d{4}", card.content)
    for secret in ("秀英", "钟", "zhongxy", "1001"):
        assert secret not in card.content


async def test_full_intake_in_english_with_a_shared_phone(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1002, "Mary", language_code="en")
    await resident.send("find Da'asao")
    await resident.expect("Do you agree?")
    await resident.press("I agree")
    await resident.expect("Which village or community")
    await resident.press("Dongsheng Community")
    await resident.expect("What is it about?")
    await resident.press("Neighbours")
    await sensitive_consent(resident)
    await resident.expect("Please tell us what happened")
    await resident.send("The dog next door barks all night.")
    await resident.expect("Got it")
    await resident.press("Done ✓")
    await resident.expect("How would you like Da'asao to reach you?")
    await resident.press("A phone call")
    phone_step = await resident.expect("share your phone number")
    assert phone_step.reply_markup
    assert phone_step.reply_markup["keyboard"][0][0]["request_contact"] is True
    await bot.api.send_contact(1002, "+8613800000000", "Mary")
    await resident.expect("Thank you.")
    summary = await resident.expect("Please check your request")
    assert "Phone: +8613800000000" in summary.content
    await resident.press("✓ Send to Da'asao")
    registered = await resident.expect("registered as case QJS-2026-0001")
    assert "王大姐 will answer you here soon." in registered.content


async def test_typed_answers_work_at_every_step(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident = bot.person(1003)
    await resident.send("我要找大阿嫂")
    await resident.expect(consent_screen(bot))
    await resident.send("同意")
    await resident.expect(zh(WHICH_AREA))
    await resident.send("东升")
    await resident.expect(zh(TOPIC))
    await resident.send("2")
    await sensitive_consent(resident)
    await resident.expect(zh(DESCRIBE))
    await resident.send("楼上漏水")
    await resident.expect(zh(GOT_IT))
    await resident.send("好了")
    await resident.expect(zh(REACH))
    await resident.send("上门走访")
    await resident.expect(zh(CHECK_REQUEST))
    await resident.send("确认")
    registered = await resident.expect("QJS-2026-0001")
    assert zh(REGISTERED, number="QJS-2026-0001") in registered.content
    await resident.send("/status")
    status = await resident.expect(zh("Your cases:"))
    assert f"QJS-2026-0001 · 邻里纠纷 · {zh('waiting for a mediator')}" in status.content


async def test_bad_input_gets_an_explanation_and_the_same_step(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1004)
    await resident.send("/start")
    await resident.expect_many(
        consent_screen(bot),
        zh(
            "By the way: the women's federation organises events, health checks and"
            " legal lectures. Would you like to hear about them here?"
        ),
    )  # /start offers notices, once
    await bot.api.send_sticker(1004, b"webp")
    await resident.expect_many(
        zh("I can't use that here. Please choose one of the buttons."), consent_screen(bot)
    )
    await resident.press(zh("I agree"))
    await resident.expect(zh(WHICH_AREA))
    await resident.send("火星")
    await resident.expect_many(
        zh("Sorry, I didn't understand. Please choose one of the buttons."), zh(WHICH_AREA)
    )
    await bot.api.send_photo(1004, b"jpeg")
    await resident.expect_many(
        zh("I can't use that here. Please choose one of the buttons."), zh(WHICH_AREA)
    )
    await resident.send("长" * 10_000)
    await resident.expect_many(zh("That message is too long for this step."), zh(WHICH_AREA))
    await resident.press("东升社区")
    await resident.expect(zh(TOPIC))
    await resident.press("东升社区")  # the area buttons are still on screen
    await resident.expect_many(zh("That button belongs to an earlier step."), zh(TOPIC))
    await resident.press("其他")
    await sensitive_consent(resident)
    await resident.expect(zh(DESCRIBE))
    await resident.send("好了")  # "done" before saying anything
    await resident.expect_many(
        zh("Please tell us a little first: a few words, a photo or a voice message."), zh(DESCRIBE)
    )
    await resident.send("长" * 10_000)
    await resident.expect(
        zh(
            "That message is too long ({count} characters). Please send it in parts of at most"
            " {limit} characters.",
            count=10000,
            limit=3000,
        )
    )
    await resident.expect(zh(DESCRIBE))
    await bot.api.send_sticker(1004, b"webp")
    await resident.expect_many(
        zh("Please use words, photos, voice messages or files for your description."), zh(DESCRIBE)
    )
    await bot.api.send_location(1004, 29.9, 121.8)
    await resident.expect_many(
        zh("Please use words, photos, voice messages or files for your description."), zh(DESCRIBE)
    )
    number = await describe_and_confirm(resident)
    assert number == "QJS-2026-0001"


async def test_phone_step_refuses_someone_elses_contact_and_bad_numbers(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1005)
    await intake_up_to(resident, "contact", category="继承与赡养", text="老人赡养费的问题")
    await resident.press(zh("A phone call"))
    await resident.expect(zh(PHONE_ASK))
    await bot.api.send_contact(1005, "+8613900000000", "别人", own=False)
    await resident.expect_many(zh(PHONE_AGAIN), zh(PHONE_ASK))
    await resident.send("abc")
    await resident.expect_many(zh(PHONE_AGAIN), zh(PHONE_ASK))
    await resident.send("138 0000 1111")
    await resident.expect(zh("Thank you."))
    summary = await resident.expect(zh(CHECK_REQUEST))
    assert zh("Phone: {phone}", phone="13800001111") in summary.content


async def test_cancel_leaves_at_any_step_and_consent_is_remembered(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1006)
    await start_intake(resident)
    await resident.press("东升社区")
    await resident.expect(zh(TOPIC))
    await resident.send("/cancel")
    await resident.expect(
        zh("Cancelled. Nothing was sent. Write 找大阿嫂 whenever you want to start again.")
    )
    await resident.send("/cancel")
    await resident.expect(zh("There is nothing to cancel."))
    await start_intake(resident, consent=False)
    buttons = resident.last().reply_markup["inline_keyboard"]  # type: ignore[index]
    assert not any(b["text"].startswith("✓") for row in buttons for b in row)  # nothing kept
    await team["wang"].expect_silence()


async def test_declining_consent_stores_nothing(bot: BotUnderTest) -> None:
    resident = bot.person(1007)
    await resident.send("找大阿嫂")
    await resident.expect(consent_screen(bot))
    await resident.press(zh("No, thanks"))
    await resident.expect(
        zh("All right, nothing has been stored about your request. You can come back any time.")
    )
    await resident.send("找大阿嫂")
    await resident.expect(consent_screen(bot))


async def test_restart_mid_intake_continues_where_it_stopped(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1008)
    await intake_up_to(resident, "description")
    await bot.restart()
    number = await describe_and_confirm(resident, text="重启之后继续说")
    assert number == "QJS-2026-0001"
    card = await team["wang"].expect(number)
    assert "重启之后继续说" in card.content


async def test_trigger_mid_intake_resumes_the_draft(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1009)
    await start_intake(resident)
    await resident.send("找大阿嫂")
    await resident.expect_many(zh("Let's continue where we left off."), zh(WHICH_AREA))


async def test_area_is_remembered_for_the_next_case(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1010)
    await intake_up_to(resident, "description", area="联合村", category="其他")
    await describe_and_confirm(resident)
    await start_intake(resident, consent=False)
    buttons = resident.last().reply_markup["inline_keyboard"]  # type: ignore[index]
    assert buttons[0][0]["text"] == "✓ 联合村"


async def test_a_resident_may_open_a_second_case(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1011)
    await intake_up_to(resident, "description", category="其他")
    first = await describe_and_confirm(resident)
    await intake_up_to(resident, "description", category="婚姻家庭", consent=False)
    second = await describe_and_confirm(resident, text="另一件事")
    assert (first, second) == ("QJS-2026-0001", "QJS-2026-0002")
    await resident.send("/status")
    status = await resident.expect(zh("Your cases:"))
    assert status.content.index(second) < status.content.index(first)


async def test_staff_commands_are_refused_to_residents(bot: BotUnderTest) -> None:
    resident = bot.person(1012)
    await resident.send("/invite")
    await resident.expect(zh("Sorry, this is only for the federation staff."))
    await resident.send("/duty on")
    await resident.expect(zh("Sorry, this is only for the mediation desk's team."))


async def test_clock_is_used_for_the_case_year(bot: BotUnderTest, team: dict[str, Person]) -> None:
    # 2026-12-31 16:30 UTC is already 2027-01-01 in Shanghai: the local year counts.
    bot.clock.set(bot.clock.now().replace(month=12, day=31, hour=16, minute=30))
    resident = bot.person(1013)
    await intake_up_to(resident, "contact", category="其他", text="新年第一件事")
    await resident.press(zh("Chat here"))
    await resident.expect(zh(CHECK_REQUEST))
    await resident.press(zh("✓ Send to Da'asao"))
    await resident.expect("QJS-2027-0001")


async def test_concurrent_intakes_get_distinct_gap_free_numbers(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    residents = [bot.person(1500 + n) for n in range(12)]
    numbers = await asyncio.gather(
        *(open_case(r, text=f"第{n}件事") for n, r in enumerate(residents))
    )
    assert sorted(numbers) == [f"QJS-2026-{n:04d}" for n in range(1, 13)]


async def test_sensitive_details_get_a_consent_of_their_own_and_no_does_not_stop_her(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    """PIPL Art. 29: asked separately just before the description, recorded with the case;
    declining lets her go on without those details."""
    agrees, declines = bot.person(1090), bot.person(1091)
    for resident, agree in ((agrees, True), (declines, False)):
        await start_intake(resident)
        await resident.press("东升社区")
        await resident.expect(zh(TOPIC))
        await resident.press("婚姻家庭")
        await resident.expect(
            zh(
                "One more question before you tell us what happened. If it involves"
                " violence, your health or children, those are sensitive details. Only"
                " the mediator who takes your case and the head of the society will see"
                " them, only to help you, and they are deleted with the rest.\n\nMay we"
                " keep such details if you tell them? If you say no, you can still go on:"
                " just leave them out."
            )
        )
        await resident.press(
            zh("Yes, you may keep them") if agree else zh("No, I'll leave them out")
        )
        if not agree:
            await resident.expect(
                zh(
                    "All right. Please leave out details about violence, health or children;"
                    " tell us the rest. Your mediator can ask you again later."
                )
            )
        await resident.expect(zh(DESCRIBE))
    numbers = [
        await describe_and_confirm(agrees, text="我们吵架"),
        await describe_and_confirm(declines, text="我们也吵架"),
    ]
    kept = []
    for number in numbers:
        registered = (await bot.timeline(number))[0]
        assert registered.kind == "registered"
        kept.append(registered.detail["sensitive"])
    assert kept == ["consent", "declined"]


async def test_the_danger_path_goes_on_without_the_sensitive_consent_and_records_why(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1092)
    await start_intake(resident)
    await resident.press("东升社区")
    await resident.expect(zh(TOPIC))
    await resident.press(zh("🆘 I am in danger now"))  # before the sensitive question was reached
    await expect_shaped(resident, "If you are in danger now, call at once:\n{numbers}")
    assert bot.app is not None
    db = bot.app.bot_data.services.db
    for _ in range(100):
        row = await db.fetch_one("SELECT number FROM cases WHERE resident_id = ?", (1092,))
        if row is not None:
            break
        await asyncio.sleep(0.02)
    assert row is not None
    registered = (await bot.timeline(row[0]))[0]
    assert registered.detail["urgent"] is True
    assert registered.detail["sensitive"] == "vital_interests"  # PIPL Art. 13(4)
