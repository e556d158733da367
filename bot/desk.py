"""A mediator's desk tools: saved phrases (常用语, /phrases) and her capacity (/capacity).

A phrase is sent in two taps: /phrases, then the phrase. It is written into her own chat
first (so it has a message of its own there, as if she had typed it) and then goes through
the relay like anything she writes: to the case she chose, or she is asked which.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Config
from bot.errors import DomainError, NotAllowedError, StaleActionError
from bot.i18n import _
from bot.messaging import Button, Messenger, Outgoing, rows
from bot.people import Person
from bot.relay import Envelope, RelayService
from storage.cases import MessagePart
from storage.members import MemberRepository

PHRASE_PREFIX = "ph:"  # ph:s:<index> (the society's list) or ph:m:<id> (her own)
MAX_PHRASE = 300
MAX_PHRASES = 20
MAX_CAPACITY = 50


class CapacityUsageError(DomainError):
    def user_message(self) -> str:
        return _("Send /capacity and a number, such as /capacity 5, or /capacity off for no limit.")


class DeskService:
    def __init__(
        self,
        *,
        relay: RelayService,
        members: MemberRepository,
        messenger: Messenger,
        clock: Clock,
        config: Config,
    ) -> None:
        self._relay = relay
        self._members = members
        self._messenger = messenger
        self._clock = clock
        self._config = config

    # ------------------------------------------------------------------ phrases

    async def phrases(self, person: Person, text: str) -> Outgoing:
        """/phrases: the list, one button each; `/phrases add …` saves one of her own."""
        _require_mediator(person)
        if text.startswith(("add ", "+")):
            return await self._save(person, text.removeprefix("add ").removeprefix("+").strip())
        society = self._config.desk.phrases
        own = await self._members.phrases(person.id)
        if not society and not own:
            return Outgoing(_("No saved phrases yet. Save one with /phrases add and its text."))
        buttons = [
            *(Button(_short(p), f"{PHRASE_PREFIX}s:{i}") for i, p in enumerate(society)),
            *(Button(_short(p), f"{PHRASE_PREFIX}m:{pid}") for pid, p in own),
        ]
        return Outgoing(
            _("Tap a phrase to send it. /phrases add and a text saves a new one."),
            rows(*buttons),
        )

    async def _save(self, person: Person, text: str) -> Outgoing:
        if not text:
            return Outgoing(_("Write the phrase after /phrases add."))
        if len(await self._members.phrases(person.id)) >= MAX_PHRASES:
            return Outgoing(_("You have {count} saved phrases already.").format(count=MAX_PHRASES))
        await self._members.add_phrase(person.id, text[:MAX_PHRASE], self._clock.now())
        return Outgoing(_("Saved. It is in /phrases now."))

    async def send_phrase(self, person: Person, kind: str, ref: int) -> list[Outgoing]:
        """The second tap: the phrase goes out as her message."""
        _require_mediator(person)
        text = await self._phrase(person, kind, ref)
        await self._relay.can_write(person)  # refused before anything shows in her chat
        sent = await self._messenger.send(person.id, Outgoing(text))
        if sent is None:
            raise StaleActionError
        part = MessagePart("text", text, None, person.id, sent, entities=[])  # sent anew
        fresh = await self._members.get(person.id)
        current = Person(person.id, person.locale, person.role, fresh, person.admin)
        return await self._relay.from_member(current, Envelope(part))

    async def _phrase(self, person: Person, kind: str, ref: int) -> str:
        if kind == "s" and 0 <= ref < len(self._config.desk.phrases):
            return self._config.desk.phrases[ref]
        if kind == "m":
            found = dict(await self._members.phrases(person.id)).get(ref)
            if found is not None:
                return found
        raise StaleActionError

    # ------------------------------------------------------------------ capacity

    async def capacity(self, person: Person, text: str) -> Outgoing:
        """/capacity: how many open cases she can carry; routing offers her no more."""
        _require_mediator(person)
        if not text:
            current = person.member.capacity if person.member else None
            if current is None:
                return Outgoing(
                    _("No limit is set. /capacity 5 would let routing offer you at most 5.")
                )
            return Outgoing(
                _("You carry at most {count} open cases. /capacity off removes the limit.").format(
                    count=current
                )
            )
        value = _capacity_value(text)
        await self._members.set_capacity(person.id, value)
        if value is None:
            return Outgoing(_("No limit now: new cases can come to you whenever you are on duty."))
        return Outgoing(
            _("Noted: new cases come to you only while you have fewer than {count} open.").format(
                count=value
            )
        )


def _capacity_value(text: str) -> int | None:
    if text.lower() in ("off", "none", "不限"):
        return None
    if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_CAPACITY:
        return int(text)
    raise CapacityUsageError


def _require_mediator(person: Person) -> None:
    if not person.is_mediator:
        raise NotAllowedError


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:39] + "…"
