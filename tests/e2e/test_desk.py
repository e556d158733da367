"""The mediator's desk on a phone: the right case, commands that act on the case they
name, ends that are ends, the cards, the menus, confirm steps, continuity and load."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.core.i18n import SUPPORTED_LOCALES
from localapi.methods import menu_commands
from localapi.state import BotMessage
from tests.e2e.conftest import ROSTER, invite_link, join_team
from tests.e2e.driving import chat_menu, database
from tests.e2e.flows import (
    ACCEPTED,
    CASE_NUMBER,
    CHECK_REQUEST,
    CLOSE_PREVIEW,
    CLOSED,
    CLOSED_TO_HER,
    DECLINE,
    ERASE_ASK,
    ERASED,
    ERASED_CASE,
    HAND_OVER,
    HANDED,
    HANDOVER_NOTE,
    HOW_ENDED,
    NOT_YOURS,
    NOTE_SAVED,
    NOW_IN,
    REGISTERED,
    REVISIT,
    WELCOME_NAMED,
    WELCOME_TEAM,
    accepted_case,
    hand_over,
    intake_up_to,
    open_case,
    resident_label,
)
from tests.e2e.test_revisits import settle
from tests.harness import BotUnderTest, Person, zh


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"roster": ROSTER, "desk": {"phrases": ["您好，我是大阿嫂，您的事我收到了。"]}}


def _with_text(person: Person, text: str) -> BotMessage:
    return next(m for m in reversed(person.api.messages_to(person.id)) if text in m.content)


async def _three_cases(
    bot: BotUnderTest, team: dict[str, Person]
) -> tuple[list[Person], list[str]]:
    wang = team["wang"]
    await team["li"].send("/duty off")  # all three go to 王大姐
    await team["li"].expect()
    residents = [bot.person(3100 + n) for n in range(3)]
    numbers = []
    for n, resident in enumerate(residents):
        numbers.append(await accepted_case(resident, wang, text=f"第{n}户的事"))
        wang.skip_all()
        resident.skip_all()
    return residents, numbers


async def test_unquoted_messages_go_to_the_fresh_choice_else_she_is_asked_and_can_recall(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang = team["wang"]
    residents, numbers = await _three_cases(bot, team)
    # Just accepted the third: that is her explicit choice, for a few minutes.
    mine = await wang.send("您好，我是王大姐")
    await residents[2].expect_many(f"💬 王大姐 · 案件 {numbers[2]}", "您好，我是王大姐")
    await bot.api.wait_for(lambda: len(wang.confirmations()) == 1, what="a confirmation")
    confirmation = wang.confirmations()[0]
    assert confirmation.content.startswith(f"→ {numbers[2]} · 居民 ")
    assert confirmation.reply_to_message_id == mine["message_id"]
    assert confirmation.options.get("disable_notification") in (True, "true")
    # Ten minutes later the choice is stale: with three conversations open, she is asked.
    bot.clock.advance(timedelta(minutes=11))
    await wang.send("明天上午有空吗？")
    question = await wang.expect(
        zh(
            "You have several conversations open. Which case is this message for? It"
            " waits here until you choose."
        )
    )
    labels = [b["text"] for row in question.buttons for b in row]
    assert len(labels) == 3 and all(
        re.search(f" · {resident_label()} · ", label) and "邻里纠纷" in label for label in labels
    )
    for resident in residents:
        await resident.expect_silence(0.1)  # held, not lost, not sent anywhere
    first = next(label for label in labels if label.startswith(numbers[0]))
    await wang.press(first)
    await residents[0].expect_many(f"💬 王大姐 · 案件 {numbers[0]}", "明天上午有空吗？")
    await bot.api.wait_for(lambda: len(wang.confirmations()) == 2, what="a second confirmation")
    # The choice is fresh again: the next unquoted message goes there too.
    await wang.send("我十点到")
    await residents[0].expect("我十点到")
    await bot.api.wait_for(lambda: len(wang.confirmations()) == 3, what="a third confirmation")
    # 撤回: the resident's copy is deleted, the book keeps the message and records it.
    copy = _with_text(residents[0], "我十点到")
    recall = wang.confirmations()[-1]
    await bot.api.press_button(wang.id, recall.message_id, recall.button_data(zh("Recall")))
    await wang.expect(
        zh("Recalled: the resident of case {number} no longer sees it.", number=numbers[0])
    )
    await bot.api.wait_for(lambda: _with_text(residents[0], "我十点到").deleted, what="deleted")
    assert copy.deleted
    assert "recalled" in [e.kind for e in await bot.timeline(numbers[0])]
    assert ("mediator", "我十点到") in await bot.book(numbers[0])
    # Pressed again: nothing more to recall.
    await bot.api.press_button(wang.id, recall.message_id, recall.button_data(zh("Recall")))
    await wang.expect_silence(0.2)


async def test_recall_is_refused_after_48_hours(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang = bot.person(3110), team["wang"]
    await accepted_case(resident, wang)
    await wang.send("这条以后撤不回")
    await resident.expect_many("💬 王大姐", "这条以后撤不回")
    await bot.api.wait_for(lambda: len(wang.confirmations()) == 1, what="a confirmation")
    bot.clock.advance(timedelta(hours=49))
    recall = wang.confirmations()[0]
    await bot.api.press_button(wang.id, recall.message_id, recall.button_data(zh("Recall")))
    await wang.expect(zh("Too late to recall: Telegram allows it for 48 hours only."))
    assert not _with_text(resident, "这条以后撤不回").deleted


async def test_commands_act_on_the_case_they_name_and_refuse_someone_elses(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang, li = team["wang"], team["li"]
    await li.send("/duty off")
    await li.expect()
    first = await accepted_case(bot.person(3120), wang, text="第一户")
    second = await accepted_case(bot.person(3121), wang, text="第二户")
    await li.send("/duty on")
    await li.expect()
    await wang.send("/duty off")
    await wang.expect()
    others = await accepted_case(bot.person(3122), li, text="李阿姨的案件")
    # Her current case is the second; /close with the first's number acts on the first.
    await wang.send(f"/close {first}")
    await wang.expect(zh(HOW_ENDED, number=first))
    await wang.send(f"/close {others}")
    await wang.expect(zh(NOT_YOURS))
    await wang.send(f"/note {first} 下周再约")
    await wang.expect(zh(NOTE_SAVED, number=first))
    await wang.send(f"/note {others} 偷看")
    await wang.expect(zh(NOT_YOURS))
    await wang.send(f"/transfer {others}")
    await wang.expect(zh(NOT_YOURS))
    await wang.send(f"/book {others}")
    await wang.expect(zh(NOT_YOURS))
    await wang.send("/close")  # no number: the chosen case, named
    await wang.expect(zh(HOW_ENDED, number=second))


async def test_forget_ends_the_case_for_good_on_the_mediators_side(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(3130), team["wang"]
    number = await accepted_case(resident, wang)
    await resident.send("/forget")
    await resident.expect(zh(ERASE_ASK))
    await resident.press(zh("Yes, erase everything"))
    await resident.expect(zh(ERASED))
    await wang.expect(zh(ERASED_CASE, number=number))
    await wang.send("/cases")
    assert zh("withdrawn (data erased)") in (await wang.expect(number)).content
    await wang.send(f"/reopen {number}")
    await wang.expect(
        zh(
            "The resident withdrew this case and had her data erased. It has ended"
            " and cannot be reopened; nothing can reach her any more."
        )
    )
    case = await bot.timeline(number)
    assert "reopened" not in [e.kind for e in case]


async def test_a_purged_case_is_refused_on_reopen(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(3140), team["wang"]
    wang.ignore("📋", "🔁")
    resident.ignore("前几天")
    number = await accepted_case(resident, wang)
    await wang.send("/close")
    await wang.expect(zh("How did case {number} end?", number=number))
    await wang.press(zh("Withdrawn by the resident"))
    await wang.expect(zh(CLOSE_PREVIEW))
    await wang.press(zh("✓ Confirm"))
    await wang.expect(zh(CLOSED, number=number, outcome=zh("withdrawn")))
    assert bot.app is not None
    db = bot.app.bot_data.services.db
    bot.clock.advance(timedelta(days=364))
    await wang.expect_silence(0.3)
    bot.clock.advance(timedelta(days=2))  # the next 03:00 purge finds it past retention
    for _ in range(100):
        row = await db.fetch_one("SELECT purged_at FROM cases WHERE number = ?", (number,))
        if row is not None and row[0] is not None:
            break
        await asyncio.sleep(0.05)
    assert row is not None and row[0] is not None
    await wang.send(f"/reopen {number}")
    await wang.expect(
        zh(
            "This case cannot be reopened: its contents were deleted after the"
            " retention period. If the resident needs help again, she can start a new"
            " case."
        )
    )


async def test_after_a_decline_the_resident_is_told_the_truth(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(3150), team["wang"]
    number = await open_case(resident)
    await wang.expect(zh("New case {number}", number=number))
    await wang.press(zh("Decline"))
    await wang.expect_edit(zh("Why are you declining this case?"))
    await wang.press(zh("I am too busy now"))
    await wang.expect_edit(zh(DECLINE, number=number))
    await wang.press(zh("Cancel"))  # nothing changes: the offer card is back, still open
    await wang.expect_button(zh("Accept"))
    assert "declined" not in [e.kind for e in await bot.timeline(number)]
    await wang.press(zh("Decline"))
    await wang.expect_button(zh("I am too busy now"))
    await wang.press(zh("I am too busy now"))
    await wang.expect_button(zh("Change"))
    await wang.press(zh("Change"))  # another reason
    await wang.expect_button(zh("I know the family (conflict of interest)"))
    await wang.press(zh("I am too busy now"))
    await wang.expect_button(zh("Confirm"))
    await wang.press(zh("Confirm"))
    await wang.expect_edit(zh("You declined this case. It has been offered to someone else."))
    told = await resident.expect(
        zh("About your case {number}: the mediator first asked cannot take it.", number=number)
    )
    assert zh("{name} will answer you here soon.", name="李阿姨") in told.content
    await team["li"].expect(zh("New case {number}", number=number))


async def test_a_handover_confirms_and_cancel_leaves_everything_unchanged(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang, li = bot.person(3160), team["wang"], team["li"]
    number = await accepted_case(resident, wang)
    await hand_over(wang, "/transfer", number, "李阿姨", "双方周四见面", confirm=False)
    await wang.press(zh("Change"))
    await wang.expect(zh(HANDOVER_NOTE, name="李阿姨"))
    await wang.send("双方周五见面")
    await wang.expect(zh(HAND_OVER, number=number, name="李阿姨", note="双方周五见面"))
    await wang.press(zh("Cancel"))
    await wang.expect(zh("Cancelled: case {number} stays with its mediator.", number=number))
    assert "transferred" not in [e.kind for e in await bot.timeline(number)]
    await wang.send("还是我来")
    await resident.expect_many("💬 王大姐", "还是我来")  # still hers
    await li.expect_silence(0.1)


async def test_a_phone_call_cases_number_is_on_every_card(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(3170, "丽娟"), team["wang"]
    earlier = await accepted_case(resident, wang, text="第一次的事")  # with the society before
    await wang.send("/close")
    await wang.expect(zh("How did case {number} end?", number=earlier))
    await wang.press(zh("Withdrawn by the resident"))
    await wang.expect(zh(CLOSE_PREVIEW))
    await wang.press(zh("✓ Confirm"))
    await wang.expect(zh(CLOSED, number=earlier, outcome=zh("withdrawn")))
    await resident.expect(zh(CLOSED_TO_HER, number=earlier, outcome=zh("withdrawn")))
    await intake_up_to(resident, "contact", text="楼上漏水", consent=False)
    await resident.press(zh("A phone call"))
    await resident.expect()
    await resident.send("13812345678")
    await resident.expect(zh("Thank you."))
    await resident.expect(zh(CHECK_REQUEST))
    await resident.press(zh("✓ Send to Da'asao"))
    registered = await resident.expect()
    number = CASE_NUMBER.search(registered.content)
    assert number
    assert zh(REGISTERED, number=number.group(0)) in registered.content
    offer = await wang.expect(zh("New case {number}", number=number.group(0)))
    for card in (offer.content,):
        assert "+86 138 1234 5678" in card
        assert zh("She writes in: {language}", language="中文") in card
        assert "以前的案件：1" in card and "第一次的事" not in card
        assert "3170" not in card and "丽娟" not in card
    await wang.press(zh("Accept"))
    accepted = await wang.expect_edit(zh(ACCEPTED, number=number.group(0)))
    assert "+86 138 1234 5678" in accepted.content
    await wang.expect_many(f"📨 {number.group(0)}", "楼上漏水")
    await wang.send(f"/case {number.group(0)}")
    now_in = zh(NOW_IN, number=number.group(0), area="东升社区")
    assert "+86 138 1234 5678" in (await wang.expect(now_in)).content


async def test_each_role_has_its_own_menu_help_and_welcome(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    wang, head = team["wang"], team["head"]
    menu = await chat_menu(bot, wang.id, has="cases")
    assert {"cases", "case", "close", "transfer", "book", "duty", "phrases", "capacity"} <= set(
        menu
    )
    assert not {"withdraw", "status", "subscribe", "reassign", "invite"} & set(menu)
    assert menu["cases"] == zh("My cases")
    head_menu = await chat_menu(bot, head.id, has="reassign")
    assert {"cases", "overview", "roster", "stats"} <= set(head_menu)
    welcome = _with_text(wang, "居民会看到您的称呼")
    assert welcome.reply_markup == {"remove_keyboard": True}  # no 找大阿嫂 button for her
    await wang.send("/help")
    help_text = (
        await wang.expect(
            zh(
                "You mediate the cases offered to you: accept or decline each offer, then"
                " talk with the resident here, through the bot; she never sees your"
                " account."
            )
        )
    ).content
    assert "找大阿嫂" not in help_text and "/status" not in help_text
    await wang.send("/cancel")
    cancelled = await wang.expect()
    assert (cancelled.reply_markup or {}).get("keyboard") is None
    adviser = await join_team(bot, staff, 2300, "法律指导员", "林律师")
    said = _with_text(adviser, "林律师")
    assert "调解员会看到您的称呼" in said.content and "/duty" not in said.content
    adviser_menu = await chat_menu(bot, adviser.id, has="help")
    assert set(adviser_menu) == {"cancel", "language", "help"}
    await adviser.send("/help")
    assert "/duty" not in (await adviser.expect("法律指导员")).content
    # Staff in the config get theirs at the next start once the bot knows them, and on /start.
    await bot.restart()
    staff_menu = await chat_menu(bot, staff.id, has="invite")
    assert {"mediators", "announce", "overview"} <= set(staff_menu)
    resident = bot.person(3180)
    await resident.send("/start")
    await resident.expect()
    assert await chat_menu(bot, resident.id, has=None) == {}  # residents: the bot-wide menu
    user = bot.api.world.users[resident.id]
    assert "status" in [c["command"] for c in menu_commands(bot.api.world, user)]


async def test_saved_phrases_go_out_in_two_taps(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang = bot.person(3190), team["wang"]
    number = await accepted_case(resident, wang)
    await wang.send("/phrases add 我下午三点给您打电话")
    await wang.expect(zh("Saved. It is in /phrases now."))
    await wang.send("/phrases")
    listing = await wang.expect(
        zh("Tap a phrase to send it. /phrases add and a text saves a new one.")
    )
    labels = [b["text"] for row in listing.buttons for b in row]
    assert labels == ["您好，我是大阿嫂，您的事我收到了。", "我下午三点给您打电话"]
    await wang.press("我下午三点给您打电话")
    await resident.expect_many(f"💬 王大姐 · 案件 {number}", "我下午三点给您打电话")
    assert ("mediator", "我下午三点给您打电话") in await bot.book(number)
    await bot.api.wait_for(lambda: len(wang.confirmations()) == 1, what="a confirmation")


async def test_a_revisit_conversation_both_ways_in_the_chat(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(3200), team["wang"]
    resident.ignore("前几天")
    number = await settle(resident, wang)
    bot.clock.advance(timedelta(days=7, minutes=30))
    card = await wang.expect(zh(REVISIT, n=1, number=number))
    assert (
        "联系方式：就在这里聊" in card.content
        and zh("Reply to this card to write to the resident here.") in card.content
    )
    await wang.send("您家最近还好吗？", reply_to=card.message_id)
    await resident.expect(f"💬 王大姐 · 案件 {number}")
    asked = await resident.expect("您家最近还好吗？")
    await resident.send("挺好的，谢谢", reply_to=asked.message_id)
    answer = await wang.expect("挺好的，谢谢")
    await wang.send("那就好", reply_to=answer.message_id)
    await resident.expect("那就好")
    book = await bot.book(number)
    assert ("mediator", "您家最近还好吗？") in book and ("resident", "挺好的，谢谢") in book
    kinds = [e.kind for e in await bot.timeline(number)]
    assert kinds.count("revisit_message") == 3
    # Long after the revisits the case has ended: a reply is refused, and says why.
    wang.ignore("📋", "🔁")
    bot.clock.advance(timedelta(days=60))
    await wang.send("还在吗？", reply_to=answer.message_id)
    await wang.expect(zh("This case is closed. Reopen it with /reopen if you need to continue."))
    await resident.expect_silence(0.2)


async def test_a_transfer_carries_the_history_and_replies_thread_on_all_sides(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang, li = bot.person(3210), team["wang"], team["li"]
    number = await accepted_case(resident, wang, text="楼上天天漏水")
    asked = await wang.send("漏了多久了？")
    await resident.expect(f"💬 王大姐 · 案件 {number}")
    copy = await resident.expect("漏了多久了？")
    first = await resident.send("两个星期了", reply_to=copy.message_id)
    await wang.expect("两个星期了")
    await hand_over(wang, "/transfer", number, "李阿姨", "物业不管，要上门看看")
    handed = await li.expect(
        zh(HANDED, number=number, area="东升社区", note="物业不管，要上门看看").split("\n")[0]
    )
    assert zh(HANDED, number=number, area="东升社区", note="物业不管，要上门看看") in (
        handed.content
    ), handed.content
    for line in ("物业不管，要上门看看", "楼上天天漏水", "王大姐: 漏了多久了？", "两个星期了"):
        assert line in handed.content, handed.content
    document, _docx = await li.expect_many(
        zh("Case file of case {number}. Confidential.", number=number),
        zh("Case file of case {number}. Confidential.", number=number),
    )
    assert document.kind == "document"
    assert "两个星期了" in document.data.decode("utf-8")  # type: ignore[union-attr]
    assert "book" in [a[0] for a in await _access_of(bot, number, li.id)]
    # The resident answers the old mediator's question: it reaches 李阿姨, quoting nothing
    # of hers; her reply to it threads to the resident's own message.
    await resident.expect(
        zh(
            "Your case {number} is now looked after by {name}, who will write to you here.",
            number=number,
            name="李阿姨",
        )
    )
    still = await resident.send("还在漏", reply_to=copy.message_id)
    await li.expect(f"📨 {number}")
    arrived = await li.expect("还在漏")
    assert arrived.reply_to_message_id is None
    await li.send("我明天上午来看", reply_to=arrived.message_id)
    await resident.expect(f"💬 李阿姨 · 案件 {number}")
    answer = await resident.expect("我明天上午来看")
    assert answer.reply_to_message_id == still["message_id"]
    await wang.send("我再说一句", reply_to=asked["message_id"])
    await wang.expect(zh(NOT_YOURS))
    await resident.expect_silence(0.1)
    assert first["message_id"] != still["message_id"]


async def _access_of(bot: BotUnderTest, number: str, reader: int) -> list[tuple[str]]:
    assert bot.app is not None
    rows = await bot.app.bot_data.services.db.fetch_all(
        """SELECT a.what FROM case_access a JOIN cases c ON c.id = a.case_id
           WHERE c.number = ? AND a.reader_id = ?""",
        (number, reader),
    )
    return [(str(row[0]),) for row in rows]


async def test_continuity_and_capacity_in_routing(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang, li = team["wang"], team["li"]
    returning = bot.person(3220)
    await wang.send("/duty off")
    await wang.expect()
    first = await accepted_case(returning, li, text="第一次")
    await li.send("/close")
    await li.expect(zh("How did case {number} end?", number=first))
    await li.press(zh("Withdrawn by the resident"))
    await li.expect(zh(CLOSE_PREVIEW))
    await li.press(zh("✓ Confirm"))
    await li.expect(zh(CLOSED, number=first, outcome=zh("withdrawn")))
    await returning.expect(zh(CLOSED_TO_HER, number=first, outcome=zh("withdrawn")))
    await wang.send("/duty on")
    await wang.expect()
    # 王大姐 was never offered a case, so fairness alone would pick her: continuity picks
    # the mediator of the resident's last case in this area.
    again = await open_case(returning, text="又吵起来了", consent=False)
    await li.expect(zh("New case {number}", number=again))
    assert first != again
    await li.press(zh("Accept"))
    await li.expect_edit(zh(ACCEPTED, number=again))
    await li.expect_many(f"📨 {again}", "又吵起来了")
    # 王大姐 can carry one case; with one open she is passed over though 李阿姨 has more.
    mine = await accepted_case(bot.person(3221), wang, text="王大姐的一件")
    await wang.send("/capacity 1")
    await wang.expect(
        zh("Noted: new cases come to you only while you have fewer than {count} open.", count=1)
    )
    over = await open_case(bot.person(3222), text="第三户")
    await li.expect(zh("New case {number}", number=over))
    await wang.send("/capacity")
    await wang.expect(
        zh("You carry at most {count} open cases. /capacity off removes the limit.", count=1)
    )
    await wang.send("/capacity off")
    await wang.expect(zh("No limit now: new cases can come to you whenever you are on duty."))
    after = await open_case(bot.person(3223), text="第四户")
    await wang.expect(zh("New case {number}", number=after))
    assert mine


async def test_an_offer_goes_to_someone_on_duty_rather_than_wait(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    head, zhao = team["head"], team["zhao"]
    await head.send("/duty on")
    await head.expect()
    resident = bot.person(3230)
    number = await open_case(resident, area="联合村")  # 赵嫂子 is on duty only on Tuesdays
    await head.expect(zh("New case {number}", number=number))
    registered = _with_text(resident, zh(REGISTERED, number=number))
    assert zh("{name} will answer you here soon.", name="陈社长") in registered.content
    await zhao.expect_silence(0.2)


async def test_a_refused_menu_push_is_told_and_the_next_start_puts_it_right(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    payload = await invite_link(staff, "调解员 · 东升社区")
    bot.api.inject_fault("setMyCommands", kind="403")
    newcomer = bot.person(2400, "真名2400")
    newcomer.ignore("您的命令菜单")  # looked for below
    await newcomer.send(f"/start {payload}")
    await newcomer.expect(zh(WELCOME_TEAM, role=zh("a mediator of {area}", area="东升社区")))
    await newcomer.send("孙阿姨")
    await newcomer.expect(zh(WELCOME_NAMED, name="孙阿姨"))
    await bot.api.wait_for(
        lambda: any("命令菜单刚才没能更新" in m.content for m in bot.api.messages_to(2400)),
        what="the refusal told",
    )
    await newcomer.send("/start")
    assert "cases" in await chat_menu(bot, newcomer.id, has="cases")


async def test_a_restart_pushes_only_the_menus_telegram_does_not_have(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang = team["wang"]
    menu = await chat_menu(bot, wang.id, has="cases")
    await bot.restart()  # staff who wrote after the first start get theirs now
    await _no_menu_waiting(bot)
    bot_wide = len(SUPPORTED_LOCALES) + 1  # bot/app.py: each language, and the default
    pushed = bot.api.calls("setMyCommands")
    await bot.restart()  # Telegram has every team member's menu: none to push
    await _no_menu_waiting(bot)
    assert bot.api.calls("setMyCommands") == pushed + bot_wide
    # A release that changes her menu (here: what Telegram has differs from hers).
    await database(bot).execute("UPDATE users SET menu = '[]' WHERE id = ?", (wang.id,))
    await bot.restart()
    await _no_menu_waiting(bot)
    assert bot.api.calls("setMyCommands") == pushed + 2 * bot_wide + 1  # hers, nobody else's
    assert await chat_menu(bot, wang.id, has="cases") == menu


async def _no_menu_waiting(bot: BotUnderTest) -> None:
    async def waiting() -> int:
        row = await database(bot).fetch_one(
            "SELECT count(*) AS n FROM outbox WHERE purpose = 'menu'"
        )
        return int(row["n"]) if row else 0

    for _ in range(100):
        if not await waiting():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("menu pushes still waiting in the outbox")
