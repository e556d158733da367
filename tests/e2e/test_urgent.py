"""Someone in danger, end to end: danger words anywhere, the 🆘 button before consent, urgent
cases offered to everyone at once (never by duty time), the take, the escalation, messages
before the take, the head taking or moving waiting cases, and the care of violence cases.

The harness clock starts on Monday 2026-03-02 09:30 in Shanghai; NIGHT is 23:00 the same day,
when nobody is on duty (the roster of conftest.py has Monday and Tuesday mornings only).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localapi.state import BotMessage, message_kind
from tests.e2e.conftest import ROSTER
from tests.e2e.driving import changed_tables, database, press_any, snapshot
from tests.e2e.flows import (
    ALERTED,
    ANSWER_BY,
    CASE_NUMBER,
    DECLINE,
    URGENT,
    accepted_case,
    consent_screen,
    expect_shaped,
    open_case,
    open_case_en,
    resident_label,
    sensitive_consent,
    shaped,
    start_intake,
)
from tests.harness import BotUnderTest, Person, zh, zh_n

NIGHT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 23:00 in Shanghai
FIRST = "QJS-2026-0001"
TAKE = zh("I'll take it")  # the urgent card's button
ACCEPT = zh("Accept")  # an ordinary offer's button
NO_LONGER_VALID = zh("This button is no longer valid.")
DEADLINE = shaped(ANSWER_BY)  # an ordinary offer's deadline, not an urgent one's
DISCREET = zh(  # offered on the danger path
    "If someone else may look at your phone, discreet mode keeps the notifications neutral "
    "and lets you clear this chat."
)
POLICE_CARD = zh(
    "🚓 If you are being hurt, call 110 at once.\nAsk the police to write down what happened.\n"
    "For less serious violence the police can give the abuser a written caution (告诫书) that "
    "orders them to stop (Anti-Domestic Violence Law, Art. 16). Keep it: it is evidence later."
)
MUST_REPORT = zh(
    "Please report it to the police now: the law requires it for a minor or someone who cannot "
    "look after themselves (Art. 14)."
)


TAKEN_NOW = zh(  # to the resident, once someone has taken her urgent case; {name} stays open
    "{name} has taken your case {number} and will write to you here right away.",
    name="{name}",
    number=FIRST,
)
PASSED_ON = zh("Passed on to Da'asao. In danger now? Call {numbers}.", numbers="110 · 12338")
NOT_TAKEN_YET = re.compile(  # her message before the take, as everyone alerted reads it
    shaped("🔴 {number} · {who} (not taken yet):", number=FIRST, who=resident_label()).pattern
    + "\n他喝了酒在家里砸东西，我躲在卫生间里"
)


def alerted(count: int) -> str:
    """What a resident reading Chinese is told once `count` mediators have been alerted."""
    return zh_n(*ALERTED, count, number="110")


def minutes(count: int) -> str:
    return zh_n("{count} minute", "{count} minutes", count)


def taken_after(name: str, count: int) -> str:
    """An urgent card, or staff's alert, once `name` has taken it after `count` minutes."""
    return zh(
        "✓ Urgent case {number}: {name} has taken it (after {time}).",
        number=FIRST,
        name=name,
        time=minutes(count),
    )


def waiting(count: int) -> str:
    return zh("🔴 waiting {time}", time=minutes(count))


def has_taken(name: str) -> str:
    return zh("{name} has taken it.", name=name)


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    # The weekly digest at 23:45 (instead of Monday 09:00): within reach of a night's test.
    return {"roster": ROSTER, "revisits": {"digest_time": "23:45"}}


@dataclass(frozen=True)
class Words:
    """What one language's resident sees and presses."""

    language: str
    trigger: str
    consent: str
    agree: str
    area_question: str
    area: str
    topic_question: str
    topic: str
    describe: str
    got_it: str
    done: str
    contact_question: str
    by_phone: str
    phone_question: str
    skip: str
    summary: str
    screen: str
    alarm: str
    sos: str
    alerted: str
    not_understood: str
    danger: tuple[str, ...]
    everyday: tuple[str, ...]


