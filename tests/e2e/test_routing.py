"""Routing, offers, duty, invites and the danger path, end to end through the local Bot API.

The harness clock starts on Monday 2026-03-02 09:30 in Shanghai: 王大姐 and 李阿姨 (东升社区)
are on duty until 12:00; 赵嫂子 (联合村) is on duty on Tuesday 09:00–11:30 only.
"""

from __future__ import annotations

import re
from datetime import timedelta

from localapi.state import BotMessage
from tests.e2e.conftest import invite_link
from tests.e2e.flows import (
    ACCEPTED,
    ALERTED,
    ANSWER_BY,
    CASE_NUMBER,
    DECLINE,
    TAKEN,
    TOPIC,
    URGENT,
    WELCOME_NAMED,
    WELCOME_TEAM,
    expect_shaped,
    open_case,
    register_en,
    resident_label,
    shaped,
    start_intake,
)
from tests.harness import BotUnderTest, Person, zh, zh_n

NOT_IN_TIME = "Case {number} was not accepted in time and has been offered to someone else."
NOT_TEAM = "Sorry, this is only for the mediation desk's team."


async def test_offer_accept_tells_the_resident_and_copies_the_description(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1101, "桂芳")
    number = await open_case(resident, text="楼上的水管漏到我家")
    wang = team["wang"]
    card = await wang.expect(zh("New case {number}", number=number))
    assert (
        zh("Please answer by {time}.", time="3月2日周一 10:00") in card.content
    )  # 30 minutes of duty time
    await wang.press(zh("Accept"))
    await wang.expect_edit(zh(ACCEPTED, number=number))
    header = await wang.expect(f"📨 {number} · ")
    assert re.match(rf"📨 {re.escape(number)} · {resident_label()}", header.content), header.content
    copied = await wang.expect("楼上的水管漏到我家")
    assert copied.copied_from is not None and copied.forward_origin is None
    await resident.expect(zh(TAKEN, name="王大姐", number=number))
    await resident.send("/status")
    await resident.expect(zh("with a mediator"))


async def test_load_balancing_then_round_robin(bot: BotUnderTest, team: dict[str, Person]) -> None:
    first = await open_case(bot.person(1102))
    await team["wang"].expect(first)  # equal load, never offered: the lower id
    second = await open_case(bot.person(1103))
    await team["li"].expect(second)  # 王大姐 has an open offer now
    for name in ("wang", "li"):
        await team[name].press(zh("Accept"))
        await team[name].expect_many("📨", "邻居家装修")  # the description, copied on acceptance
    third = await open_case(bot.person(1104))
    await team["wang"].expect(third)  # equal load again: the one offered longest ago


