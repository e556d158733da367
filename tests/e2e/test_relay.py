"""The private relay between resident and mediator, and the mediator's case tools."""

from __future__ import annotations

import random
import string

from tests.e2e.conftest import join_team
from tests.e2e.flows import (
    ACCEPTED,
    HANDOVER_NOTE,
    TAKEN,
    accepted_case,
    close_referred,
    close_settled,
    open_case,
    open_case_en,
)
from tests.harness import BotUnderTest, Person, zh


async def test_text_both_ways_with_headers_and_no_forward_origin(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1201), team["wang"]
    number = await accepted_case(resident, wang)
    await resident.send("王大姐您好，我想问问")
    copied = await wang.expect("王大姐您好，我想问问")  # same case as the last header: no new one
    assert copied.copied_from == (1201, copied.copied_from[1])  # type: ignore[index]
    assert copied.forward_origin is None
    await wang.send("您好，我在的，您慢慢说")
    await resident.expect(f"💬 王大姐 · 案件 {number}")
    answer = await resident.expect("您好，我在的，您慢慢说")
    assert answer.forward_origin is None
    await wang.send("还有别的情况吗？")
    await resident.expect("还有别的情况吗？")  # no second header for the same conversation


async def test_every_message_type_is_copied_both_ways(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1202), team["wang"]
    await accepted_case(resident, wang)
    api = bot.api
    sends = {
        "photo": lambda uid: api.send_photo(uid, b"jpeg", caption="照片说明"),
        "voice": lambda uid: api.send_voice(uid, b"ogg", duration=3),
        "video": lambda uid: api.send_video(uid, b"mp4", caption="视频"),
        "document": lambda uid: api.send_document(uid, b"%PDF", "协议.pdf", caption="文件"),
        "location": lambda uid: api.send_location(uid, 29.95, 121.85),
        "contact": lambda uid: api.send_contact(uid, "13800001111", "我自己"),
    }
    for kind, send in sends.items():
        await send(resident.id)
        got = await wang.expect()
        assert got.kind == kind, (kind, got.kind)
        assert got.forward_origin is None
    await wang.send("收到了")
    await resident.expect_many("💬 王大姐", "收到了")
    for kind, send in sends.items():
        await send(wang.id)
        if kind == "contact":  # her own number: she is asked first
            await wang.expect("这张名片会把您自己的电话号码")
            await wang.press("是的，发送我的号码")
        got = await resident.expect()
        assert got.kind == kind, (kind, got.kind)


