"""Every word in its place: the flows that used to surprise, end to end.

An open case and the big 找大阿嫂 button, old consent buttons, a second submit, the summary's
修改, commands nobody knows (in every state, both directions), the notice preview's 修改 and
取消, RSVP ticks, and stale buttons that are put away instead of answered with an alert.
"""

from __future__ import annotations

from localapi.state import BotMessage
from tests.e2e.driving import count, database, settled
from tests.e2e.flows import (
    AUDIENCE,
    GOT_IT,
    UNKNOWN_COMMAND,
    accepted_case,
    consent_screen,
    intake_up_to,
    open_case,
    open_case_en,
    register_en,
    sensitive_consent,
)
from tests.harness import BotUnderTest, Person, zh

STALE = zh("This button is no longer valid.")
HELLO = (  # the greeting that opens the first screen, before the privacy notice
    "Hello! This is Da'asao, the volunteer women mediators of your neighbourhood. Tell us what "
    "troubles you, at home or with neighbours, landlords or employers: one of us will answer "
    "you herself, and what you say stays private."
)


async def case_count(bot: BotUnderTest) -> int:
    row = await database(bot).fetch_one("SELECT COUNT(*) AS n FROM cases")
    assert row is not None
    return int(row["n"])


def labels(message: BotMessage) -> list[str]:
    return [str(b.get("text")) for row in message.buttons for b in row]


async def press_old(bot: BotUnderTest, person: Person, message: BotMessage, data: str) -> str:
    """Press a button the message once carried (its keyboard may be gone since)."""
    query = await bot.api.press_button(person.id, message.message_id, data, forged=True)
    return await person.callback_answer(query)


