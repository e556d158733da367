"""The access log of a case (People's Mediation Law §15: mediators keep what they learn
confidential): every opening of a case's conversation (/case and its button), of its
registration book (/book, the case's export) and every consultation put to the legal
adviser is recorded with who (role and display name) and when, before anything is shown.

The head and the federation's staff may list it with /access: it holds no contents, and
staff oversee the society without ever reading a case. A resident's /mydata says which
roles read her case and when, by display name, never by account (storage/privacy.py). The
log is kept with the case's metadata: it says nothing about the resident.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Config
from bot.errors import DomainError, NotAllowedError
from bot.i18n import _, format_datetime
from bot.messaging import Outgoing
from bot.people import Person
from storage.access import Access, AccessRepository, What
from storage.cases import CaseRecord, CaseRepository
from storage.members import MemberRecord


class AccessListNotAllowedError(NotAllowedError):
    def user_message(self) -> str:
        return _("Sorry, this is only for the federation staff and the head of the society.")


class UnknownCaseError(DomainError):
    def user_message(self) -> str:
        return _("There is no case with that number.")


class AccessLog:
    def __init__(
        self, *, repo: AccessRepository, cases: CaseRepository, clock: Clock, config: Config
    ) -> None:
        self._repo = repo
        self._cases = cases
        self._clock = clock
        self._config = config

    async def opened(self, person: Person, case: CaseRecord, what: What) -> None:
        """A team member opens a case's conversation or its book: recorded first."""
        name = person.member.display_name if person.member else ""
        await self._record(case, person.id, person.role, name, what)

    async def handed(self, member: MemberRecord, case: CaseRecord) -> None:
        """A mediator is handed a case: she receives its registration book."""
        await self._record(case, member.user_id, member.role, member.display_name, "book")

    async def consulted(self, adviser: MemberRecord, case: CaseRecord) -> None:
        """The legal adviser is given a case's topic, area and the mediator's question."""
        await self._record(case, adviser.user_id, "adviser", adviser.display_name, "consultation")

    async def _record(
        self, case: CaseRecord, reader: int, role: str, name: str, what: What
    ) -> None:
        access = Access(case.id, self._clock.now(), reader, role, name or "—", what)
        await self._repo.record(access)

    async def listing(self, person: Person, number: str) -> Outgoing:
        """/access QJS-…: who read the case, and when (the head and staff only)."""
        if not (person.is_head or person.is_staff):
            raise AccessListNotAllowedError
        case = await self._cases.get_by_number(number.strip().upper())
        if case is None:
            raise UnknownCaseError
        entries = await self._repo.of_case(case.id)
        if not entries:
            return Outgoing(_("Nobody has opened case {number} yet.").format(number=case.number))
        zone = self._config.locale.zone
        lines = [_("Who opened case {number}, and when:").format(number=case.number)]
        lines += [
            f"{format_datetime(e.at, zone, 'short')} · {role_label(e.role)} {e.name} · "
            f"{what_label(e.what)}"
            for e in entries
        ]
        return Outgoing("\n".join(lines))


def role_label(role: str) -> str:
    labels = {
        "mediator": _("mediator"),
        "head": _("head of the society"),
        "adviser": _("legal adviser"),
    }
    return labels.get(role, role)


def what_label(what: str) -> str:
    labels = {
        "case": _("the conversation"),
        "book": _("the registration book"),
        "consultation": _("a consultation"),
    }
    return labels.get(what, what)