async def test_replies_thread_to_the_right_case_with_three_cases_open(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang = team["wang"]
    await team["li"].send("/duty off")  # all three cases go to 王大姐
    residents = [bot.person(1210 + n) for n in range(3)]
    numbers = []
    for n, resident in enumerate(residents):
        numbers.append(await accepted_case(resident, wang, text=f"第{n}户的事"))
        wang.skip_all()
    headers = {
        number: next(
            m.message_id
            for m in bot.api.messages_to(wang.id)
            if m.content.startswith(f"📨 {number}")
        )
        for number in numbers
    }
    # Each resident writes: the conversation switches case every time, so each copy quotes
    # its case's header instead of repeating it. The mediator replies to each copy, and the
    # answer reaches its writer.
    copies = []
    for n, resident in enumerate(residents):
        sent = await resident.send(f"来自第{n}户的消息")
        copy = await wang.expect(f"来自第{n}户的消息")
        assert copy.reply_to_message_id == headers[numbers[n]]
        copies.append((sent, copy))
    for n, (original, copy) in reversed(list(enumerate(copies))):
        await wang.send(f"回复第{n}户", reply_to=copy.message_id)
        resident = residents[n]
        await resident.expect(f"💬 王大姐 · 案件 {numbers[n]}")
        answer = await resident.expect(f"回复第{n}户")
        assert answer.reply_to_message_id == original["message_id"]
    for resident in residents:
        await resident.expect_silence(0.1)


async def test_a_resident_with_several_open_cases_is_asked_which_one(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1220), team["wang"]
    first = await accepted_case(resident, wang, text="第一件事")
    second = await open_case(resident, text="第二件事", consent=False)
    await wang.expect(second)  # continuity: her last case's mediator, on duty
    held = await resident.send("这条是说第一件事的")
    question = await resident.expect("您有几件正在处理的事")
    assert question.button_data(f"{first} · 邻里纠纷")
    await resident.press(f"{first} · 邻里纠纷")
    await resident.expect(f"已发到案件 {first}")
    await wang.expect("这条是说第一件事的")
    await resident.send("补充一句", reply_to=held["message_id"])  # a reply: no question
    await wang.expect("补充一句")
    await resident.send("这条是说第二件事的")
    await resident.expect("您有几件正在处理的事")
    await resident.press(f"{second} · 邻里纠纷")
    await resident.expect(f"已随案件 {second} 保存")  # not accepted yet: kept for the mediator


async def test_edits_follow_their_copies_both_ways(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1230), team["wang"]
    await accepted_case(resident, wang)
    sent = await resident.send("我周三有空")
    copy = await wang.expect("我周三有空")
    await bot.api.edit_text(resident.id, sent["message_id"], "我周四有空")
    await wang.expect_edit("我周四有空")
    assert bot.api.messages_to(wang.id)[copy.index].content == "我周四有空"
    mine = await wang.send("那就周四上午九点")
    await resident.expect_many("💬 王大姐", "那就周四上午九点")
    await bot.api.edit_text(wang.id, mine["message_id"], "那就周四上午十点")
    await resident.expect_edit("那就周四上午十点")


async def test_notes_are_never_relayed(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang = bot.person(1240), team["wang"]
    number = await accepted_case(resident, wang)
    await wang.send("/note 男方情绪激动，下次约在社区见面")
    await wang.expect(f"备注已保存到案件 {number}")
    await wang.send("/note")
    await wang.expect("请写下您对案件")
    await wang.send("第二条备注")
    await wang.expect("备注已保存")
    await resident.expect_silence()


async def test_transfer_with_a_handover_note(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang, li = bot.person(1250), team["wang"], team["li"]
    number = await accepted_case(resident, wang)
    await wang.send("/transfer")
    await wang.expect(f"把案件 {number} 转给谁")
    await wang.press("李阿姨")
    await wang.expect("请给李阿姨写一段简短的交接说明")
    await wang.send("双方已同意周四见面")
    await wang.expect("转交给李阿姨吗")
    await wang.press("确认")
    await wang.expect(f"案件 {number} 现在由李阿姨负责")
    handed = await li.expect(f"案件 {number}（东升社区）已经转交给您")
    assert "双方已同意周四见面" in handed.content
    await li.expect_many(f"案件 {number} 的调解卷宗", f"案件 {number} 的调解卷宗")  # HTML, DOCX
    await resident.expect(f"您的案件 {number} 现在由李阿姨负责")
    await resident.expect(f"💬 李阿姨 · 案件 {number}")  # what comes next is under her name
    await resident.send("李阿姨好")
    await li.expect_many(f"📨 {number}", "李阿姨好")
    await wang.send("我还想说一句")
    await wang.expect("请回复案件里的一条消息")  # no longer her current case
    await wang.send(f"/case {number}")
    await wang.expect("这个案件没有分配给您")  # and no longer hers
    await resident.expect_silence()


async def test_the_head_can_reassign_any_case(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang, head = bot.person(1251), team["wang"], team["head"]
    number = await accepted_case(resident, wang)
    await head.send(f"/case {number}")
    await head.expect(f"现在在案件 {number}")
    await head.send("/reassign")
    await head.expect(f"把案件 {number} 转给谁")
    await head.press("李阿姨")
    await head.expect(zh(HANDOVER_NOTE, name="李阿姨"))
    await head.send("王大姐请假，由李阿姨接手")
    await head.expect("转交给李阿姨吗")
    await head.press("确认")
    await head.expect(f"案件 {number} 现在由李阿姨负责")
    await team["li"].expect(f"案件 {number}（东升社区）已经转交给您")


async def test_consult_the_adviser_who_answers_the_mediator_only(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    adviser = await join_team(bot, staff, 2300, "法律指导员", "刘律师")
    resident, wang = bot.person(1260, "秀英"), team["wang"]
    number = await accepted_case(resident, wang)
    await wang.send("/consult")
    await wang.expect("请写下您要问法律指导员的问题")
    await wang.send("离婚时孩子抚养权一般怎么判？")
    await wang.expect("您的问题已发给法律指导员")
    question = await adviser.expect(f"关于案件 {number}")
    assert "离婚时孩子抚养权一般怎么判？" in question.content
    assert "秀英" not in question.content and "1260" not in question.content
    await adviser.send("一般优先考虑孩子利益。", reply_to=question.message_id)
    await wang.expect(f"法律指导员回复了案件 {number}")
    await wang.expect("一般优先考虑孩子利益。")
    await resident.expect_silence()
    await adviser.send("/book " + number)
    await adviser.expect("只对调解社工作人员开放")


async def test_close_settled_then_reopen(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang = bot.person(1270), team["wang"]
    number = await accepted_case(resident, wang)
    await close_settled(wang, "楼上每晚十点后不再装修")
    await wang.expect(f"案件 {number} 已结案：已调解成功")
    notice = await resident.expect(f"您的案件 {number} 已结案：已调解成功")
    assert "协议内容：楼上每晚十点后不再装修" in notice.content
    await wang.send("还在吗？")
    await wang.expect("请回复案件里的一条消息")  # closed: no current case any more
    await wang.send(f"/reopen {number}")
    await wang.expect(f"案件 {number} 已重新打开")
    await resident.expect(f"您的案件 {number} 已重新打开")
    await wang.send("我们再聊聊")
    await resident.expect_many(f"💬 王大姐 · 案件 {number}", "我们再聊聊")


async def test_close_not_settled_with_a_referral(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1271, language_code="en"), team["wang"]
    number = await open_case_en(resident, text="Noise", via_start=True)
    await wang.expect(number)
    await wang.press("接受")
    await wang.expect_edit(zh(ACCEPTED, number=number))
    await wang.expect_many(f"📨 {number}", "Noise")
    await close_referred(wang, "区人民法院")
    await wang.expect("已结案：未调解成功")
    await resident.expect("王大姐 has taken your case")
    notice = await resident.expect(f"Your case {number} has been closed: not settled.")
    assert "Where to go next: 区人民法院" in notice.content


async def test_the_resident_withdraws_and_the_mediator_is_told(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1280), team["wang"]
    number = await accepted_case(resident, wang)
    await resident.send("/withdraw")
    await resident.expect("您要撤回哪个案件")
    await resident.press(f"{number} · 邻里纠纷")
    await resident.expect(f"案件 {number} 已撤回")
    await wang.expect(f"居民撤回了案件 {number}")
    await resident.send("/withdraw")
    await resident.expect("您没有可以撤回的案件")


async def test_blocked_bot_on_either_side_is_flagged_and_the_other_side_told(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang, head = bot.person(1290), team["wang"], team["head"]
    number = await accepted_case(resident, wang)
    await bot.api.block_bot(resident.id)
    await wang.send("您好？")
    await wang.expect(f"案件 {number} 的居民屏蔽了机器人")
    events = [e.kind for e in await bot.timeline(number)]
    assert events[-1] == "unreachable"
    await bot.api.block_bot(wang.id)
    await resident.send("我回来了")  # sending unblocks the resident's side
    await resident.expect("您的调解员暂时无法通过 Telegram 联系")
    await head.expect(f"案件 {number} 的调解员无法通过 Telegram 联系")
    sent_before = bot.api.calls("copyMessage")
    await resident.send("还在吗")
    await resident.expect("暂时无法通过 Telegram 联系")
    assert bot.api.calls("copyMessage") == sent_before + 1  # tried once, not retried
    book = await bot.book(number)  # undelivered, yet in the book
    assert book[-3:] == [("mediator", "您好？"), ("resident", "我回来了"), ("resident", "还在吗")]


async def test_the_book_keeps_every_message_across_a_restart(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    """The book entry is written behind the copy: stopping right after loses none."""
    resident, wang = bot.person(1292), team["wang"]
    number = await accepted_case(resident, wang)
    for text in ("第一句", "第二句", "第三句"):
        await resident.send(text)
    await wang.expect_many("第一句", "第二句", "第三句")
    await bot.restart()
    assert (await bot.book(number))[-3:] == [
        ("resident", "第一句"),
        ("resident", "第二句"),
        ("resident", "第三句"),
    ]


async def test_a_copy_telegram_fails_once_is_sent_again_in_order(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1291), team["wang"]
    number = await accepted_case(resident, wang)
    bot.api.inject_fault("copyMessage", kind="500")
    await resident.send("服务器出错时的消息")
    await resident.send("下一条")
    await wang.expect_many("服务器出错时的消息", "下一条")
    await resident.expect_silence()  # nothing to tell her: it went through
    book = await bot.book(number)
    assert book[-2:] == [("resident", "服务器出错时的消息"), ("resident", "下一条")]


async def test_a_mediator_cannot_act_on_someone_elses_case(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang, li = bot.person(1295), team["wang"], team["li"]
    number = await accepted_case(resident, wang)
    await li.send(f"/case {number}")
    await li.expect("这个案件没有分配给您")
    await li.send(f"/book {number}")
    await li.expect("这个案件没有分配给您")  # a mediator hears why
    await li.send("/close")
    await li.expect("请回复案件里的一条消息")
    await resident.send("/book " + number)
    await resident.expect("只对调解社工作人员开放")
    await resident.expect_silence()


async def test_registration_book_export(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang = bot.person(1296, "秀英", username="xiuying"), team["wang"]
    number = await accepted_case(resident, wang, text="婆媳关系紧张")
    await resident.send("她又说我了")
    await wang.expect("她又说我了")
    await wang.send("/note 私下记一笔")
    await wang.expect("备注已保存")
    await wang.send("/book")
    document, docx = await wang.expect_many(f"案件 {number} 的调解卷宗", f"{number}")
    assert docx.file is not None and docx.file.data.startswith(b"PK")  # and as DOCX
    assert document.kind == "document"
    assert document.file is not None
    page = document.data.decode("utf-8")  # type: ignore[union-attr]
    for expected in (
        number,
        "东升社区",
        "邻里纠纷",
        "婆媳关系紧张",
        "她又说我了",
        "私下记一笔",
        "居民 R-",
        "王大姐",
        "已登记",
        "已接受",
    ):
        assert expected in page, expected
    for secret in ("秀英", "xiuying", "1296"):
        assert secret not in page


def _random_name(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(5, 9)))


async def test_identities_never_cross_the_relay(bot: BotUnderTest, staff: Person) -> None:
    """Property: random names, usernames and ids never appear on the other side."""
    rng = random.Random(20261129)
    for round_ in range(3):
        mediator_id, resident_id = 2400 + round_, 1300 + round_
        m_first, m_last, m_user = (_random_name(rng) for _ in range(3))
        mediator = bot.person(mediator_id, m_first, last_name=m_last, username=m_user)
        payload = await _invite(staff)
        await mediator.send(f"/start {payload}")
        await mediator.expect()
        await mediator.send(f"调解员{round_}")
        await mediator.expect()
        await mediator.send("/duty on")
        await mediator.expect()
        r_first, r_last, r_user = (_random_name(rng) for _ in range(3))
        resident = bot.person(resident_id, r_first, last_name=r_last, username=r_user)
        number = await open_case(resident, area="联合村", text="随机测试")
        await mediator.expect(number)
        await mediator.press("接受")
        await mediator.expect_edit(zh(ACCEPTED, number=number))
        await resident.expect(zh(TAKEN, name=f"调解员{round_}", number=number))
        await resident.send("你好")
        await mediator.send("你好呀")
        await resident.expect_many("💬", "你好呀")
        await mediator.send("/duty off")
        await mediator.expect()
        to_mediator = " ".join(m.content for m in bot.api.messages_to(mediator_id))
        to_resident = " ".join(m.content for m in bot.api.messages_to(resident_id))
        for secret in (r_first, r_last, r_user, str(resident_id)):
            assert secret not in to_mediator
        for secret in (m_first, m_last, m_user, str(mediator_id)):
            assert secret not in to_resident


async def _invite(staff: Person) -> str:
    from tests.e2e.conftest import invite_link

    return await invite_link(staff, "调解员 · 联合村")


async def test_thanking_da_asao_is_a_message_not_a_new_request(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1297), team["wang"]
    await accepted_case(resident, wang)
    await resident.send("谢谢大阿嫂")
    await wang.expect("谢谢大阿嫂")
    await wang.send("大阿嫂")  # a mediator saying the word is talking, not asking for help
    await resident.expect_many("💬 王大姐", "大阿嫂")


async def test_help_lists_what_each_role_can_do(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident = bot.person(1298)
    await resident.send("/help")
    for_resident = await resident.expect("/privacy")
    assert "/note" not in for_resident.content
    await team["wang"].send("/help")
    for_mediator = await team["wang"].expect("/note")
    assert (
        "回复案件里的某条消息" in for_mediator.content and "/reassign" not in for_mediator.content
    )
    await team["head"].send("/help")
    assert "/reassign" in (await team["head"].expect("/note")).content