async def test_decline_with_a_reason_moves_the_case_on(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    number = await open_case(bot.person(1105))
    wang, li = team["wang"], team["li"]
    await wang.expect(number)
    await wang.press(zh("Decline"))
    await wang.expect_edit(zh("Why are you declining this case?"))
    await wang.press(zh("« Back"))
    await wang.expect_edit(zh("New case {number}", number=number))
    await wang.press(zh("Decline"))
    await wang.expect_edit(zh("Why are you declining this case?"))
    await wang.press(zh("I know the family (conflict of interest)"))
    await wang.expect_edit(zh(DECLINE, number=number))
    await wang.press(zh("Confirm"))
    await wang.expect_edit(zh("You declined this case. It has been offered to someone else."))
    await li.expect(zh("New case {number}", number=number))


async def test_unanswered_offer_moves_to_the_next_mediator_then_the_head(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    number = await open_case(bot.person(1106))
    wang, li, head = team["wang"], team["li"], team["head"]
    await wang.expect(number)
    bot.clock.advance(timedelta(minutes=31))
    await wang.expect(zh(NOT_IN_TIME, number=number))
    await li.expect(zh("New case {number}", number=number))
    bot.clock.advance(timedelta(minutes=31))
    await li.expect(zh(NOT_IN_TIME, number=number))
    card = await head.expect(zh("New case {number}", number=number))
    assert not shaped(ANSWER_BY).search(card.content)  # the head's offer has no timeout
    await head.press(zh("Accept"))
    await head.expect_edit(zh(ACCEPTED, number=number))


async def test_old_offer_button_after_timeout_is_stale(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    number = await open_case(bot.person(1107))
    wang = team["wang"]
    await wang.expect(number)
    bot.clock.advance(timedelta(minutes=31))
    await wang.expect(zh(NOT_IN_TIME, number=number))
    await team["li"].expect(number)
    offer = next(m for m in bot.api.messages_to(wang.id) if "接受" in str(m.buttons))
    assert await wang.press_and_expect_answer(zh("Accept")) == zh("This button is no longer valid.")
    await wang.api.wait_for(
        lambda: wang.api.messages_to(wang.id)[offer_index(wang, offer)].buttons == [],
        what="the stale offer's buttons taken off",
    )


def offer_index(person: Person, offer: BotMessage) -> int:
    ids = [m.message_id for m in person.api.messages_to(person.id)]
    return ids.index(offer.message_id)


async def test_nobody_on_duty_goes_to_the_next_one_and_the_resident_is_told_when(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1108)
    await open_case(resident, area="联合村")
    registered = resident.last()
    on_duty = "{name} is on duty from {time} and will answer you then."
    assert zh(on_duty, name="赵嫂子", time="3月3日周二 09:00") in registered.content
    number = CASE_NUMBER.search(registered.content)
    assert number, registered.content
    card = await team["zhao"].expect(zh("New case {number}", number=number.group(0)))
    assert zh("Please answer by {time}.", time="3月3日周二 09:30") in card.content


async def test_english_resident_is_told_the_next_duty_time_in_english(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1109, "Ann", language_code="en")
    registered = await register_en(
        resident, "Lianhe Village", "Something else", "A question about my lease.", via_start=True
    )
    assert "QJS-2026-0001" in registered.content
    assert "赵嫂子 is on duty from Tue, Mar 3, 09:00 and will answer you then." in (
        registered.content
    )


async def test_duty_switch_changes_who_gets_new_cases(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang, zhao = team["wang"], team["zhao"]
    await wang.send("/duty off")
    await wang.expect(zh("You are off duty: no new cases come to you until you switch back."))
    first = await open_case(bot.person(1110))
    await team["li"].expect(first)
    await zhao.send("/duty")
    await zhao.expect(zh("You follow the duty roster: new cases come to you during your slots."))
    await zhao.press(zh("On duty now"))
    await zhao.expect_edit(zh("You are on duty now: new cases of your area come to you."))
    second = await open_case(bot.person(1111), area="联合村")
    await zhao.expect(zh("New case {number}", number=second))
    await wang.expect_silence()


async def test_danger_button_alerts_the_area_and_the_head_at_once_on_duty_or_not(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1112)
    await start_intake(resident)
    await resident.press("联合村")
    await resident.expect(zh(TOPIC))
    await resident.press(zh("🆘 I am in danger now"))
    numbers = await expect_shaped(resident, "If you are in danger now, call at once:\n{numbers}")
    assert "☎ 110 — 报警" in numbers.content
    assert "☎ 12338 — 妇女维权公益服务热线" in numbers.content
    await resident.expect(zh_n(*ALERTED, 2, number="110"))
    for name in ("zhao", "head"):  # 赵嫂子 is off duty on Monday: alerted all the same
        card = await team[name].expect(zh(URGENT, number="QJS-2026-0001"))
        assert "联合村 · 家庭暴力与人身安全" in card.content
        assert not shaped(ANSWER_BY).search(card.content)  # no duty-time deadline on an urgent case
        assert card.button_data(zh("I'll take it"))
    await team["wang"].expect_silence()  # another area: not in the first round
    await team["li"].expect_silence()


async def test_danger_word_anywhere_in_intake_takes_the_danger_path(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1113, "Lin", language_code="en")
    await resident.send("/start")
    await resident.expect_many("Do you agree?", "By the way")
    await resident.send("I am in danger, he is coming back")
    numbers = await resident.expect("If you are in danger now, call at once")
    assert "☎ 110 — Police" in numbers.content
    await resident.press("🆘 Alert Da'asao now")
    await resident.expect("We have alerted 4 Da'asao mediators")  # no area yet: everyone
    card = await expect_shaped(team["head"], URGENT, number=CASE_NUMBER.pattern)
    assert "I am in danger, he is coming back" in card.content


async def test_invite_link_works_once_and_not_after_it_expires(
    bot: BotUnderTest, staff: Person
) -> None:
    payload = await invite_link(staff, "调解员 · 东升社区")
    first = bot.person(2201)
    await first.send(f"/start {payload}")
    await first.expect(zh(WELCOME_TEAM, role=zh("a mediator of {area}", area="东升社区")))
    second = bot.person(2202)
    await second.send(f"/start {payload}")
    await second.expect(
        zh("This invite link has already been used. Please ask the staff for a new one.")
    )
    await second.send("/duty on")
    await second.expect(zh(NOT_TEAM))  # the refused link gave no role

    late = await invite_link(staff, "法律指导员")
    bot.clock.advance(timedelta(hours=73))
    third = bot.person(2203)
    await third.send(f"/start {late}")
    await third.expect(zh("This invite link has expired. Please ask the staff for a new one."))
    await third.send("/start join-made-up-token")
    await third.expect(zh("This invite link is not valid. Please ask the staff for a new one."))


async def test_display_name_is_asked_until_it_is_sensible(bot: BotUnderTest, staff: Person) -> None:
    payload = await invite_link(staff, "调解员 · 东升社区")
    member = bot.person(2204)
    await member.send(f"/start {payload}")
    await member.expect(zh(WELCOME_TEAM, role=zh("a mediator of {area}", area="东升社区")))
    await member.send("名" * 30)
    await member.expect(
        zh("Please send a short name of 1 to {limit} characters, such as 王大姐.", limit=20)
    )
    await member.send("周大姐")
    await member.expect(zh(WELCOME_NAMED, name="周大姐"))


async def test_a_resident_pressing_a_mediators_button_is_refused(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1114)
    number = await open_case(resident)
    card = await team["wang"].expect(number)
    offer_data = card.button_data("接受")
    assert offer_data is not None
    # A modified client sends the mediator's callback data from the resident's chat.
    own = resident.last()
    query = await bot.api.press_button(resident.id, own.message_id, offer_data, forged=True)
    assert await resident.callback_answer(query) == zh(NOT_TEAM)
    other = await bot.api.press_button(
        team["li"].id, team["li"].last().message_id, offer_data, forged=True
    )
    assert await team["li"].callback_answer(other) == zh(NOT_TEAM)
    await resident.send("/status")
    status = await resident.expect(zh("Your cases:"))  # nothing changed
    assert f"{number} · 邻里纠纷 · {zh('waiting for a mediator')}" in status.content
    await team["wang"].press(zh("Accept"))
    await resident.expect(zh(TAKEN, name="王大姐", number=number))


async def test_staff_only_invite_button_refused_to_a_mediator(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    await staff.send("/invite")
    menu = await staff.expect(zh("Whom do you want to invite?"))
    data = menu.button_data("调解社社长")
    assert data is not None
    wang = team["wang"]
    query = await bot.api.press_button(wang.id, wang.last().message_id, data, forged=True)
    assert await wang.callback_answer(query) == zh(NOT_TEAM)


async def test_every_step_of_routing_is_on_the_case_timeline(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    number = await open_case(bot.person(1115))
    await team["wang"].expect(number)
    await team["wang"].press(zh("Decline"))
    await team["wang"].expect_edit(zh("Why are you declining this case?"))
    await team["wang"].press(zh("I am too busy now"))
    await team["wang"].expect_edit(zh(DECLINE, number=number))
    await team["wang"].press(zh("Confirm"))
    await team["li"].expect(number)
    bot.clock.advance(timedelta(minutes=31))
    await team["head"].expect(number)
    await team["head"].press(zh("Accept"))
    await team["head"].expect_edit(zh(ACCEPTED, number=number))
    events = await bot.timeline(number)
    assert [e.kind for e in events] == [
        "registered",
        "offered",
        "rights_notice",  # shown with the answer "registered as case …"
        "declined",
        "offered",
        "offer_expired",
        "offered",
        "accepted",
    ]
    assert events[2].detail["side"] == "resident"
    assert events[3].detail == {"reason": "busy"}
    assert [e.detail.get("mediator") for e in events if e.kind == "offered"] == [2001, 2002, 2100]