ZH = Words(
    language="zh-hans",
    trigger="找大阿嫂",
    consent="您同意吗",
    agree="我同意",
    area_question="您住在哪个村或社区",
    area="东升社区",
    topic_question="是哪方面的事情",
    topic="婚姻家庭",
    describe="请用您自己的话",
    got_it="收到了",
    done="说完了 ✓",
    contact_question="您希望大阿嫂怎么和您联系",
    by_phone="电话联系",
    phone_question="分享电话号码",
    skip="跳过",
    summary="请核对您的求助内容",
    screen="如果您现在有危险，请马上拨打：\n☎ 110 — 报警\n☎ 12338 — 妇女维权公益服务热线",
    alarm="🆘 马上通知大阿嫂",
    sos="🆘 我现在有危险",
    alerted="我们已经通知了 {count} 位大阿嫂，第一位接手的会马上联系您。",
    not_understood="抱歉，我没看懂",
    danger=("救命！我老公在打我", "他在 打 我", "家暴", "我被打了", "救 命 ！", "他说要杀我"),
    everyday=("有事打我电话", "谢谢你的帮助"),
)
EN = Words(
    language="en",
    trigger="find Da'asao",
    consent="Do you agree?",
    agree="I agree",
    area_question="Which village or community",
    area="Dongsheng Community",
    topic_question="What is it about?",
    topic="Marriage and family",
    describe="Please tell us what happened",
    got_it="Got it",
    done="Done ✓",
    contact_question="How would you like Da'asao to reach you?",
    by_phone="A phone call",
    phone_question="share your phone number",
    skip="Skip",
    summary="Please check your request",
    screen=(
        "If you are in danger now, call at once:\n☎ 110 — Police\n☎ 12338 — Women's rights hotline"
    ),
    alarm="🆘 Alert Da'asao now",
    sos="🆘 I am in danger now",
    alerted="We have alerted {count} Da'asao mediators; the first to take your case",
    not_understood="Sorry, I did not understand",
    danger=(
        "help, I am in danger",
        "HELP!!!",
        "he is hitting me",
        "I'm in danger",
        "he said he will kill me",
        "please save me",
    ),
    everyday=("Can you help me with my lease?", "Thank you for your help"),
)
LANGUAGES = pytest.mark.parametrize("words", [ZH, EN], ids=["zh", "en"])


async def danger_screen(resident: Person, words: Words, text: str) -> BotMessage:
    """The resident writes danger words: the numbers come first, with one button, and
    nothing else (no "not understood", no step repeated)."""
    await resident.send(text)
    screen = await resident.expect(words.screen)
    assert screen.button_data(words.alarm)
    await resident.expect_silence(0.2)
    return screen


async def case_id(bot: BotUnderTest, number: str) -> int:
    row = await database(bot).fetch_one("SELECT id FROM cases WHERE number = ?", (number,))
    assert row is not None, number
    return int(row[0])


def number_in(message: BotMessage) -> str:
    match = CASE_NUMBER.search(message.content)
    assert match, message.content
    return match.group(0)


# ---------------------------------------------------------------------------- danger words


@LANGUAGES
async def test_danger_words_at_every_step_of_the_intake(
    bot: BotUnderTest, team: dict[str, Person], words: Words
) -> None:
    resident = bot.person(1301, language_code=words.language)
    await resident.send(words.trigger)
    await resident.expect(words.consent)
    first, *others = words.danger
    await danger_screen(resident, words, first)  # at the consent
    await resident.press(words.agree)  # the step is where it was
    await resident.expect(words.area_question)
    await danger_screen(resident, words, others[0])
    await resident.press(words.area)
    await resident.expect(words.topic_question)
    await danger_screen(resident, words, others[1])
    await resident.press(words.topic)
    await sensitive_consent(resident)
    await resident.expect(words.describe)
    await danger_screen(resident, words, others[2])  # at the description: kept, no "got it"
    await resident.press(words.done)
    await resident.expect(words.contact_question)
    await resident.press(words.by_phone)
    await resident.expect(words.phone_question)
    await danger_screen(resident, words, others[3])
    await resident.send(words.skip)
    await resident.expect()  # thank you
    summary = await resident.expect(words.summary)
    assert others[2] in summary.content
    await danger_screen(resident, words, others[4])
    await resident.press(words.alarm)  # the newest screen's button
    await resident.expect(words.alerted.format(count=3))  # 东升社区: 王大姐, 李阿姨, the head
    card = await team["wang"].expect(zh(URGENT, number=FIRST))
    assert "东升社区 · 婚姻家庭" in card.content  # the topic she chose is kept
    for said in (first, others[0], others[2]):
        assert said.split()[0] in card.content
    await team["zhao"].expect_silence()  # another area


@LANGUAGES
async def test_danger_words_as_a_first_message(
    bot: BotUnderTest, team: dict[str, Person], words: Words
) -> None:
    resident = bot.person(1302, language_code=words.language)
    await danger_screen(resident, words, words.danger[0])
    await resident.press(words.alarm)
    await resident.expect(words.alerted.format(count=4))  # no area yet: every mediator
    for name in ("wang", "li", "zhao", "head"):
        card = await team[name].expect(zh(URGENT, number=FIRST))
        assert words.danger[0] in card.content  # what she wrote comes with the alarm


