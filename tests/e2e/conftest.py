from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import BotUnderTest, Person, make_config

STAFF_ID = 900
LINK = re.compile(r"start=(join-[\w-]+)")

# Monday 2026-03-02 09:30 in Shanghai is the harness's start. Two mediators of 东升社区 are on
# duty Monday mornings; 联合村's mediator only on Tuesday mornings.
ROSTER: list[dict[str, Any]] = [
    {"area": "dongsheng", "weekday": "monday", "start": "09:00", "end": "12:00", "mediator": 2001},
    {"area": "dongsheng", "weekday": "monday", "start": "09:00", "end": "12:00", "mediator": 2002},
    {"area": "lianhe", "weekday": "tuesday", "start": "09:00", "end": "11:30", "mediator": 2003},
]


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"roster": ROSTER}


@pytest.fixture
async def bot(tmp_path: Path, config_overrides: dict[str, Any]) -> AsyncIterator[BotUnderTest]:
    async with BotUnderTest(make_config(tmp_path, config_overrides)) as running:
        yield running


@pytest.fixture
def staff(bot: BotUnderTest) -> Person:
    return bot.person(STAFF_ID, "Staff", language_code="zh-hans")


async def invite_link(staff: Person, button: str) -> str:
    """Staff create an invite with /invite and the button for the role; returns the payload."""
    await staff.send("/invite")
    await staff.expect("您要邀请谁")
    await staff.press(button)
    link = await staff.expect("链接只能用一次")
    match = LINK.search(link.content)
    assert match, link.content
    return match.group(1)


async def join_team(
    bot: BotUnderTest,
    staff: Person,
    user_id: int,
    button: str,
    name: str,
    *,
    language_code: str = "zh-hans",
) -> Person:
    """A new team member opens an invite link and gives the name residents will see."""
    member = bot.person(user_id, f"真名{user_id}", language_code=language_code)
    payload = await invite_link(staff, button)
    await member.send(f"/start {payload}")
    await member.expect()
    await member.send(name)
    await member.expect(name)
    return member


@pytest.fixture
async def team(bot: BotUnderTest, staff: Person) -> dict[str, Person]:
    """Mediators 王大姐 (2001) and 李阿姨 (2002) of 东升社区, 赵嫂子 (2003) of 联合村, the head."""
    return {
        "wang": await join_team(bot, staff, 2001, "调解员 · 东升社区", "王大姐"),
        "li": await join_team(bot, staff, 2002, "调解员 · 东升社区", "李阿姨"),
        "zhao": await join_team(bot, staff, 2003, "调解员 · 联合村", "赵嫂子"),
        "head": await join_team(bot, staff, 2100, "调解社社长", "陈社长"),
    }
