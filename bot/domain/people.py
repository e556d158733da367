"""People: the roles they have at the desk, a team member's record, and who is writing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NewType

from bot.domain.roster import DutyMode

# Everyone the bot knows has one role; residents are everyone who is not on the team.
Role = Literal["resident", "mediator", "head", "adviser", "staff"]
InviteRole = Literal["mediator", "head", "adviser"]  # the roles an invite link can give

Activity = NewType("Activity", str)
"""What a person is in the middle of: it decides where her next free text goes
(handlers/messages.py: an announcement's next step, a waiting command's text, an intake's
answer, a survey comment; with none, a message to her case). `MemberRepository.seen` works
it out on every update, first match wins: an intake draft (`DRAFTING_CASE`), an
announcement draft (`DRAFTING_ANNOUNCEMENT`), else the kind of the command that waits for
her text (a `pending_inputs` row: 'note', 'handover', a survey comment…)."""
DRAFTING_CASE = Activity("draft")
DRAFTING_ANNOUNCEMENT = Activity("announce")


@dataclass(frozen=True)
class MemberRecord:
    user_id: int
    role: Role  # never 'resident': residents have no member record
    area_id: str | None
    display_name: str
    duty_mode: DutyMode
    active: bool
    language: str | None  # the user's own choice, see bot.core.i18n.negotiate
    telegram_language: str | None
    current_case_id: int | None = None  # chosen with /case
    current_case_at: datetime | None = None  # when she chose it explicitly (None: never)
    capacity: int | None = None  # open cases she can carry (None: no limit)


@dataclass(frozen=True)
class Person:
    id: int
    locale: str
    role: Role
    member: MemberRecord | None = None
    admin: bool = False  # listed in the config's staff.admins
    busy: Activity | None = None  # what she is in the middle of, if anything

    @property
    def is_staff(self) -> bool:
        return self.admin or self.role == "staff"

    @property
    def is_mediator(self) -> bool:
        """Mediators and the head: they take cases."""
        return self.role in ("mediator", "head")

    @property
    def is_head(self) -> bool:
        return self.role == "head"

    @property
    def needs_display_name(self) -> bool:
        return self.member is not None and self.role != "staff" and not self.member.display_name