@LANGUAGES
async def test_danger_words_from_an_idle_resident(
    bot: BotUnderTest, team: dict[str, Person], words: Words
) -> None:
    """A resident whose earlier case is over: nothing in progress."""
    resident = bot.person(1303, language_code=words.language)
    if words is ZH:
        number = await open_case(resident, area="联合村")
        label = f"{number} · 邻里纠纷"
    else:
        number = await open_case_en(resident, area="Lianhe Village")
        label = f"{number} · Neighbours"
    await resident.send("/withdraw")
    await resident.expect()
    await resident.press(label)
    await resident.expect(number)
    team["zhao"].skip_all()
    await danger_screen(resident, words, words.danger[1])
    await resident.press(words.alarm)
    await resident.expect(words.alerted.format(count=2))  # the remembered area: 赵嫂子, the head
    card = await expect_shaped(team["zhao"], URGENT, number=CASE_NUMBER.pattern)
    assert words.danger[1] in card.content


@LANGUAGES
async def test_everyday_phrases_are_not_taken_for_danger(
    bot: BotUnderTest, team: dict[str, Person], words: Words
) -> None:
    resident = bot.person(1304, language_code=words.language)
    for text in words.everyday:
        await resident.send(text)
        answer = await resident.expect()
        assert answer.content.startswith(words.not_understood), answer.content
    await team["head"].expect_silence()


async def test_in_a_conversation_danger_words_are_relayed_marked_red(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1305), team["wang"]
    await accepted_case(resident, wang)
    await resident.send("他今天又打我了")
    await wang.expect("🔴 他今天又打我了")
    await resident.send("我先去邻居家")
    copied = await wang.expect("我先去邻居家")
    assert copied.copied_from is not None  # an ordinary message: an ordinary copy
    await resident.expect_silence()  # no danger screen inside a conversation


