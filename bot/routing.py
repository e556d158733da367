"""Routing: offer each case to the right mediator, and move it on when nobody takes it.

The roster rules themselves are pure functions in `bot.roster`; this service feeds them
from storage, records every offer, decline, timeout and acceptance on the case's timeline,
and tells the people concerned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import roster
from bot.cards import CaseCards
from bot.clock import Clock
from bot.config import Config
from bot.errors import NotAllowedError, StaleActionError
from bot.i18n import _, format_when
from bot.messaging import Button, Messenger, Outgoing, rows
from bot.notify import Notifier
from bot.people import PeopleService, Person
from bot.relay import RelayService
from bot.terms import (
    excerpt,
    mediator_label,
)
from bot.timers import Timers
from storage.cases import CaseRecord, CaseRepository, OfferRecord
from storage.db import Database
from storage.members import MemberRecord, MemberRepository
from storage.reminders import Reminder
from storage.roster import RosterRepository

log = logging.getLogger(__name__)

OFFER_PREFIX = "of:"
DECLINE_REASONS = ("busy", "conflict", "other")
EXCERPT_CHARS = 300


@dataclass(frozen=True)
class Assignment:
    """Who will answer a case, and from when (None: right away)."""

    mediator_id: int | None
    display_name: str | None
    starts_at: datetime | None


@dataclass(frozen=True)
class _Plan:
    mediator: MemberRecord
    deadline: datetime | None
    starts_at: datetime | None


class RoutingService:
    def __init__(
        self,
        *,
        db: Database,
        cases: CaseRepository,
        members: MemberRepository,
        roster_repo: RosterRepository,
        people: PeopleService,
        relay: RelayService,
        timers: Timers,
        messenger: Messenger,
        clock: Clock,
        config: Config,
    ) -> None:
        self._db = db
        self._cases = cases
        self._members = members
        self._relay = relay
        self._timers = timers
        timers.register("offer", self._offer_timed_out)
        timers.register("route", self._retry_route)
        self._roster = roster_repo
        self._people = people
        self._messenger = messenger
        self._tell = Notifier(people, messenger).tell
        self._clock = clock
        self._config = config
        self.cards = CaseCards(config, cases, people)

    # ------------------------------------------------------------------ offering

    async def route(self, case_id: int) -> Assignment:
        """Offer a case to the best mediator (or the head); record it; send the card."""
        async with self._db.transaction():
            case = await self._cases.get(case_id)
            if case is None:
                raise StaleActionError
            if case.state not in ("new", "unassigned"):
                return await self._current_assignment(case)  # routed meanwhile: nothing to do
            if case.urgent:  # offered to everyone at once by bot.urgent, never by duty time
                return Assignment(None, None, None)
            plan = await self._plan(case, await self._cases.offered_to(case.id))
            if plan is None:
                await self._mark_unassigned(case)
                return Assignment(None, None, None)
            offer = await self._record_offer(case, plan)
        await self._send_offer_card(case, offer, plan.mediator)
        return Assignment(plan.mediator.user_id, plan.mediator.display_name, plan.starts_at)

    async def follower(self, case: CaseRecord) -> Assignment:
        """Who follows the case now: its mediator, or the one it is offered to."""
        return await self._current_assignment(case)

    async def _current_assignment(self, case: CaseRecord) -> Assignment:
        offer = await self._cases.open_offer(case.id)
        mediator_id = offer.mediator_id if offer else case.mediator_id
        member = await self._members.get(mediator_id) if mediator_id else None
        return Assignment(mediator_id, member.display_name if member else None, None)

    async def _plan(self, case: CaseRecord, exclude: set[int]) -> _Plan | None:
        """Who is offered the case: her last case's mediator when she is on duty
        (continuity); else the area's mediator on duty; else the head when she is on duty
        (a case never waits for someone off duty while someone is there); else the area's
        next on duty; else the head. Nobody beyond the capacity she set."""
        now = self._clock.now()
        zone = self._config.locale.zone
        members = {m.user_id: m for m in await self._members.active()}
        workload = await self._cases.workload()
        exclude = exclude | {
            m.user_id
            for m in members.values()
            if m.capacity is not None and workload.get(m.user_id, 0) >= m.capacity
        }
        mediators = await self._roster_view(members, workload)
        slots = await self._roster.slots()
        overrides = await self._roster.overrides(now.astimezone(zone).date() - timedelta(days=1))

        def on_duty(m: roster.Mediator) -> bool:
            return m.id not in exclude and roster.is_on_duty(m, now, slots, overrides, zone)

        def plan(mediator: roster.Mediator, starts_at: datetime | None) -> _Plan:
            timeout = self._config.routing.accept_timeout_minutes
            deadline = roster.accept_deadline(mediator, now, timeout, slots, overrides, zone)
            return _Plan(members[mediator.id], deadline, starts_at)

        returning = await self._continuity(case, mediators)
        if returning is not None and on_duty(returning):
            return plan(returning, None)
        choice = None
        if case.area_id:
            choice = roster.choose(
                mediators, case.area_id, now, slots, overrides, zone, exclude=exclude
            )
        if choice is not None and choice.now:
            return plan(next(m for m in mediators if m.id == choice.mediator_id), None)
        head = next(
            (m for m in members.values() if m.role == "head" and m.user_id not in exclude), None
        )
        if head is not None and on_duty(self._as_mediator(head, workload)):
            return _Plan(head, None, None)
        if choice is not None:
            return plan(next(m for m in mediators if m.id == choice.mediator_id), choice.starts_at)
        return _Plan(head, None, None) if head else None

    async def _continuity(
        self, case: CaseRecord, mediators: list[roster.Mediator]
    ) -> roster.Mediator | None:
        """The mediator of the resident's last case in this area (config desk.continuity)."""
        if not self._config.desk.continuity or case.resident_id is None:
            return None
        earlier = [
            c
            for c in await self._cases.of_resident(case.resident_id)
            if c.id != case.id and c.area_id == case.area_id and c.mediator_id is not None
        ]
        if not earlier:
            return None
        last = max(earlier, key=lambda c: c.id)
        return next((m for m in mediators if m.id == last.mediator_id), None)

    @staticmethod
    def _as_mediator(member: MemberRecord, workload: dict[int, int]) -> roster.Mediator:
        return roster.Mediator(
            id=member.user_id,
            area_id=member.area_id,
            duty_mode=member.duty_mode,
            active=member.active,
            open_cases=workload.get(member.user_id, 0),
            last_offered_at=None,
        )

    async def _roster_view(
        self, members: dict[int, MemberRecord], workload: dict[int, int]
    ) -> list[roster.Mediator]:
        last_offered = await self._cases.last_offered()
        return [
            roster.Mediator(
                id=m.user_id,
                area_id=m.area_id,
                duty_mode=m.duty_mode,
                active=m.active,
                open_cases=workload.get(m.user_id, 0),
                last_offered_at=last_offered.get(m.user_id),
            )
            for m in members.values()
            if m.role == "mediator"
        ]

    async def _record_offer(self, case: CaseRecord, plan: _Plan) -> OfferRecord:
        now = self._clock.now()
        offer = await self._cases.add_offer(case.id, plan.mediator.user_id, now, plan.deadline)
        await self._cases.set_state(case.id, "offered", None, now)
        await self._cases.add_event(
            case.id,
            "offered",
            now,
            mediator=plan.mediator.user_id,
            deadline=plan.deadline.isoformat() if plan.deadline else None,
        )
        if plan.deadline is not None:  # the head's offers do not time out
            await self._timers.at(f"offer:{offer.id}", "offer", plan.deadline, case.id, offer.id)
        return offer

    async def _mark_unassigned(self, case: CaseRecord) -> None:
        """Nobody at all can take it now: say so once on the timeline, and try again later."""
        now = self._clock.now()
        retry = now + timedelta(minutes=self._config.routing.unassigned_retry_minutes)
        await self._timers.at(f"route:{case.id}", "route", retry, case.id)
        if case.state == "unassigned":
            return
        await self._cases.set_state(case.id, "unassigned", None, now)
        await self._cases.add_event(case.id, "unassigned", now)
        log.warning("no mediator available", extra={"case": case.number})

    async def _send_offer_card(
        self, case: CaseRecord, offer: OfferRecord, mediator: MemberRecord
    ) -> None:
        async with self._people.speaking_to(mediator.user_id):
            card = await self._offer_card(case, offer)
        await self._messenger.send(mediator.user_id, card)

    async def _offer_card(self, case: CaseRecord, offer: OfferRecord) -> Outgoing:
        head = [
            _("New case {number}").format(number=case.number),
            *await self.cards.lines(case),
        ]
        if case.no_mediation:
            head.append(_("🛡 Not suitable for mediation: see /care once you have accepted."))
        parent = await self._cases.get(case.parent_id) if case.parent_id else None
        if parent is not None:
            head.append(_("The dispute of case {number} came back.").format(number=parent.number))
        paragraphs = ["\n".join(head), excerpt(await self._cases.messages(case.id), EXCERPT_CHARS)]
        if offer.deadline:
            paragraphs.append(
                _("Please answer by {time}.").format(time=self._local(offer.deadline))
            )
        buttons = rows(
            Button(_("Accept"), f"{OFFER_PREFIX}{offer.id}:accept"),
            Button(_("Decline"), f"{OFFER_PREFIX}{offer.id}:decline"),
            per_row=2,
        )
        return Outgoing("\n\n".join(p for p in paragraphs if p), buttons)

    # ------------------------------------------------------------------ answers to an offer

    async def decline_reasons(self, person: Person, offer_id: int) -> Outgoing:
        """The card's second face: why are you declining?"""
        offer = await self._own_open_offer(person, offer_id)
        labels = {
            "busy": _("I am too busy now"),
            "conflict": _("I know the family (conflict of interest)"),
            "other": _("Another reason"),
        }
        buttons = [Button(labels[r], f"{OFFER_PREFIX}{offer.id}:no-{r}") for r in DECLINE_REASONS]
        buttons.append(Button(_("« Back"), f"{OFFER_PREFIX}{offer.id}:back"))
        return Outgoing(_("Why are you declining this case?"), rows(*buttons))

    async def confirm_decline(self, person: Person, offer_id: int, reason: str) -> Outgoing:
        """Before a decline: what will happen, with 确认 / 修改 (another reason) / 取消."""
        if reason not in DECLINE_REASONS:
            raise StaleActionError
        offer = await self._own_open_offer(person, offer_id)
        case = await self._cases.get(offer.case_id)
        assert case is not None
        text = _(
            "Decline case {number}? It will be offered to another mediator, and the "
            "resident will be told that someone else will answer."
        ).format(number=case.number)
        data = f"{OFFER_PREFIX}{offer.id}"
        return Outgoing(
            text,
            rows(
                Button(_("Confirm"), f"{data}:yes-{reason}"),
                Button(_("Change"), f"{data}:decline"),
                Button(_("Cancel"), f"{data}:back"),
                per_row=3,
            ),
        )

    async def card(self, person: Person, offer_id: int) -> Outgoing:
        offer = await self._own_open_offer(person, offer_id)
        case = await self._cases.get(offer.case_id)
        assert case is not None
        return await self._offer_card(case, offer)

    async def accept(self, person: Person, offer_id: int) -> CaseRecord:
        """Take the case: it is now this mediator's, and the resident is told who answers."""
        async with self._db.transaction():
            offer = await self._own_open_offer(person, offer_id)
            now = self._clock.now()
            if not await self._cases.end_offer(offer.id, "accepted", now):
                raise StaleActionError
            await self._timers.cancel(f"offer:{offer.id}")
            await self._cases.set_state(offer.case_id, "accepted", person.id, now)
            await self._cases.add_event(offer.case_id, "accepted", now, actor_id=person.id)
            case = await self._cases.get(offer.case_id)
        assert case is not None
        await self._members.set_current_case(person.id, case.id, self._clock.now())
        await self._tell_resident_accepted(case, person)
        await self._relay.deliver_backlog(case)
        return case

    async def decline(self, person: Person, offer_id: int, reason: str) -> Assignment:
        if reason not in DECLINE_REASONS:
            raise StaleActionError
        async with self._db.transaction():
            offer = await self._own_open_offer(person, offer_id)
            now = self._clock.now()
            if not await self._cases.end_offer(offer.id, "declined", now, reason):
                raise StaleActionError
            await self._timers.cancel(f"offer:{offer.id}")
            await self._cases.set_state(offer.case_id, "new", None, now)
            await self._cases.add_event(
                offer.case_id, "declined", now, actor_id=person.id, reason=reason
            )
        assignment = await self.route(offer.case_id)
        await self._tell_resident_rerouted(offer.case_id, assignment)
        return assignment

    async def _own_open_offer(self, person: Person, offer_id: int) -> OfferRecord:
        """The offer, if it is open and addressed to this person — checked on every press."""
        if not person.is_mediator:
            raise NotAllowedError
        offer = await self._cases.get_offer(offer_id)
        if offer is None or offer.mediator_id != person.id:
            raise NotAllowedError
        if offer.state != "open":
            raise StaleActionError
        return offer

    async def _tell_resident_accepted(self, case: CaseRecord, mediator: Person) -> None:
        if case.resident_id is None:
            return
        name = mediator.member.display_name if mediator.member else None
        await self._tell(
            case.resident_id,
            lambda: _(
                "{name} has taken your case {number} and will write to you here soon."
            ).format(name=mediator_label(name), number=case.number),
        )

    # ------------------------------------------------------------------ timers

    async def resume(self) -> int:
        """At start: route cases a crash left registered but never offered."""
        waiting = [c for c in await self._cases.waiting_for_mediator() if c.state == "new"]
        for case in waiting:
            await self.route(case.id)
        return len(waiting)

    async def _offer_timed_out(self, reminder: Reminder) -> None:
        offer = await self._cases.get_offer(reminder.ref) if reminder.ref else None
        if offer is not None and offer.state == "open":
            await self._expire(offer)

    async def _retry_route(self, reminder: Reminder) -> None:
        case = await self._cases.get(reminder.case_id) if reminder.case_id else None
        if case is not None and case.state in ("new", "unassigned"):
            await self.route(case.id)

    async def _expire(self, offer: OfferRecord) -> bool:
        async with self._db.transaction():
            now = self._clock.now()
            if not await self._cases.end_offer(offer.id, "expired", now):
                return False  # answered or expired by someone else meanwhile
            await self._cases.set_state(offer.case_id, "new", None, now)
            await self._cases.add_event(
                offer.case_id, "offer_expired", now, mediator=offer.mediator_id
            )
        await self._tell_mediator_expired(offer)
        await self._tell_resident_rerouted(offer.case_id, await self.route(offer.case_id))
        return True

    async def _tell_resident_rerouted(self, case_id: int, assignment: Assignment) -> None:
        """The truth after a decline or a timed-out offer: someone else will answer, and
        who and when once that is known."""
        case = await self._cases.get(case_id)
        if case is None or case.resident_id is None or case.urgent:
            return  # an urgent case's resident hears from bot.urgent

        def render() -> str:
            first = _("About your case {number}: the mediator first asked cannot take it.")
            lines = [first.format(number=case.number)]
            name = assignment.display_name
            if assignment.mediator_id is None or not name:
                lines.append(_("Another Da'asao will answer you here as soon as one is free."))
            elif assignment.starts_at is None:
                lines.append(_("{name} will answer you here soon.").format(name=name))
            else:
                lines.append(
                    _("{name} is on duty from {time} and will answer you then.").format(
                        name=name, time=self._local(assignment.starts_at)
                    )
                )
            return "\n".join(lines)

        await self._tell(case.resident_id, render)

    async def _tell_mediator_expired(self, offer: OfferRecord) -> None:
        case = await self._cases.get(offer.case_id)
        assert case is not None
        await self._tell(
            offer.mediator_id,
            lambda: _(
                "Case {number} was not accepted in time and has been offered to someone else."
            ).format(number=case.number),
        )

    def _local(self, moment: datetime) -> str:
        return format_when(moment, self._config.locale.zone)
