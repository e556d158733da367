"""The year-end report: /stats figures against counts the test keeps itself, while it seeds
the year through the chat (cases met at the desk and at home, an urgent one, replies after
known delays, an event with RSVPs and its attendance)."""

from __future__ import annotations

import io
import statistics
from datetime import timedelta

from openpyxl import load_workbook
from PIL import Image

from tests.e2e.flows import (
    ACCEPTED,
    CASE_NUMBER,
    GOT_IT,
    PRIVACY,
    TAKEN,
    sensitive_consent,
    start_intake,
)
from tests.harness import FILES_WAIT, BotUnderTest, Person, zh

CONTACT_BUTTONS = {"office": "坐班时间到调解室面谈", "home": "上门走访", "chat": "就在这里聊"}


async def register(resident: Person, contact: str, text: str) -> str:
    await start_intake(resident)
    await resident.press("东升社区")
    await resident.expect("是哪方面的事情")
    await resident.press("租房")
    await sensitive_consent(resident)
    await resident.expect("请用您自己的话")
    await resident.send(text)
    await resident.expect(zh(GOT_IT))
    await resident.press("说完了 ✓")
    await resident.expect("怎么和您联系")
    await resident.press(CONTACT_BUTTONS[contact])
    await resident.expect("请核对您的求助内容")
    await resident.press("✓ 提交给大阿嫂")
    registered = await resident.expect("您的求助已登记")
    match = CASE_NUMBER.search(registered.content)
    assert match
    return match.group(0)


async def accept(mediator: Person, number: str) -> None:
    await mediator.expect(zh("New case {number}", number=number))
    await mediator.press("接受")
    await mediator.expect_edit(zh(ACCEPTED, number=number))


async def test_year_end_figures_match_an_independent_count(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    wang, li = team["wang"], team["li"]  # 东升社区, both on duty this Monday morning
    for member in team.values():
        member.ignore("📋")
    delays: list[timedelta] = []  # registration → the mediator's first message, as we wait

    home = bot.person(7001)
    number = await register(home, "home", "房东不退押金")
    await accept(wang, number)
    wang.skip_all()
    bot.clock.advance(timedelta(hours=2))
    await wang.send("我明天上午去您那儿看看")
    await home.expect(zh(TAKEN, name="王大姐", number=number))
    await home.expect_many("王大姐", "我明天上午去您那儿看看")
    delays.append(timedelta(hours=2))

    desk = bot.person(7002)
    number = await register(desk, "office", "房租突然涨了一半")
    started = bot.clock.now()
    await accept(li, number)  # 王大姐 has a case already: 李阿姨 is offered this one
    li.skip_all()
    bot.clock.advance(timedelta(minutes=30))
    await li.send("周四上午来调解室找我")
    await desk.expect(zh(TAKEN, name="李阿姨", number=number))
    await desk.expect_many("李阿姨", "周四上午来调解室找我")
    delays.append(bot.clock.now() - started)

    endangered = bot.person(7003)
    await endangered.send("找大阿嫂")
    await endangered.expect(zh(PRIVACY, days=bot.config.privacy.retention_days))
    await endangered.press("🆘 我现在有危险")
    await endangered.expect("110")

    fans = [bot.person(7100 + n) for n in range(3)]
    for fan in fans:
        await fan.send("/subscribe")
        await fan.expect("您会在这里收到妇联的活动通知")
    await staff.send("/announce")
    await staff.expect("请发送通知的文字")
    await staff.send("租房法律讲座")
    await staff.expect(zh("Who should get it? Tick areas and/or topics, or keep Everyone."))
    await staff.press("下一步 ›")
    await staff.expect("什么时候发送")
    await staff.press("现在发送")
    await staff.expect("要加上“我参加”")
    await staff.press("要，加上报名按钮")
    await staff.expect("活动是哪天几点")
    await staff.press("不用提醒")
    await staff.expect_many("租房法律讲座", "请看一下上面的通知")
    await staff.press("✓ 确认发送")
    await staff.expect("已安排发送")
    await staff.expect("”：已送达 3")
    for fan in fans[:2]:
        fan.skip_all()
        assert await fan.press_and_expect_answer("🙋 我参加") == "到时见！"
    await staff.send("/attendance 1 12")
    await staff.expect("记好了：“租房法律讲座”（第 1 号通知）来了 12 人。")

    await staff.send("/stats 2026")
    report = await staff.expect("📊", timeout=FILES_WAIT)  # the text; the charts follow
    median = timedelta(seconds=statistics.median(d.total_seconds() for d in delays))
    hours, minutes = divmod(round(median.total_seconds() / 60), 60)
    first_reply = zh(
        "From registration to the mediator's first message to the resident: {time} "
        "(median of {count} cases)",
        time=f"{hours}小时{minutes}分钟",  # Babel's (CLDR's) hours and minutes, not the catalog's
        count=len(delays),
    )
    assert first_reply in report.content
    home, desk = zh("A home visit"), zh("Visit the desk during office hours")
    assert f"{home} 1" in report.content and f"{desk} 1" in report.content
    assert zh("🔴 Urgent cases: {count}", count=1) in report.content
    assert zh("Subscribers: {count}", count=3) in report.content
    events = zh(
        "Events held: {events} · people who came: {attended} (counted at {counted} of them; "
        "/attendance records it)",
        events=1,
        attended=12,
        counted=1,
    )
    assert events in report.content
    assert zh("Announcements sent: {count} · RSVPs: {rsvps}", count=1, rsvps=2) in report.content

    photo = await staff.expect(timeout=FILES_WAIT)  # the chart for the phone
    page = await staff.expect(  # the chart for a page of the report
        zh("The same chart in landscape, sized for a page of the work report."),
        timeout=FILES_WAIT,
    )
    assert page.data is not None and photo.data is not None
    assert Image.open(io.BytesIO(page.data)).size == (1754, 1240)  # landscape, A4 at 150 dpi
    width, height = Image.open(io.BytesIO(photo.data)).size
    assert width == 1080 and height > width  # portrait, for the phone
    book = await staff.expect(timeout=FILES_WAIT)
    assert book.data is not None
    summary = dict(
        load_workbook(io.BytesIO(book.data))[zh("Summary")].iter_rows(min_row=2, values_only=True)
    )
    assert summary[zh("Cases registered")] == 3
    assert (
        summary[zh("Home visits asked for")] == 1
        and summary[zh("Desk visits (office hours) asked for")] == 1
    )
    assert summary[zh("Urgent cases")] == 1
    assert summary[zh("Cases that median covers")] == len(delays)
    assert summary[zh("Median hours from registration to the mediator's first message")] == round(
        median.total_seconds() / 3600, 2
    )
    assert summary[zh("Subscribers")] == 3 and summary[zh("Events held")] == 1
    assert summary[zh("RSVPs (I'll come)")] == 2 and summary[zh("People who came")] == 12