async def test_even_a_blocked_resident_writing_danger_words_gets_the_numbers(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    resident = bot.person(1307)
    number = await accepted_case(resident, team["wang"])
    await staff.send(f"/block {number} 辱骂调解员")
    await staff.expect(zh("The resident of case {number} is blocked.", number=number))
    await resident.send("你们都是骗子")
    await resident.expect("抱歉，现在无法接收您的消息")
    await resident.send("救命，他又打我")
    numbers = await resident.expect(ZH.screen)
    assert not numbers.buttons  # the numbers only: the block stays
    await team["wang"].expect_silence(0.2)


async def test_a_case_waiting_for_a_mediator_becomes_urgent(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1308)
    number = await open_case(resident, area="联合村")  # offered to 赵嫂子 for Tuesday morning
    await team["zhao"].expect(f"新案件 {number}")
    await danger_screen_then(resident, "他回来了，又打我")
    await resident.expect(  # the message is kept with the case
        zh(
            "Saved with your case {number}. It will be passed on as soon as a mediator takes "
            "the case.",
            number=number,
        )
    )
    await resident.press(ZH.alarm)
    await resident.expect(alerted(2))
    card = await team["zhao"].expect(zh(URGENT, number=number))
    assert "他回来了，又打我" in card.content and "邻里纠纷" in card.content
    assert await team["zhao"].press_and_expect_answer(ACCEPT) == NO_LONGER_VALID
    kinds = [e.kind for e in await bot.timeline(number)]
    assert kinds[-2:] == ["escalated", "urgent_alerted"]


async def danger_screen_then(resident: Person, text: str) -> None:
    """Danger words from someone whose case waits: the numbers first, then the usual."""
    await resident.send(text)
    screen = await resident.expect(ZH.screen)
    assert screen.button_data(ZH.alarm)


# ---------------------------------------------------------------------------- the 🆘 button


@LANGUAGES
async def test_the_sos_button_comes_before_the_consent(
    bot: BotUnderTest, team: dict[str, Person], words: Words
) -> None:
    resident = bot.person(1306, language_code=words.language)
    await resident.send("/start")
    first = await resident.expect(words.consent)
    assert first.button_data(words.sos)  # on the very first screen
    await resident.expect()  # the offer of event notices
    await resident.press(words.sos)
    await resident.expect(words.screen)
    await resident.expect(words.alerted.format(count=4))
    await resident.expect()  # discreet mode
    events = await bot.timeline(FIRST)
    assert events[0].detail == {
        "by": "resident",
        "urgent": True,
        "basis": "vital_interests",
        "sensitive": "vital_interests",  # the sensitive-details question not reached either
    }
    await team["li"].expect(zh(URGENT, number=FIRST))
    await team["li"].press(TAKE)
    await resident.expect(FIRST)  # 李阿姨 has taken your case
    await resident.expect()  # and now, afterwards, the consent
    await resident.press(words.agree)
    await resident.expect_edit(zh("Thank you.") if words is ZH else "Thank you")
    assert [e.kind for e in await bot.timeline(FIRST)][-1] == "consented"


# ---------------------------------------------------------------------------- night


async def test_at_night_with_nobody_on_duty_everyone_is_alerted_and_the_first_takes_it(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    bot.clock.set(NIGHT)
    resident = bot.person(1310, "小芳")
    await resident.send("找大阿嫂")
    await resident.expect(consent_screen(bot))
    await resident.press("我同意")
    await resident.expect("您住在哪个村或社区")
    await resident.press("东升社区")
    await resident.expect("是哪方面的事情")
    await resident.send("救命！我老公在打我")
    await resident.expect(ZH.screen)
    await resident.press(ZH.alarm)
    told = await resident.expect(alerted(3))
    assert told.content == alerted(3)  # nobody on duty: nothing about waiting for a duty slot
    await resident.expect(DISCREET)
    cards = {
        name: await team[name].expect(zh(URGENT, number=FIRST)) for name in ("wang", "li", "head")
    }
    for card in cards.values():
        assert "救命！我老公在打我" in card.content and not DEADLINE.search(card.content)
    await team["zhao"].expect_silence()
    await staff.expect_silence()  # staff only when nobody takes it in time
    await team["wang"].press(TAKE)
    await team["wang"].expect_edit(
        zh(
            "✓ You took urgent case {number}. What the resident wrote follows: please contact "
            "them now.",
            number=FIRST,
        )
    )
    for name in ("li", "head"):
        edited = await team[name].expect_edit(taken_after("王大姐", 0))
        assert not edited.buttons
    await team["wang"].expect_many(f"📨 {FIRST}", "🔴 救命！我老公在打我")
    await team["wang"].expect(f"🛡 案件 {FIRST}：安全与资料")
    await resident.expect(TAKEN_NOW.format(name="王大姐"))
    accepted = [e for e in await bot.timeline(FIRST) if e.kind == "accepted"]
    assert [(e.actor_id, e.detail["via"]) for e in accepted] == [(2001, "alert")]
    stale = await team["li"].api.press_button(
        team["li"].id, cards["li"].message_id, f"ur:take:{await case_id(bot, FIRST)}", forged=True
    )
    assert await team["li"].callback_answer(stale) == has_taken("王大姐")


async def test_two_mediators_pressing_at_once_exactly_one_takes_it(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    bot.clock.set(NIGHT)
    resident = bot.person(1311)
    await start_intake(resident)
    await resident.press("东升社区")
    await resident.expect("是哪方面的事情")
    await resident.press("🆘 我现在有危险")
    await resident.expect_many(ZH.screen, alerted(3), DISCREET)
    wang, li = team["wang"], team["li"]
    for mediator in (wang, li):
        await mediator.expect(zh(URGENT, number=FIRST))
    answers = await asyncio.gather(
        wang.press_and_expect_answer(TAKE), li.press_and_expect_answer(TAKE)
    )
    winners = [a for a in answers if a == zh("✓ Case {number} is yours.", number=FIRST)]
    assert len(winners) == 1, answers
    loser = next(a for a in answers if a not in winners)
    assert loser in (has_taken("王大姐"), has_taken("李阿姨")), answers
    accepted = [e for e in await bot.timeline(FIRST) if e.kind == "accepted"]
    assert len(accepted) == 1
    told = await resident.expect()
    assert told.content in (TAKEN_NOW.format(name="王大姐"), TAKEN_NOW.format(name="李阿姨"))
    await resident.expect_silence()  # told once


async def test_escalation_repeats_louder_until_someone_takes_it(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    bot.clock.set(NIGHT)
    resident = bot.person(1312)
    await start_intake(resident)
    await resident.press("联合村")
    await resident.expect("是哪方面的事情")
    await resident.press("🆘 我现在有危险")
    await resident.expect_many(ZH.screen, alerted(2))
    for name in ("zhao", "head"):
        await team[name].expect(zh(URGENT, number=FIRST))
    await team["wang"].expect_silence(0.1)
    bot.clock.advance(timedelta(minutes=9))
    await team["head"].expect_silence()  # real minutes, not yet ten
    for waited in (10, 20):
        bot.clock.advance(timedelta(minutes=10 if waited == 20 else 1))
        for name in ("zhao", "head", "wang", "li"):  # every mediator of the society, louder
            card = await team[name].expect(
                zh("🔴🔴🔴 STILL NOT TAKEN: waiting {time}!", time=minutes(waited))
            )
            assert card.button_data(TAKE)
        alert = await staff.expect(
            zh(
                "🔴🔴🔴 Urgent case {number} ({area}) has waited {time} and nobody has taken it. "
                "Please phone the head or a mediator now.",
                number=FIRST,
                area="联合村",
                time=minutes(waited),
            )
        )
        assert not alert.buttons and "居民" not in alert.content  # staff see no resident
    await team["li"].press(TAKE)  # the newest card
    await staff.expect_edit(taken_after("李阿姨", 20))
    await team["zhao"].expect_edit(taken_after("李阿姨", 20))
    bot.clock.advance(timedelta(minutes=20))  # 23:40: two more rounds, were it not taken
    for person in (team["zhao"], team["head"], team["wang"], staff):
        await person.expect_silence(0.2)
    rounds = [e.detail["round"] for e in await bot.timeline(FIRST) if e.kind == "urgent_alerted"]
    assert rounds == [0, 1, 2]


async def test_messages_before_the_take_repeat_the_numbers_and_reach_everyone_alerted(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    bot.clock.set(NIGHT)
    resident = bot.person(1313)
    await start_intake(resident)
    await resident.press("东升社区")
    await resident.expect("是哪方面的事情")
    await resident.press("婚姻家庭")
    await sensitive_consent(resident)
    await resident.expect("请用您自己的话")
    await resident.send("他又打我了")
    await resident.expect(ZH.screen)
    await resident.press(ZH.alarm)
    await resident.expect_many(alerted(3), DISCREET)
    everyone = [team[name] for name in ("wang", "li", "head")]
    for person in everyone:
        await person.expect(zh(URGENT, number=FIRST))
    await resident.send("他喝了酒在家里砸东西，我躲在卫生间里")
    await resident.expect(PASSED_ON)
    for person in everyone:
        copy = await person.expect()
        assert NOT_TAKEN_YET.fullmatch(copy.content), copy.content
    await bot.api.send_photo(resident.id, b"jpeg", caption="门被他砸坏了")
    await resident.expect(PASSED_ON)
    for person in everyone:
        photo = await person.expect("门被他砸坏了")
        assert photo.kind == "photo" and photo.content.startswith(f"🔴 {FIRST}")
    await team["zhao"].expect_silence(0.1)
    await staff.expect_silence(0.1)  # never message contents for staff
    await team["wang"].press(TAKE)
    await team["wang"].expect(f"📨 {FIRST}")
    backlog = [(await team["wang"].expect()).content for _ in range(3)]
    assert backlog == ["🔴 他又打我了", "🔴 他喝了酒在家里砸东西，我躲在卫生间里", "门被他砸坏了"]


async def test_an_urgent_case_withdrawn_before_the_take_says_so_on_every_card(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1314)
    await start_intake(resident)
    await resident.press("联合村")
    await resident.expect("是哪方面的事情")
    await resident.press("🆘 我现在有危险")
    await resident.expect_many(ZH.screen, alerted(2), DISCREET)
    await team["zhao"].expect(zh(URGENT, number=FIRST))
    await resident.send("/withdraw")
    await resident.expect("您要撤回哪个案件")
    await resident.press(f"{FIRST} · 家庭暴力与人身安全")
    await resident.expect(f"案件 {FIRST} 已撤回")
    for name in ("zhao", "head"):
        card = await team[name].expect_edit(
            f"紧急案件 {FIRST} 在有人接手之前，被从居民的手机上撤回了"
        )
        assert not card.buttons
    team["head"].skip_all()
    bot.clock.advance(timedelta(minutes=10))
    await team["head"].expect_silence(0.2)  # no louder round for a withdrawn case


# ---------------------------------------------------------------------------- the head


async def test_the_head_takes_an_offered_case_and_gives_a_waiting_one_with_reassign(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    head, wang, li, zhao = team["head"], team["wang"], team["li"], team["zhao"]
    owner = bot.person(1320)
    offered = await open_case(owner)
    await wang.expect(f"新案件 {offered}")
    await head.send(f"/reassign {offered}")
    await head.expect(f"案件 {offered} 还没有人接手。交给谁？")
    await head.press("陈社长（我自己）")
    await head.expect_many(f"📨 {offered}", "邻居家装修", f"您接手了案件 {offered}，现在它是")
    await wang.expect(f"案件 {offered} 已交给陈社长。")
    await owner.expect(f"陈社长已经接手您的案件 {offered}")
    assert await wang.press_and_expect_answer(ACCEPT) == NO_LONGER_VALID
    events = await bot.timeline(offered)
    assert (events[-1].kind, events[-1].actor_id, events[-1].detail) == (
        "accepted",
        2100,
        {"via": "reassign"},
    )

    # Nobody could be offered this one: 赵嫂子 and then the head declined it.
    other = bot.person(1321)
    waiting = await open_case(other, area="联合村")
    for person in (zhao, head):
        await person.expect(f"新案件 {waiting}")
        await person.press("婉拒")
        await person.expect_edit("您为什么婉拒")
        await person.press("我现在太忙")
        await person.expect_edit(zh(DECLINE, number=waiting))
        await person.press("确认")
        await person.expect_edit(zh("You declined this case. It has been offered to someone else."))
    # She is told the truth each time: first who answers now, then that nobody can yet.
    await other.expect("陈社长很快会在这里回复您")
    await other.expect("一有大阿嫂空下来，就会在这里回复您")
    await other.send("/status")
    await other.expect("等待调解员接手")
    await head.send(f"/reassign {waiting}")
    await head.expect(f"案件 {waiting} 还没有人接手。交给谁？")
    await head.press("李阿姨")
    await head.expect(f"案件 {waiting} 现在由李阿姨负责。")
    await li.expect(f"社长把案件 {waiting}（联合村）交给了您")
    await li.expect_many(f"📨 {waiting}", "邻居家装修")
    await other.expect(f"李阿姨已经接手您的案件 {waiting}")
    last = (await bot.timeline(waiting))[-1]
    assert (last.kind, last.actor_id, last.detail) == (
        "accepted",
        2002,
        {"via": "reassign", "assigned_by": 2100},
    )


async def test_a_mediator_cannot_take_what_she_was_not_alerted_about(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1322)
    await start_intake(resident)
    await resident.press("联合村")
    await resident.expect("是哪方面的事情")
    await resident.press("🆘 我现在有危险")
    await team["zhao"].expect(zh(URGENT, number=FIRST))
    data = f"ur:take:{await case_id(bot, FIRST)}"
    query = await press_any(team["wang"], data)  # 东升社区: not in the first round
    assert await team["wang"].callback_answer(query) == "抱歉，这个功能只对调解社工作人员开放。"
    query = await press_any(resident, data)
    assert await resident.callback_answer(query) == "抱歉，这个功能只对调解社工作人员开放。"


# ---------------------------------------------------------------------------- care


async def _urgent_taken_by_wang(
    team: dict[str, Person], resident: Person, words: Words = ZH
) -> str:
    """🆘 on the first screen, 王大姐 takes it; everyone has read everything."""
    await resident.send("/start")
    await resident.expect_many(words.consent, "")  # and the offer of event notices
    await resident.press(words.sos)
    await resident.expect_many(words.screen, words.alerted.format(count=4), "")
    number = number_in(await expect_shaped(team["wang"], URGENT, number=CASE_NUMBER.pattern))
    await team["wang"].press(TAKE)
    await team["wang"].expect(f"🛡 案件 {number}：安全与资料")
    await resident.expect(number)  # taken
    await resident.expect("为了您的安全" if words is ZH else "To keep you safe")
    return number


async def test_not_suitable_for_mediation_is_refused_by_the_server_for_a_forged_action(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1330), team["wang"]
    number = await _urgent_taken_by_wang(team, resident)
    await wang.send("/close")
    menu = await wang.expect(f"案件 {number} 的结果是")
    labels = [b["text"] for row in menu.buttons for b in row]
    assert "调解成功（达成协议）" not in labels and "未调解成功（已转介）" in labels
    db = database(bot)
    before = await snapshot(db)
    forged = await press_any(wang, f"cl:{await case_id(bot, number)}:settled")
    assert (await wang.callback_answer(forged)).startswith("这个案件标记为“不适合调解”")
    assert changed_tables(before, await snapshot(db)) == set()
    await wang.send("/care")
    await wang.expect("不适合调解：这可能是家庭暴力")
    await wang.press("取消“不适合调解”标记")
    await wang.expect(f"为什么案件 {number} 可以调解？")
    await wang.send("居民想和丈夫一起调解，已确认她现在安全")
    await wang.expect(f"案件 {number} 已取消“不适合调解”标记。")
    last = (await bot.timeline(number))[-1]
    assert (last.kind, last.actor_id, last.detail) == (
        "care_cleared",
        2001,
        {"reason": "居民想和丈夫一起调解，已确认她现在安全"},
    )
    await wang.send("/close")
    menu = await wang.expect(f"案件 {number} 的结果是")
    assert menu.button_data("调解成功（达成协议）")


async def test_a_violence_case_from_the_intake_is_not_suitable_for_mediation(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1331), team["wang"]
    number = await open_case(resident, category="家庭暴力与人身安全", text="他经常骂我推我")
    card = await wang.expect(f"新案件 {number}")
    assert "🛡 不适合调解：接受后请看 /care。" in card.content
    assert DEADLINE.search(card.content)  # not urgent: offered by duty as usual
    await wang.press(ACCEPT)
    await wang.expect_many(f"📨 {number}", "他经常骂我推我")
    panel = await wang.expect(f"🛡 案件 {number}：安全与资料")
    assert "不适合调解：这可能是家庭暴力" in panel.content
    await wang.send("/close")
    menu = await wang.expect(f"案件 {number} 的结果是")
    assert "调解成功（达成协议）" not in [b["text"] for row in menu.buttons for b in row]


# The /care panel's card buttons, in the mediator's Chinese, and the card each sends.
CARD_LABELS = [
    zh("🚓 Police and a written caution"),
    zh("🛡 Personal safety protection order"),
    zh("📷 Keeping evidence"),
    zh("☎ The 12338 hotline"),
]
CARD_TEXTS = [
    POLICE_CARD,
    zh(
        "🛡 You can ask the court for a personal safety protection order: it forbids the abuser "
        "to hurt, harass or follow you.\nThe women's federation can help you apply (Art. 23).\n"
        "The court decides within 72 hours, within 24 hours in an emergency (Art. 28)."
    ),
    zh(
        "📷 Keep evidence quietly, where the abuser cannot find it:\n• photos of injuries, with "
        "the date\n• medical records and receipts\n• threatening messages, chats and "
        "recordings\n• neighbours or relatives who saw or heard it\n• the police receipt or the "
        "written caution"
    ),
    zh(
        "☎ 12338 is the women's federation's hotline for women's rights. Call it for advice and "
        "help: they can put you in touch with your local women's federation."
    ),
]
CARDS = {  # what the resident reads, in her language
    "zh-hans": list(zip(CARD_LABELS, CARD_TEXTS, strict=True)),
    "en": list(
        zip(
            CARD_LABELS,
            (
                "written caution (告诫书)",
                "within 72 hours, within 24 hours in an emergency (Art. 28)",
                "photos of injuries",
                "women's federation's hotline",
            ),
            strict=True,
        )
    ),
}
VULNERABLE = zh("👧 A minor, or someone who cannot look after themselves")


def referred(to: str) -> str:
    """The /care panel's referral button, e.g. referred("Police")."""
    return zh("Referred: {to}", to=zh(to))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
async def test_each_information_card_reaches_the_resident_in_her_language(
    bot: BotUnderTest, team: dict[str, Person], language: str
) -> None:
    words = ZH if language == "zh-hans" else EN
    resident, wang = bot.person(1332, language_code=language), team["wang"]
    number = await _urgent_taken_by_wang(team, resident, words)
    for label, text in CARDS[language]:
        toast = await wang.press_and_expect_answer(label)
        assert toast == zh("Sent to the resident: {card}", card=label)
        card = await resident.expect(text)
        assert card.content.startswith(label[0])
    toast = await wang.press_and_expect_answer(referred("Police"))
    assert toast == zh("Recorded: referred to {to}", to=zh("Police"))
    reminder = await wang.press_and_expect_answer(VULNERABLE)
    assert reminder == MUST_REPORT
    panel = await wang.expect_edit(
        zh(
            "⚠️ The person at risk is a minor or cannot look after themselves: you must report it "
            "to the police (Anti-Domestic Violence Law, Art. 14)."
        )
    )
    assert zh("Cards sent: {cards}", cards=" · ".join(CARD_LABELS)) in panel.content
    assert zh("Referrals recorded: {referrals}", referrals=zh("Police")) in panel.content
    kinds = [e.kind for e in await bot.timeline(number)]
    assert kinds.count("info_card") == 4 and "referral" in kinds and "vulnerable" in kinds


# ---------------------------------------------------------------------------- figures


async def test_overview_cases_digest_and_stats_show_urgent_cases(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    bot.clock.set(NIGHT)
    resident = bot.person(1340)
    await start_intake(resident)
    await resident.press("联合村")
    await resident.expect("是哪方面的事情")
    await resident.press("🆘 我现在有危险")
    await team["zhao"].expect(zh(URGENT, number=FIRST))
    await team["head"].expect(zh(URGENT, number=FIRST))
    for person in (team["zhao"], team["head"], staff):
        person.ignore("🔴🔴🔴")  # the louder rounds, once the clock jumps
    bot.clock.advance(timedelta(minutes=7))
    await staff.send("/overview")
    overview = await staff.expect("📋")
    nobody_yet = zh("🔴 Urgent, nobody has taken it yet ({count}):", count=1)
    assert f"{nobody_yet}\n• {FIRST} · 联合村 · {waiting(7)}" in overview.content
    assert "家庭暴力与人身安全 1" in overview.content  # its own category, not 其他
    head = team["head"]
    await head.send("/overview")
    await head.expect("📋")
    listing = await head.expect(zh("Open cases ({count}):", count=1))
    assert re.search(
        rf"{FIRST} · 联合村 · 家庭暴力与人身安全 · .* · {re.escape(waiting(7))}", listing.content
    )
    await team["wang"].send("/cases")
    await team["wang"].expect("您还没有案件")  # not alerted in the first round
    zhao = team["zhao"]
    await zhao.send("/cases")
    cases = await zhao.expect(zh("🔴 Urgent, nobody has taken it yet:"))
    assert f"{FIRST} · 联合村 · {waiting(7)}" in cases.content
    bot.clock.advance(timedelta(minutes=38))  # 23:45: the weekly digest
    digest = await head.expect("📋 调解社每周汇总")
    assert f"• {FIRST} · 家庭暴力与人身安全 · 等待调解员接手 · {waiting(45)}" in digest.content
    own = await zhao.expect("📋")
    assert f"{FIRST}" in own.content and waiting(45) in own.content
    await zhao.press(f"🔴 接手 {FIRST}")  # from /cases
    await zhao.expect(f"🛡 案件 {FIRST}")
    await zhao.press_and_expect_answer(referred("12338 hotline"))
    await staff.send("/stats")
    stats = await staff.expect("📊", timeout=30)  # the text; the charts follow
    urgent = "🔴 Urgent cases: {count} · median time until taken: {time} ({taken} taken)"
    assert zh(urgent, count=1, time="45分钟", taken=1) in stats.content  # Babel's minutes
    assert "家庭暴力与人身安全 1" in stats.content
    counts = ("Police", 0), ("Court", 0), ("Shelter", 0), ("12338 hotline", 1), ("Hospital", 0)
    referrals = " · ".join(f"{zh(label)} {n}" for label, n in counts)
    assert zh("Referrals: {counts}", counts=referrals) in stats.content


# ---------------------------------------------------------------------------- play-through

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _chat(bot: BotUnderTest, person: Person, title: str) -> list[str]:
    """What a person's phone shows, message by message (local time; edits shown as such)."""
    records = {m.message_id: m for m in bot.api.messages_to(person.id)}
    lines = [f"===== {title} ====="]
    for message in bot.api.transcript(person.id):
        when = datetime.fromtimestamp(message["date"], UTC).astimezone(SHANGHAI)
        record = records.get(message["message_id"]) if message["from"]["is_bot"] else None
        who = "bot" if record is not None else "me "
        first = record.edits[0] if record is not None and record.edits else None
        text = (first.text or first.caption) if first else None
        text = text or message.get("text") or message.get("caption") or f"[{message_kind(message)}]"
        markup = (first.reply_markup if first else message.get("reply_markup")) or {}
        buttons = [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
        lines.append(f"{when:%H:%M} {who} │ " + text.replace("\n", "\n          │ "))
        if buttons:
            lines.append("          │ " + " ".join(f"[{b}]" for b in buttons))
        if record is not None and record.edits:
            edited = record.edits[-1].replaced_at.astimezone(SHANGHAI)
            now = record.content.replace("\n", "\n          │   ")
            lines.append(f"          │ ✎ {edited:%H:%M} edited to: {now}")
    return lines


async def _round_recorded(bot: BotUnderTest, number: str, round_: int) -> None:
    """Until the case's timeline holds that round of alerts (its cards are all out)."""
    for _ in range(100):
        events = await bot.timeline(number)
        if any(e.kind == "urgent_alerted" and e.detail["round"] == round_ for e in events):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"round {round_} of {number} not recorded")


async def test_play_through_a_resident_in_danger_at_23_00_with_nobody_on_duty(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    """The whole night, as the resident and the team see it (printed: pytest -s)."""
    bot.clock.set(NIGHT)
    resident, wang = bot.person(1350, "小芳"), team["wang"]
    await resident.send("救命！我老公在打我")
    await resident.expect(ZH.screen)
    await resident.press(ZH.alarm)
    await resident.expect_many(alerted(4), DISCREET)
    await resident.send("他喝了酒在家里砸东西，我躲在卫生间里")
    await resident.expect("已转给大阿嫂")
    bot.clock.advance(timedelta(minutes=10))  # 23:10: nobody has taken it
    await staff.expect("🔴🔴🔴 紧急案件")
    await _round_recorded(bot, FIRST, 1)  # its cards go out side by side, staff's among them
    bot.clock.advance(timedelta(minutes=2))
    await wang.press(TAKE)
    await wang.expect_button(CARD_LABELS[0])
    await resident.expect_many("王大姐已经接手", "为了您的安全")
    await resident.press("我同意")
    await resident.expect_edit(zh("Thank you."))
    bot.clock.advance(timedelta(minutes=1))
    await wang.send("我是王大姐。你现在安全吗？卫生间的门能锁上吗？")
    await resident.expect_many(f"💬 王大姐 · 案件 {FIRST}", "你现在安全吗")
    await wang.press(CARD_LABELS[0])
    await resident.expect(POLICE_CARD)
    bot.clock.advance(timedelta(minutes=2))
    wang.skip_all()
    await resident.send("门锁上了，我已经打了110，警察说马上到")
    await wang.expect("警察说马上到")
    await wang.press(referred("Police"))
    await asyncio.sleep(0.3)
    people = [
        (resident, "小芳 (resident, new to the bot)"),
        (wang, "王大姐 (mediator, 东升社区, off duty)"),
        (team["li"], "李阿姨 (mediator, 东升社区, off duty)"),
        (team["zhao"], "赵嫂子 (mediator, 联合村, off duty)"),
        (team["head"], "陈社长 (head)"),
        (staff, "staff"),
    ]
    transcript = []
    for person, title in people:
        person.skip_all()
        chat = _chat(bot, person, title)
        joined = [i for i, line in enumerate(chat) if "23:00" <= line[:5] <= "23:59"]
        transcript += [chat[0], *chat[joined[0] :]] if joined else chat[:1]
    print("\n" + "\n".join(transcript))
    events = [(e.at.astimezone(SHANGHAI), e.kind, e.detail) for e in await bot.timeline(FIRST)]
    print("\n===== timeline of " + FIRST + " =====")
    for at, kind, detail in events:
        print(f"{at:%H:%M} {kind} {detail}")
    assert [k for _at, k, _d in events][:4] == [
        "registered",
        "urgent_alerted",
        "urgent_alerted",
        "accepted",
    ]
