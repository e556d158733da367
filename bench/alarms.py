"""Someone in danger, timed as she and the mediators see it: used beside a broadcast.

A resident writes danger words; the bot answers with the emergency numbers and one button
(🆘 马上通知大阿嫂); she presses it, and every mediator of her area gets the card with
"I'll take it". Two figures per alarm, both on the server's clock (the same machine's
monotonic clock as the driver's):

* numbers: from her message to the danger screen in her chat;
* cards: from her press to the last of her area's mediators having the card.

The alarms come from an area of their own (``ALARM_AREA``) whose mediators are in no
conversation: a card and a relayed copy in one chat within a second would meet that chat's
own limit (one message a second), which is Telegram's, not the bot's ordering. Nobody takes
the cases: each stays urgent, and its escalation comes after ``take_within_minutes``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bench.common import button_data, message_text, percentile
from bench.processes import ControlApi
from storage.db import Database
from storage.members import MemberRepository
from storage.users import UserRepository

ALARM_AREA = "xinhe"
ALARM_MEDIATORS = (2101, 2102)
DANGER_TEXT = "救命，他又在打我"
ALARM_BUTTON = "🆘 马上通知大阿嫂"
CARD_LINE = "紧急求助"  # the card's first line: 🔴 紧急求助：有人现在有危险 · 案件 …
POLL = 0.05  # seconds between looks at a chat: the figures are in tens of milliseconds
WAIT = 30.0  # for one answer


def area_config() -> list[str]:
    """The alarms' area, for the bot's config.toml."""
    return [
        "[[areas]]",
        f'id = "{ALARM_AREA}"',
        'name = { zh_CN = "新河村", en = "Xinhe Village" }',
        'office_hours = { zh_CN = "周四 14:00–17:00", en = "Thu 14:00–17:00" }',
    ]


async def seed_alarm_area(db: Database, residents: Sequence[int], now: datetime) -> None:
    """The area's mediators, and residents who consented and chose it, as intake leaves them."""
    users, members = UserRepository(db), MemberRepository(db)
    async with db.transaction():
        for mediator in ALARM_MEDIATORS:
            await users.upsert_seen(mediator, "zh-hans", now)
            await members.save(mediator, "mediator", ALARM_AREA, now)
            await members.set_display_name(mediator, f"大姐{mediator}")
        for resident in residents:
            await users.upsert_seen(resident, "zh-hans", now)
            await users.consent(resident, now)
            await users.remember_area(resident, ALARM_AREA, now)


def people(residents: Sequence[int]) -> list[tuple[int, str]]:
    """Who the server must know: (user id, first name)."""
    return [(r, "居民") for r in residents] + [(m, "大姐") for m in ALARM_MEDIATORS]


@dataclass(frozen=True)
class Alarm:
    numbers_ms: float  # her message -> the emergency numbers in her chat
    cards_ms: float  # her press -> the last mediator of her area has the card


@dataclass(frozen=True)
class Alarms:
    count: int
    numbers_p50_ms: float
    numbers_max_ms: float
    cards_p50_ms: float
    cards_max_ms: float


def summary(alarms: Sequence[Alarm]) -> Alarms:
    numbers = [a.numbers_ms for a in alarms]
    cards = [a.cards_ms for a in alarms]
    return Alarms(
        len(alarms),
        round(percentile(numbers, 50), 1),
        round(max(numbers), 1),
        round(percentile(cards, 50), 1),
        round(max(cards), 1),
    )


async def alarm(api: ControlApi, resident: int) -> Alarm:
    """One resident in danger: her message, the screen, her press, the mediators' cards."""
    seen = {m: len(await api.messages_to(m)) for m in ALARM_MEDIATORS}
    written = time.monotonic()
    await api.send_text(resident, DANGER_TEXT)
    screen, data = await _first_button(api, resident, ALARM_BUTTON)
    pressed = time.monotonic()
    await api.press(resident, int(screen["message_id"]), data)
    cards = [
        await _first(api, m, seen[m], lambda message: CARD_LINE in message_text(message))
        for m in ALARM_MEDIATORS
    ]
    last_card = max(float(card["recorded_at"]) for card in cards)
    return Alarm(
        numbers_ms=(float(screen["recorded_at"]) - written) * 1000,
        cards_ms=(last_card - pressed) * 1000,
    )


async def alarms_at(
    api: ControlApi, residents: Sequence[int], offsets: Sequence[float]
) -> list[Alarm]:
    """One alarm per resident, each `offsets[k]` seconds after the call, or after the one
    before it if that took longer: the cards are told apart by when they came, so one
    alarm's cards must be in before the next alarm begins."""
    started = time.monotonic()
    found = []
    for resident, offset in zip(residents, offsets, strict=True):
        await asyncio.sleep(max(0.0, started + offset - time.monotonic()))
        found.append(await alarm(api, resident))
    return found


async def _first_button(api: ControlApi, chat: int, label: str) -> tuple[dict[str, Any], str]:
    message = await _first(api, chat, 0, lambda m: button_data(m, label) is not None)
    data = button_data(message, label)
    assert data is not None
    return message, data


async def _first(
    api: ControlApi, chat: int, after: int, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first message the bot sent to `chat` from index `after` on that is `wanted`."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for message in await api.messages_to(chat, after):
            if wanted(message):
                return message
        await asyncio.sleep(POLL)
    raise TimeoutError(f"nothing wanted in chat {chat} within {WAIT} s")
