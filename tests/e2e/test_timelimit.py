"""The one-month limit (bot/features/timelimit.py) on a moved clock: flagged to the mediator and
the head, listed in /overview and the digest, and extended only when both parties agree."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.driving import say
from tests.e2e.test_parties import _two_party_case
from tests.harness import BotUnderTest, Person


async def test_a_case_over_the_limit_is_flagged_and_extended_with_both_parties_consent(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang, head = team["wang"], team["head"]
    wang.ignore("📋")  # the weekly digests, looked at below
    applicant, other, number = await _two_party_case(bot, team)
    bot.clock.advance(timedelta(days=29))  # not yet
    await wang.expect_silence(0.3)
    bot.clock.advance(timedelta(days=1, hours=1))  # 4月1日 10:30: past the 30 days
    flag = await wang.expect(f"⏰ 案件 {number} 已经超过 30 天")
    assert "/extend" in flag.content

    def head_flags() -> list[str]:
        return [m.content for m in bot.api.messages_to(head.id) if m.content.startswith("⏰")]

    await bot.api.wait_for(lambda: bool(head_flags()), what="the head's flag")
    assert head_flags() == [flag.content]
    bot.clock.advance(timedelta(days=4, hours=23))  # Monday 4月6日 09:30: the digest is out
    await bot.api.wait_for(lambda: "超过调解期限：1" in _last_digest(wang), what="the digest")
    assert number in _last_digest(wang)
    assert len(head_flags()) == 1  # flagged once per period, not every day
    assert f"⏰ 超过调解期限（30 天）的案件：1\n• {number}" in await _overview(head)

    await wang.send(f"/case {number}")
    await wang.expect(f"现在在案件 {number}")
    await wang.send("/extend")
    await wang.expect(f"已经问案件 {number} 的当事人")
    for party in (applicant, other):
        asked = await party.expect(f"案件 {number}：调解员想多一些时间")
        assert "大家都同意" in asked.content
    await applicant.press("同意延长")
    await applicant.expect("您的回答已记下")
    await wang.expect_silence(0.3)  # one party is not enough
    await other.press("同意延长")
    await other.expect("您的回答已记下")
    await wang.expect(f"双方都同意了：案件 {number} 再延长 30 天")
    assert "⏰ 超过调解期限（30 天）的案件：0" in await _overview(head)
    answers = [
        (e.detail["side"], e.detail["agree"])
        for e in await bot.timeline(number)
        if e.kind == "extension_answer"
    ]
    assert answers == [("resident", True), ("party", True)]
    assert [e.kind for e in await bot.timeline(number)][-1] == "extended"
    stats = next(m.content for m in await say(head, "/stats 2026") if "📊" in m.content)
    assert "超过期限的案件 1 · 延长期限的案件 1" in stats
    assert "加入的对方当事人 1" in stats


def _last_digest(person: Person) -> str:
    digests = [m.content for m in person.api.messages_to(person.id) if m.content.startswith("📋 ")]
    return digests[-1] if digests else ""


async def _overview(head: Person) -> str:
    answers = await say(head, "/overview")
    return next(m.content for m in answers if "案件概况" in m.content)
