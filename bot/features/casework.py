"""A mediator's case tools: list and pick cases, notes, transfer, consult, close, reopen.

Every action re-checks on the server that this person may act on this case now; a button
only says which case was on screen. Commands that need a text (a note, an agreement, a
handover note, a question for the adviser) wait for the next message in `pending_inputs`,
so a restart in between loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from functools import partial

from bot.core.callbacks import CLOSE, END, SELECT, TRANSFER, TRANSFER_CONFIRM, URGENT, WITHDRAW
from bot.core.errors import CaseNotFoundError, DomainError, NotAllowedError, StaleActionError
from bot.core.i18n import _
from bot.core.messaging import Button, Outgoing, parse_id, rows
from bot.domain.cases import WAITING_STATES, BookEntry, CaseRecord, CaseState, MessagePart
from bot.domain.people import MemberRecord, Person
from bot.domain.terms import (
    area_name,
    category_label,
    contact_label,
    mediator_label,
    party_label,
    pseudonym_label,
    state_label,
)
from bot.features.access import AccessLog
from bot.features.agreement import Agreement, agreement_text
from bot.features.book import BookPage, render, render_docx
from bot.features.cards import CaseCards
from bot.features.closing import CLOSING, ClosingService
from bot.features.deps import Deps, Feature
from bot.features.parties import PartyService
from bot.features.relay import CaseErasedError, CaseNotYoursError, NoCaseChosenError, RelayService
from bot.features.revisits import RevisitService
from bot.features.urgent import (
    CARE_REASON,
    UrgentService,
    is_waiting_urgent,
    waiting_mark,
)
from storage.relay import PendingInput

# "settled" and "not_settled": the one-step close of earlier versions, still finished.
PENDING_KINDS = ("note", CLOSING, "settled", "not_settled", "handover", "consult", CARE_REASON)
HANDOVER_CONFIRM = "handover_confirm"  # a pending input: the note written, not yet sent
OUTCOMES = ("settled", "not_settled", "withdrawn")
# A settled case still has revisits ahead: it can change hands too.
TRANSFERABLE = ("accepted", "settled")
# The head moves any case that is not closed for good: waiting ones too, urgent or not.
HEAD_MOVABLE = (*WAITING_STATES, *TRANSFERABLE)
MAX_TEXT = 2000
DIGEST_MESSAGES = 5  # the last messages a new mediator reads in the chat at a handover
DIGEST_CHARS = 80
MAX_LISTED = 40  # /cases lists the open cases and the newest closed ones, up to this many


class NothingToWithdrawError(DomainError):
    def user_message(self) -> str:
        return _("You have no open case to withdraw.")


class CaseworkService(Feature):
    def __init__(
        self,
        deps: Deps,
        *,
        relay: RelayService,
        revisits: RevisitService,
        urgent: UrgentService,
        access: AccessLog,
        parties: PartyService,
        closing: ClosingService,
    ) -> None:
        super().__init__(deps)
        self._store = deps.repos.relay
        self._parties = parties
        self._party_repo = deps.repos.parties
        self._closing = closing
        self._relay = relay
        self._revisits = revisits
        self._urgent = urgent
        self._access = access
        self._cards = CaseCards(deps.config, deps.repos.cases, deps.people)

    # ------------------------------------------------------------------ choosing a case

    async def my_cases(self, person: Person) -> Outgoing:
        """/cases: the mediator's cases with their state; buttons pick the current one."""
        if not person.is_mediator:
            raise NotAllowedError
        cases = await self._cases.of_mediator(person.id, MAX_LISTED)
        urgent = await self._urgent.waiting_for(person)
        if not cases and not urgent:
            return Outgoing(_("You have no cases yet."))
        current = person.member.current_case_id if person.member else None
        now = self._clock.now()
        lines, buttons = [], []
        if urgent:
            lines.append(_("🔴 Urgent, nobody has taken it yet:"))
        for case in urgent:
            lines.append(
                f"{case.number} · {area_name(self._config, case.area_id)} · "
                f"{waiting_mark(case, now)}"
            )
            buttons.append(
                Button(
                    _("🔴 Take {number}").format(number=case.number),
                    URGENT.pack("take", case.id),
                )
            )
        if cases:
            lines.append(_("Your cases (the current one is marked ▶):"))
        for case in cases:
            mark = "▶ " if case.id == current else ""
            lines.append(
                f"{mark}{case.number} · {category_label(self._config, case.category)} · "
                f"{_state(case)}"
            )
            if case.is_open:
                buttons.append(Button(case.number, SELECT.pack(case.id)))
        if len(cases) == MAX_LISTED:
            total = await self._cases.count_of_mediator(person.id)
            if total > MAX_LISTED:
                lines.append(
                    _(
                        "Showing {shown} of your {total} cases, open ones first. "
                        "/case <number> opens any other."
                    ).format(shown=MAX_LISTED, total=total)
                )
        return Outgoing("\n".join(lines), rows(*buttons, per_row=2))

    async def select(self, person: Person, case_ref: str) -> Outgoing:
        """/case QJS-2026-0007 (or its button): messages without a reply now go there."""
        case = await self._find(case_ref)
        case = await self._relay.case_for_mediator(person, case.id)
        async with self._db.transaction():
            await self._access.opened(person, case, "case")
            await self._members.set_current_case(person.id, case.id, self._clock.now())
        chosen = _(
            "Now talking in case {number} ({area}). Messages you write without "
            "replying go to its resident."
        ).format(number=case.number, area=area_name(self._config, case.area_id))
        lines = [chosen, *await self._cards.lines(case), await self._parties.parties_line(case)]
        return Outgoing("\n".join(lines))

    async def target(self, person: Person, reply_to: int | None) -> CaseRecord:
        """The case a command is about: the one replied to, else the current one."""
        if reply_to is not None:
            mapped = await self._store.find(person.id, reply_to)
            if mapped is not None:
                return await self._relay.case_for_mediator(person, mapped.case_id)
        current = person.member.current_case_id if person.member else None
        if current is None:
            if not person.is_mediator:
                raise NotAllowedError
            raise NoCaseChosenError
        return await self._relay.case_for_mediator(person, current)

    # ------------------------------------------------------------------ commands with text

    async def ask(self, person: Person, kind: str, case: CaseRecord, prompt: str) -> Outgoing:
        await self._store.set_pending(PendingInput(person.id, kind, case.id, {}), self._clock.now())
        return Outgoing(prompt + "\n" + _("(Send /cancel to stop.)"))

    async def named(
        self,
        person: Person,
        reply_to: int | None,
        number: str | None,
        states: tuple[str, ...] = ("accepted",),
    ) -> CaseRecord:
        """The case a command names (refused when it is not hers), else `target`."""
        if not number:
            return await self.target(person, reply_to)
        if not person.is_mediator:
            raise NotAllowedError
        found = await self._find(number)
        return await self._relay.case_for_mediator(person, found.id, states)

    async def note(
        self, person: Person, reply_to: int | None, text: str, number: str | None = None
    ) -> Outgoing:
        case = await self.named(person, reply_to, number)
        if not text:
            return await self.ask(
                person,
                "note",
                case,
                _(
                    "Write your note for case {number}. Notes are private: the "
                    "resident never sees them."
                ).format(number=case.number),
            )
        return await self._save_note(person, case, text)

    async def _save_note(self, person: Person, case: CaseRecord, text: str) -> Outgoing:
        await self._store.add_note(case.id, person.id, text[:MAX_TEXT], self._clock.now())
        await self._cases.add_event(case.id, "note", self._clock.now(), actor_id=person.id)
        return Outgoing(
            _("Note saved to case {number}. It is not sent to the resident.").format(
                number=case.number
            )
        )

    async def pending_text(self, person: Person, text: str) -> list[Outgoing] | None:
        """The text a command was waiting for; None when nothing was waiting."""
        pending = await self._store.pending(person.id)
        if pending is None or pending.kind not in PENDING_KINDS:
            return None
        await self._store.clear_pending(person.id)
        states: tuple[str, ...] = ("accepted",)
        if pending.kind == "handover":
            states = self._movable(person)
        case = await self._relay.case_for_mediator(person, pending.case_id, states)
        text = text.strip()[:MAX_TEXT]
        if pending.kind == "note":
            return [await self._save_note(person, case, text)]
        if pending.kind == CLOSING:
            return [await self._closing.typed(person, pending, text)]
        if pending.kind in ("settled", "not_settled"):
            return [await self._closing.legacy(person, case, pending.kind, text)]
        if pending.kind == "handover":
            return [await self._confirm_transfer(person, case, int(pending.data["to"]), text)]
        if pending.kind == "consult":
            return [await self._consult(person, case, text)]
        if pending.kind == CARE_REASON:
            return [await self._urgent.clear_flag(person, case, text)]
        raise StaleActionError

    async def cancel_pending(self, person: Person) -> bool:
        had = await self._store.pending(person.id) is not None
        await self._store.clear_pending(person.id)
        return had

    # ------------------------------------------------------------------ closing

    async def close_menu(
        self, person: Person, reply_to: int | None, number: str | None = None
    ) -> Outgoing:
        case = await self.named(person, reply_to, number)
        labels = {
            "settled": _("Settled (an agreement)"),
            "not_settled": _("Not settled (referred on)"),
            "withdrawn": _("Withdrawn by the resident"),
        }
        outcomes = [o for o in OUTCOMES if not (o == "settled" and case.no_mediation)]
        buttons = [Button(labels[o], CLOSE.pack(case.id, o)) for o in outcomes]
        return Outgoing(_("How did case {number} end?").format(number=case.number), rows(*buttons))

    async def choose_outcome(self, person: Person, case_id: int, outcome: str) -> Outgoing:
        """A button of /close: the closing dialogue and its preview (bot/features/closing.py)."""
        return await self._closing.outcome_chosen(person, case_id, outcome)

    async def reopen(self, person: Person, number: str) -> Outgoing:
        case = await self._find(number)
        if not person.is_mediator or (case.mediator_id != person.id and not person.is_head):
            raise NotAllowedError
        if case.is_open:
            return Outgoing(_("Case {number} is still open.").format(number=case.number))
        if case.resident_id is None:
            raise CaseErasedError
        if case.purged:
            raise CasePurgedError
        now = self._clock.now()
        async with self._db.transaction():
            await self._cases.reopen(case.id, now)
            await self._cases.add_event(case.id, "reopened", now, actor_id=person.id)
            await self._timers.cancel_case(case.id)  # no revisits of a case that is open
            await self._members.set_current_case(person.id, case.id, now)
        await self._tell_resident(case, _reopened_notice)
        return Outgoing(
            _("Case {number} is open again, and it is your current case.").format(
                number=case.number
            )
        )

    # ------------------------------------------------------------------ transfer, consult

    async def transfer_menu(
        self, person: Person, reply_to: int | None, number: str | None = None
    ) -> Outgoing:
        """/transfer (or the head's /reassign), for the current case or a numbered one."""
        if number:
            case = await self.named(person, reply_to, number, self._movable(person))
        else:
            case = await self.target(person, reply_to)
        others = [
            m
            for m in await self._members.active()
            if m.role in ("mediator", "head") and m.user_id != case.mediator_id and m.display_name
        ]
        if not others:
            return Outgoing(_("There is nobody to hand this case over to."))
        buttons = [
            Button(
                _("{name} (me)").format(name=m.display_name)
                if m.user_id == person.id
                else m.display_name,
                TRANSFER.pack(case.id, m.user_id),
            )
            for m in others
        ]
        if case.state in WAITING_STATES:
            question = _("Nobody has case {number} yet. Who takes it?")
        else:
            question = _("Hand case {number} over to whom?")
        return Outgoing(question.format(number=case.number), rows(*buttons, per_row=2))

    @staticmethod
    def _movable(person: Person) -> tuple[str, ...]:
        return HEAD_MOVABLE if person.is_head else TRANSFERABLE

    async def choose_transfer(self, person: Person, case_id: int, to_id: int) -> Outgoing:
        case = await self._relay.case_for_mediator(person, case_id, self._movable(person))
        target = await self._members.get(to_id)
        if target is None or not target.active or target.role not in ("mediator", "head"):
            raise StaleActionError
        if case.state in WAITING_STATES:  # only the head gets here: hers, or hers to give
            taken = await self._urgent.hand_to(case, to_id, actor_id=person.id, via="reassign")
            if taken is None:
                raise StaleActionError
            if to_id == person.id:
                return Outgoing(
                    _("You took case {number}. It is your current case.").format(number=case.number)
                )
            return Outgoing(
                _("Case {number} is now with {name}.").format(
                    number=case.number, name=target.display_name
                )
            )
        await self._store.set_pending(
            PendingInput(person.id, "handover", case.id, {"to": to_id}), self._clock.now()
        )
        return Outgoing(
            _(
                "Write a short handover note for {name}: what happened so far, what "
                "is agreed, what to watch out for."
            ).format(name=target.display_name)
        )

    async def _confirm_transfer(
        self, person: Person, case: CaseRecord, to_id: int, note: str
    ) -> Outgoing:
        """Before the handover: who gets the case and the note, with 确认 / 修改 / 取消."""
        target = await self._members.get(to_id)
        if target is None or not target.active:
            raise StaleActionError
        data = {"to": to_id, "note": note}
        await self._store.set_pending(
            PendingInput(person.id, HANDOVER_CONFIRM, case.id, data), self._clock.now()
        )
        text = _(
            "Hand case {number} over to {name}? She receives the case summary, the "
            "registration book and your note:\n{note}\nThe resident is told that {name} "
            "looks after the case now."
        ).format(number=case.number, name=target.display_name, note=note)
        return Outgoing(
            text,
            rows(
                Button(_("Confirm"), TRANSFER_CONFIRM.pack(case.id, "yes")),
                Button(_("Change"), TRANSFER_CONFIRM.pack(case.id, "edit")),
                Button(_("Cancel"), TRANSFER_CONFIRM.pack(case.id, "no")),
                per_row=3,
            ),
        )

    async def transfer_confirmed(self, person: Person, case_id: int, answer: str) -> Outgoing:
        """确认 hands over; 修改 asks for the note again; 取消 changes nothing."""
        pending = await self._store.pending(person.id)
        if pending is None or pending.kind != HANDOVER_CONFIRM or pending.case_id != case_id:
            raise StaleActionError
        case = await self._relay.case_for_mediator(person, case_id, self._movable(person))
        to_id = int(pending.data["to"])
        if answer == "no":
            await self._store.clear_pending(person.id)
            return Outgoing(
                _("Cancelled: case {number} stays with its mediator.").format(number=case.number)
            )
        if answer == "edit":
            return await self.choose_transfer(person, case_id, to_id)
        if answer != "yes":
            raise StaleActionError
        await self._store.clear_pending(person.id)
        return await self._transfer(person, case, to_id, str(pending.data["note"]))

    async def _transfer(self, person: Person, case: CaseRecord, to_id: int, note: str) -> Outgoing:
        target = await self._members.get(to_id)
        if target is None or not target.active:
            raise StaleActionError
        now = self._clock.now()
        async with self._db.transaction():
            await self._cases.set_state(case.id, case.state, to_id, now)
            await self._cases.add_event(
                case.id,
                "transferred",
                now,
                actor_id=person.id,
                to=to_id,
                by_head=person.is_head and case.mediator_id != person.id,
            )
            await self._store.add_note(case.id, person.id, note, now)
            await self._members.set_current_case(person.id, None)
            await self._members.set_current_case(to_id, case.id)
        await self._hand_history(case, target, note)
        await self._tell_resident(case, _transferred_notice, target.display_name)
        moved = await self._cases.get(case.id)
        if moved is not None:
            await self._relay.handed_over(moved, target.display_name)
        return Outgoing(
            _("Case {number} is now with {name}.").format(
                number=case.number, name=target.display_name
            )
        )

    async def _hand_history(self, case: CaseRecord, target: MemberRecord, note: str) -> None:
        """The new mediator gets the case so far: the card and the note, a short digest of
        the last messages, and the registration book (recorded as read by her)."""
        entries = [e for e in await self._cases.book(case.id) if e.edit_of is None]
        names = await self._members.display_names()
        async with self._people.speaking_to(target.user_id):
            said = _(
                "Case {number} ({area}) has been handed over to you.\nHandover note: {note}\n"
                "It is now your current case: write here to talk to the resident."
            ).format(number=case.number, area=area_name(self._config, case.area_id), note=note)
            lines = [said, "", *await self._cards.lines(case)]
            recent = entries[-DIGEST_MESSAGES:]
            if recent:
                lines += [
                    "",
                    _("The conversation so far (the last {count}):").format(count=len(recent)),
                ]
                resident = pseudonym_label(case.pseudonym)
                for entry in recent:
                    who = (
                        resident
                        if entry.author == "resident"
                        else names.get(entry.part.chat_id, "?")
                    )
                    lines.append(f"· {who}: {_digest_text(entry.part)}")
            files = [file async for file in self._files(case)]
        await self._access.handed(target, case)
        await self._messenger.send(target.user_id, Outgoing("\n".join(lines)))
        for name, data, caption in files:
            await self._messenger.send_document(target.user_id, name, data, caption)

    async def consult(self, person: Person, reply_to: int | None) -> Outgoing:
        case = await self.target(person, reply_to)
        if not await self._members.active("adviser"):
            return Outgoing(_("No legal adviser has joined yet."))
        return await self.ask(
            person,
            "consult",
            case,
            _(
                "Write your question for the legal adviser. They will see the "
                "case's topic and area, never who the resident is."
            ),
        )

    async def _consult(self, person: Person, case: CaseRecord, question: str) -> Outgoing:
        adviser = (await self._members.active("adviser"))[0]
        now = self._clock.now()
        async with self._db.transaction():
            await self._cases.set_adviser(case.id, adviser.user_id)
            await self._cases.add_event(
                case.id, "consulted", now, actor_id=person.id, adviser=adviser.user_id
            )
            await self._access.consulted(adviser, case)
        async with self._people.speaking_to(adviser.user_id):
            text = _(
                "⚖️ A question about case {number} ({category}, {area}) from {name}:\n\n"
                "{question}\n\nReply to this message to answer the mediator."
            ).format(
                number=case.number,
                category=category_label(self._config, case.category),
                area=area_name(self._config, case.area_id),
                name=mediator_label(person.member.display_name if person.member else None),
                question=question,
            )
        sent = await self._messenger.send(adviser.user_id, Outgoing(text))
        if sent is not None:
            await self._store.map_alone(
                case.id, "adviser", (adviser.user_id, sent), now, outgoing=True
            )
        return Outgoing(
            _("Your question has been sent to the legal adviser. Their answer will come here.")
        )

    # ------------------------------------------------------------------ care (violence)

    async def care(self, person: Person, reply_to: int | None) -> Outgoing:
        """/care: the safety panel of the current (or replied-to) case."""
        case = await self.target(person, reply_to)
        return await self._urgent.panel(person, case)

    async def care_press(
        self, person: Person, verb: str, case_id: int, value: str
    ) -> tuple[str, Outgoing]:
        """A button of the panel, on a case this person may act on now: toast, new panel."""
        case = await self._relay.case_for_mediator(person, case_id)
        return await self._urgent.care_action(person, case, verb, value)

    async def care_clear(self, person: Person, case_id: int) -> Outgoing:
        """Clearing 不适合调解 takes a reason: the next message."""
        case = await self._relay.case_for_mediator(person, case_id)
        return await self.ask(person, CARE_REASON, case, self._urgent.clear_prompt(case))

    # ------------------------------------------------------------------ the resident's side

    async def withdraw_menu(self, person: Person) -> Outgoing:
        cases = await self._cases.open_of_resident(person.id)
        joined = await self._parties.cases_of(person)  # as the other party: end mediation
        if not cases and not joined:
            raise NothingToWithdrawError
        buttons = [
            Button(
                f"{c.number} · {category_label(self._config, c.category)}",
                WITHDRAW.pack(c.id),
            )
            for c in cases
        ] + [
            Button(_("{number} · end mediation").format(number=c.number), END.pack(c.id))
            for c in joined
        ]
        return Outgoing(
            _("Which case do you want to withdraw? The mediator will be told."), rows(*buttons)
        )

    async def withdraw(self, person: Person, case_id: int) -> Outgoing:
        case = await self._cases.get(case_id)
        if case is None or case.resident_id != person.id:
            raise NotAllowedError
        if not case.is_open:
            raise StaleActionError
        now = self._clock.now()
        async with self._db.transaction():
            offer = await self._cases.open_offer(case.id)
            if offer is not None:
                await self._cases.end_offer(offer.id, "declined", now, "withdrawn")
            await self._cases.close(case.id, CaseState.WITHDRAWN, None, now)
            await self._cases.add_event(case.id, "withdrawn", now, by="resident")
            await self._timers.cancel_case(case.id)
        for mediator_id in {case.mediator_id, offer.mediator_id if offer else None} - {None}:
            assert mediator_id is not None
            await self._tell(mediator_id, partial(withdrawn_notice, case.number))
        await self._parties.tell_ended(case)  # the other party, if they had joined
        if is_waiting_urgent(case):  # nobody left with a 我来接手 that no longer applies
            await self._urgent.withdrawn(case)
        return Outgoing(
            _("Case {number} is withdrawn. Write 找大阿嫂 any time to start again.").format(
                number=case.number
            ),
            reply_keyboard="main",
        )

    # ------------------------------------------------------------------ registration book

    async def book(
        self, person: Person, reply_to: int | None, number: str | None
    ) -> AsyncIterator[tuple[str, bytes, str]]:
        """The case file (调解卷宗) as HTML and as DOCX: (file name, data, caption), each
        as soon as it is made. Who may read it is checked, and the reading recorded, now."""
        case = await self._viewable(person, reply_to, number)
        await self._access.opened(person, case, "book")  # recorded before it is shown
        return self._files(case)

    async def _files(self, case: CaseRecord) -> AsyncIterator[tuple[str, bytes, str]]:
        """The case file as HTML, then as DOCX, in the language of the moment; the
        document is laid out in a worker thread (a long case takes a while), so other
        conversations go on meanwhile."""
        page = await self._case_file(case)
        zone = self._config.locale.zone
        caption = _("Case file of case {number}. Confidential.").format(number=case.number)
        yield f"{case.number}.html", render(page, zone), caption
        document = await asyncio.to_thread(render_docx, page, zone)
        yield f"{case.number}.docx", document, caption

    async def _case_file(self, case: CaseRecord) -> BookPage:
        names = await self._members.display_names()
        party = await self._party_repo.get(case.id)
        party_name = party_label(party.pseudonym) if party else None
        labels = {"resident": pseudonym_label(case.pseudonym), "adviser": _("Legal adviser")}
        talks: dict[str, list[tuple[str, BookEntry]]] = {"resident": [], "party": [], "adviser": []}
        mapped = await self._store.channels_in(case.id)
        for entry in await self._cases.book(case.id):
            channel = _channel_of(entry, party.user_id if party else None, mapped)
            author = labels.get(entry.author) or names.get(entry.part.chat_id, "?")
            if channel == "party" and entry.author == "resident" and party_name:
                author = party_name
            talks[channel].append((author, entry))
        stored = await self._party_repo.agreement(case.id)
        agreement = Agreement.from_json(stored.content) if stored else None
        sides = {"resident": pseudonym_label(case.pseudonym), "party": party_name or "?"}
        cover = [
            (_("Case number"), case.number),
            (
                _("Applicant"),
                _cover_name(sides["resident"], agreement.applicant if agreement else None),
            ),
            (
                _("Other party"),
                _cover_name(party_name, agreement.respondent if agreement else None),
            ),
            (_("Area"), area_name(self._config, case.area_id)),
            (_("Mediator"), names.get(case.mediator_id or 0, "—")),
            (_("Outcome"), state_label(case.state)),
        ]
        return BookPage(
            case=case,
            area=area_name(self._config, case.area_id),
            category=category_label(self._config, case.category),
            contact=contact_label(case.contact),
            state=state_label(case.state),
            events=await self._cases.events(case.id),
            messages=talks["resident"],
            notes=[(names.get(n.author_id, "?"), n) for n in await self._store.notes(case.id)],
            names=names,
            cover=cover,
            party_messages=talks["party"],
            consultation=talks["adviser"],
            agreement=agreement_text(agreement, case.number).splitlines() if agreement else [],
            confirmations=[
                (sides.get(side, side), at)
                for side, at in (await self._party_repo.confirmations(case.id)).items()
            ],
        )

    async def _viewable(
        self, person: Person, reply_to: int | None, number: str | None
    ) -> CaseRecord:
        """Its mediator (open or closed) or the head may read a case's page; nobody else."""
        if not person.is_mediator:
            raise NotAllowedError
        if number:
            case = await self._find(number)
        elif reply_to is not None and (mapped := await self._store.find(person.id, reply_to)):
            case = await self._find(str(mapped.case_id))
        elif person.member and person.member.current_case_id:
            case = await self._find(str(person.member.current_case_id))
        else:
            raise NoCaseChosenError
        if not person.is_head and case.mediator_id != person.id:
            raise CaseNotYoursError
        return case

    # ------------------------------------------------------------------ helpers

    async def _find(self, case_ref: str) -> CaseRecord:
        ref = case_ref.strip().upper()
        case_id = parse_id(ref)
        case = (
            await self._cases.get(case_id)
            if case_id is not None
            else await self._cases.get_by_number(ref)
        )
        if case is None:
            raise CaseNotFoundError
        return case

    async def _tell_resident(
        self, case: CaseRecord, notice: Callable[..., str], *args: str | None
    ) -> None:
        """A short notice to the resident, written in their language."""
        if case.resident_id is None:
            return
        await self._tell(case.resident_id, lambda: notice(case, *args))


