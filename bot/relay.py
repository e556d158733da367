"""The relay: a resident and their mediator talk through the bot, neither seeing the other.

Every message is copied (never forwarded: no "forwarded from" header) to the other side,
under a short header whenever the conversation in that chat switches to another case.
No account crosses: a contact card is sent anew with only its phone number and first name
(never the user_id it may name), a text whose entities point at an account (a text_mention,
a hidden link into Telegram) is sent anew without them, and a caption is always passed on
as plain text. The words people write are theirs and go as written, an @username typed out
included. A team member's own contact card waits for her to confirm it (it shows her
number). Copies are protected (`privacy.protect_content`): neither side can forward or save
the other's messages.
One transaction books the message with its case and queues its copy in the outbox
(bot/outbox.py); the sender copies it, maps the pair (a reply on either side then threads
to the right case and message, an edit follows its copy) and marks the entry delivered —
or undelivered, telling the writer why. The consultation with the legal adviser uses the
same machinery on its own channel: the adviser only ever talks to the mediator.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import Config
from bot.errors import DomainError, NotAllowedError, StaleActionError
from bot.i18n import _
from bot.messaging import Button, DeliveryRefused, Messenger, Outgoing, RefusalReason, rows
from bot.outbox import Outbox, OutboxMessenger
from bot.people import PeopleService, Person
from bot.terms import area_name, category_label, mediator_label, party_label, pseudonym_label
from storage.cases import BookEntry, CaseRecord, CaseRepository, Delivery, MessagePart
from storage.db import Database
from storage.members import MemberRepository
from storage.outbox import OutboxRow
from storage.parties import PartyRecord, PartyRepository
from storage.privacy import PrivacyRepository
from storage.relay import Author, Channel, RelayRepository

log = logging.getLogger(__name__)

PICK_PREFIX = "rl:"  # rl:<message_id>:<case_id> — which case a resident's message is for
HELD_PREFIX = "rh:"  # rh:<case_id> — pass on the messages held by the flood limit
CARD_PREFIX = "rk:"  # rk:<message_id>:<case_id>:yes|no — send a member's own contact card?
MEMBER_PICK_PREFIX = "rm:"  # rm:<message_id>:<case_id> — which case a mediator's message is for
RECALL_PREFIX = "rc:"  # rc:<book entry id> — take a relayed message back from the resident
# Telegram lets a bot delete a message for everyone within 48 hours of sending it.
RECALL_WINDOW = timedelta(hours=48)
# Entities that name an account without showing it: a text_mention carries the user, a
# text_link can hide tg://user?id=… or t.me/… behind any words.
ACCOUNT_LINK = re.compile(r"^\s*(tg:|(https?://)?(www\.)?(t\.me|telegram\.(me|dog))/)", re.I)
COPY, HEADER, EDIT = "relay", "relay_header", "relay_edit"  # outbox purposes


@dataclass(frozen=True)
class Envelope:
    """A message someone sent us, without Telegram: where it is and what it replies to."""

    part: MessagePart
    reply_to: int | None = None
    own_card: bool = False  # a contact card of the writer's own account


@dataclass(frozen=True)
class Route:
    """Where a message of a case goes: its channel, the other side, the writer."""

    case: CaseRecord
    channel: Channel
    to_chat: int
    author: Author
    sender: str | None = None  # the mediator's display name, for the resident's header


class ResidentWatch(Protocol):
    """Looks at residents' messages on their way (bot.urgent: someone in danger)."""

    async def waiting_message(self, case: CaseRecord, envelope: Envelope) -> list[Outgoing] | None:
        """A message for a case nobody has yet: what the resident is told, or None for the
        usual answer."""
        ...

    def mark(self, case: CaseRecord, part: MessagePart) -> str | None:
        """A mark for the copy of this message (🔴), or None."""
        ...


class NoCaseChosenError(DomainError):
    def user_message(self) -> str:
        return _(
            "Which case is this for? Reply to a message of the case, or choose one with /case."
        )


class CaseNotYoursError(NotAllowedError):
    def user_message(self) -> str:
        return _("This case is not assigned to you.")


class PartyGoneError(DomainError):
    def user_message(self) -> str:
        return _("The other party is no longer taking part in this mediation.")


class PartyCardError(DomainError):
    def user_message(self) -> str:
        return _(
            "Your own contact card is not passed on to the other party: it shows your "
            "number. Type a number if you want to give one."
        )


class CaseClosedError(DomainError):
    def user_message(self) -> str:
        return _("This case is closed. Reopen it with /reopen if you need to continue.")


class CaseErasedError(DomainError):
    """The resident erased her data (/forget): the case has ended for good."""

    def user_message(self) -> str:
        return _(
            "The resident withdrew this case and had her data erased. It has ended and "
            "cannot be reopened; nothing can reach her any more."
        )


class EditRefusedError(DomainError):
    """An edit that may not change the copy or the book; the original stays as it was."""

    def __init__(self, closed: bool) -> None:
        super().__init__()
        self.closed = closed

    def user_message(self) -> str:
        if self.closed:
            return _(
                "This case is closed, so your edit was not passed on. The registration "
                "book keeps the message as it was."
            )
        return _(
            "You can no longer write in this case, so your edit was not passed on. The "
            "registration book keeps the message as it was."
        )


