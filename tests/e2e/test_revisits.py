"""Revisits, the survey and the weekly digest, on the real scheduler with a moved clock.

The harness starts on Monday 2026-03-02 09:30 Shanghai time; revisits default to +7 and
+30 days at 10:00 local, the survey to +3 days, the digest to Mondays 09:00.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.e2e.flows import (
    ACCEPTED,
    CLOSED,
    CLOSED_TO_HER,
    HANDED,
    NOT_UNDERSTOOD,
    REOPENED,
    REOPENED_TO_HER,
    REVISIT,
    accepted_case,
    close_settled,
    hand_over,
)
from tests.harness import BotUnderTest, Person, zh

DAY = timedelta(days=1)
OPEN_CASES = "Open cases: {count}"  # a line of the weekly digests


async def settle(resident: Person, mediator: Person, agreement: str = "每晚十点后停止装修") -> str:
    """A case accepted by `mediator` and closed as settled; weekly digests are ignored."""
    number = await accepted_case(resident, mediator)
    mediator.ignore("📋")
    await close_settled(mediator, agreement)
    await mediator.expect(zh(CLOSED, number=number, outcome=zh("settled")))
    await resident.expect(zh(CLOSED_TO_HER, number=number, outcome=zh("settled")))
    return number


async def test_revisits_at_seven_and_thirty_days_at_the_local_hour(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1401), team["wang"]
    number = await settle(resident, wang)
    bot.clock.advance(7 * DAY + timedelta(minutes=29))  # Monday 09:59 local: not yet
    await wang.expect_silence(0.3)
    bot.clock.advance(timedelta(minutes=1))  # 10:00 local
    card = await wang.expect(zh(REVISIT, n=1, number=number))
    assert zh("The agreement: {text}", text="每晚十点后停止装修") in card.content
    assert zh("(This reminder is late: the bot was offline when it fell due.)") not in card.content
    await wang.press(zh("✓ It is holding"))
    await wang.expect(
        zh("Thank you. Revisit {n} of case {number} is recorded: holding.", n=1, number=number)
    )
    bot.clock.advance(23 * DAY)
    await wang.expect(zh(REVISIT, n=2, number=number))
    events = [(e.kind, e.detail.get("answer")) for e in await bot.timeline(number)]
    assert ("revisited", "holding") in events


async def test_remind_me_tomorrow_and_could_not_reach(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1402), team["wang"]
    number = await settle(resident, wang)
    bot.clock.advance(7 * DAY + timedelta(minutes=30))
    await wang.expect(zh(REVISIT, n=1, number=number))
    await wang.press(zh("Remind me tomorrow"))
    await wang.expect(zh("All right, I will remind you tomorrow."))
    bot.clock.advance(DAY)
    await wang.expect(zh(REVISIT, n=1, number=number))
    await wang.press(zh("Could not reach them"))
    await wang.expect(
        zh(
            "Recorded: the family could not be reached for revisit {n} of case {number}.",
            n=1,
            number=number,
        )
    )


async def test_a_recurred_dispute_opens_a_linked_case_and_routes_it(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1403), team["wang"]
    number = await settle(resident, wang)
    # Shanghai Monday 10:00 a week later: 王大姐 and 李阿姨 are on duty.
    bot.clock.advance(7 * DAY + timedelta(minutes=30))
    await wang.expect(zh(REVISIT, n=1, number=number))
    team["li"].ignore("📋")
    await wang.press(zh("⚠ The dispute came back"))
    again = "QJS-2026-0002"
    await wang.expect(zh("New case {number}", number=again))  # she had the old case, on duty
    await wang.expect(
        zh(
            "Recorded. The dispute is registered again as case {number}, linked to {old}; it has"
            " been offered to {name}.",
            number=again,
            old=number,
            name="王大姐",
        )
    )
    await wang.press(zh("Accept"))
    await wang.expect_edit(zh(ACCEPTED, number=again))
    await asyncio.sleep(0.2)  # nothing else comes: a recurred case has no messages yet
    wang.skip_all()
    wang.ignore("📋", "⏰")  # the new case is hers: its time-limit flag comes too
    bot.clock.advance(30 * DAY)
    await wang.expect_silence(0.3)  # the old case's second revisit was cancelled


async def test_an_unanswered_revisit_is_reported_to_the_head_after_two_days(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1404), team["wang"]
    number = await settle(resident, wang)
    team["head"].ignore("📋")
    bot.clock.advance(7 * DAY + timedelta(minutes=30))
    await wang.expect(zh(REVISIT, n=1, number=number))
    bot.clock.advance(2 * DAY)
    await team["head"].expect(
        zh(
            "Revisit {n} of case {number} has not been answered for two days (mediator: {name}).",
            n=1,
            number=number,
            name="王大姐",
        )
    )


async def test_survey_after_three_days(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang = bot.person(1405), team["wang"]
    number = await settle(resident, wang)
    bot.clock.advance(3 * DAY + timedelta(minutes=30))  # Thursday 10:00 local
    await resident.expect(  # the matter and who helped
        zh(
            "A few days ago {name} closed your case about “{topic}” ({number}). How satisfied are"
            " you with the help you got? Press the stars: 1 = not at all, 5 = very.",
            name="王大姐",
            topic="邻里纠纷",
            number=number,
        )
    )
    await resident.press("★★★★")
    await resident.expect(zh("Thank you! Is the problem resolved?"))
    await resident.press(zh("Yes, it is resolved"))
    await resident.expect(
        zh("Anything else you would like to tell us? Write it here, or press No comment.")
    )
    await resident.send("王大姐人很好")
    await resident.expect(
        zh(
            "Thank you for telling us this; we read every word, and it helps us do"
            " better. All the best to you and your family!"
        )
    )
    assert bot.app is not None
    followup = bot.app.bot_data.services.revisits._followup
    case = await bot.app.bot_data.services.db.fetch_one(
        "SELECT id FROM cases WHERE number = ?", (number,)
    )
    assert await followup.survey(case[0]) == (4, True, "王大姐人很好")  # type: ignore[index]
    await resident.send("还有一句")
    await resident.expect(zh(NOT_UNDERSTOOD))  # the comment was taken once; nothing else is waiting


async def test_no_survey_for_a_resident_who_blocked_the_bot(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1406), team["wang"]
    await settle(resident, wang)
    await bot.api.block_bot(resident.id)
    await bot.api.wait_for(lambda: not bot.api.pending_updates, what="block seen")
    sends = bot.api.calls("sendMessage")
    bot.clock.advance(3 * DAY + timedelta(minutes=30))
    await wang.expect_silence(0.3)
    assert bot.api.calls("sendMessage") == sends  # not even tried


async def test_reopened_case_has_no_revisits(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang = bot.person(1407), team["wang"]
    number = await settle(resident, wang)
    await wang.send(f"/reopen {number}")
    await wang.expect(zh(REOPENED, number=number))
    wang.ignore("📋", "⏰")  # open again past the time limit: flagged, but no revisit
    bot.clock.advance(31 * DAY)
    await wang.expect_silence(0.3)
    await resident.expect(zh(REOPENED_TO_HER, number=number))
    await resident.expect_silence(0.1)  # no survey either


async def test_revisits_of_a_reassigned_case_go_to_the_new_mediator(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang, li, head = bot.person(1408), team["wang"], team["li"], team["head"]
    number = await settle(resident, wang)
    note = "王大姐搬走了，回访由李阿姨做"
    await hand_over(head, f"/reassign {number}", number, "李阿姨", note)
    await li.expect_many(
        zh(HANDED, number=number, area="东升社区", note=note),
        *[zh("Case file of case {number}. Confidential.", number=number)] * 2,
    )  # HTML, DOCX
    li.ignore("📋")
    bot.clock.advance(7 * DAY + timedelta(minutes=30))
    await li.expect(zh(REVISIT, n=1, number=number))
    await wang.expect_silence(0.2)


async def test_weekly_digest_on_monday_morning(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident, wang = bot.person(1409), team["wang"]
    open_number = await accepted_case(resident, wang)
    for member in team.values():
        member.skip_all()
    bot.clock.advance(7 * DAY - timedelta(minutes=30))  # next Monday 09:00 local
    digest = await wang.expect(zh("📋 Your weekly digest"))
    assert zh(OPEN_CASES, count=1) in digest.content and open_number in digest.content
    society = await team["head"].expect(zh("📋 Weekly digest of the society"))
    assert zh(OPEN_CASES, count=1) in society.content
    quiet = await team["li"].expect(zh("📋 Your weekly digest"))
    assert zh(OPEN_CASES, count=0) in quiet.content
    bot.clock.advance(7 * DAY)
    await wang.expect(zh("📋 Your weekly digest"))  # and again the week after


async def test_a_revisit_due_while_the_bot_was_down_is_sent_once_marked_late(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1410), team["wang"]
    number = await settle(resident, wang)
    await bot.stop()
    bot.clock.advance(8 * DAY)
    await bot.start()
    card = await wang.expect(zh(REVISIT, n=1, number=number))
    assert zh("(This reminder is late: the bot was offline when it fell due.)") in card.content
    await bot.restart()
    await wang.expect_silence(0.5)  # sent once: a restart does not send it again
    cards = [m for m in bot.api.messages_to(wang.id) if "第 1 次回访" in m.content]
    assert len(cards) == 1
