"""An agreement followed up (bot/features/deadlines.py) on a moved clock, across a restart: each
term asked about on its day, a broken one alerting the head who reopens the case; the judicial
confirmation card at settlement and its reminder on day 20."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.conftest import ROSTER
from tests.e2e.driving import say
from tests.e2e.test_agreement import _written_dialogue
from tests.e2e.test_parties import _two_party_case
from tests.harness import BotUnderTest, Person, zh

COURT = "宁海县人民法院"


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
    await wang.expect("请核对")
    await wang.press(zh("✓ Confirm"))
    await wang.expect_many(f"案件 {number} 已结案", "调解协议书")
    await applicant.expect(f"您的案件 {number} 已结案")
    card = await applicant.expect("司法确认")
    assert COURT in card.content and "2026年4月1日 前" in card.content
    await other.expect("已经达成协议")
    assert COURT in (await other.expect("司法确认")).content

    await bot.restart()  # the reminders are rows: nothing is lost
    bot.clock.advance(timedelta(days=8, minutes=30))  # 3月10日 10:00
    asked = await wang.expect(f"📅 请确认：案件 {number} 第 2 条“甲方向乙方道歉”")
    assert "2026年3月10日 前" in asked.content
    await wang.press(zh("✓ Performed"))
    await wang.expect("第 2 条已经履行")

    bot.clock.advance(timedelta(days=12))  # 3月22日 10:00: day 20
    assert "2026年4月1日 前" in (await applicant.expect("⚖️ 提醒一下")).content
    await other.expect("⚖️ 提醒一下")

    bot.clock.advance(timedelta(days=9))  # 3月31日 10:00
    await wang.expect("第 1 条“乙方拆除加高部分”")
    await wang.press(zh("… Not yet"))
    await wang.expect(zh("All right, I will ask again in 3 days."))
    bot.clock.advance(timedelta(days=3))
    await wang.expect("第 1 条“乙方拆除加高部分”")
    await wang.press(zh("✗ Broken"))
    await wang.expect("已经告诉会长了")
    alert = await head.expect(f"⚠ 案件 {number}：第 1 条")
    assert alert.button_data("🔁 明天回访")
    await head.press(zh("↻ Reopen the case"))
    await head.expect(f"案件 {number} 已重新打开")

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
