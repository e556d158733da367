"""The typed context every handler receives: services and the person behind the update."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.domain.people import Person
from bot.features.services import Services
from handlers.feed import UpdateFeed


class BotData:
    """Application-wide data: the services, attached once at start (post_init)."""

    def __init__(self) -> None:
        self._services: Services | None = None
        self.feed: UpdateFeed | None = None  # set when updates start flowing

    def attach(self, services: Services) -> None:
        self._services = services

    def detach(self) -> Services | None:
        services, self._services = self._services, None
        return services

    @property
    def attached(self) -> Services | None:
        return self._services

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("services are attached in post_init; the application is not up")
        return self._services


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """One per update, shared by all handler groups; `person` is set by the first group."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._person: Person | None = None

    @property
    def services(self) -> Services:
        return self.bot_data.services

    @property
    def person(self) -> Person:
        if self._person is None:
            raise RuntimeError("no person for this update (it has no user)")
        return self._person

    @person.setter
    def person(self, person: Person) -> None:
        self._person = person
