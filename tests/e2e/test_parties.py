"""The other party of a case (bot/features/parties.py), end to end through the local Bot API.

The mediator invites with /party: a one-time link and its QR code. The first person to open
it reads the notices and agrees or declines; a second use is refused politely. Each party
then talks only with the mediator: the applicant never sees the other party's messages or
account, nor the other way round. Either may end mediation. A case flagged 不适合调解 gets
no invitation, whatever is sent.
"""

from __future__ import annotations

import json
import re

from bot.features.parties import qr_png
from tests.e2e.driving import database, press_any, say
from tests.e2e.flows import (
    CASE_NUMBER,
    CLOSE_PREVIEW,
    CLOSED,
    CLOSED_TO_HER,
    ERASE_ASK,
    ERASED,
    HOW_ENDED,
    NOW_IN,
    REFERRED_WHERE,
    REOPENED,
    REOPENED_TO_HER,
    accepted_case,
    expect_shaped,
    party_label,
    shaped,
)
from tests.harness import BotUnderTest, Person, zh

LINK = re.compile(r"https://t\.me/\w+\?start=(party-[\w-]+)")
APPLICANT, OTHER, STRANGER = 7_100_001, 7_100_002, 7_100_003
INVITATION = (  # /party, to the mediator
    "Invitation for the other party of case {number}. Give them this link in person or by phone,"
    " or let them scan the QR code. It works once: whoever opens it first joins as {party}.\n"
    "{link}"
)
INVITED = (  # what the other party sees on opening the link
    "Hello. A mediator of Da'asao, the women's mediation desk of {area}, invites you to take part"
    " in a mediation (case {number}). Another person asked for help with a disagreement that"
    " concerns you."
)
JOINED = (  # to the mediator
    "{party} has joined case {number} and agreed to mediation. Their messages come to you here."
    " Reply to one to answer them; /talk chooses whom your other messages go to."
)
TALK = (  # /talk's question
    "Case {number}: whom should your messages go to when you do not reply to a message? (A reply"
    " always goes back to whoever wrote it.)"
)
NOT_SUITABLE = (
    "This case is marked “not suitable for mediation”: no meeting with the other party and no"
    " mediated agreement. If it really can be mediated, clear the mark in /care first, with a"
    " reason."
)
ENDED_WITHOUT = (  # to the other party
    "The mediation of case {number} has ended without an agreement. Thank you for taking part."
)


async def _invited(bot: BotUnderTest, wang: Person) -> str:
    """/party in the current case: returns the /start payload of the link."""
    await wang.send("/party")
    invitation = await expect_shaped(wang, INVITATION, party=party_label(), link=LINK.pattern)
    qr = await expect_shaped(wang, "QR code of the invitation for case {number}")
    match = LINK.search(invitation.content)
    assert match, invitation.content
    assert qr.method == "sendPhoto" and qr.file is not None
    assert qr.file.data == qr_png(match.group(0))  # the QR code is the link itself
    return match.group(1)


async def _joined(bot: BotUnderTest, wang: Person, other: Person, payload: str) -> None:
    await other.send(f"/start {payload}")
    screen = await expect_shaped(other, INVITED, number=CASE_NUMBER.pattern)
    assert (
        zh(
            "About people's mediation:\n• It is free and voluntary. The mediator"
            " helps you talk and find an agreement; she does not decide for you.\n•"
            " You may accept or refuse mediation, ask for another mediator, ask that"
            " it be held in private, and end it at any time (/withdraw).\n• Please"
            " tell the truth, respect the other side, and keep to what you agree.\n•"
            " The mediator keeps what you say confidential.\n• An agreement you both"
            " sign is binding; you may ask a court to confirm it within 30 days."
        )
        in screen.content
    )
    await other.press(zh("I agree, take part"))
    await other.expect(
        zh(
            "Thank you. You can write to the mediator right here: words, photos or"
            " voice messages. Only the mediator sees them. Send /withdraw to end"
            " mediation at any time."
        )
    )
    await expect_shaped(wang, JOINED, party=party_label(), number=CASE_NUMBER.pattern)


