"""Event announcements: subscriptions, composing, delivery exactly once, RSVP, recurrence."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from storage.announcements import Subscription, SubscriptionRepository
from storage.users import UserRepository
from tests.e2e.flows import consent_screen, expect_shaped
from tests.harness import BotUnderTest, Person, zh

WHO_GETS_IT = "Who should get it? Tick areas and/or topics, or keep Everyone."  # /announce
EVENT_WHEN = (
    "When is the event? Write the day and time, for example: Mar 8 7pm, Sat 10am. Everyone who"
    " said they will come gets a reminder {hours} hours before. Or press No reminder."
)
CHECK_NOTICE = "Please check the announcement above. It goes to {count} subscribers, {when}."
SCHEDULED = (
    "Announcement #{id} “{title}” is scheduled. /announcements shows it and its delivery report."
)
REPORT = (  # the delivery report
    "Announcement #{id} “{title}”: sent {sent}, failed {failed}, blocked {blocked}, still to"
    " send {pending}."
)
RSVPS = "RSVP: {yes} will come, {no} cannot."
REMINDER = "⏰ Reminder: you said you will come — {when}.\n\n{text}"


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return {"announcements": {"rate_per_second": 30, "max_retries": 3}}


async def compose(
    staff: Person,
    text: str,
    *,
    areas: tuple[str, ...] = (),
    later: str | None = None,
    repeat: str = "只发一次",
    rsvp: bool = False,
    event: str | None = None,
) -> str:
    """Walk the /announce dialogue as staff; returns the confirmation text."""
    await staff.send("/announce")
    await staff.expect(
        zh(
            "Send the text of the announcement. You may send a photo with the text as"
            " its caption instead. (/cancel stops.)"
        )
    )
    await staff.send(text)
    await staff.expect(zh(WHO_GETS_IT))
    for area in areas:
        await staff.press(area)
        await staff.expect_button(f"✓ {area}")
    await staff.press(zh("Next ›"))
    await staff.expect(zh("When should it go out?"))
    if later is None:
        await staff.press(zh("Now"))
    else:
        await staff.press(zh("At a date and time…"))
        await staff.expect(
            zh(
                "When should it go out? Write the day and time, for example: Mar 1 9am,"
                " tomorrow 7pm, next Wed 14:00."
            )
        )
        await staff.send(later)
        await staff.expect(zh("Does it repeat?"))
        await staff.press(repeat)
    await staff.expect(zh("Add “I'll come” / “Can't come” buttons?"))
    await staff.press(zh("Yes, with RSVP") if rsvp else zh("No RSVP"))
    if rsvp:
        await expect_shaped(staff, EVENT_WHEN, hours=r"\d+")
        if event is None:
            await staff.press(zh("No reminder"))
        else:
            await staff.send(event)
    preview = await staff.expect(text)
    assert zh("— Women's federation of the sub-district") in preview.content
    await expect_shaped(staff, CHECK_NOTICE)
    await staff.press(zh("✓ Send it"))
    return (await expect_shaped(staff, SCHEDULED, id=r"\d+")).content


async def seed_subscribers(
    bot: BotUnderTest,
    ids: range,
    areas: frozenset[str] = frozenset(),
    topics: frozenset[str] = frozenset(),
    language: str = "zh-hans",
) -> None:
    """Residents who subscribed earlier (set up through the repositories, not the chat)."""
    assert bot.app is not None
    db = bot.app.bot_data.services.db
    users, subs = UserRepository(db), SubscriptionRepository(db)
    now = bot.clock.now()
    for user_id in ids:
        bot.api.add_user(user_id, f"居民{user_id}", language_code=language, started=True)
        await users.upsert_seen(user_id, language, now)
        await subs.save(Subscription(user_id, True, areas, topics), now)


def received(bot: BotUnderTest, user_id: int, text: str) -> int:
    return sum(1 for m in bot.api.messages_to(user_id) if text in m.content)


async def test_subscribe_choose_and_unsubscribe(bot: BotUnderTest) -> None:
    resident = bot.person(1601)
    await resident.send("/subscribe")
    await resident.expect(
        zh(
            "You will get the federation's event notices here. Tick the areas and"
            " topics you care about; with nothing ticked you get all of them."
            " /unsubscribe stops them."
        )
    )
    await resident.press("· 东升社区")
    await resident.expect_button("✓ 东升社区")
    await resident.press("· 健康")
    await resident.expect_button("✓ 健康")
    await resident.press(zh("Save my choice ✓"))
    await resident.expect_edit(  # what she chose, in words
        zh(
            "Saved. You will get notices of {what} here. /unsubscribe stops them any time.",
            what="东升社区的健康",
        )
    )
    await resident.send("/unsubscribe")
    await resident.expect(zh("You will get no more event notices. Send /subscribe to start again."))


async def test_start_offers_notices_once(bot: BotUnderTest) -> None:
    resident = bot.person(1602)
    await resident.send("/start")
    await resident.expect_many(
        consent_screen(bot),
        zh(
            "By the way: the women's federation organises events, health checks and"
            " legal lectures. Would you like to hear about them here?"
        ),
    )
    await resident.press(zh("Yes, choose topics"))
    await resident.expect_edit(
        zh(
            "You will get the federation's event notices here. Tick the areas and"
            " topics you care about; with nothing ticked you get all of them."
            " /unsubscribe stops them."
        )
    )
    await resident.send("/cancel")
    await resident.expect(
        zh("Cancelled. Nothing was sent. Write 找大阿嫂 whenever you want to start again.")
    )
    await resident.send("/start")
    await resident.expect(consent_screen(bot))
    await resident.expect_silence(0.3)  # never asked again


async def test_a_resident_cannot_announce(bot: BotUnderTest) -> None:
    resident = bot.person(1603)
    await resident.send("/announce")
    await resident.expect(zh("Sorry, this is only for the federation staff."))
    await resident.send("/announcements")
    await resident.expect(zh("Sorry, this is only for the federation staff."))


async def test_announce_now_to_an_area_with_rsvp_and_a_reminder(
    bot: BotUnderTest, staff: Person
) -> None:
    await seed_subscribers(bot, range(3001, 3004), areas=frozenset({"dongsheng"}))
    await seed_subscribers(bot, range(3101, 3103), areas=frozenset({"lianhe"}))
    await seed_subscribers(bot, range(3201, 3202))  # everything
    done = await compose(
        staff,
        "三八妇女节联欢会，3月8日晚上七点，社区礼堂",
        areas=("东升社区",),
        rsvp=True,
        event="3月8日 19:00",
    )
    title = "三八妇女节联欢会，3月8日晚上七点，社区礼堂"
    assert zh(SCHEDULED, id=1, title=title) in done
    report = await staff.expect(
        zh(REPORT, id=1, title=title, sent=4, failed=0, blocked=0, pending=0)
    )
    assert zh("Update report") in str(report.buttons)  # the automatic report speaks her language
    assert zh(RSVPS, yes=0, no=0) in report.content
    for user_id in (3001, 3002, 3003, 3201):
        assert received(bot, user_id, "三八妇女节联欢会") == 1
    for user_id in (3101, 3102):
        assert received(bot, user_id, "三八妇女节联欢会") == 0
    coming, not_coming = Person(bot.api, 3001), Person(bot.api, 3002)
    for person in (coming, not_coming):
        person.skip_all()
    come, cannot = zh("🙋 I'll come"), zh("Can't come")
    assert await coming.press_and_expect_answer(come) == zh("See you there!")
    assert await not_coming.press_and_expect_answer(cannot) == zh("Thank you for letting us know.")
    assert await not_coming.press_and_expect_answer(come) == zh("See you there!")  # changeable
    notice = await coming.expect_button(f"✓ {come}")  # her answer, ticked on the notice
    assert cannot in str(notice.buttons) and zh("Unsubscribe") in str(notice.buttons)
    await not_coming.expect_button(f"✓ {come}")
    await staff.press(zh("Update report"))
    await staff.expect(zh(RSVPS, yes=2, no=0))
    bot.clock.advance(timedelta(days=6, hours=7, minutes=30))  # 3月7日 19:00: 24 h before
    reminder = zh(REMINDER, when="3月8日周日 19:00", text=title)
    await coming.expect(reminder)
    await not_coming.expect(reminder)
    assert received(bot, 3003, "⏰ 提醒") == 0  # did not answer: no reminder
    await staff.send("/stats")
    sent = zh("Announcements sent: {count} · RSVPs: {rsvps}", count=1, rsvps=2)
    stats = await staff.expect(sent, timeout=30)  # the text; the charts follow
    counts = f"东升社区 3 · 联合村 2 · {zh('Everything')} 1"
    assert zh("Subscribers by area: {counts}", counts=counts) in stats.content


async def test_unsubscribe_button_on_every_announcement(bot: BotUnderTest, staff: Person) -> None:
    await seed_subscribers(bot, range(3301, 3303))
    await compose(staff, "健康讲座")
    await expect_shaped(staff, REPORT, sent="2")
    resident = Person(bot.api, 3301)
    resident.skip_all()
    assert zh(
        "You will get no more event notices. Send /subscribe to start again."
    ) in await resident.press_and_expect_answer(zh("Unsubscribe"))
    await compose(staff, "第二场健康讲座")
    await expect_shaped(staff, REPORT, sent="1")
    assert received(bot, 3301, "第二场健康讲座") == 0


async def test_scheduled_yearly_announcement_fires_on_its_dates(
    bot: BotUnderTest, staff: Person
) -> None:
    await seed_subscribers(bot, range(3401, 3403))
    await compose(staff, "妇女节快乐", later="3月8日 9:00", repeat="每年")
    await staff.send("/announcements")
    listing = await staff.expect(zh("Announcements:"))
    assert "#1 · 待发送 · 3月8日周日 09:00 · 妇女节快乐 · 每年" in listing.content
    bot.clock.advance(timedelta(days=5, hours=23))  # 3月8日 08:30
    await staff.expect_silence(0.3)
    bot.clock.advance(timedelta(minutes=30))
    await expect_shaped(staff, REPORT, sent="2")
    bot.clock.advance(timedelta(days=365))  # 2027年3月8日 09:00
    await expect_shaped(staff, REPORT, sent="4")  # the report counts every sending
    assert received(bot, 3401, "妇女节快乐") == 2


async def test_a_cancelled_announcement_is_not_sent(bot: BotUnderTest, staff: Person) -> None:
    await seed_subscribers(bot, range(3501, 3502))
    await compose(staff, "取消的活动", later="3月9日 9:00")
    await staff.send("/announcements")
    await staff.expect(zh("Announcements:"))
    await staff.press(zh("Cancel #{id}", id=1))
    await staff.expect(zh("Announcement #{id} “{title}” is cancelled.", id=1, title="取消的活动"))
    bot.clock.advance(timedelta(days=8))
    await staff.expect_silence(0.3)
    assert received(bot, 3501, "取消的活动") == 0


async def test_composer_refuses_bad_input_politely(bot: BotUnderTest, staff: Person) -> None:
    await staff.send("/announce")
    await staff.expect(
        zh(
            "Send the text of the announcement. You may send a photo with the text as"
            " its caption instead. (/cancel stops.)"
        )
    )
    await staff.send("长" * 5000)
    await staff.expect(
        zh("That is too long: at most {limit} characters here.", limit=3996)
    )  # room for the footer
    await staff.send("讲座")
    await staff.expect(zh(WHO_GETS_IT))
    await staff.send("随便写点")
    await staff.expect(zh("Please use the buttons above, or /cancel."))
    await choose_a_time(staff)
    await staff.send("下个月吧")
    await staff.expect(
        zh(
            "I could not read that time. You can write it like this: Mar 1 9am,"
            " tomorrow 7pm, next Wed 14:00."
        )
    )
    await staff.send("2月30日上午9点")
    await staff.expect(
        zh(
            "There is no such day on the calendar. Please check the month and the"
            " day, for example: Mar 1 9am."
        )
    )
    await staff.send("下午25点")
    await staff.expect(
        zh("That hour does not fit. Please check it, for example: 9am, 2:30pm, 19:00.")
    )
    await staff.send("明天下午")
    await staff.expect(zh("At what time? Please add the hour, for example: tomorrow 3pm."))
    await staff.send("2026-01-01 09:00")
    await staff.expect(
        zh(
            "That time has already passed. Please give a time ahead; for a date next"
            " year, add the year too."
        )
    )
    await staff.send("/cancel")
    await staff.expect(zh("Cancelled."))


async def test_times_written_as_people_say_them(bot: BotUnderTest, staff: Person) -> None:
    await seed_subscribers(bot, range(3601, 3603))
    await staff.send("/announce")
    await staff.expect(
        zh(
            "Send the text of the announcement. You may send a photo with the text as"
            " its caption instead. (/cancel stops.)"
        )
    )
    await staff.send("周六亲子读书会")
    await staff.expect(zh(WHO_GETS_IT))
    await choose_a_time(staff)
    await staff.send("３月７日")  # full-width, and no hour
    await staff.expect(
        zh(
            "No time of day was given, so I took {when}. To change it, just type it again.",
            when="3月7日周六 09:00",
        )
    )
    await staff.expect(zh("Does it repeat?"))
    await staff.send("3月7日下午2点半")  # typed again: the hour changes
    await staff.expect(zh("Does it repeat?"))
    await staff.press(zh("Only once"))
    await staff.expect(zh("Add “I'll come” / “Can't come” buttons?"))
    await staff.press(zh("Yes, with RSVP"))
    await expect_shaped(staff, EVENT_WHEN, hours=r"\d+")
    await staff.send("周六下午3点")
    await staff.expect("周六亲子读书会")
    summary = await expect_shaped(staff, CHECK_NOTICE, when=re.escape("3月7日周六 14:30"))
    event = "Event: {when}; those who come get a reminder."
    assert zh(event, when="3月7日周六 15:00") in summary.content
    await staff.press(zh("✓ Send it"))
    await expect_shaped(staff, SCHEDULED, id=r"\d+")
    bot.clock.advance(timedelta(days=5, hours=4, minutes=59))  # 3月7日 14:29
    await staff.expect_silence(0.3)
    bot.clock.advance(timedelta(minutes=1))
    await expect_shaped(staff, REPORT, sent="2")


@pytest.mark.slow
async def test_broadcast_to_300_with_faults_and_a_restart_reaches_everyone_once(
    bot: BotUnderTest, staff: Person
) -> None:
    await seed_subscribers(bot, range(5000, 5100), areas=frozenset({"dongsheng"}))
    await seed_subscribers(bot, range(5100, 5200), topics=frozenset({"health"}))
    await seed_subscribers(
        bot, range(5200, 5300), areas=frozenset({"lianhe"}), topics=frozenset({"legal"})
    )
    blocked = [5003, 5150]
    for user_id in blocked:  # blocked the bot without us hearing of it
        bot.api.inject_fault("sendMessage", kind="403", chat_id=user_id, times=10)
    bot.api.inject_fault("sendMessage", kind="429", retry_after=1, times=2, chat_id=5010)
    bot.api.inject_fault("sendMessage", kind="500", times=3, chat_id=5020)
    bot.api.inject_fault("sendMessage", kind="500", times=9, chat_id=5030)  # gives up
    # Everyone in 东升社区, plus anyone subscribed to health: 5000–5199 match, 5200+ do not.
    await staff.send("/announce")
    await staff.expect(
        zh(
            "Send the text of the announcement. You may send a photo with the text as"
            " its caption instead. (/cancel stops.)"
        )
    )
    await staff.send("免费两癌筛查")
    await staff.expect(zh(WHO_GETS_IT))
    await staff.press("东升社区")
    await staff.expect_button("✓ 东升社区")
    await staff.press("健康")
    await staff.expect_button("✓ 健康")
    await staff.press(zh("Next ›"))
    await staff.expect(zh("When should it go out?"))
    await staff.press(zh("Now"))
    await staff.expect(zh("Add “I'll come” / “Can't come” buttons?"))
    await staff.press(zh("No RSVP"))
    await staff.expect("免费两癌筛查")
    await expect_shaped(staff, CHECK_NOTICE, count="200")
    await staff.press(zh("✓ Send it"))
    await expect_shaped(staff, SCHEDULED, id=r"\d+")

    def delivered() -> int:
        return sum(received(bot, uid, "免费两癌筛查") for uid in range(5000, 5300))

    await bot.api.wait_for(lambda: delivered() >= 80, timeout=20, what="80 deliveries")
    await bot.restart()  # in the middle of the broadcast
    await bot.api.wait_for(lambda: delivered() >= 197, timeout=40, what="all deliveries")
    report = zh(REPORT, id=1, title="免费两癌筛查", sent=197, failed=1, blocked=2, pending=0)
    await staff.expect(report, timeout=20)
    for user_id in range(5000, 5200):
        expected = 0 if user_id in (*blocked, 5030) else 1
        assert received(bot, user_id, "免费两癌筛查") == expected, user_id
    for user_id in range(5200, 5300):
        assert received(bot, user_id, "免费两癌筛查") == 0
    assert bot.app is not None
    users = UserRepository(bot.app.bot_data.services.db)
    for user_id in blocked:
        record = await users.get(user_id)
        assert record is not None and record.blocked_at is not None


async def choose_a_time(staff: Person) -> None:
    """From the audience step to the question of when, answered with a written time."""
    await staff.press(zh("Next ›"))
    await staff.expect(zh("When should it go out?"))
    await staff.press(zh("At a date and time…"))
    await staff.expect(
        zh(
            "When should it go out? Write the day and time, for example: Mar 1 9am,"
            " tomorrow 7pm, next Wed 14:00."
        )
    )
