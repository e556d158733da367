"""People: who is writing, what they may do, and in which language we answer them."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.errors import DomainError, InviteError, NotAllowedError
from bot.core.i18n import SUPPORTED_LOCALES, Catalogs, _, negotiate
from bot.domain.people import Activity, InviteRole, MemberRecord, Person, Role
from bot.domain.roster import DutyMode
from storage.members import InviteRecord, MemberRepository
from storage.users import UserRepository

DISPLAY_NAME_MAX = 20


class UnsupportedLanguageError(ValueError):
    """A language the bot has no catalog for."""


class DisplayNameError(DomainError):
    def user_message(self) -> str:
        return _("Please send a short name of 1 to {limit} characters, such as 王大姐.").format(
            limit=DISPLAY_NAME_MAX
        )


@dataclass(frozen=True)
class Joined:
    person: Person
    area_id: str | None


class PeopleService:
    def __init__(
        self,
        users: UserRepository,
        members: MemberRepository,
        clock: Clock,
        config: Config,
        catalogs: Catalogs,
    ) -> None:
        self._users = users
        self._members = members
        self._clock = clock
        self._config = config
        self._catalogs = catalogs

    async def seen(self, user_id: int, telegram_language: str | None) -> Person:
        """The person behind an update: role, locale to answer in, what they are doing.

        One read on every update; a write only for a newcomer or a changed language.
        """
        seen = await self._members.seen(user_id)
        if seen is None or seen.telegram_language != telegram_language:
            await self._users.upsert_seen(user_id, telegram_language, self._clock.now())
            seen = await self._members.seen(user_id)
            assert seen is not None
        locale = negotiate(seen.language, seen.telegram_language, self._config.locale.default)
        return self._as_person(user_id, locale, seen.member, seen.busy)

    async def locale_of(self, user_id: int) -> str:
        seen = await self._members.seen(user_id)
        if seen is None:
            return self._config.locale.default
        return negotiate(seen.language, seen.telegram_language, self._config.locale.default)

    @asynccontextmanager
    async def speaking_to(self, user_id: int) -> AsyncIterator[None]:
        """Write to someone else in their language: a mediator is addressed in hers, whatever
        the language of the resident whose message set things off."""
        with self._catalogs.using(await self.locale_of(user_id)):
            yield

    async def choose_language(self, user_id: int, locale: str) -> Person:
        if locale not in SUPPORTED_LOCALES:
            raise UnsupportedLanguageError(locale)
        await self._users.set_language(user_id, locale, self._clock.now())
        return await self._person(user_id, locale)

    async def create_invite(
        self, by: Person, role: InviteRole, area_id: str | None
    ) -> InviteRecord:
        """A one-time invite link token; staff only; mediators need an area."""
        if not by.is_staff:
            raise NotAllowedError
        if role == "mediator" and (area_id is None or self._config.area(area_id) is None):
            raise DomainError("a mediator invite needs a known area")
        now = self._clock.now()
        invite = InviteRecord(
            token=secrets.token_urlsafe(12),
            role=role,
            area_id=area_id if role == "mediator" else None,
            created_by=by.id,
            expires_at=now + timedelta(hours=self._config.staff.invite_valid_hours),
            used_by=None,
        )
        await self._members.add_invite(invite, now)
        return invite

    async def join(self, user_id: int, token: str) -> Joined:
        """Use an invite: single use, before it expires."""
        invite = await self._members.get_invite(token)
        now = self._clock.now()
        if invite is None:
            raise InviteError("unknown")
        if invite.used_by is not None:
            raise InviteError("used")
        if invite.expires_at <= now:
            raise InviteError("expired")
        if not await self._members.use_invite(token, user_id, now):
            raise InviteError("used")
        await self._members.save(user_id, invite.role, invite.area_id, now)
        return Joined(await self._person(user_id, await self.locale_of(user_id)), invite.area_id)

    async def blocked(self, user_id: int, blocked: bool) -> None:
        """They blocked the bot (no surveys, no notices) or came back."""
        await self._users.mark_blocked(user_id, self._clock.now() if blocked else None)

    async def set_display_name(self, person: Person, name: str) -> Person:
        name = " ".join(name.split())
        if person.member is None:
            raise NotAllowedError
        if not 1 <= len(name) <= DISPLAY_NAME_MAX or name.startswith("/"):
            raise DisplayNameError
        await self._members.set_display_name(person.id, name)
        return await self._person(person.id, person.locale)

    async def set_duty(self, person: Person, mode: DutyMode) -> Person:
        if not person.is_mediator:
            raise NotAllowedError
        await self._members.set_duty_mode(person.id, mode)
        return await self._person(person.id, person.locale)

    async def _person(self, user_id: int, locale: str) -> Person:
        return self._as_person(user_id, locale, await self._members.get(user_id), None)

    def _as_person(
        self, user_id: int, locale: str, member: MemberRecord | None, busy: Activity | None
    ) -> Person:
        admin = user_id in self._config.staff.admins
        role: Role = member.role if member and member.active else "resident"
        if admin and role == "resident":
            role = "staff"
        return Person(id=user_id, locale=locale, role=role, member=member, admin=admin, busy=busy)
