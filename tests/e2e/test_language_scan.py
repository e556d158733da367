"""Every screen in its reader's script: the main flows of each role walked end to end, then
every message the bot sent (texts, captions, earlier versions, buttons, keyboards) scanned.

Chinese readers' screens may carry Latin only as tests/words.py allows; English readers'
screens Chinese only in names. What people typed themselves is taken out first: a resident
writing in English to a Chinese mediator is her words, not the bot's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from localapi.state import BotMessage
from tests.e2e.driving import settled
from tests.e2e.flows import (
    AUDIENCE,
    CLOSED,
    UNKNOWN_COMMAND,
    accepted_case,
    close_settled,
    consent_screen,
    expect_shaped,
    open_case_en,
)
from tests.harness import BotUnderTest, Person, zh
from tests.words import stray_cjk, stray_latin

TYPED_IN_ENGLISH = ("Noise every night", "Thank you, see you tomorrow")


def _screens(message: BotMessage) -> list[str]:
    """Everything of one message a reader sees, now and before each edit."""
    texts = [message.content]
    texts += [v.text or v.caption or "" for v in message.edits]
    markup = message.reply_markup or {}
    for kind in ("inline_keyboard", "keyboard"):
        texts += [str(b.get("text", "")) for row in markup.get(kind, []) for b in row]
    for version in message.edits:
        inline = (version.reply_markup or {}).get("inline_keyboard", [])
        texts += [str(b.get("text", "")) for row in inline for b in row]
    return texts


def _without_typed(text: str) -> str:
    for typed in TYPED_IN_ENGLISH:
        text = text.replace(typed, " ")
    return text


def _scan(
    bot: BotUnderTest, chat_id: int, stray: Callable[[str], list[str]]
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in bot.api.messages_to(chat_id):
        if message.method == "copyMessage" or message.copied_from is not None:
            continue  # a person's own message, copied across the relay
        for screen in _screens(message):
            if words := stray(_without_typed(screen)):
                found[screen[:80]] = words
    return found


async def _resident_in_chinese(bot: BotUnderTest, wang: Person) -> str:
    resident = bot.person(6001)
    await resident.send("/start")
    await resident.expect_many("您好！这里是大阿嫂", "顺便说一下")
    await resident.press("好的，选择主题")  # the notices' offer: yes
    await resident.expect_edit("您会在这里收到妇联的活动通知")
    await resident.press("就这样，保存 ✓")
    await resident.expect_edit("保存好了")
    await resident.send("/foobar")
    await resident.expect(zh(UNKNOWN_COMMAND, command="/foobar"))
    await resident.send("/cancel")
    await resident.expect(
        zh("Cancelled. Nothing was sent. Write 找大阿嫂 whenever you want to start again.")
    )
    number = await accepted_case(resident, wang)
    await resident.send("/status")
    await resident.expect(zh("Your cases:"))
    await resident.send("/privacy")
    await resident.expect()
    await resident.send("/help")
    await resident.expect()
    await resident.send("找大阿嫂")
    await resident.expect("正在跟进您的案件")
    await bot.api.send_photo(6001, b"jpeg", caption="这是照片")
    await wang.expect("这是照片")
    return number


async def _mediator_in_chinese(bot: BotUnderTest, wang: Person, resident: Person) -> None:
    await wang.send("好的，我明天上午来您家看看")
    await wang.send("/note 邻居愿意谈")
    await wang.expect("备注已保存")
    await wang.send("/cases")
    await wang.expect()
    await wang.send("/help")
    await wang.expect()
    await wang.send("/invite_party QJS-2026-0001")
    await wang.expect(zh(UNKNOWN_COMMAND, command="/invite_party"))
    await close_settled(wang, "每晚十点后停止装修")
    await wang.expect(zh(CLOSED, number="QJS-2026-0001", outcome=zh("settled")))


async def _staff_in_chinese(staff: Person) -> None:
    await staff.send("/announce")
    await staff.expect("请发送通知的文字")
    await staff.send("三八妇女节联欢会")
    await staff.expect(zh(AUDIENCE))
    await staff.press("下一步 ›")
    await staff.expect("什么时候发送")
    await staff.press("现在发送")
    await staff.expect("要加上“我参加”")
    await staff.press("要，加上报名按钮")
    await staff.expect("活动是哪天几点")
    await staff.send("3月8日晚上7点")
    await staff.expect("三八妇女节联欢会")
    await staff.expect("请看一下上面的通知")
    await staff.press("✓ 确认发送")
    await staff.expect("已安排发送")
    await expect_shaped(
        staff,
        "Announcement #{id} “{title}”: sent {sent}, failed {failed}, blocked {blocked}, still to "
        "send {pending}.",
        id="1",
        title="三八妇女节联欢会",
    )
    for command in ("/announcements", "/stats", "/overview", "/help", "/mediators", "/roster"):
        await staff.send(command)
        await settled(staff)


async def test_chinese_screens_carry_no_stray_latin(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    wang = team["wang"]
    wang.ignore("📋")
    number = await _resident_in_chinese(bot, wang)
    resident = Person(bot.api, 6001)
    resident.skip_all()
    await _mediator_in_chinese(bot, wang, resident)
    await _staff_in_chinese(staff)
    endangered = bot.person(6002)
    await endangered.send("找大阿嫂")
    await endangered.expect(consent_screen(bot))
    await endangered.press("🆘 我现在有危险")
    bot.clock.advance(timedelta(days=3, minutes=30))  # the survey
    for person in (resident, endangered, staff, *team.values()):
        await settled(person)
    assert number
    stray = {
        chat: found
        for chat in (6001, 6002, staff.id, *(p.id for p in team.values()))
        if (found := _scan(bot, chat, stray_latin))
    }
    assert stray == {}


async def test_english_screens_carry_no_chinese_but_names(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(6101, language_code="en"), team["wang"]
    await resident.send("/start")
    await resident.expect_many("Hello! This is Da'asao", "By the way")
    await resident.press("No, thanks")
    await resident.send("/foobar")
    await resident.expect("I don't know the command")
    await resident.send("/cancel")
    await resident.expect()
    number = await open_case_en(resident)
    await wang.expect(f"新案件 {number}")
    await wang.press("接受")
    await resident.expect("has taken your case")
    await wang.send("好的")
    await resident.send("Thank you, see you tomorrow")
    await resident.send("Find Da'asao")
    await resident.expect("is looking after your case")
    for command in ("/status", "/help", "/privacy", "/language", "/withdraw"):
        await resident.send(command)
        await settled(resident)
    await settled(wang)
    assert _scan(bot, resident.id, stray_cjk) == {}
