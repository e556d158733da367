"""End-to-end harness: the real Application against the local Bot API server, over loopback.

`BotUnderTest` owns one server, one database file and a movable clock; it can stop and start
the bot (a restart keeps the database and the server, as a real restart would). `Person`
drives one Telegram user: it sends, presses buttons and waits — with bounded waits — for
what the bot answers in that user's chat.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import DaasaoApp, build_application, open_feed, start_app, stop_app
from bot.core.clock import FakeClock
from bot.core.config import Config, parse_config
from bot.core.i18n import Catalogs, gettext, ngettext
from bot.domain.cases import EventRecord
from localapi.server import LocalBotApi
from localapi.state import BotMessage
from storage.cases import CaseRepository

DEFAULT_WAIT = 5.0
# /stats's charts and workbook come from a child process a few seconds after its text; on a
# busy machine (the suite runs in parallel) many more.
FILES_WAIT = 30.0


@functools.cache
def _catalogs() -> Catalogs:
    return Catalogs(default="zh_CN")


def zh(source: str, **values: object) -> str:
    """What a resident reading Chinese sees for the English source text `source` (a msgid
    of the catalogs): tests assert on meaning, not on fragments of the copy."""
    with _catalogs().using("zh_CN"):
        text = gettext(source)
    assert text != source or not source.isascii(), f"not in the zh_CN catalog: {source!r}"
    return text.format(**values) if values else text


def zh_n(singular: str, plural: str, count: int, **values: object) -> str:
    """`zh` for a plural message (an ngettext msgid): the form the catalog gives for `count`,
    filled with `count` and `values`."""
    with _catalogs().using("zh_CN"):
        text = ngettext(singular, plural, count)
    assert text not in (singular, plural), f"not in the zh_CN catalog: {singular!r}"
    return text.format(count=count, **values)


QUIET = (
    "→ ",
)  # where a mediator's message went (bot/features/relay.py): read with `confirmations`
START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # Monday 09:30 in Asia/Shanghai

TEST_AREAS: list[dict[str, Any]] = [
    {
        "id": "dongsheng",
        "name": {"zh_CN": "东升社区", "en": "Dongsheng Community"},
        "office_hours": {"zh_CN": "周二、周四 9:00–11:30", "en": "Tue and Thu 9:00–11:30"},
        "hotline": "0574-8600-0001",
    },
    {
        "id": "lianhe",
        "name": {"zh_CN": "联合村", "en": "Lianhe Village"},
        "office_hours": {"zh_CN": "周三 14:00–17:00", "en": "Wed 14:00–17:00"},
        "hotline": "0574-8600-0002",
    },
]


def make_config(tmp_path: Path, overrides: Mapping[str, Any] | None = None) -> Config:
    """A test config: two areas, a database in tmp_path, the staff admin 900."""
    data: dict[str, Any] = {
        "storage": {"path": str(tmp_path / "bot.sqlite3")},
        "staff": {"admins": [900]},
        "areas": TEST_AREAS,
    }
    data.update(overrides or {})
    return parse_config(data, env={})


class BotUnderTest:
    def __init__(self, config: Config, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock(START)
        self.api = LocalBotApi(now=self.clock.now)
        self.base_config = config
        self.catalogs = Catalogs(default=config.locale.default)
        self.app: DaasaoApp | None = None

    @property
    def config(self) -> Config:
        telegram = dataclasses.replace(
            self.base_config.telegram,
            token=self.api.token,
            base_url=self.api.base_url,
            base_file_url=self.api.base_file_url,
        )
        return dataclasses.replace(self.base_config, telegram=telegram)

    async def __aenter__(self) -> BotUnderTest:
        await self.api.start()
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
        await self.api.stop()

    async def start(self) -> None:
        self.app = build_application(self.config, self.clock, self.catalogs)
        await start_app(self.app, _poll)

    async def stop(self) -> None:
        if self.app is not None:
            app, self.app = self.app, None
            await stop_app(app)

    async def timeline(self, number: str) -> list[EventRecord]:
        """The case's timeline, read from the running bot's database."""
        assert self.app is not None
        cases = CaseRepository(self.app.bot_data.services.db)
        case = await cases.get_by_number(number)
        assert case is not None, number
        return await cases.events(case.id)

    async def book(self, number: str) -> list[tuple[str, str | None]]:
        """The case's messages in its registration book: (author, text), in order."""
        assert self.app is not None
        cases = CaseRepository(self.app.bot_data.services.db)
        case = await cases.get_by_number(number)
        assert case is not None, number
        return [(author, part.text) for author, part, _at in await cases.conversation(case.id)]

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def person(
        self,
        user_id: int,
        first_name: str = "测试",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> Person:
        self.api.add_user(
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        return Person(self.api, user_id)


async def _poll(app: DaasaoApp) -> None:
    # A batch that cannot be stored is given up after two tries (about 1 s beyond the busy
    # timeout), so tests of a full disk need not wait half a minute per message.
    await open_feed(app, poll_timeout=1, store_attempts=2).start_polling()


class Person:
    """One Telegram user, seen from their phone."""

    def __init__(self, api: LocalBotApi, user_id: int) -> None:
        self.api = api
        self.id = user_id
        self._read = 0  # how many of the bot's messages in this chat we have looked at
        self._ignored: tuple[str, ...] = QUIET

    def ignore(self, *prefixes: str) -> None:
        """Skip bot messages starting with these (e.g. a weekly digest) in `expect`; the
        quiet "→ case" confirmations under a mediator's messages are always skipped."""
        self._ignored = (*QUIET, *prefixes)

    async def send(self, text: str, *, reply_to: int | None = None) -> dict[str, Any]:
        return await self.api.send_text(self.id, text, reply_to=reply_to)

    async def press(self, label: str) -> str:
        """Press the newest inline button with this label in the chat."""
        for message in reversed(self.api.messages_to(self.id)):
            data = _button_data(message, label)
            if data is not None:
                return await self.api.press_button(self.id, message.message_id, data)
        raise AssertionError(f"no button {label!r} in chat {self.id}: {self.transcript()}")

    async def expect(
        self, contains: str | None = None, *, timeout: float = DEFAULT_WAIT
    ) -> BotMessage:
        """The next message the bot sends here; fails if it does not contain `contains`."""
        message = await self.api.wait_for_message(self.id, after=self._read, timeout=timeout)
        self._read += 1
        if self._ignored and message.content.startswith(self._ignored):
            return await self.expect(contains, timeout=timeout)
        if contains is not None:
            assert contains in message.content, f"expected {contains!r} in {message.content!r}"
        return message

    async def expect_many(self, *contains: str, timeout: float = DEFAULT_WAIT) -> list[BotMessage]:
        """The next messages, one per expected text, in order."""
        return [await self.expect(text, timeout=timeout) for text in contains]

    async def expect_edit(self, contains: str, *, timeout: float = DEFAULT_WAIT) -> BotMessage:
        """Wait until one of the bot's messages here has been edited to contain the text."""

        def edited() -> BotMessage | None:
            return next(
                (m for m in self.api.messages_to(self.id) if m.edits and contains in m.content),
                None,
            )

        await self.api.wait_for(lambda: edited() is not None, timeout=timeout, what=contains)
        found = edited()
        assert found is not None
        return found

    async def expect_button(self, label: str, *, timeout: float = DEFAULT_WAIT) -> BotMessage:
        """Wait until a message here shows a button with this label (menus edit in place)."""

        def showing() -> BotMessage | None:
            return next(
                (m for m in reversed(self.api.messages_to(self.id)) if _button_data(m, label)),
                None,
            )

        await self.api.wait_for(lambda: showing() is not None, timeout=timeout, what=label)
        found = showing()
        assert found is not None
        return found

    async def press_and_expect_answer(self, label: str) -> str:
        """Press a button and return the text of the bot's answer to the press (alert/toast)."""
        query_id = await self.press(label)
        return await self.callback_answer(query_id)

    async def callback_answer(self, query_id: str, *, timeout: float = DEFAULT_WAIT) -> str:
        def answered() -> bool:
            record = self.api.callback_answer(query_id)
            return record is not None and record.answered

        await self.api.wait_for(answered, timeout=timeout, what="an answer to the button")
        record = self.api.callback_answer(query_id)
        assert record is not None
        return record.text or ""

    def last(self) -> BotMessage:
        return self.api.messages_to(self.id)[-1]

    async def expect_silence(self, within: float = 0.3) -> None:
        await asyncio.sleep(within)
        extra = [
            m.content
            for m in self.api.messages_to(self.id)[self._read :]
            if not (self._ignored and m.content.startswith(self._ignored))
        ]
        assert not extra, f"unexpected messages: {extra}"

    def confirmations(self) -> list[BotMessage]:
        """The quiet "→ case" lines under her relayed messages, oldest first."""
        return [m for m in self.api.messages_to(self.id) if m.content.startswith(QUIET)]

    def transcript(self) -> list[str]:
        return [m.content for m in self.api.messages_to(self.id)]

    def skip_all(self) -> None:
        """Consider everything received so far as read."""
        self._read = len(self.api.messages_to(self.id))


def _button_data(message: BotMessage, label: str) -> str | None:
    markup = message.reply_markup or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if button.get("text") == label and "callback_data" in button:
                return str(button["callback_data"])
    return None
