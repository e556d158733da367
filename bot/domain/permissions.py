"""Who may do what: the one place a role is checked, with one refusal per kind.

Services call `require_*` before they act, on every command and every button press
(callback data is never a permission); a refusal is a `NotAllowedError` whose text says
who the action is for. Checks that depend on the case (is it hers?) stay with the case's
rules, and raise the same errors.
"""

from __future__ import annotations

from bot.core.errors import NotAllowedError
from bot.core.i18n import _
from bot.domain.people import Person


class StaffOnlyError(NotAllowedError):
    def user_message(self) -> str:
        return _("Sorry, this is only for the federation staff.")


class StaffOrHeadOnlyError(NotAllowedError):
    def user_message(self) -> str:
        return _("Sorry, this is only for the federation staff and the head of the society.")


def require_staff(person: Person) -> None:
    """Roster changes, mediators, invites, announcements: federation staff only."""
    if not person.is_staff:
        raise StaffOnlyError


def require_staff_or_head(person: Person) -> None:
    """Reading the roster, the overview, statistics and the access log: staff, and the
    head of the society."""
    if not (person.is_staff or person.is_head):
        raise StaffOrHeadOnlyError


def require_mediator(person: Person) -> None:
    """Case work (reopening, taking): mediators and the head; refused as "the team's"."""
    if not person.is_mediator:
        raise NotAllowedError
