"""/cases of a mediator with years of cases: the open ones first, 40 in all, and the total."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.domain.cases import NewCase
from storage.cases import CaseRepository
from storage.db import Database
from storage.members import MemberRepository
from storage.users import UserRepository
from tests.harness import START, BotUnderTest, make_config

WANG, RESIDENT = 2001, 1001


async def _seed(path: Path, closed: int) -> None:
    """王大姐 of 东升社区 with `closed` settled cases over the years and one accepted now."""
    db = await Database.open(path)
    users, members, cases = UserRepository(db), MemberRepository(db), CaseRepository(db)
    try:
        async with db.transaction():
            await users.add_consented([(WANG, "zh-hans", "dongsheng")], START)
            await users.add_consented([(RESIDENT, "zh-hans", "dongsheng")], START)
            await members.save(WANG, "mediator", "dongsheng", START)
            await members.set_display_name(WANG, "王大姐")
            for n in range(closed + 1):
                at = START - timedelta(days=30 * (closed - n))
                new = NewCase(
                    RESIDENT, f"R-{n:04d}", "dongsheng", "neighbours", False, "chat", None
                )
                case = await cases.create(new, "QJS", at.year, at)
                await cases.set_state(case.id, "accepted", WANG, at)
                if n < closed:
                    await cases.close(case.id, "settled", None, at + timedelta(days=3))
    finally:
        await db.close()


async def test_a_long_list_shows_forty_and_says_how_many(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    await _seed(config.storage.path, closed=59)
    async with BotUnderTest(config) as bot:
        wang = bot.person(WANG, "王", language_code="zh-hans")
        await wang.send("/cases")
        listing = await wang.expect("您一共有 60 个案件，这里先列出 40 个")
        lines = listing.content.splitlines()
        assert sum("QJS-" in line for line in lines) == 40
        first = next(line for line in lines if "QJS-" in line)
        assert "调解员处理中" in first, first  # the open case heads the list
        assert len(listing.buttons) >= 1  # the open case can still be chosen
