"""Each role its own bot: the `/` command menu of every team member's chat, in her language.

Residents see the bot-wide menu (set at start for all private chats). A mediator, the
head, the legal adviser and staff each get a menu of their own for their chat
(setMyCommands with a chat scope), pushed when they join, when their role changes
(deactivation, made head), when they choose another language, and at start when it is not
the menu Telegram last accepted for her (a release with new commands, a refused push). The
push is an outbox row like every other call to Telegram: kept until it is through, and a
refusal is logged and told to the person in her language (never silent). At start the pushes
go behind conversations, so a restart never keeps a resident waiting for the team's menus.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

from bot.core.i18n import _, gettext
from bot.core.messaging import DeliveryRefused, Outgoing
from bot.core.pacing import BROADCAST, CONVERSATION
from bot.features.deps import Deps, Feature
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

MENU = "menu"  # outbox purpose
MenuRole = Literal["resident", "mediator", "head", "adviser", "staff"]
Command = tuple[str, Callable[[], str]]

_START: Command = ("start", lambda: gettext("Talk to Da'asao"))
_CANCEL: Command = ("cancel", lambda: gettext("Stop what I am doing"))
_LANGUAGE: Command = ("language", lambda: gettext("Choose your language"))
_HELP: Command = ("help", lambda: gettext("What I can do"))

RESIDENT: list[Command] = [
    _START,
    ("status", lambda: gettext("My cases")),
    ("withdraw", lambda: gettext("Withdraw a case")),
    ("subscribe", lambda: gettext("Event notices")),
    ("privacy", lambda: gettext("Privacy and my data")),
    _CANCEL,
    _LANGUAGE,
    _HELP,
]
MEDIATOR: list[Command] = [
    ("cases", lambda: gettext("My cases")),
    ("case", lambda: gettext("Talk in a case: /case QJS-…")),
    ("phrases", lambda: gettext("Saved phrases")),
    ("note", lambda: gettext("A private note")),
    ("book", lambda: gettext("The case's registration book")),
    ("transfer", lambda: gettext("Hand a case over")),
    ("consult", lambda: gettext("Ask the legal adviser")),
    ("care", lambda: gettext("Safety: cards and referrals")),
    ("party", lambda: gettext("Invite the other party")),
    ("talk", lambda: gettext("Whom my messages go to")),
    ("extend", lambda: gettext("Ask for more time")),
    ("close", lambda: gettext("Close a case")),
    ("reopen", lambda: gettext("Reopen a case")),
    ("duty", lambda: gettext("Go on or off duty")),
    ("capacity", lambda: gettext("How many cases I can carry")),
    _CANCEL,
    _LANGUAGE,
    _HELP,
]
_OVERSIGHT: list[Command] = [
    ("overview", lambda: gettext("Open cases and waiting offers")),
    ("roster", lambda: gettext("The duty roster")),
    ("stats", lambda: gettext("Statistics")),
    ("block", lambda: gettext("Stop an abusive resident")),
    ("access", lambda: gettext("Who read a case")),
]
HEAD: list[Command] = [
    *MEDIATOR[:-3],
    ("reassign", lambda: gettext("Take or give any open case")),
    *_OVERSIGHT,
    _CANCEL,
    _LANGUAGE,
    _HELP,
]
ADVISER: list[Command] = [_CANCEL, _LANGUAGE, _HELP]
STAFF: list[Command] = [
    ("invite", lambda: gettext("Invite a team member")),
    ("mediators", lambda: gettext("The team: deactivate, make head")),
    ("announce", lambda: gettext("An event notice")),
    ("announcements", lambda: gettext("Notices sent and planned")),
    *_OVERSIGHT,
    _CANCEL,
    _LANGUAGE,
    _HELP,
]
MENUS: dict[MenuRole, list[Command]] = {
    "resident": RESIDENT,
    "mediator": MEDIATOR,
    "head": HEAD,
    "adviser": ADVISER,
    "staff": STAFF,
}


class MenuPort(Protocol):
    async def set_commands(self, chat_id: int, commands: Sequence[tuple[str, str]]) -> None:
        """This chat's command menu (an empty list: back to the bot-wide one)."""
        ...


class MenuService(Feature):
    def __init__(self, deps: Deps, *, port: MenuPort) -> None:
        super().__init__(deps)
        self._outbox = deps.outbox
        self._port = port
        deps.outbox.register(MENU, _MenuDeliverer(self))

    async def role_of(self, user_id: int) -> MenuRole:
        member = await self._members.get(user_id)
        if member is not None and member.active:
            return member.role
        return "staff" if user_id in self._config.staff.admins else "resident"

    async def refresh(self, user_id: int, *, priority: int = CONVERSATION) -> None:
        """Queue her chat's menu for her role, in her language, unless Telegram already has
        it; a resident's chat goes back to the bot-wide menu."""
        role = await self.role_of(user_id)
        commands: list[list[str]] = []
        if role != "resident":
            async with self._people.speaking_to(user_id):
                commands = [[name, describe()] for name, describe in MENUS[role]]
        if _menu_key(commands) == await self._users.menu_of(user_id):
            return
        await self._outbox.put(user_id, MENU, {"commands": commands}, priority=priority)

    async def refresh_team(self, known: Sequence[int]) -> None:
        """At start: every active team member, and the configured staff among `known`, as
        far as their menu changed; behind conversations."""
        team = {m.user_id for m in await self._members.active()}
        for user_id in sorted(team | (set(self._config.staff.admins) & set(known))):
            await self.refresh(user_id, priority=BROADCAST)

    async def shown(self, row: OutboxRow) -> None:
        """Telegram has the menu: the next start need not push it again."""
        await self._users.menu_shown(row.chat_id, _menu_key(row.payload["commands"]))

    async def send(self, row: OutboxRow) -> None:
        await self._port.set_commands(row.chat_id, [tuple(c) for c in row.payload["commands"]])

    async def refused(self, row: OutboxRow, error: DeliveryRefused) -> None:
        log.error("command menu refused", extra={"chat": row.chat_id, "reason": error.reason})
        async with self._people.speaking_to(row.chat_id):
            text = _(
                "Your command menu could not be updated just now. Send /help to see what "
                "you can do."
            )
        await self._outbox.queue_message(row.chat_id, Outgoing(text))


class _MenuDeliverer:
    def __init__(self, menus: MenuService) -> None:
        self._menus = menus

    async def deliver(self, row: OutboxRow) -> None:
        await self._menus.send(row)

    async def delivered(self, row: OutboxRow, result: Any) -> None:
        await self._menus.shown(row)

    async def refused(self, row: OutboxRow, error: DeliveryRefused) -> None:
        await self._menus.refused(row, error)


def _menu_key(commands: Sequence[Sequence[str]]) -> str | None:
    """What is stored of a menu Telegram accepted; None for none (the bot-wide menu)."""
    return json.dumps([list(c) for c in commands], ensure_ascii=False) if commands else None