class CasePurgedError(DomainError):
    def user_message(self) -> str:
        return _(
            "This case cannot be reopened: its contents were deleted after the retention "
            "period. If the resident needs help again, she can start a new case."
        )


def _digest_text(part: MessagePart) -> str:
    text = (part.text or "").replace("\n", " ")
    if part.kind != "text":
        text = f"[{part.kind}] {text}".strip()
    return text if len(text) <= DIGEST_CHARS else text[: DIGEST_CHARS - 1] + "…"


def _state(case: CaseRecord) -> str:
    """A case's state as the team sees it: an erased resident's case says so."""
    if case.resident_id is None and not case.is_open:
        return _("withdrawn (data erased)")
    return state_label(case.state)


def _cover_name(label: str | None, typed: str | bool | None) -> str:
    """A party on the cover: the pseudonym, and the name the mediator typed if any."""
    if isinstance(typed, str) and typed:
        return f"{label} · {typed}"
    return label or "—"


def erased_notice(number: str) -> str:
    """What a case's mediator is told when the resident erases her data (/forget)."""
    return _(
        "The resident of case {number} has withdrawn it and had her data erased "
        "(withdrawn, data erased). The case has ended for good and cannot be reopened."
    ).format(number=number)


def withdrawn_notice(number: str) -> str:
    """What a case's mediator is told when the resident withdraws it (or is erased)."""
    return _("The resident has withdrawn case {number}.").format(number=number)


def _reopened_notice(case: CaseRecord) -> str:
    return _("Your case {number} has been reopened; your mediator will write to you here.").format(
        number=case.number
    )


def _transferred_notice(case: CaseRecord, name: str | None) -> str:
    return _(
        "Your case {number} is now looked after by {name}, who will write to you here."
    ).format(number=case.number, name=mediator_label(name))


def _channel_of(entry: BookEntry, party_id: int | None, mapped: dict[tuple[int, int], str]) -> str:
    """Which conversation an entry belongs to: the applicant's, the other party's, or the
    consultation with the adviser (a mediator's entry: where the relay map put it)."""
    if entry.author == "adviser":
        return "adviser"
    if entry.author == "resident":
        return "party" if party_id is not None and entry.part.chat_id == party_id else "resident"
    return mapped.get((entry.part.chat_id, entry.part.message_id), "resident")
