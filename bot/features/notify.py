"""Writing to someone other than the person whose update is being handled."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.messaging import Messenger, Outgoing
from bot.features.people import PeopleService


class Notifier:
    """Tells one person something in their own language.

    A resident's message may make the bot write to a mediator, the head or the adviser:
    `render` runs in the recipient's locale, not in the locale of the update at hand.
    """

    def __init__(self, people: PeopleService, messenger: Messenger) -> None:
        self._people = people
        self._messenger = messenger

    async def tell(self, user_id: int, render: Callable[[], str | Outgoing]) -> int | None:
        """Send what `render` writes; the message id, or None if they blocked the bot."""
        async with self._people.speaking_to(user_id):
            message = render()
        if isinstance(message, str):
            message = Outgoing(message)
        return await self._messenger.send(user_id, message)
