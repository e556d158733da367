"""Use-case tests without Telegram: the features as the composition root builds them, over
a temporary database, a clock the test moves and a messenger that records what is sent.

    async def test_something(features: Features) -> None:   # the fixture: tests/conftest.py
        resident = await features.resident(100)

Everything below the channel is the real thing: the outbox and its sender, discreet mode,
the timers (`features.advance` moves the clock and runs what fell due).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.core.clock import FakeClock
from bot.core.i18n import Catalogs
from bot.core.messaging import Button, Outgoing
from bot.domain.cases import CaseRecord, NewCase
from bot.domain.people import Person
from bot.features.services import Services
from bot.wiring import build_services
from tests.harness import START, make_config


@dataclass(frozen=True)
class Sent:
    """One call the bot made to the channel: what kind, to whom, and what it said."""

    op: str
    chat_id: int
    text: str | None
    message: Outgoing | None = None
    reply_to: int | None = None


@dataclass
class RecordingMessenger:
    """The channel's messenger (what handlers/messenger.py is for Telegram), recording."""

    sent: list[Sent] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)  # chats that blocked the bot
    held: dict[int, asyncio.Event] = field(default_factory=dict)  # sends wait until set
    _next_id: int = 1000

    def hold(self, chat_id: int) -> asyncio.Event:
        """Sends to `chat_id` wait (a slow or stuck chat) until the event returned is set."""
        return self.held.setdefault(chat_id, asyncio.Event())

    def _record(self, item: Sent) -> int | None:
        if item.chat_id in self.blocked:
            return None
        self.sent.append(item)
        self._next_id += 1
        return self._next_id

    async def send(
        self, chat_id: int, message: Outgoing, *, reply_to: int | None = None
    ) -> int | None:
        if chat_id in self.held:
            await self.held[chat_id].wait()
        return self._record(Sent("send", chat_id, message.text, message, reply_to))

    async def send_document(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None:
        return self._record(Sent("document", chat_id, caption))

    async def send_photo_file(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None:
        return self._record(Sent("photo", chat_id, caption))

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> None:
        self._record(Sent("edit", chat_id, message.text, message))

    async def copy(
        self,
        from_chat_id: int,
        message_id: int,
        to_chat_id: int,
        *,
        reply_to: int | None = None,
        caption: str | None = None,
        protect: bool = False,
    ) -> int | None:
        return self._record(Sent("copy", to_chat_id, caption, reply_to=reply_to))

    async def send_contact(
        self,
        chat_id: int,
        phone: str,
        first_name: str,
        *,
        reply_to: int | None = None,
        protect: bool = False,
    ) -> int | None:
        return self._record(Sent("contact", chat_id, first_name, reply_to=reply_to))

    async def delete(self, chat_id: int, message_id: int) -> bool:
        self._record(Sent("delete", chat_id, None))
        return True

    async def edit_copy(
        self, chat_id: int, message_id: int, *, text: str | None, caption: str | None
    ) -> None:
        self._record(Sent("edit_copy", chat_id, text or caption))

    async def set_buttons(
        self, chat_id: int, message_id: int, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> None:
        self._record(Sent("buttons", chat_id, None))

    async def set_commands(self, chat_id: int, commands: Sequence[tuple[str, str]]) -> None:
        """The chat's command menu (the menu port: bot/features/menus.py)."""
        self._record(Sent("commands", chat_id, " ".join(name for name, _ in commands)))


@dataclass
class Features:
    services: Services
    clock: FakeClock
    channel: RecordingMessenger

    @classmethod
    async def open(cls, tmp_path: Path, overrides: Mapping[str, Any] | None = None) -> Features:
        config, clock, channel = (
            make_config(tmp_path, overrides),
            FakeClock(START),
            RecordingMessenger(),
        )
        catalogs = Catalogs(default=config.locale.default)
        services = await build_services(config, clock, catalogs, channel, channel)
        await services.run_timers()
        return cls(services, clock, channel)

    async def close(self) -> None:
        await self.services.close()

    # ------------------------------------------------------------------ people and cases

    async def person(self, user_id: int, locale: str = "en") -> Person:
        """Who `user_id` is now (as the first handler group works it out for an update)."""
        return await self.services.people.seen(user_id, locale)

    async def resident(self, user_id: int) -> Person:
        return await self.person(user_id)

    async def mediator(
        self, user_id: int, area: str = "dongsheng", role: str = "mediator"
    ) -> Person:
        repos = self.services.deps.repos
        await repos.users.upsert_seen(user_id, "en", self.clock.now())
        await repos.members.save(user_id, role, area, self.clock.now())  # type: ignore[arg-type]
        await repos.members.set_display_name(user_id, f"Mediator {user_id}")
        return await self.person(user_id)

    async def case(self, resident: Person, area: str = "dongsheng") -> CaseRecord:
        """A registered case of `resident`, as intake leaves it (not yet routed)."""
        new = NewCase(resident.id, f"R-{resident.id}", area, "neighbours", False, "chat", None)
        async with self.services.db.transaction():
            return await self.services.deps.repos.cases.create(new, "QJS", 2026, self.clock.now())

    async def fresh(self, case: CaseRecord) -> CaseRecord:
        found = await self.services.deps.repos.cases.get(case.id)
        assert found is not None
        return found

    # ------------------------------------------------------------------ time and messages

    async def advance(self, delta: timedelta) -> int:
        """Move the clock; run the timers that fell due. How many ran."""
        self.clock.advance(delta)
        return await self.services.timers.run_due()

    async def cards_to(self, chat_id: int, contains: str, count: int = 1) -> list[Sent]:
        """Until `count` messages containing `contains` have gone to `chat_id` (5 s at most)."""

        def found() -> list[Sent]:
            sent = self.channel.sent
            return [s for s in sent if s.chat_id == chat_id and contains in (s.text or "")]

        async with asyncio.timeout(5.0):
            while len(found()) < count:
                await asyncio.sleep(0.01)
        return found()

    def said_to(self, chat_id: int) -> list[str]:
        """The texts the bot sent (or edited) in `chat_id`, oldest first."""
        return [s.text or "" for s in self.channel.sent if s.chat_id == chat_id]
