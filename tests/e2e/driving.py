"""Helpers for tests that drive many people at once and judge by behaviour, not wording.

`arrives` and `tap` wait on the local Bot API's record of what the bot sent; `settled` uses
the bot's per-chat ordering (one chat's updates are handled one after the other) to know
that everything a person did before has been fully handled; `Watcher` sees every exception
that reached the application's error handlers and every update the application finished;
`snapshot` reads the whole database, for "nothing changed" assertions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import BotCommandScopeChat, Update
from telegram.ext import CallbackContext, TypeHandler

from bot.app import DaasaoApp
from bot.errors import DomainError
from bot.localapi.methods import scope_key
from bot.localapi.server import LocalBotApi
from bot.localapi.state import BotMessage
from storage.db import Database
from tests.harness import BotUnderTest, Person

CASE_NUMBER = re.compile(r"[A-Z]{2,8}-\d{4}-\d{4}")
SENTINEL = "lang:none"  # a press refused with an alert; changes nothing
LAST_GROUP = 99  # after every group of bot.app
SETTLE_WAIT = 20.0  # seconds: the longest a person's earlier updates may take to be handled
# Columns that change whenever someone merely writes: not a change of the world.
VOLATILE = {("users", "updated_at")}

Snapshot = dict[str, list[tuple[Any, ...]]]


def messages(person: Person, since: int = 0) -> list[BotMessage]:
    return person.api.messages_to(person.id)[since:]


def count(person: Person) -> int:
    return len(person.api.messages_to(person.id))


def has_button(message: BotMessage, data: str) -> bool:
    return any(button.get("callback_data") == data for row in message.buttons for button in row)


def buttons(message: BotMessage) -> list[str]:
    return [str(b["callback_data"]) for row in message.buttons for b in row if "callback_data" in b]


def newest_with(person: Person, data: str) -> BotMessage | None:
    """The newest message in the person's chat whose inline keyboard has this callback data."""
    return next((m for m in reversed(messages(person)) if has_button(m, data)), None)


async def arrives(
    person: Person, match: Callable[[BotMessage], bool], since: int, *, what: str
) -> BotMessage:
    """Wait for a message (sent at or after index `since`) that `match`es."""

    def found() -> BotMessage | None:
        return next((m for m in messages(person, since) if match(m)), None)

    await person.api.wait_for(lambda: found() is not None, what=f"{what} for {person.id}")
    message = found()
    assert message is not None
    return message


async def tap(person: Person, data: str) -> str:
    """Press the newest button carrying `data` in this person's chat, once it is there."""
    await person.api.wait_for(
        lambda: newest_with(person, data) is not None, what=f"button {data} for {person.id}"
    )
    message = newest_with(person, data)
    assert message is not None
    return await person.api.press_button(person.id, message.message_id, data)


async def press_any(person: Person, data: str) -> str:
    """Press `data`: the real button if this chat shows it, else forged on the newest message
    (as a modified client could: callback data is a claim, never a permission)."""
    message = newest_with(person, data)
    if message is not None:
        return await person.api.press_button(person.id, message.message_id, data)
    newest = messages(person)[-1]
    return await person.api.press_button(person.id, newest.message_id, data, forged=True)


async def settled(person: Person) -> None:
    """Wait until everything this person did so far has been handled.

    One chat's updates are handled in order, so once the bot has answered a press made
    now, it has finished with everything before it. The sentinel press asks for a language
    that does not exist: refused with an alert, nothing changes. The chat needs one message
    of the bot to press on."""
    api = person.api
    newest = messages(person)[-1]
    query = await api.press_button(person.id, newest.message_id, SENTINEL, forged=True)

    def answered() -> bool:
        record = api.callback_answer(query)
        return record is not None and record.answered

    # What it waits behind may be slow work (/stats draws two charts on a loaded machine).
    await api.wait_for(answered, timeout=SETTLE_WAIT, what=f"the sentinel's answer for {person.id}")


async def say(person: Person, text: str) -> list[BotMessage]:
    """Send a message and wait until it is handled; returns the bot's answers."""
    since = count(person)
    await person.send(text)
    if since == 0:  # a new chat: the first answer is what the sentinel is pressed on
        await arrives(person, lambda _m: True, 0, what="a first answer")
    await settled(person)
    return messages(person, since)


async def choose(person: Person, data: str) -> list[BotMessage]:
    """Press a button the bot showed (waiting for it) and wait until the press is handled."""
    since = count(person)
    await tap(person, data)
    await settled(person)
    return messages(person, since)


@dataclass
class Watcher:
    """What the application did with each update: the exceptions that reached its error
    handlers, and the updates it has finished with (a handler in a last group marks them;
    PTB goes on to the next group after a handler's error has been handled)."""

    api: LocalBotApi
    errors: list[BaseException] = field(default_factory=list)
    handled: set[int] = field(default_factory=set)

    def attach(self, app: DaasaoApp) -> None:
        app.add_error_handler(self._record)
        app.add_handler(TypeHandler(Update, self._done), group=LAST_GROUP)

    async def _record(self, update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
        if context.error is not None:
            self.errors.append(context.error)

    async def _done(self, update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        self.handled.add(update.update_id)
        self.api.world.signal.notify()  # wake whoever waits for it

    async def finished(self, update_id: int) -> None:
        await self.api.wait_for(lambda: update_id in self.handled, what=f"update {update_id}")

    def unexpected(self, since: int = 0) -> list[BaseException]:
        """Errors other than the refusals services raise on purpose."""
        return [e for e in self.errors[since:] if not isinstance(e, DomainError)]


def database(bot: BotUnderTest) -> Database:
    assert bot.app is not None
    return bot.app.bot_data.services.db


# Every update lands in the inbox and every answer passes through the outbox: that is how
# the bot works, not a change a refusal made.
BOOKKEEPING = frozenset({"inbox", "outbox", "sqlite_sequence"})


async def snapshot(db: Database) -> Snapshot:
    """Every row of every table (volatile columns left out), in a comparable form."""
    tables = await db.fetch_all(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    result: Snapshot = {}
    for (table,) in tables:
        if table in BOOKKEEPING:
            continue
        rows = await db.fetch_all(f"SELECT * FROM {table}")  # names from the schema
        keep = [k for k in (rows[0].keys() if rows else []) if (table, k) not in VOLATILE]
        result[table] = sorted((tuple(row[k] for k in keep) for row in rows), key=repr)
    return result


def changed_tables(before: Snapshot, after: Snapshot) -> set[str]:
    return {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}


async def chat_menu(bot: BotUnderTest, user_id: int, *, has: str | None) -> dict[str, str]:
    """A chat's own command menu (bot/menus.py), read back through the Bot API once it
    lists `has` — or, with None, once the chat has none of its own (the bot-wide one)."""
    key = (scope_key({"type": "chat", "chat_id": user_id}), "")

    def ready() -> bool:
        listed = bot.api.world.commands.get(key)
        if has is None:
            return listed is None
        return any(c["command"] == has for c in listed or [])

    await bot.api.wait_for(ready, what=f"the menu of {user_id} ({has})")
    assert bot.app is not None
    commands = await bot.app.bot.get_my_commands(scope=BotCommandScopeChat(user_id))
    return {c.command: c.description for c in commands}
