"""The one-month limit: mediation is normally finished within `mediation.time_limit_days`.

A daily check (one reminder row that re-arms itself, like the weekly digest) flags each
open case past its limit to its mediator and the head, once per period; /overview and the
digests list them. The limit moves only with both parties' consent: /extend asks each party
who takes part, in their chat, with buttons; each answer is on the timeline, and the case
gets another period once all have said yes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import partial

from bot.core.callbacks import EXTEND
from bot.core.errors import NotAllowedError, StaleActionError
from bot.core.i18n import _, format_when
from bot.core.messaging import Button, Outgoing, rows
from bot.domain.cases import CaseRecord, EventRecord
from bot.domain.people import Person
from bot.features.deps import Deps, Feature
from storage.reminders import Reminder

CHECK_JOB = "time_limits"


class TimeLimitService(Feature):
    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._followup = deps.repos.followup
        self._parties = deps.repos.parties
        deps.timers.register("time_limits", self._check)

    async def ensure_check(self) -> None:
        existing = await self._timers.row(CHECK_JOB)
        if existing is None or existing.state in ("done", "cancelled"):
            await self._timers.at(CHECK_JOB, "time_limits", self._next_check(self._clock.now()))

    def _next_check(self, after: datetime) -> datetime:
        zone = self._config.locale.zone
        day = after.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(day, time(self._config.revisits.local_hour), zone)

    # ------------------------------------------------------------------ the limit

    def limit_of(self, case: CaseRecord, events: list[EventRecord]) -> datetime:
        """When the case's time runs out: one period per extension agreed."""
        periods = 1 + sum(1 for e in events if e.kind == "extended")
        return case.created_at + timedelta(days=self._config.mediation.time_limit_days * periods)

    async def over_limit(self, mediator_id: int | None) -> list[CaseRecord]:
        """Open cases past their limit: of one mediator, or of the society."""
        now, found = self._clock.now(), []
        for case in await self._followup.open_cases(mediator_id):
            if now >= self.limit_of(case, await self._cases.events(case.id)):
                found.append(case)
        return found

    async def _check(self, reminder: Reminder) -> None:
        now = self._clock.now()
        await self._timers.at(CHECK_JOB, "time_limits", self._next_check(now))  # tomorrow first
        heads = [m.user_id for m in await self._members.active("head")]
        for case in await self.over_limit(None):
            events = await self._cases.events(case.id)
            period = sum(1 for e in events if e.kind == "extended")
            if any(e.kind == "time_limit" and e.detail.get("period") == period for e in events):
                continue  # flagged already in this period
            await self._cases.add_event(case.id, "time_limit", now, period=period)
            for user_id in {case.mediator_id, *heads} - {None}:
                assert user_id is not None
                await self._tell(user_id, partial(self._flag, case.number))

    def _flag(self, number: str) -> str:
        return _(
            "⏰ Case {number} has been open longer than {days} days. Mediation is normally "
            "finished within this time; to go on longer, both parties must agree (/extend "
            "in the case)."
        ).format(number=number, days=self._config.mediation.time_limit_days)

    # ------------------------------------------------------------------ extensions

    async def ask_extension(self, person: Person, case: CaseRecord) -> Outgoing:
        """/extend: each party who takes part is asked, in their own chat."""
        if not person.is_mediator or (case.mediator_id != person.id and not person.is_head):
            raise NotAllowedError
        events = await self._cases.events(case.id)
        period = sum(1 for e in events if e.kind == "extended")
        until = self.limit_of(case, events) + timedelta(days=self._config.mediation.time_limit_days)
        zone = self._config.locale.zone
        now = self._clock.now()
        await self._cases.add_event(case.id, "extension_asked", now, actor_id=person.id)
        for user_id in await self._sides(case):
            await self._tell(
                user_id,
                lambda: Outgoing(
                    _(
                        "Case {number}: your mediator would like more time, until {date}. "
                        "Mediation goes on longer only if everyone agrees. Do you agree?"
                    ).format(number=case.number, date=format_when(until, zone)),
                    rows(
                        Button(_("Yes, take more time"), EXTEND.pack(case.id, period, "yes")),
                        Button(_("No"), EXTEND.pack(case.id, period, "no")),
                        per_row=2,
                    ),
                ),
            )
        return Outgoing(
            _("The parties of case {number} have been asked whether they agree.").format(
                number=case.number
            )
        )

    async def answered(self, person: Person, case_id: int, period: int, agree: bool) -> Outgoing:
        """A party's answer; the extension is granted when every party has said yes."""
        case = await self._cases.get(case_id)
        if case is None or not case.is_open:
            raise StaleActionError
        sides = await self._sides_named(case)
        side = sides.get(person.id)
        if side is None:
            raise NotAllowedError
        events = await self._cases.events(case.id)
        current = sum(1 for e in events if e.kind == "extended")
        if period != current or not any(e.kind == "extension_asked" for e in events):
            raise StaleActionError
        answers = {
            e.detail.get("side"): e.detail.get("agree")
            for e in events
            if e.kind == "extension_answer" and e.detail.get("period") == period
        }
        if side in answers:
            raise StaleActionError
        now = self._clock.now()
        await self._cases.add_event(
            case.id, "extension_answer", now, side=side, agree=agree, period=period
        )
        answers[side] = agree
        if agree and all(answers.get(s) is True for s in sides.values()):
            await self._cases.add_event(case.id, "extended", now, period=period + 1)
            await self._tell_mediator(case, True)
        elif not agree:
            await self._tell_mediator(case, False)
        return Outgoing(_("Thank you, your answer is recorded."))

    async def _tell_mediator(self, case: CaseRecord, granted: bool) -> None:
        if case.mediator_id is None:
            return
        days = self._config.mediation.time_limit_days
        if granted:
            await self._tell(
                case.mediator_id,
                lambda: _("All parties agreed: case {number} has {days} more days.").format(
                    number=case.number, days=days
                ),
            )
        else:
            await self._tell(
                case.mediator_id,
                lambda: _("A party did not agree to more time for case {number}.").format(
                    number=case.number
                ),
            )

    async def _sides(self, case: CaseRecord) -> list[int]:
        return list(await self._sides_named(case))

    async def _sides_named(self, case: CaseRecord) -> dict[int, str]:
        found = {case.resident_id: "resident"} if case.resident_id is not None else {}
        party = await self._parties.get(case.id)
        if party is not None and party.taking_part and party.user_id is not None:
            found[party.user_id] = "party"
        return found
