"""Following up an agreement (人民调解法 §31, §33): each term's deadline, and the court.

On the day a term falls due, its mediator is asked whether it was performed, with three
buttons: performed, not yet (asked again in a few days), broken. A broken term alerts the
head, who may schedule a revisit or reopen the case. When the organisation offers it
(`mediation.judicial_confirmation`), both parties get a short card on judicial
confirmation at settlement (what it is, that both apply together, which court, by when)
and a reminder on day 20. All of it runs on the one timer mechanism (bot/features/timers.py):
reminder rows in the database, so a restart loses nothing. Every answer is on the timeline.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial

from bot.core.callbacks import BROKEN, TERM
from bot.core.errors import NotAllowedError, StaleActionError
from bot.core.i18n import _
from bot.core.messaging import Button, Outgoing, rows
from bot.domain.cases import CaseRecord
from bot.domain.people import Person
from bot.features.agreement import Agreement, Term, day_label
from bot.features.deps import Deps, Feature
from bot.features.revisits import RevisitService
from storage.reminders import Reminder

TERM_ANSWERS = ("done", "notyet", "broken")
ASK_AGAIN = timedelta(days=3)
JUDICIAL_DAYS = 30  # §33: within 30 days of the agreement taking effect
JUDICIAL_REMINDER_DAY = 20
EXTRA_REVISIT = 10  # a revisit for a broken term n is numbered 10 + n


class DeadlineService(Feature):
    def __init__(self, deps: Deps, *, revisits: RevisitService) -> None:
        super().__init__(deps)
        self._parties = deps.repos.parties
        self._revisits = revisits
        deps.timers.register("term", self._remind_term)
        deps.timers.register("judicial", self._remind_judicial)

    # ------------------------------------------------------------------ at settlement

    async def settled(self, case: CaseRecord, agreement: Agreement, now: datetime) -> None:
        """Inside the closing transaction: a reminder per term, and day 20 for the court."""
        for n, term in enumerate(agreement.terms, start=1):
            due = self._local_hour(date.fromisoformat(term.deadline))
            await self._timers.at(f"term:{case.id}:{n}", "term", due, case.id, n)
        if self._config.mediation.judicial_confirmation:
            day20 = self._local_hour(self._local_day(now) + timedelta(days=JUDICIAL_REMINDER_DAY))
            await self._timers.at(f"judicial:{case.id}", "judicial", day20, case.id)

    async def judicial_cards(self, case: CaseRecord, now: datetime) -> None:
        """After the close: both parties learn how the court can confirm the agreement."""
        if not self._config.mediation.judicial_confirmation:
            return
        until = (self._local_day(now) + timedelta(days=JUDICIAL_DAYS)).isoformat()
        sent = 0
        for user_id in await self._parties_of(case):
            await self._tell(user_id, partial(self._judicial_card, case.number, until))
            sent += 1
        await self._cases.add_event(case.id, "judicial_card", now, sent=sent)

    def _judicial_card(self, number: str, until: str) -> str:
        """In the reader's language, the date too (rendered here, inside `tell`)."""
        return _(
            "⚖️ About your agreement (case {number}): both of you may ask {court} to "
            "confirm it (司法确认). Once confirmed, if one side does not keep it, the other "
            "can ask the court to enforce it. You must apply together, by {date}. It is "
            "free; bring your ID and the signed agreement."
        ).format(number=number, court=self._config.mediation.court, date=day_label(until))

    async def _remind_judicial(self, reminder: Reminder) -> None:
        case = await self._cases.get(reminder.case_id) if reminder.case_id else None
        if case is None or case.state != "settled" or case.closed_at is None:
            return
        until = (self._local_day(case.closed_at) + timedelta(days=JUDICIAL_DAYS)).isoformat()
        for user_id in await self._parties_of(case):
            await self._tell(
                user_id,
                lambda: _(
                    "⚖️ A reminder about case {number}: if you want {court} to confirm your "
                    "agreement, you both need to apply by {date}."
                ).format(
                    number=case.number, court=self._config.mediation.court, date=day_label(until)
                ),
            )
        await self._cases.add_event(case.id, "judicial_reminded", self._clock.now())

    # ------------------------------------------------------------------ terms

    async def _remind_term(self, reminder: Reminder) -> None:
        case, term = await self._term_of(reminder.case_id, reminder.ref)
        if case is None or term is None or case.mediator_id is None:
            return  # reopened, erased, or closed another way meanwhile
        n = reminder.ref or 1
        await self._tell(case.mediator_id, lambda: self._term_card(case, n, term))
        await self._cases.add_event(case.id, "term_reminded", self._clock.now(), n=n)

    def _term_card(self, case: CaseRecord, n: int, term: Term) -> Outgoing:
        text = _(
            "📅 Please check, case {number}, term {n}: has “{what}” been done by {date}?"
        ).format(number=case.number, n=n, what=term.what, date=day_label(term.deadline))
        return Outgoing(
            text,
            rows(
                Button(_("✓ Performed"), TERM.pack(case.id, n, "done")),
                Button(_("… Not yet"), TERM.pack(case.id, n, "notyet")),
                Button(_("✗ Broken"), TERM.pack(case.id, n, "broken")),
                per_row=3,
            ),
        )

    async def term_answered(self, person: Person, case_id: int, n: int, answer: str) -> Outgoing:
        """The mediator's answer to a term's card, while it is still open."""
        case, term = await self._term_of(case_id, n)
        if case is None or term is None:
            raise StaleActionError
        self._ensure_theirs(person, case)
        if answer not in TERM_ANSWERS or not await self._term_open(case.id, n):
            raise StaleActionError
        now = self._clock.now()
        if answer == "notyet":
            await self._timers.at(f"term:{case.id}:{n}", "term", now + ASK_AGAIN, case.id, n)
            await self._cases.add_event(case.id, "term_not_yet", now, actor_id=person.id, n=n)
            return Outgoing(_("All right, I will ask again in 3 days."))
        if answer == "done":
            on_time = self._local_day(now) <= date.fromisoformat(term.deadline)
            await self._cases.add_event(
                case.id, "term_performed", now, actor_id=person.id, n=n, on_time=on_time
            )
            return Outgoing(
                _("Recorded: term {n} of case {number} was performed.").format(
                    n=n, number=case.number
                )
            )
        await self._cases.add_event(case.id, "term_broken", now, actor_id=person.id, n=n)
        await self._alert_heads(case, n, term)
        return Outgoing(
            _("Recorded: term {n} of case {number} was broken. The head has been told.").format(
                n=n, number=case.number
            )
        )

    async def _alert_heads(self, case: CaseRecord, n: int, term: Term) -> None:
        for head in await self._members.active("head"):
            await self._tell(
                head.user_id,
                lambda: Outgoing(
                    _(
                        "⚠ Case {number}: term {n} (“{what}”, due {date}) was not kept. "
                        "Schedule a revisit, or reopen the case?"
                    ).format(
                        number=case.number, n=n, what=term.what, date=day_label(term.deadline)
                    ),
                    rows(
                        Button(_("🔁 Revisit tomorrow"), BROKEN.pack(case.id, n, "revisit")),
                        Button(_("↻ Reopen the case"), BROKEN.pack(case.id, n, "reopen")),
                        per_row=2,
                    ),
                ),
            )

    async def broken_case(self, person: Person, case_id: int, n: int) -> CaseRecord:
        """The case of a broken term, for the head (or its mediator) to act on."""
        case = await self._cases.get(case_id)
        if case is None:
            raise StaleActionError
        self._ensure_theirs(person, case)
        events = await self._cases.events(case.id)
        if not any(e.kind == "term_broken" and e.detail.get("n") == n for e in events):
            raise StaleActionError
        return case

    async def revisit_broken(self, person: Person, case_id: int, n: int) -> Outgoing:
        case = await self.broken_case(person, case_id, n)
        if case.state != "settled":
            raise StaleActionError
        await self._revisits.extra_revisit(case, EXTRA_REVISIT + n)
        await self._cases.add_event(
            case.id, "term_revisit", self._clock.now(), actor_id=person.id, n=n
        )
        return Outgoing(
            _("A revisit of case {number} is scheduled for tomorrow.").format(number=case.number)
        )

    # ------------------------------------------------------------------ helpers

    async def _term_of(
        self, case_id: int | None, n: int | None
    ) -> tuple[CaseRecord | None, Term | None]:
        case = await self._cases.get(case_id) if case_id else None
        if case is None or case.state != "settled" or not n:
            return case, None
        stored = await self._parties.agreement(case.id)
        if stored is None:
            return case, None
        terms = Agreement.from_json(stored.content).terms
        return case, terms[n - 1] if 0 < n <= len(terms) else None

    async def _term_open(self, case_id: int, n: int) -> bool:
        """Asked about, and not answered performed or broken since."""
        state = None
        for event in await self._cases.events(case_id):
            if event.detail.get("n") == n and event.kind.startswith("term_"):
                state = event.kind
        return state in ("term_reminded",)

    @staticmethod
    def _ensure_theirs(person: Person, case: CaseRecord) -> None:
        if not person.is_mediator or (case.mediator_id != person.id and not person.is_head):
            raise NotAllowedError

    async def _parties_of(self, case: CaseRecord) -> list[int]:
        found = [case.resident_id] if case.resident_id is not None else []
        party = await self._parties.get(case.id)
        if party is not None and party.user_id is not None and party.consented_at:
            found.append(party.user_id)
        return found

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self._config.locale.zone).date()

    def _local_hour(self, day: date) -> datetime:
        zone = self._config.locale.zone
        return datetime.combine(day, time(self._config.revisits.local_hour), zone)
