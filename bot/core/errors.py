"""Domain errors: raised by services, turned into a friendly reply in one place (handlers)."""

from __future__ import annotations

from bot.core.i18n import _


class DomainError(Exception):
    """Something the user asked for that the rules do not allow; they get `user_message()`."""

    def user_message(self) -> str:
        return _("Sorry, that is not possible right now.")


class NotAllowedError(DomainError):
    """The user's role does not allow this action (checked on the server, always)."""

    def user_message(self) -> str:
        return _("Sorry, this is only for the mediation desk's team.")


class CaseNotFoundError(DomainError):
    """A case number that names no case (or none this person may know of)."""

    def user_message(self) -> str:
        return _("There is no case with that number.")


class StaleActionError(DomainError):
    """A button or link that no longer applies: the offer was taken, the step has passed…"""

    def user_message(self) -> str:
        return _("This button is no longer valid.")


class InviteError(DomainError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def user_message(self) -> str:
        if self.reason == "used":
            return _("This invite link has already been used. Please ask the staff for a new one.")
        if self.reason == "expired":
            return _("This invite link has expired. Please ask the staff for a new one.")
        return _("This invite link is not valid. Please ask the staff for a new one.")


class UsageError(DomainError):
    """A command that needs an argument: show how it is used."""

    def __init__(self, example: str) -> None:
        super().__init__(example)
        self.example = example

    def user_message(self) -> str:
        return _("Please write it like this: {example}").format(example=self.example)