class RelayService:
    def __init__(
        self,
        *,
        db: Database,
        cases: CaseRepository,
        relay: RelayRepository,
        members: MemberRepository,
        privacy: PrivacyRepository,
        people: PeopleService,
        outbox: Outbox,
        transport: Messenger,
        telegram: Messenger,
        clock: Clock,
        config: Config,
    ) -> None:
        self._db = db
        self._cases = cases
        self._relay = relay
        self._members = members
        self._privacy = privacy
        self._parties = PartyRepository(db)  # the other party of a two-party case
        self._people = people
        self._outbox = outbox
        # What the sender calls: Telegram, through discreet mode or (for a chat that is not
        # in discreet mode) straight.
        self._transport = transport
        self._telegram = telegram
        self._clock = clock
        self._config = config
        self.watch: ResidentWatch | None = None  # set once at start (bot.services)
        outbox.register(COPY, _CopyDeliverer(self))
        outbox.register(HEADER, _HeaderDeliverer(self))
        outbox.register(EDIT, _EditDeliverer(self))

    # ------------------------------------------------------------------ resident → mediator

    async def from_resident(self, person: Person, envelope: Envelope) -> list[Outgoing] | None:
        """Pass a resident's message on; None when they have no open case at all."""
        case = await self._resident_case(person, envelope)
        if case is None:
            return None
        if isinstance(case, Outgoing):
            return [case]
        return await self._resident_to_case(case, envelope)

    async def _resident_case(
        self, person: Person, envelope: Envelope
    ) -> CaseRecord | Outgoing | None:
        """The case a resident's message is for, or the question "which one?" (the message
        waits for the answer), or None when she has no open case."""
        revisited = await self._revisit_reply(person, envelope)
        if revisited is not None:
            return revisited
        open_cases = await self._open_cases_of(person.id)
        if not open_cases:
            return None
        case = await self._replied_case(person, envelope, open_cases)
        if case is None and len(open_cases) == 1:
            case = open_cases[0]
        if case is None:
            await self._relay.hold(person.id, asdict(envelope.part), self._clock.now())
            return self._ask_which_case(envelope, open_cases)
        return case

    async def _open_cases_of(self, user_id: int) -> list[CaseRecord]:
        """Her own open cases, and those she takes part in as the other party."""
        found = await self._cases.open_of_resident(user_id)
        for party in await self._parties.of_user(user_id):
            case = await self._cases.get(party.case_id)
            if case is not None and case.is_open and case.state == "accepted":
                found.append(case)
        return found

    async def party_of(self, case: CaseRecord) -> PartyRecord | None:
        """The case's other party while they take part, else None."""
        party = await self._parties.get(case.id)
        return party if party is not None and party.taking_part else None

    async def _is_party(self, case: CaseRecord, user_id: int) -> bool:
        party = await self.party_of(case)
        return party is not None and party.user_id == user_id

    async def resident_picked(
        self, person: Person, message_id: int, case_id: int
    ) -> list[Outgoing]:
        """The answer to "which case is this for?": the held message goes to that case."""
        case = await self._cases.get(case_id)
        if case is None or not case.is_open:
            raise NotAllowedError
        if case.resident_id != person.id and not await self._is_party(case, person.id):
            raise NotAllowedError
        held = await self._relay.release(person.id, message_id)
        if held is None:
            raise StaleActionError
        replies = await self._resident_to_case(case, Envelope(MessagePart(**held)))
        return replies or [Outgoing(_("Sent to case {number}.").format(number=case.number))]

    async def _revisit_reply(self, person: Person, envelope: Envelope) -> CaseRecord | None:
        """A reply to a message of her settled case while its revisits last."""
        if envelope.reply_to is None:
            return None
        mapped = await self._relay.find(person.id, envelope.reply_to)
        case = await self._cases.get(mapped.case_id) if mapped else None
        if case is None or case.resident_id != person.id or not self.in_revisits(case):
            return None
        return case

    def in_revisits(self, case: CaseRecord) -> bool:
        """Settled, and still within its revisits (or desk.revisit_chat_days, if longer):
        mediator and resident may still write to each other by replying."""
        if case.state != "settled" or case.closed_at is None or case.mediator_id is None:
            return False
        days = max(self._config.desk.revisit_chat_days, *self._config.revisits.offsets_days)
        return self._clock.now() <= case.closed_at + timedelta(days=days + 1)

    async def _replied_case(
        self, person: Person, envelope: Envelope, open_cases: list[CaseRecord]
    ) -> CaseRecord | None:
        if envelope.reply_to is None:
            return None
        mapped = await self._relay.find(person.id, envelope.reply_to)
        return next((c for c in open_cases if mapped and c.id == mapped.case_id), None)

    def _ask_which_case(self, envelope: Envelope, open_cases: list[CaseRecord]) -> Outgoing:
        buttons = [
            Button(
                f"{case.number} · {category_label(self._config, case.category)}",
                f"{PICK_PREFIX}{envelope.part.message_id}:{case.id}",
            )
            for case in open_cases
        ]
        return Outgoing(
            _("You have several open cases. Which one is this message for?"), rows(*buttons)
        )

    async def _resident_to_case(self, case: CaseRecord, envelope: Envelope) -> list[Outgoing]:
        if case.state not in ("accepted", "settled") or case.mediator_id is None:
            # Booked and mapped alone: passed on when a mediator accepts (deliver_backlog).
            async with self._db.transaction():
                booked = await self._book(
                    case, "resident", "resident", envelope.part, "pending", alone=True
                )
            if booked is None:
                return []  # booked already: Telegram delivered the update again
            if self.watch and (told := await self.watch.waiting_message(case, envelope)):
                return told
            text = _(
                "Saved with your case {number}. It will be passed on as soon as a "
                "mediator takes the case."
            ).format(number=case.number)
            return [Outgoing(text)]
        channel: Channel = "resident"
        if case.resident_id != envelope.part.chat_id:  # the other party, checked just before
            channel = "party"
        route = Route(case, channel, case.mediator_id, "resident")
        await self._relay_message(route, envelope)
        return []

    async def deliver_backlog(self, case: CaseRecord) -> None:
        """On acceptance: what the resident wrote so far, copied to their new mediator."""
        assert case.mediator_id is not None
        route = Route(case, "resident", case.mediator_id, "resident")
        async with self._db.transaction():
            for entry in await self._cases.book(case.id):
                if entry.author == "resident" and entry.edit_of is None:
                    await self._queue_copy(route, Envelope(entry.part), entry.id, mapped_alone=True)

    # ------------------------------------------------------------------ team → other side

    async def from_member(self, person: Person, envelope: Envelope) -> list[Outgoing]:
        """A mediator (or the head, or the adviser) writes in a case's conversation; her own
        contact card waits until she confirms that the resident may have her number."""
        route = await self._member_route(person, envelope)
        if route is None:  # several conversations and no fresh choice: ask, holding it
            await self._relay.hold(person.id, asdict(envelope.part), self._clock.now())
            return [await self._ask_member_case(person, envelope.part.message_id)]
        if envelope.own_card and route.channel == "party":
            raise PartyCardError
        if envelope.own_card and route.to_chat == route.case.resident_id:
            await self._relay.hold(person.id, asdict(envelope.part), self._clock.now())
            return [self._ask_own_card(route.case, envelope.part.message_id)]
        await self._relay_message(route, envelope)
        return []

    def _ask_own_card(self, case: CaseRecord, message_id: int) -> Outgoing:
        data = f"{CARD_PREFIX}{message_id}:{case.id}"
        return Outgoing(
            _(
                "This contact card shows your own phone number to the resident of case "
                "{number}. Send it?"
            ).format(number=case.number),
            rows(
                Button(_("Yes, send my number"), f"{data}:yes"),
                Button(_("No, don't send it"), f"{data}:no"),
                per_row=2,
            ),
        )

    async def own_card_answered(
        self, person: Person, message_id: int, case_id: int, send: bool
    ) -> list[Outgoing]:
        """Her answer: the card goes to the case's resident (checked again now), or not."""
        case = await self.case_for_mediator(person, case_id)
        if case.resident_id is None:
            raise CaseClosedError
        held = await self._relay.release(person.id, message_id)
        if held is None:
            raise StaleActionError
        if not send:
            return [Outgoing(_("Your number was not sent."))]
        name = person.member.display_name if person.member else None
        route = Route(case, "resident", case.resident_id, "mediator", name)
        await self._relay_message(route, Envelope(MessagePart(**held)))
        return []

    async def _member_route(self, person: Person, envelope: Envelope) -> Route | None:
        """Where a team member's message goes: the resident, or the adviser's channel;
        None when she has several conversations and has not chosen one lately."""
        mapped = await self._relay.find(person.id, envelope.reply_to) if envelope.reply_to else None
        if mapped is not None and mapped.channel == "adviser":
            return await self._adviser_route(person, mapped.case_id)
        if mapped is not None:
            case = await self._writable(person, mapped.case_id)
            # A reply is an explicit choice: what she writes next without one goes there too.
            await self._members.set_current_case(person.id, case.id, self._clock.now())
            return await self._route_in(person, case, mapped.channel == "party")
        case_id = await self._unquoted_case(person)
        if case_id is None:
            return None
        case = await self._writable(person, case_id)
        return await self._route_in(person, case, await self._focus_on_party(person, case))

    async def _focus_on_party(self, person: Person, case: CaseRecord) -> bool:
        return await self._parties.focus(person.id, case.id) == "party"

    async def _route_in(self, person: Person, case: CaseRecord, to_party: bool) -> Route:
        """To the case's resident, or to its other party."""
        if not to_party:
            return self._to_resident(person, case)
        party = await self.party_of(case)
        if party is None or party.user_id is None or case.no_mediation:
            raise PartyGoneError
        name = person.member.display_name if person.member else None
        return Route(case, "party", party.user_id, "mediator", name)

    async def can_write(self, person: Person) -> None:
        """Raises what an unquoted message of hers would meet (no case, not hers…)."""
        case_id = await self._unquoted_case(person)
        if case_id is not None:
            case = await self._writable(person, case_id)
            await self._route_in(person, case, await self._focus_on_party(person, case))

    async def _writable(self, person: Person, case_id: int) -> CaseRecord:
        """Her case, open — or settled and still within its revisits."""
        case = await self.case_for_mediator(person, case_id, ("accepted", "settled"))
        if case.state == "settled" and not self.in_revisits(case):
            raise CaseClosedError
        return case

    def _to_resident(self, person: Person, case: CaseRecord) -> Route:
        if case.resident_id is None:
            raise CaseErasedError
        name = person.member.display_name if person.member else None
        return Route(case, "resident", case.resident_id, "mediator", name)

    async def _unquoted_case(self, person: Person) -> int | None:
        """The case an unquoted message is for: the one she chose in the last few minutes;
        else her only conversation; None when she has several (she is asked)."""
        member = person.member
        if not person.is_mediator or member is None:
            raise NoCaseChosenError
        current, chosen_at = member.current_case_id, member.current_case_at
        window = timedelta(minutes=self._config.desk.choice_minutes)
        if current is not None and chosen_at and self._clock.now() - chosen_at <= window:
            return current
        conversations = await self.conversations(person)
        if len(conversations) > 1:
            return None
        if current is not None:
            return current
        if conversations:
            return conversations[0].id
        raise NoCaseChosenError

    async def conversations(self, person: Person) -> list[CaseRecord]:
        """Her cases whose resident she can write to now, newest first."""
        return [
            c
            for c in await self._cases.of_mediator(person.id)
            if c.state == "accepted" and c.resident_id is not None
        ]

    async def _ask_member_case(self, person: Person, message_id: int) -> Outgoing:
        cases = await self.conversations(person)
        current = person.member.current_case_id if person.member else None
        if current is not None and current not in {c.id for c in cases}:
            chosen = await self._cases.get(current)
            if chosen is not None and chosen.state == "accepted" and chosen.resident_id:
                cases.append(chosen)
        buttons = [
            Button(case_label(self._config, case), f"{MEMBER_PICK_PREFIX}{message_id}:{case.id}")
            for case in cases
        ]
        return Outgoing(
            _(
                "You have several conversations open. Which case is this message for? It "
                "waits here until you choose."
            ),
            rows(*buttons),
        )

    async def member_picked(self, person: Person, message_id: int, case_id: int) -> list[Outgoing]:
        """Her answer to "which case?": the held message goes there, and that case is her
        explicit choice for the next few minutes."""
        case = await self.case_for_mediator(person, case_id)
        route = await self._route_in(person, case, await self._focus_on_party(person, case))
        held = await self._relay.release(person.id, message_id)
        if held is None:
            raise StaleActionError
        await self._members.set_current_case(person.id, case.id, self._clock.now())
        part = MessagePart(**held)
        if part.kind == "contact" and route.channel == "party":
            raise PartyCardError
        if part.kind == "contact":  # it may be her own number: she confirms first
            await self._relay.hold(person.id, held, self._clock.now())
            return [self._ask_own_card(case, message_id)]
        await self._relay_message(route, Envelope(part))
        return []

    # ------------------------------------------------------------------ recall

    async def recall(self, person: Person, entry_id: int) -> Outgoing:
        """撤回: delete the resident's copy of her message, while Telegram allows it; the
        book keeps the message and records the recall. Checked again on every press."""
        entry = await self._cases.entry(entry_id)
        if entry is None or entry.author != "mediator" or entry.part.chat_id != person.id:
            raise NotAllowedError
        case = await self._writable(person, entry.case_id)
        events = await self._cases.events(case.id)
        if any(e.kind == "recalled" and e.detail.get("entry") == entry.id for e in events):
            raise StaleActionError
        mapped = await self._relay.find(person.id, entry.part.message_id)
        if mapped is None or mapped.peer_chat is None or mapped.peer_message is None:
            raise StaleActionError
        now = self._clock.now()
        if now - entry.at > RECALL_WINDOW:
            return Outgoing(_("Too late to recall: Telegram allows it for 48 hours only."))
        deleted = await OutboxMessenger(self._outbox).delete(mapped.peer_chat, mapped.peer_message)
        if not deleted:
            return Outgoing(_("Telegram did not let me recall this message."))
        await self._cases.add_event(case.id, "recalled", now, actor_id=person.id, entry=entry.id)
        return Outgoing(
            _("Recalled: the resident of case {number} no longer sees it.").format(
                number=case.number
            )
        )

    async def case_for_mediator(
        self, person: Person, case_id: int, states: tuple[str, ...] = ("accepted",)
    ) -> CaseRecord:
        """The case, if this person may act on it now: its mediator, or the head."""
        case = await self._cases.get(case_id)
        if case is None or not person.is_mediator:
            raise NotAllowedError
        if case.mediator_id != person.id and not person.is_head:
            raise CaseNotYoursError
        if case.state not in states:
            raise CaseErasedError if case.resident_id is None else CaseClosedError
        return case

    async def _adviser_route(self, person: Person, case_id: int) -> Route:
        """Adviser ↔ mediator, about a case, never reaching the resident."""
        case = await self._cases.get(case_id)
        if case is None or case.mediator_id is None:
            raise NotAllowedError
        if person.role == "adviser" and case.adviser_id == person.id:
            return Route(case, "adviser", case.mediator_id, "adviser")
        if person.id == case.mediator_id and case.adviser_id is not None:
            return Route(case, "adviser", case.adviser_id, "mediator")
        raise NotAllowedError

    # ------------------------------------------------------------------ the flood limit

    async def hold(self, person: Person, envelope: Envelope) -> Outgoing | None:
        """Over the flood limit: keep the message in the book, held, and tell the other
        side once that messages are waiting; None when it belongs to no conversation."""
        route = await self._flood_route(person, envelope)
        if route is None or route.channel == "party":
            return None  # held messages are released by case, not by party: asked to wait
        async with self._db.transaction():
            first = not await self._cases.entries_in(route.case.id, "held")
            case, channel, author = route.case, route.channel, route.author
            if await self._book(case, channel, author, envelope.part, "held", alone=True) is None:
                return None
            if first:
                await self._queue_held_notice(route)
        if route.author == "resident":
            return Outgoing(
                _(
                    "You are writing very fast. Your messages are kept with your case, "
                    "and your mediator has been told they are waiting for her."
                )
            )
        return Outgoing(
            _(
                "You are writing very fast. Your messages are kept in the registration "
                "book and held for now; the other side has been told and can receive them "
                "with one tap."
            )
        )

    async def _flood_route(self, person: Person, envelope: Envelope) -> Route | None:
        if person.is_mediator or person.role == "adviser":
            try:
                return await self._member_route(person, envelope)  # None: not chosen
            except DomainError:
                return None
        case = await self._resident_case(person, envelope)
        if not isinstance(case, CaseRecord) or case.mediator_id is None:
            return None
        channel: Channel = "resident" if case.resident_id == person.id else "party"
        return Route(case, channel, case.mediator_id, "resident")

    async def _queue_held_notice(self, route: Route) -> None:
        async with self._people.speaking_to(route.to_chat):
            text = _(
                "Case {number}: more messages are waiting. They were written very fast, "
                "so they were held back. Press the button when you are ready for them."
            ).format(number=route.case.number)
            button = Button(_("Show the waiting messages"), f"{HELD_PREFIX}{route.case.id}")
        await self._outbox.queue_message(route.to_chat, Outgoing(text, rows(button)))

    async def release_held(self, person: Person, case_id: int) -> list[Outgoing]:
        """The other side asks for the held messages: they go now, in order."""
        case = await self._cases.get(case_id)
        if case is None or not case.is_open:
            raise StaleActionError
        if person.id == case.resident_id:
            author: Author = "mediator"
        elif person.id == case.mediator_id or person.is_head:
            author = "resident"
        else:
            raise NotAllowedError
        held = [e for e in await self._cases.entries_in(case.id, "held") if e.author == author]
        if not held:
            raise StaleActionError
        route = self._route_for(case, author)
        said = _("Passing on {count} waiting messages.").format(count=len(held))
        async with self._db.transaction():
            await self._outbox.queue_message(person.id, Outgoing(said))  # before them, in order
            for entry in held:
                await self._cases.set_delivery(entry.id, "pending")
                await self._queue_copy(route, Envelope(entry.part), entry.id, mapped_alone=True)
        return []

    def _route_for(self, case: CaseRecord, author: Author) -> Route:
        if author == "resident":
            assert case.mediator_id is not None
            return Route(case, "resident", case.mediator_id, "resident")
        assert case.resident_id is not None
        return Route(case, "resident", case.resident_id, "mediator")

    # ------------------------------------------------------------------ queueing

    async def _relay_message(self, route: Route, envelope: Envelope) -> None:
        """Book the message and queue its copy, together; a message already booked (an
        update Telegram delivered again after a crash) is not booked or sent twice."""
        case, channel, author = route.case, route.channel, route.author
        async with self._db.transaction():
            entry_id = await self._book(case, channel, author, envelope.part, "pending")
            if entry_id is not None:
                await self._queue_copy(route, envelope, entry_id, mapped_alone=False)
            if entry_id is not None and case.state == "settled":  # the book: under the revisits
                now = self._clock.now()
                await self._cases.add_event(case.id, "revisit_message", now, entry=entry_id)

    async def _book(
        self,
        case: CaseRecord,
        channel: Channel,
        author: Author,
        part: MessagePart,
        delivery: Delivery,
        *,
        alone: bool = False,
    ) -> int | None:
        """The message in the case's book; None when it is there already. A message that
        waits (for a mediator, or held) is also mapped alone to its case, so that a reply
        to it threads there; one on its way is mapped with its copy."""
        now = self._clock.now()
        entry_id = await self._cases.book_once(case.id, author, part, now, delivery)
        if entry_id is not None and alone:
            await self._relay.map_alone(
                case.id, channel, (part.chat_id, part.message_id), now, outgoing=False
            )
        return entry_id

    async def _queue_copy(
        self, route: Route, envelope: Envelope, entry_id: int | None, *, mapped_alone: bool
    ) -> None:
        """Queue the copy, after the case's header if this chat has not seen it yet.

        When the conversation in that chat switches between cases, the copy quotes its
        case's header (a Telegram reply) rather than repeating it: one message per message,
        and it is always clear which case it belongs to. A reply to an earlier message
        threads to that message's counterpart instead. Both are worked out when the copy
        is sent, once the messages before it in that chat have their ids.
        """
        case, channel, to_chat = route.case, route.channel, route.to_chat
        reply: dict[str, Any] | None = None
        if envelope.reply_to is not None:
            reply = {"peer_of": [envelope.part.chat_id, envelope.reply_to]}
        view = await self._relay.view_of(to_chat, case.id, channel)
        if view.showing != (case.id, channel):
            if view.header_id is None:
                await self._queue_header(route)
            elif reply is None:
                reply = {"header": True}
            await self._relay.set_showing(to_chat, case.id, channel)
        part = envelope.part
        payload = {
            "channel": channel,
            "source": [part.chat_id, part.message_id],
            "kind": part.kind,
            "text": part.text,
            "entities": part.entities,
            "contact": part.contact,
            "reply": reply,
            "mark": self.watch.mark(case, part) if self.watch else None,
            "alone": mapped_alone,
            "unreachable": case.unreachable is not None,
            "confirm": await self._confirmation(route, part.chat_id),
        }
        await self._outbox.put(to_chat, COPY, payload, case_id=case.id, book_id=entry_id)

    async def handed_over(self, case: CaseRecord, name: str | None) -> None:
        """After a handover the resident's chat gets a header with her new mediator's name:
        what comes next (and a reply to it) is under that one, never the old name."""
        if case.resident_id is None or case.mediator_id is None:
            return
        route = Route(case, "resident", case.resident_id, "mediator", name)
        async with self._db.transaction():
            await self._queue_header(route)
            await self._relay.set_showing(case.resident_id, case.id, "resident")

    async def _queue_header(self, route: Route) -> None:
        header = await self._header(route.case, route.channel, route.to_chat, route.sender)
        payload = {"channel": route.channel, "text": header}
        await self._outbox.put(route.to_chat, HEADER, payload, case_id=route.case.id)

    # ------------------------------------------------------------------ delivery (sender)

    async def send_copy(self, row: OutboxRow) -> int:
        """Pass a queued message across, carrying no account; its id in the other chat."""
        copied = await self._pass_on(row, await self._resolve_reply(row))
        if copied is None:
            raise DeliveryRefused("blocked")
        return copied

    async def _pass_on(self, row: OutboxRow, reply_to: int | None) -> int | None:
        p, to_chat = row.payload, row.chat_id
        protect = self._config.privacy.protect_content
        mark, entities = p.get("mark"), p.get("entities")
        discreet = await self._privacy.is_discreet(to_chat)
        # Asked once, here: the discreet messenger words what a discreet chat gets.
        messenger = self._transport if discreet else self._telegram
        contact = p.get("contact")
        if p["kind"] == "contact" and contact:  # sent anew: a copy would name the account
            return await messenger.send_contact(
                to_chat,
                contact["phone_number"],
                contact["first_name"],
                reply_to=reply_to,
                protect=protect,
            )
        if p["kind"] == "text" and (mark or discreet or entities is not None):
            # Sent as new text rather than copied: in discreet mode, so the messenger can
            # put its neutral first line above the words (a copy would show them in the
            # phone's notification); with a mark (🔴) in front of them; or without an
            # entity that names an account. Any line put in front drops the entities.
            text = f"{mark} {p['text'] or ''}" if mark else p["text"] or ""
            keep = tuple(entities) if entities is not None and not (mark or discreet) else ()
            message = Outgoing(text, entities=keep, protect=protect)
            return await messenger.send(to_chat, message, reply_to=reply_to)
        from_chat, message_id = p["source"]
        caption = None if p["kind"] == "text" else (p["text"] or "")  # plain: no entities
        if mark is not None:
            caption = f"{mark} {caption}"
        return await messenger.copy(
            from_chat, message_id, to_chat, reply_to=reply_to, caption=caption, protect=protect
        )

    async def _resolve_reply(self, row: OutboxRow) -> int | None:
        reply = row.payload["reply"]
        if reply is None:
            return None
        if "peer_of" in reply:
            chat_id, message_id = reply["peer_of"]
            return await self._relay.peer_in(chat_id, message_id, row.chat_id)
        assert row.case_id is not None
        return await self._relay.header_in(row.chat_id, row.case_id, row.payload["channel"])

    async def copy_delivered(self, row: OutboxRow, copied: int) -> None:
        assert row.case_id is not None
        if row.book_id is not None and not await self._cases.set_delivery(row.book_id, "delivered"):
            return  # erased or purged while the copy was on its way: nothing comes back
        now = self._clock.now()
        source = tuple(row.payload["source"])
        await self._relay.map_copy(
            row.case_id,
            row.payload["channel"],
            (source[0], source[1]),
            (row.chat_id, copied),
            now,
            mapped_alone=row.payload.get("alone", True),
        )
        if row.payload.get("unreachable", True):
            await self._cases.reachable_again(row.case_id, now)
        confirm = row.payload.get("confirm")
        if confirm and row.book_id is not None:
            await self._confirm_sent(confirm, row.book_id, (source[0], source[1]))

    async def _confirmation(self, route: Route, writer: int) -> dict[str, str] | None:
        """Worded when the copy is queued, in the writer's language: the quiet line that
        says where a mediator's message went (sent once the copy is through)."""
        if route.author != "mediator" or route.channel == "adviser":
            return None
        case = route.case
        party = await self.party_of(case) if route.channel == "party" else None
        async with self._people.speaking_to(writer):
            who = party_label(party.pseudonym) if party else pseudonym_label(case.pseudonym)
            return {"text": f"→ {case.number} · {who}", "label": _("Recall")}

    async def _confirm_sent(
        self, confirm: dict[str, str], entry_id: int, source: tuple[int, int]
    ) -> None:
        """Under her message: where it went, and 撤回 to take it back. At the conversation's
        priority: a lower one would hold the chat's next copies behind it while other chats
        keep the pacer busy."""
        button = Button(confirm["label"], f"{RECALL_PREFIX}{entry_id}")
        message = Outgoing(confirm["text"], rows(button), quiet=True)
        await self._outbox.queue_message(source[0], message, reply_to=source[1])

    async def copy_refused(self, row: OutboxRow, reason: RefusalReason) -> None:
        """Telegram would not take the copy: the book says so, and the writer is told."""
        if row.book_id is not None and not await self._cases.set_delivery(
            row.book_id, "undelivered", reason
        ):
            return  # erased meanwhile
        case = await self._cases.get(row.case_id) if row.case_id is not None else None
        if case is None:
            return
        writer, message_id = row.payload["source"]
        if not row.payload.get("alone", True):  # its case stays known for a reply to it
            await self._relay.map_alone(
                case.id,
                row.payload["channel"],
                (writer, message_id),
                self._clock.now(),
                outgoing=False,
            )
        if reason == "blocked":
            await self._mark_unreachable(case, row.chat_id)
        async with self._people.speaking_to(writer):
            to_party = row.chat_id not in (case.mediator_id, case.adviser_id)
            text = _not_delivered(reason, case, to_party)
        await self._outbox.queue_message(writer, Outgoing(text), reply_to=message_id)
        if reason == "blocked" and row.chat_id == case.mediator_id:
            await self._alert_head(case)

    async def header_delivered(self, row: OutboxRow, header_id: int) -> None:
        assert row.case_id is not None
        await self._relay.map_alone(
            row.case_id,
            row.payload["channel"],
            (row.chat_id, header_id),
            self._clock.now(),
            outgoing=True,
        )

    async def send_header(self, row: OutboxRow) -> int:
        sent = await self._transport.send(row.chat_id, Outgoing(row.payload["text"]))
        if sent is None:
            raise DeliveryRefused("blocked")
        return sent

    async def _mark_unreachable(self, case: CaseRecord, chat_id: int) -> None:
        if chat_id not in (case.resident_id, case.mediator_id):
            return  # the other party: the mediator was told, the case is not marked
        side = "resident" if chat_id == case.resident_id else "mediator"
        if case.unreachable != side:
            now = self._clock.now()
            await self._cases.set_unreachable(case.id, side, now)
            await self._cases.add_event(case.id, "unreachable", now, side=side)
        log.info("case participant unreachable", extra={"case": case.number, "side": side})

    async def _alert_head(self, case: CaseRecord) -> None:
        for head in await self._members.active("head"):
            if head.user_id == case.mediator_id:
                continue
            async with self._people.speaking_to(head.user_id):
                text = _(
                    "The mediator of case {number} cannot be reached in Telegram (the bot "
                    "is blocked). Please consider reassigning it."
                ).format(number=case.number)
            await self._outbox.queue_message(head.user_id, Outgoing(text))

    # ------------------------------------------------------------------ edits

    async def edited(self, person: Person, part: MessagePart) -> None:
        """Someone edited a message of a case: checked like a new message, booked as a new
        entry (the original stays readable), and the copy follows."""
        entry = await self._cases.book_entry(part.chat_id, part.message_id)
        if entry is None:
            return  # not a message of any case (an intake answer, a command)
        case = await self._cases.get(entry.case_id)
        if case is None or not case.is_open:
            raise EditRefusedError(closed=True)
        if not self._may_edit(person, case, entry, await self._is_party(case, person.id)):
            raise EditRefusedError(closed=False)
        mapped = await self._relay.find(part.chat_id, part.message_id)
        async with self._db.transaction():
            delivery: Delivery = "pending" if mapped and mapped.peer_chat else "kept"
            edit_id = await self._cases.add_message(
                case.id,
                entry.author,
                part,
                self._clock.now(),
                delivery=delivery,
                edit_of=entry.id,
            )
            if mapped is None or mapped.peer_chat is None or mapped.peer_message is None:
                return  # not passed on yet: the copy, when it goes, carries the new wording
            is_text = part.kind == "text"
            payload = {
                "message_id": mapped.peer_message,
                "text": part.text if is_text else None,
                "caption": None if is_text else (part.text or ""),
                "source": [part.chat_id, part.message_id],
            }
            await self._outbox.put(
                mapped.peer_chat, EDIT, payload, case_id=case.id, book_id=edit_id
            )

    def _may_edit(self, person: Person, case: CaseRecord, entry: BookEntry, is_party: bool) -> bool:
        """The writer of the message, while still a party of the case or its mediator."""
        if entry.author == "resident" and entry.part.chat_id != person.id:
            return False
        if entry.author == "resident":
            return case.resident_id == person.id or is_party
        if entry.author == "adviser":
            return case.adviser_id == person.id and person.role == "adviser"
        return person.is_mediator and case.mediator_id == person.id

    async def send_edit(self, row: OutboxRow) -> None:
        p = row.payload
        await self._transport.edit_copy(
            row.chat_id, p["message_id"], text=p["text"], caption=p["caption"]
        )

    async def edit_refused(self, row: OutboxRow, reason: RefusalReason) -> None:
        if row.book_id is not None:
            await self._cases.set_delivery(row.book_id, "undelivered", reason)

    async def edit_delivered(self, row: OutboxRow) -> None:
        if row.book_id is not None:
            await self._cases.set_delivery(row.book_id, "delivered")

    # ------------------------------------------------------------------ headers

    async def _header(
        self, case: CaseRecord, channel: Channel, to_chat: int, sender: str | None
    ) -> str:
        """What stands above a case's messages in `to_chat`, in the reader's language.

        A mediator sees the case and the resident's pseudonym, never who they are; a
        resident sees the mediator's display name.
        """
        async with self._people.speaking_to(to_chat):
            if channel == "adviser" and to_chat == case.mediator_id:
                return _("⚖️ The legal adviser answers about case {number}:").format(
                    number=case.number
                )
            if channel == "adviser":
                return _("⚖️ The mediator of case {number} writes:").format(number=case.number)
            if channel == "party" and to_chat != case.mediator_id:
                return _("💬 {name} · case {number}").format(
                    name=mediator_label(sender), number=case.number
                )
            if channel == "party":
                party = await self._parties.get(case.id)
                who = party_label(party.pseudonym) if party else "?"
                return "📨 " + " · ".join((case.number, who, area_name(self._config, case.area_id)))
            if to_chat == case.resident_id:
                return _("💬 {name} · case {number}").format(
                    name=mediator_label(sender), number=case.number
                )
            parts = (
                case.number,
                pseudonym_label(case.pseudonym),
                area_name(self._config, case.area_id),
            )
            return "📨 " + " · ".join(parts)


