"""An agreement followed up (bot/features/deadlines.py) on a moved clock, across a restart: each
term asked about on its day, a broken one alerting the head who reopens the case; the judicial
confirmation card at settlement and its reminder on day 20."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.conftest import ROSTER
from tests.e2e.driving import say
from tests.e2e.flows import CLOSE_PREVIEW, CLOSED, CLOSED_TO_HER, REOPENED
from tests.e2e.test_agreement import AGREEMENT_DOCUMENT, _written_dialogue
from tests.e2e.test_parties import _two_party_case
from tests.harness import BotUnderTest, Person, zh

COURT = "宁海县人民法院"
COURT_CARD = (  # at settlement, to each party
    "⚖️ About your agreement (case {number}): both of you may ask {court} to confirm it"
    " (司法确认). Once confirmed, if one side does not keep it, the other can ask the court to"
    " enforce it. You must apply together, by {date}. It is free; bring your ID and the signed"
    " agreement."
)
COURT_REMINDER = (  # on day 20
    "⚖️ A reminder about case {number}: if you want {court} to confirm your agreement, you both"
    " need to apply by {date}."
)
TERM_DUE = "📅 Please check, case {number}, term {n}: has “{what}” been done by {date}?"
TERM_BROKEN = (  # to the head
    "⚠ Case {number}: term {n} (“{what}”, due {date}) was not kept. Schedule a revisit, or"
    " reopen the case?"
)


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {
        "roster": ROSTER,
        # The usual revisits and the survey fall after the days this test looks at.
        "revisits": {"offsets_days": [45], "survey_after_days": 60},
        "mediation": {"judicial_confirmation": True, "court": COURT},
    }


async def test_terms_are_followed_up_on_their_day_and_the_court_card_comes_twice(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang, head = team["wang"], team["head"]
    wang.ignore("📋")  # the weekly digest
    head.ignore("📋")
    applicant, other, number = await _two_party_case(bot, team)
    await _written_dialogue(wang)  # terms due 3月10日 and 3月31日; today is 3月2日
    await wang.expect(zh(CLOSE_PREVIEW))
    await wang.press(zh("✓ Confirm"))
    settled = zh("settled")
    await wang.expect_many(
        zh(CLOSED, number=number, outcome=settled), zh(AGREEMENT_DOCUMENT, number=number)
    )
    await applicant.expect(zh(CLOSED_TO_HER, number=number, outcome=settled))
    card = zh(COURT_CARD, number=number, court=COURT, date="2026年4月1日")
    await applicant.expect(card)
    await other.expect(
        zh("The mediation of case {number} has ended with an agreement.", number=number)
    )
    await other.expect(card)

    await bot.restart()  # the reminders are rows: nothing is lost
    bot.clock.advance(timedelta(days=8, minutes=30))  # 3月10日 10:00
    await wang.expect(zh(TERM_DUE, number=number, n=2, what="甲方向乙方道歉", date="2026年3月10日"))
    await wang.press(zh("✓ Performed"))
    await wang.expect(zh("Recorded: term {n} of case {number} was performed.", n=2, number=number))

    bot.clock.advance(timedelta(days=12))  # 3月22日 10:00: day 20
    reminder = zh(COURT_REMINDER, number=number, court=COURT, date="2026年4月1日")
    await applicant.expect(reminder)
    await other.expect(reminder)

    bot.clock.advance(timedelta(days=9))  # 3月31日 10:00
    due = zh(TERM_DUE, number=number, n=1, what="乙方拆除加高部分", date="2026年3月31日")
    await wang.expect(due)
    await wang.press(zh("… Not yet"))
    await wang.expect(zh("All right, I will ask again in 3 days."))
    bot.clock.advance(timedelta(days=3))
    await wang.expect(due)
    await wang.press(zh("✗ Broken"))
    await wang.expect(
        zh(
            "Recorded: term {n} of case {number} was broken. The head has been told.",
            n=1,
            number=number,
        )
    )
    alert = await head.expect(
        zh(TERM_BROKEN, number=number, n=1, what="乙方拆除加高部分", date="2026年3月31日")
    )
    assert alert.button_data(zh("🔁 Revisit tomorrow"))
    await head.press(zh("↻ Reopen the case"))
    await head.expect(zh(REOPENED, number=number))

    kinds = [(e.kind, e.detail) for e in await bot.timeline(number)]
    performed = [d for k, d in kinds if k == "term_performed"]
    assert performed == [{"n": 2, "on_time": True}]
    assert [k for k, _d in kinds if k.startswith(("term_", "judicial_"))] == [
        "judicial_card",
        "term_reminded",
        "term_performed",
        "judicial_reminded",
        "term_reminded",
        "term_not_yet",
        "term_reminded",
        "term_broken",
    ]
    assert kinds[-1][0] == "reopened"
    stats = next(m.content for m in await say(head, "/stats 2026") if "📊" in m.content)
    mediation = next(line for line in stats.splitlines() if line.startswith("调解："))
    assert mediation == (
        "调解：书面协议 1 · 口头协议 0 · 加入的对方当事人 1 · 按期履行的条款 1 · "
        "逾期履行的条款 0 · 未履行的条款 1 · 发出的司法确认说明 1 · 超过期限的案件 0 · "
        "延长期限的案件 0"
    )
