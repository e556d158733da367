"""The relay: a resident and their mediator talk through the bot, neither seeing the other.

Every message is copied (never forwarded: no "forwarded from" header) to the other side,
under a short header whenever the conversation in that chat switches to another case.
Every pair lands in the message map, so a reply on either side threads to the right case
and message, and an edit follows its copy. The consultation with the legal adviser uses
the same machinery on its own channel: the adviser only ever talks to the mediator.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from bot.clock import Clock
from bot.config import Config
from bot.errors import DomainError, NotAllowedError, StaleActionError
from bot.i18n import _
from bot.messaging import Button, Messenger, Outgoing, rows
from bot.notify import Notifier
from bot.people import PeopleService, Person
from bot.terms import area_name, category_label, mediator_label, pseudonym_label
from storage.cases import CaseRecord, CaseRepository, MessagePart
from storage.db import Database
from storage.members import MemberRepository
from storage.privacy import PrivacyRepository
from storage.relay import Author, Channel, RelayEntry, RelayRepository

log = logging.getLogger(__name__)

PICK_PREFIX = "rl:"  # rl:<message_id>:<case_id> — which case a resident's message is for


@dataclass(frozen=True)
class Envelope:
    """A message someone sent us, without Telegram: where it is and what it replies to."""

    part: MessagePart
    reply_to: int | None = None


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


class CaseClosedError(DomainError):
    def user_message(self) -> str:
        return _("This case is closed. Reopen it with /reopen if you need to continue.")


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
        messenger: Messenger,
        clock: Clock,
        config: Config,
    ) -> None:
        self._db = db
        self._cases = cases
        self._relay = relay
        self._members = members
        self._privacy = privacy
        self._chat_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Which case a chat last showed, and each case's header in it: asked for every
        # message, written only here, so kept in memory (the database after a restart).
        self._showing: dict[int, tuple[int, Channel]] = {}
        self._headers: dict[tuple[int, int, Channel], int] = {}
        self._people = people
        self._messenger = messenger
        self._tell = Notifier(people, messenger).tell
        self._clock = clock
        self._config = config
        self.watch: ResidentWatch | None = None  # set once at start (bot.services)

    # ------------------------------------------------------------------ resident → mediator

    async def from_resident(self, person: Person, envelope: Envelope) -> list[Outgoing] | None:
        """Pass a resident's message on; None when they have no open case at all."""
        open_cases = await self._cases.open_of_resident(person.id)
        if not open_cases:
            return None
        case = await self._replied_case(person, envelope, open_cases)
        if case is None and len(open_cases) == 1:
            case = open_cases[0]
        if case is None:
            await self._relay.hold(person.id, asdict(envelope.part), self._clock.now())
            return [self._ask_which_case(envelope, open_cases)]
        return await self._resident_to_case(case, envelope)

    async def keep_only(self, person: Person, envelope: Envelope) -> None:
        """Too many messages at once: keep this one with the case, without passing it on."""
        open_cases = await self._cases.open_of_resident(person.id)
        if len(open_cases) == 1:
            await self._cases.add_message(
                open_cases[0].id, "resident", envelope.part, self._clock.now()
            )

    async def resident_picked(
        self, person: Person, message_id: int, case_id: int
    ) -> list[Outgoing]:
        """The answer to "which case is this for?": the held message goes to that case."""
        case = await self._cases.get(case_id)
        if case is None or case.resident_id != person.id or not case.is_open:
            raise NotAllowedError
        held = await self._relay.release(person.id, message_id)
        if held is None:
            raise StaleActionError
        replies = await self._resident_to_case(case, Envelope(MessagePart(**held)))
        return replies or [Outgoing(_("Sent to case {number}.").format(number=case.number))]

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
                f"{case.number} · {category_label(case.category)}",
                f"{PICK_PREFIX}{envelope.part.message_id}:{case.id}",
            )
            for case in open_cases
        ]
        return Outgoing(
            _("You have several open cases. Which one is this message for?"), rows(*buttons)
        )

    async def _resident_to_case(self, case: CaseRecord, envelope: Envelope) -> list[Outgoing]:
        if case.state != "accepted" or case.mediator_id is None:
            # Booked and mapped alone: passed on when a mediator accepts (deliver_backlog).
            await self._relay.record(
                RelayEntry(
                    case.id, "resident", envelope.part, "resident", None, True, self._clock.now()
                )
            )
            if self.watch and (told := await self.watch.waiting_message(case, envelope)):
                return told
            text = _(
                "Saved with your case {number}. It will be passed on as soon as a "
                "mediator takes the case."
            ).format(number=case.number)
            return [Outgoing(text)]
        delivered = await self._deliver(
            case, "resident", envelope, case.mediator_id, author="resident"
        )
        if not delivered:
            return [await self._mediator_unreachable(case)]
        return []

    async def deliver_backlog(self, case: CaseRecord) -> None:
        """On acceptance: what the resident wrote so far, copied to their new mediator."""
        assert case.mediator_id is not None
        for author, part, _at in await self._cases.conversation(case.id):
            if author == "resident" and not await self._deliver(
                case, "resident", Envelope(part), case.mediator_id
            ):
                return

    # ------------------------------------------------------------------ team → other side

    async def from_member(self, person: Person, envelope: Envelope) -> list[Outgoing]:
        """A mediator (or the head, or the adviser) writes in a case's conversation."""
        mapped = await self._relay.find(person.id, envelope.reply_to) if envelope.reply_to else None
        if mapped is not None and mapped.channel == "adviser":
            return await self._adviser_exchange(person, mapped.case_id, envelope)
        case_id = (
            mapped.case_id if mapped else (person.member.current_case_id if person.member else None)
        )
        if case_id is None:
            raise NoCaseChosenError
        case = await self.case_for_mediator(person, case_id)
        if case.resident_id is None:
            raise CaseClosedError
        name = person.member.display_name if person.member else None
        if not await self._deliver(
            case, "resident", envelope, case.resident_id, name, author="mediator"
        ):
            return [await self._resident_unreachable(case)]
        return []

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
            raise CaseClosedError
        return case

    async def _adviser_exchange(
        self, person: Person, case_id: int, envelope: Envelope
    ) -> list[Outgoing]:
        """Adviser ↔ mediator, about a case, never reaching the resident."""
        case = await self._cases.get(case_id)
        if case is None or case.mediator_id is None:
            raise NotAllowedError
        if person.role == "adviser" and case.adviser_id == person.id:
            await self._deliver(case, "adviser", envelope, case.mediator_id, author="adviser")
            return []
        if person.id == case.mediator_id and case.adviser_id is not None:
            await self._deliver(case, "adviser", envelope, case.adviser_id)
            return []
        raise NotAllowedError

    # ------------------------------------------------------------------ delivery

    async def _deliver(
        self,
        case: CaseRecord,
        channel: Channel,
        envelope: Envelope,
        to_chat: int,
        sender: str | None = None,
        *,
        author: Author | None = None,
    ) -> bool:
        """Copy a message across under its case's header; book it and map the pair.

        The header is sent once per case and chat. When the conversation in that chat
        switches between cases, the copy quotes its case's header (a Telegram reply) rather
        than repeating it: one message per message, and it is always clear which case it
        belongs to. A reply to an earlier message threads to that message's copy instead.
        One delivery into a chat at a time, so nothing lands between a header and its copy.

        The message is booked with its case (when `author` wrote it) as it arrives, before
        the copy, so the book keeps the order of arrival and has it even if the copy fails;
        the pair is mapped after. Both are rows queued behind (`RelayRepository.record`):
        the next message does not wait for the disk.
        """
        now = self._clock.now()
        if author is not None:
            book = RelayEntry(case.id, channel, envelope.part, author, None, False, now)
            await self._relay.record(book)
        async with self._chat_locks[to_chat]:
            copied = await self._copy_into(case, channel, envelope, to_chat, sender=sender, now=now)
        if copied is None:
            return await self._blocked(case, to_chat)
        pair = RelayEntry(case.id, channel, envelope.part, None, (to_chat, copied), True, now)
        await self._relay.record(pair)
        if case.unreachable:
            await self._cases.set_unreachable(case.id, None, now)
        return True

    async def _copy_into(
        self,
        case: CaseRecord,
        channel: Channel,
        envelope: Envelope,
        to_chat: int,
        *,
        sender: str | None,
        now: datetime,
    ) -> int | None:
        """The copy's message id in `to_chat`, after the header if it needs one; None when
        the recipient has blocked the bot."""
        reply_to = await self._peer_of(envelope)
        if await self._showing_in(to_chat) != (case.id, channel):
            header_id = await self._header_in(to_chat, case.id, channel)
            if header_id is None:  # the first message of this case here: introduce it
                if not await self._send_header(case, channel, to_chat, sender, now):
                    return None
            elif reply_to is None:
                reply_to = header_id
        mark = self.watch.mark(case, envelope.part) if self.watch else None
        copied = await self._pass_on(envelope, to_chat, reply_to, mark)
        if copied is not None:
            self._showing[to_chat] = (case.id, channel)
        return copied

    async def _send_header(
        self,
        case: CaseRecord,
        channel: Channel,
        to_chat: int,
        sender: str | None,
        now: datetime,
    ) -> bool:
        header = await self._header(case, channel, to_chat, sender)
        header_id = await self._messenger.send(to_chat, Outgoing(header))
        if header_id is None:
            return False
        await self._relay.map_pair(case.id, channel, (to_chat, header_id), None, now, outgoing=True)
        self._headers[to_chat, case.id, channel] = header_id
        self._showing[to_chat] = (case.id, channel)
        return True

    async def _showing_in(self, chat_id: int) -> tuple[int, Channel] | None:
        """The case (and channel) whose messages this chat showed last."""
        if chat_id not in self._showing:
            last = await self._relay.last_sent_to(chat_id)
            if last is None:
                return None
            self._showing[chat_id] = (last.case_id, last.channel)
        return self._showing[chat_id]

    async def _header_in(self, chat_id: int, case_id: int, channel: Channel) -> int | None:
        """The message that introduced this case in this chat, if any."""
        key = (chat_id, case_id, channel)
        if key not in self._headers:
            header_id = await self._relay.header_in(chat_id, case_id, channel)
            if header_id is None:
                return None
            self._headers[key] = header_id
        return self._headers[key]

    async def _pass_on(
        self, envelope: Envelope, to_chat: int, reply_to: int | None, mark: str | None = None
    ) -> int | None:
        """Copy the message across (never forward: no "forwarded from" header); a mark
        stands in front of its text (a text message then goes as a new one)."""
        part = envelope.part
        if part.kind == "text" and (mark or await self._privacy.is_discreet(to_chat)):
            # A copy would put the words in the phone's notification: send them as text, so
            # the messenger can put its neutral first line above them.
            text = f"{mark} {part.text or ''}" if mark else part.text or ""
            return await self._messenger.send(to_chat, Outgoing(text), reply_to=reply_to)
        caption = None if part.kind == "text" else (part.text or "")
        if mark is not None:
            caption = f"{mark} {caption}"
        return await self._messenger.copy(
            part.chat_id, part.message_id, to_chat, reply_to=reply_to, caption=caption
        )

    async def _peer_of(self, envelope: Envelope) -> int | None:
        """Thread the copy: the other side's copy of the message this one replies to."""
        if envelope.reply_to is None:
            return None
        mapped = await self._relay.find(envelope.part.chat_id, envelope.reply_to)
        return mapped.peer_message if mapped else None

    async def _blocked(self, case: CaseRecord, chat_id: int) -> bool:
        side = "resident" if chat_id == case.resident_id else "mediator"
        if case.unreachable != side:
            now = self._clock.now()
            await self._cases.set_unreachable(case.id, side, now)
            await self._cases.add_event(case.id, "unreachable", now, side=side)
        log.info("case participant unreachable", extra={"case": case.number, "side": side})
        return False

    async def _mediator_unreachable(self, case: CaseRecord) -> Outgoing:
        await self._alert_head(case)
        return Outgoing(
            _(
                "Your mediator cannot be reached in Telegram right now. Your message "
                "is kept with case {number}, and the head of the society has been "
                "told."
            ).format(number=case.number)
        )

    async def _resident_unreachable(self, case: CaseRecord) -> Outgoing:
        return Outgoing(
            _(
                "The resident of case {number} has blocked the bot, so your message "
                "could not be delivered. The case is marked; please try the phone if "
                "they shared a number."
            ).format(number=case.number)
        )

    async def _alert_head(self, case: CaseRecord) -> None:
        def alert() -> str:
            return _(
                "The mediator of case {number} cannot be reached in Telegram (the bot "
                "is blocked). Please consider reassigning it."
            ).format(number=case.number)

        for head in await self._members.active("head"):
            if head.user_id != case.mediator_id:
                await self._tell(head.user_id, alert)

    # ------------------------------------------------------------------ edits

    async def edited(self, person: Person, part: MessagePart) -> None:
        """Someone edited a message: follow with the copy on the other side."""
        mapped = await self._relay.find(part.chat_id, part.message_id)
        if mapped is None or mapped.peer_chat is None or mapped.peer_message is None:
            return
        await self._cases.update_message_text(part.chat_id, part.message_id, part.text or "")
        is_text = part.kind == "text"
        await self._messenger.edit_copy(
            mapped.peer_chat,
            mapped.peer_message,
            text=part.text if is_text else None,
            caption=None if is_text else (part.text or ""),
        )

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