def case_label(config: Config, case: CaseRecord) -> str:
    """A case on a button: number · pseudonym · topic."""
    topic = category_label(config, case.category)
    return f"{case.number} · {pseudonym_label(case.pseudonym)} · {topic}"


def without_accounts(entities: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The entities of a text (Bot API MessageEntity objects) without those that name an
    account: None when there is none, and the message can be copied as it is."""
    kept = [e for e in entities if not _names_account(e)]
    return None if len(kept) == len(entities) else kept


def _names_account(entity: dict[str, Any]) -> bool:
    if entity.get("type") == "text_mention" or "user" in entity:
        return True
    url = entity.get("url")
    return (
        entity.get("type") == "text_link" and isinstance(url, str) and bool(ACCOUNT_LINK.match(url))
    )


def _not_delivered(reason: RefusalReason, case: CaseRecord, to_resident: bool) -> str:
    """Why a message did not reach the other side of a case, in the writer's language."""
    if reason == "blocked" and to_resident:
        return _(
            "This message did not arrive: the resident of case {number} has blocked the "
            "bot. The case is marked; please try the phone if they shared a number."
        ).format(number=case.number)
    if reason == "blocked":
        return _(
            "This message did not arrive: your mediator cannot be reached in Telegram right "
            "now. It is kept with case {number}, and the head of the society has been told."
        ).format(number=case.number)
    if reason == "too_long":
        return _(
            "This message did not arrive: it is too long for Telegram. Please send it again "
            "in shorter parts."
        )
    if reason == "not_allowed":
        return _(
            "This message did not arrive: Telegram does not allow this kind of message to be "
            "passed on. Please send it another way, for example as text or a photo."
        )
    return _("This message did not arrive: Telegram refused it. Please send it again.")


class _CopyDeliverer:
    def __init__(self, relay: RelayService) -> None:
        self._relay = relay

    async def deliver(self, row: OutboxRow) -> int:
        return await self._relay.send_copy(row)

    async def delivered(self, row: OutboxRow, result: Any) -> None:
        await self._relay.copy_delivered(row, int(result))

    async def refused(self, row: OutboxRow, error: DeliveryRefused) -> None:
        await self._relay.copy_refused(row, error.reason)


class _HeaderDeliverer:
    def __init__(self, relay: RelayService) -> None:
        self._relay = relay

    async def deliver(self, row: OutboxRow) -> int:
        return await self._relay.send_header(row)

    async def delivered(self, row: OutboxRow, result: Any) -> None:
        await self._relay.header_delivered(row, int(result))

    async def refused(self, row: OutboxRow, error: DeliveryRefused) -> None:
        """The copy after it meets the same refusal and tells the writer."""


class _EditDeliverer:
    def __init__(self, relay: RelayService) -> None:
        self._relay = relay

    async def deliver(self, row: OutboxRow) -> None:
        await self._relay.send_edit(row)

    async def delivered(self, row: OutboxRow, result: Any) -> None:
        await self._relay.edit_delivered(row)

    async def refused(self, row: OutboxRow, error: DeliveryRefused) -> None:
        await self._relay.edit_refused(row, error.reason)