async def _two_party_case(bot: BotUnderTest, team: dict[str, Person]) -> tuple[Person, Person, str]:
    applicant = bot.person(APPLICANT, "秀英", username="xiuying_handle")
    other = bot.person(OTHER, "老李", last_name="李秘", username="laoli_handle")
    wang = team["wang"]
    number = await accepted_case(applicant, wang, text="和邻居老李为围墙吵架")
    await _joined(bot, wang, other, await _invited(bot, wang))
    return applicant, other, number


async def test_the_other_party_joins_once_and_each_side_reaches_only_the_mediator(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang, applicant = team["wang"], bot.person(APPLICANT, "秀英", username="xiuying_handle")
    other = bot.person(OTHER, "老李", last_name="李秘", username="laoli_handle")
    number = await accepted_case(applicant, wang, text="和邻居老李为围墙吵架")
    payload = await _invited(bot, wang)
    await _joined(bot, wang, other, payload)

    # A second use of the link is refused kindly, and changes nothing.
    stranger = bot.person(STRANGER, "路人")
    await stranger.send(f"/start {payload}")
    await stranger.expect(
        zh(
            "This invitation link has already been used or is no longer valid. If a"
            " mediator invited you, please ask her for a new link."
        )
    )

    # The other party's message reaches the mediator under their own pseudonym.
    await other.send("围墙是我家的地")
    header = await wang.expect(f"📨 {number} · ")
    assert re.match(rf"📨 {re.escape(number)} · {party_label()}", header.content), header.content
    copy = await wang.expect("围墙是我家的地")
    assert "laoli" not in json.dumps(copy.message) and str(OTHER) not in json.dumps(copy.message)
    assert "居民" not in header.content

    # The mediator's reply goes back to the other party only.
    applicant_seen = len(bot.api.messages_to(applicant.id))
    await wang.send("我明白了，下周三一起量一下", reply_to=copy.message_id)
    await other.expect(f"王大姐 · 案件 {number}")
    await other.expect("下周三一起量一下")
    # A message without a reply still goes to the applicant; /talk switches it.
    await wang.send("秀英，您好")
    await applicant.expect_many(f"💬 王大姐 · 案件 {number}", "秀英，您好")
    await wang.send("/talk")
    await wang.expect(zh(TALK, number=number))
    await wang.press(next(b for b in _labels(wang) if re.fullmatch(party_label(), b)))
    await expect_shaped(
        wang,
        "Messages you write in case {number} without replying now go to {who}.",
        number=re.escape(number),
        who=party_label(),
    )
    await wang.send("老李，您好")
    await other.expect("老李，您好")
    applicant_texts = [m.content for m in bot.api.messages_to(applicant.id)[applicant_seen:]]
    assert applicant_texts == [f"💬 王大姐 · 案件 {number}", "秀英，您好"]

    # The applicant's messages never reach the other party, and no account crosses.
    other_seen = len(bot.api.messages_to(other.id))
    await applicant.send("他家狗也吵")
    from_applicant = await wang.expect("他家狗也吵")  # quoting the applicant's header
    quoted = from_applicant.message["reply_to_message"]
    assert quoted["text"].startswith(f"📨 {number} · 居民")
    await say(other, "好的")
    everything_other_got = json.dumps(
        [m.message for m in bot.api.messages_to(other.id)], ensure_ascii=False
    )
    assert "他家狗也吵" not in everything_other_got
    assert "xiuying" not in everything_other_got and str(APPLICANT) not in everything_other_got
    assert len(bot.api.messages_to(other.id)) == other_seen  # "好的" went to the mediator only
    everything_applicant_got = json.dumps(
        [m.message for m in bot.api.messages_to(applicant.id)], ensure_ascii=False
    )
    assert (
        "围墙是我家的地" not in everything_applicant_got and "laoli" not in everything_applicant_got
    )
    assert "李秘" not in everything_applicant_got and str(OTHER) not in everything_applicant_got

    # The card says who has joined; the timeline has the notice with its time.
    await wang.expect("好的")
    await wang.send(f"/case {number}")
    card = await wang.expect(zh(NOW_IN, number=number, area="东升社区"))
    joined = shaped("{who}: joined and consented {time}", who=party_label())
    assert joined.search(card.content), card.content
    db = database(bot)
    kinds = [
        (row["kind"], json.loads(row["detail"]))
        for row in await db.fetch_all(
            "SELECT kind, detail FROM case_events WHERE case_id = "
            "(SELECT id FROM cases WHERE number = ?) ORDER BY id",
            (number,),
        )
    ]
    notices = [detail for kind, detail in kinds if kind == "rights_notice"]
    assert [n["side"] for n in notices] == ["resident", "party"]  # each, when it was shown
    assert all(n["shown_at"] for n in notices)
    assert [k for k, _d in kinds if k.startswith("party_")] == [
        "party_invited",
        "party_opened",
        "party_joined",
    ]


async def test_the_other_party_declines_or_ends_mediation_and_the_mediator_is_told(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang = team["wang"]
    _applicant, other, number = await _two_party_case(bot, team)
    await other.send("/withdraw")
    await other.expect(zh("Which case do you want to withdraw? The mediator will be told."))
    await other.press(zh("{number} · end mediation", number=number))
    await other.expect(
        zh("You have ended your part in the mediation of case {number}. Thank you.", number=number)
    )
    await expect_shaped(
        wang,
        "{party} has ended their part in the mediation of case {number}.",
        party=party_label(),
        number=re.escape(number),
    )
    # Their messages no longer reach the mediator; a reply to them is refused.
    replies = await say(other, "还有一件事")
    assert all("还有一件事" not in m.content for m in bot.api.messages_to(wang.id)[-3:])
    assert replies  # told something, never silence
    # A new invitation is declined by whoever opens it.
    payload = await _invited(bot, wang)
    newcomer = bot.person(STRANGER, "另一个人")
    await newcomer.send(f"/start {payload}")
    await newcomer.expect(zh(INVITED, area="东升社区", number=number))
    await newcomer.press(zh("No, I don't want to"))
    await newcomer.expect(
        zh("All right. Nothing more will be asked of you. Thank you for your time.")
    )
    await expect_shaped(
        wang,
        "{party} declined to take part in the mediation of case {number}.",
        party=party_label(),
        number=re.escape(number),
    )
    await wang.send("/talk")
    menu = await wang.expect(zh(TALK, number=number))
    assert not any(re.match(party_label(), b) for b in _labels_of(menu.reply_markup))


async def test_no_invitation_on_a_case_not_suitable_for_mediation_forged_or_not(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang, applicant = team["wang"], bot.person(APPLICANT, "秀英")
    number = await accepted_case(applicant, wang, text="家里的事")
    db = database(bot)
    await db.execute("UPDATE cases SET no_mediation = 1 WHERE number = ?", (number,))
    await wang.send("/party")
    refusal = await wang.expect(zh(NOT_SUITABLE))
    assert "start=" not in refusal.content
    # A link made before the flag was set no longer works either.
    await db.execute("UPDATE cases SET no_mediation = 0 WHERE number = ?", (number,))
    payload = await _invited(bot, wang)
    await db.execute("UPDATE cases SET no_mediation = 1 WHERE number = ?", (number,))
    other = bot.person(OTHER, "老李")
    await other.send(f"/start {payload}")
    await other.expect(zh(NOT_SUITABLE))
    # A forged press of the join button is refused on the server.
    case_id = (await db.fetch_one("SELECT id FROM cases WHERE number = ?", (number,)) or [0])[0]
    query = await press_any(other, f"pj:{case_id}:yes")
    assert await other.callback_answer(query)
    row = await db.fetch_one("SELECT consented_at FROM case_parties WHERE case_id = ?", (case_id,))
    assert row is not None and row[0] is None


def _labels(person: Person) -> list[str]:
    return _labels_of(person.api.messages_to(person.id)[-1].reply_markup)


def _labels_of(markup: dict[str, object] | None) -> list[str]:
    rows = (markup or {}).get("inline_keyboard", [])
    assert isinstance(rows, list)
    return [str(button["text"]) for row in rows for button in row]


async def test_the_other_party_is_told_when_the_case_ends_without_an_agreement(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang = team["wang"]
    applicant, other, number = await _two_party_case(bot, team)
    await wang.send("/close")
    await wang.expect(zh(HOW_ENDED, number=number))
    await wang.press(zh("Not settled (referred on)"))
    await wang.expect(zh(REFERRED_WHERE, number=number))
    await wang.send("区人民法院")
    preview = await wang.expect(zh(CLOSE_PREVIEW))
    told = shaped("• {who} is told the mediation has ended.", who=party_label())
    assert told.search(preview.content), preview.content
    await wang.press(zh("✓ Confirm"))
    referred = zh("not settled")
    await wang.expect(zh(CLOSED, number=number, outcome=referred))
    await applicant.expect(zh(CLOSED_TO_HER, number=number, outcome=referred))
    await other.expect(zh(ENDED_WITHOUT, number=number))
    # A second two-party case, withdrawn by the applicant: the other party is told too.
    await wang.send(f"/reopen {number}")
    await wang.expect(zh(REOPENED, number=number))
    await applicant.expect(zh(REOPENED_TO_HER, number=number))
    await applicant.send("/withdraw")
    await applicant.expect(zh("Which case do you want to withdraw? The mediator will be told."))
    await applicant.press(next(b for b in _labels(applicant) if b.startswith(number)))
    await applicant.expect(
        zh("Case {number} is withdrawn. Write 找大阿嫂 any time to start again.", number=number)
    )
    await other.expect(zh(ENDED_WITHOUT, number=number))


async def test_the_other_party_gets_their_own_data_and_nothing_of_the_applicants(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang = team["wang"]
    _applicant, other, number = await _two_party_case(bot, team)
    await other.send("围墙是我家出钱砌的")
    await wang.expect_many("📨", "围墙是我家出钱砌的")
    await other.send("/mydata")
    readable = await other.expect()
    exported = await other.expect()
    data = json.loads(exported.data.decode("utf-8"))  # type: ignore[union-attr]
    assert data["cases"] == []  # the case is not theirs…
    [party] = data["as_other_party"]  # …but their part in it is
    assert party["number"] == number and party["consented_at"]
    assert [m["text"] for m in party["your_messages"]] == ["围墙是我家出钱砌的"]
    shown = readable.data.decode("utf-8")  # type: ignore[union-attr]
    assert f"{number}（对方当事人）" in shown and "和邻居老李为围墙吵架" not in shown
    assert "和邻居老李为围墙吵架" not in exported.data.decode("utf-8")  # type: ignore[union-attr]


async def test_the_other_party_can_erase_their_words_from_the_case(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang = team["wang"]
    _applicant, other, number = await _two_party_case(bot, team)
    await other.send("我的秘密XYZ")
    await wang.expect_many("📨", "我的秘密XYZ")
    await other.send("/forget")
    await other.expect(zh(ERASE_ASK))
    await other.press(zh("Yes, erase everything"))
    await other.expect(zh(ERASED))
    db = database(bot)
    assert await db.fetch_one("SELECT 1 FROM case_messages WHERE text LIKE '%XYZ%'") is None
    assert await db.fetch_one("SELECT 1 FROM relay_map WHERE chat_id = ?", (OTHER,)) is None
    party = await db.fetch_one("SELECT user_id FROM case_parties")
    assert party is not None and party[0] is None  # no longer anyone's: nothing reaches them
    await wang.send("/talk")
    menu = await wang.expect(zh(TALK, number=number))
    assert not any(re.match(party_label(), b) for b in _labels_of(menu.reply_markup))
    assert (await bot.timeline(number))[0].kind == "registered"  # the case itself stays