async def test_open_case_and_the_big_button(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang = bot.person(5001), team["wang"]
    number = await accepted_case(resident, wang)
    await resident.send("找大阿嫂")
    told = await resident.expect(f"王大姐正在跟进您的案件 {number}")
    assert "这是另一件事" in labels(told)
    assert "您住在哪个村或社区" not in told.content  # no second intake by accident
    await resident.send("他们昨晚又吵了")
    await wang.expect("他们昨晚又吵了")  # her words went to her case, as the screen said
    await resident.press("这是另一件事")  # a second matter: her deliberate choice
    await resident.expect("您住在哪个村或社区")


async def test_waiting_case_and_the_big_button_in_english(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(5002, language_code="en")
    # nobody on duty in Lianhe now: the case waits
    registered = await register_en(resident, "Lianhe Village", text="Noise")
    greeting = bot.api.messages_to(resident.id)[0]
    assert "Hello! This is Da'asao" in greeting.content  # the greeting opens the first screen
    await resident.send("find daasao")
    told = await resident.expect("is registered and a mediator will take it soon")
    assert "It is a new matter" in labels(told)
    assert "QJS-2026-0001" in registered.content and "QJS-2026-0001" in told.content


async def test_the_first_screen_greets_before_the_privacy_notice(bot: BotUnderTest) -> None:
    resident = bot.person(5003)
    await resident.send("找大阿嫂")
    first = await resident.expect(zh(HELLO))
    assert first.content.startswith(zh(HELLO)), first.content
    assert first.content.endswith(consent_screen(bot)), first.content


async def test_an_old_consent_button_is_put_away(bot: BotUnderTest) -> None:
    resident = bot.person(5004)
    await resident.send("找大阿嫂")
    consent = await resident.expect(consent_screen(bot))
    await resident.send("/cancel")
    await resident.expect(
        zh("Cancelled. Nothing was sent. Write 找大阿嫂 whenever you want to start again.")
    )
    before = count(resident)
    answer = await resident.press_and_expect_answer(zh("No, thanks"))
    assert answer == STALE
    query = [q for q in bot.api.world.callback_queries.values() if q.text == STALE][-1]
    assert not query.show_alert  # a short note on the button, no alert to dismiss
    await settled(resident)
    assert count(resident) == before  # no new intake started
    assert resident.api.messages_to(resident.id)[before - 2].buttons == consent.buttons == []


async def test_a_second_submit_changes_nothing(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident = bot.person(5005)
    await open_case(resident)
    summary = next(m for m in bot.api.messages_to(5005) if "请核对您的求助内容" in m.content)
    assert summary.buttons == []  # taken off once pressed
    before = count(resident)
    assert await press_old(bot, resident, summary, "in:summary:confirm") == STALE
    await settled(resident)
    assert count(resident) == before
    assert await case_count(bot) == 1


async def test_the_summary_can_be_changed(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident = bot.person(5006)
    await intake_up_to(resident, "contact", text="楼上漏水")
    await resident.press("就在这里聊")
    await resident.expect("请核对您的求助内容")
    await resident.press("✎ 修改")
    await resident.expect("您想改哪一项")
    await resident.press("事情经过（重新说）")
    await resident.expect("请用您自己的话")
    await resident.send("是楼上的水管漏水，泡坏了我家天花板")
    await resident.expect(zh(GOT_IT))
    await resident.press("说完了 ✓")
    summary = await resident.expect("请核对您的求助内容")  # straight back to the summary
    assert "泡坏了我家天花板" in summary.content and "楼上漏水 /" not in summary.content
    await resident.press("✎ 修改")
    await resident.expect("您想改哪一项")
    await resident.press("事情类型")
    await resident.expect("是哪方面的事情")
    await resident.press("婚姻家庭")
    summary = await resident.expect("请核对您的求助内容")
    assert "婚姻家庭" in summary.content and zh("Chat here") in summary.content
    await resident.press("✓ 提交给大阿嫂")
    await resident.expect("您的求助已登记")


async def test_unknown_commands_are_answered_and_never_passed_on(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    resident, wang = bot.person(5007), team["wang"]
    await resident.send("/foobar")  # no intake, no case
    await resident.expect(zh(UNKNOWN_COMMAND, command="/foobar"))
    await resident.send("找大阿嫂")
    await resident.expect(consent_screen(bot))
    await resident.send("/foobar")  # during the intake
    await resident.expect(zh(UNKNOWN_COMMAND, command="/foobar"))
    await resident.press("我同意")
    await resident.expect("您住在哪个村或社区")
    await resident.press("东升社区")
    await resident.expect("是哪方面的事情")
    await resident.press("邻里纠纷")
    await sensitive_consent(resident)
    await resident.expect("请用您自己的话")
    await resident.send("装修太吵")
    await resident.expect(zh(GOT_IT))
    await resident.send("/foobar 还有")  # during the description: not part of it
    await resident.expect(zh(UNKNOWN_COMMAND, command="/foobar"))
    await resident.press("说完了 ✓")
    await resident.expect("怎么和您联系")
    await resident.press("就在这里聊")
    summary = await resident.expect("请核对您的求助内容")
    assert "/foobar" not in summary.content
    await resident.press("✓ 提交给大阿嫂")
    number = (await resident.expect("您的求助已登记")).content
    await wang.expect(zh("New case {number}", number="QJS-2026-0001"))
    await wang.press("接受")
    await wang.expect_edit("您已接受案件")
    await wang.expect_many("📨", "装修太吵")
    await resident.expect("已经接手您的案件")
    mediator_before, resident_before = count(wang), count(resident)
    await resident.send("/foobar")  # during a case: answered, not relayed
    await resident.expect(zh(UNKNOWN_COMMAND, command="/foobar"))
    await wang.send("/invite_party QJS-2026-0001")  # a mediator's typo: not to the resident
    await wang.expect(zh(UNKNOWN_COMMAND, command="/invite_party"))
    await settled(resident)
    await settled(wang)
    assert count(wang) == mediator_before + 1 and count(resident) == resident_before + 1
    assert "QJS-2026-0001" in number
    await staff.send("/announce")
    await staff.expect("请发送通知的文字")
    await staff.send("/foobar")  # while composing: not the notice's text
    await staff.expect(zh(UNKNOWN_COMMAND, command="/foobar"))
    await staff.send("健康讲座")
    await staff.expect(zh(AUDIENCE))


async def test_the_notice_preview_can_be_changed_or_cancelled(
    bot: BotUnderTest, staff: Person
) -> None:
    await staff.send("/announce")
    await staff.expect("请发送通知的文字")
    await staff.send("健康讲座，周六上午")
    await staff.expect(zh(AUDIENCE))
    await staff.press("下一步 ›")
    await staff.expect("什么时候发送")
    await staff.press("现在发送")
    await staff.expect("要加上“我参加”")
    await staff.press("不用")
    await staff.expect("健康讲座，周六上午")
    await staff.expect("请看一下上面的通知")
    await staff.press("✎ 修改文字")
    await staff.expect("请把新的通知文字发过来")
    await staff.send("健康讲座，周日上午")
    await staff.expect(zh(AUDIENCE))
    await staff.press("下一步 ›")
    await staff.expect("什么时候发送")
    await staff.press("现在发送")
    await staff.expect("要加上“我参加”")
    await staff.press("不用")
    await staff.expect("健康讲座，周日上午")
    await staff.expect("请看一下上面的通知")
    await staff.press("✗ 取消")
    await staff.expect("已取消，这条通知不会发出去")
    await staff.send("/announcements")
    listing = await staff.expect(zh("Announcements:"))
    assert f"#1 · {zh('cancelled')}" in listing.content
    await settled(staff)
    previews = [m for m in bot.api.messages_to(staff.id) if "请看一下上面的通知" in m.content]
    assert [m.buttons for m in previews] == [[], []]  # pressed: done, taken off
    assert await press_old(bot, staff, previews[0], "an:confirm:yes") == STALE  # not sent
    await settled(staff)
    assert await database(bot).fetch_one("SELECT id FROM announcement_runs") is None


async def test_a_deposit_dispute_is_renting_and_the_offer_says_english(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    resident = bot.person(5008, language_code="en")
    number = await open_case_en(resident, category="Renting and landlords", text="Deposit kept")
    card = await team["wang"].expect(f"新案件 {number}")
    assert "事由：租房" in card.content
    assert "她用的语言：英语" in card.content  # the mediator knows before she accepts
    chinese = bot.person(5009)
    other = await open_case(chinese, category="劳动/欠薪", text="厂里三个月没发工资")
    offer = await team["li"].expect(f"新案件 {other}")  # 王大姐 has one waiting: 李阿姨
    assert "她用的语言：中文" in offer.content
    await staff.send("/stats")
    stats = await staff.expect("按类别", timeout=30)  # the text; the charts follow
    assert "劳动/欠薪 1" in stats.content and "租房 1" in stats.content
