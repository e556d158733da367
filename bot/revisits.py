"""Follow-up after a case ends: revisit reminders, the resident's survey, weekly digests.

The society's rule (纠纷回访制) is that every settled dispute is revisited. Closing a case as
settled schedules reminders to its mediator at the configured offsets, at a sensible local
hour; each answer is a timeline event; an unanswered revisit is reported to the head after
two days. The resident gets a short survey. Everything runs on `bot.timers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from bot.cards import contact_line
from bot.clock import Clock
from bot.config import Config
from bot.errors import NotAllowedError, StaleActionError
from bot.i18n import _, format_skeleton
from bot.messaging import Button, Messenger, Outgoing, rows
from bot.notify import Notifier
from bot.people import PeopleService, Person
from bot.routing import RoutingService
from bot.terms import area_name, category_label, mediator_label, state_label
from bot.timelimit import TimeLimitService
from bot.timers import Timers
from bot.urgent import is_waiting_urgent, waiting_mark
from storage.cases import CaseRecord, CaseRepository, NewCase
from storage.db import Database
from storage.followup import FollowUpRepository
from storage.members import MemberRepository
from storage.relay import RelayRepository
from storage.reminders import Reminder
from storage.users import UserRepository

REVISIT_PREFIX = "rv:"  # rv:<case>:<n>:<answer>
SURVEY_PREFIX = "sv:"  # sv:<case>:<step>:<value>
REVISIT_ANSWERS = ("holding", "recurred", "unreachable", "tomorrow")
OVERDUE_AFTER = timedelta(days=2)
DIGEST_JOB = "digest:weekly"


class RevisitService:
    def __init__(
        self,
        *,
        db: Database,
        cases: CaseRepository,
        followup: FollowUpRepository,
        relay_repo: RelayRepository,
        members: MemberRepository,
        users: UserRepository,
        routing: RoutingService,
        people: PeopleService,
        timers: Timers,
        time_limits: TimeLimitService,
        messenger: Messenger,
        clock: Clock,
        config: Config,
    ) -> None:
        self._db = db
        self._cases = cases
        self._time_limits = time_limits
        self._followup = followup
        self._relay = relay_repo
        self._members = members
        self._users = users
        self._routing = routing
        self._people = people
        self._timers = timers
        self._messenger = messenger
        self._tell = Notifier(people, messenger).tell
        self._clock = clock
        self._config = config
        timers.register("revisit", self._send_revisit)
        timers.register("revisit_overdue", self._report_overdue)
        timers.register("survey", self._send_survey)
        timers.register("digest", self._send_digests)

    # ------------------------------------------------------------------ scheduling

    async def case_closed(self, case: CaseRecord, outcome: str) -> None:
        """Settled: revisits and a survey. Not settled: a survey. Withdrawn: nothing."""
        closed = self._clock.now()
        if outcome == "settled":
            for n, days in enumerate(self._config.revisits.offsets_days, start=1):
                await self._timers.at(
                    f"revisit:{case.id}:{n}",
                    "revisit",
                    self._at_local_hour(closed, days),
                    case.id,
                    n,
                )
        if outcome in ("settled", "not_settled"):
            due = self._at_local_hour(closed, self._config.revisits.survey_after_days)
            await self._timers.at(f"survey:{case.id}", "survey", due, case.id)

    async def ensure_digest(self) -> None:
        """The weekly digest is one reminder that re-arms itself; create it once."""
        existing = await self._timers.row(DIGEST_JOB)
        if existing is None or existing.state in ("done", "cancelled"):
            await self._timers.at(DIGEST_JOB, "digest", self._next_digest(self._clock.now()))

    def _at_local_hour(self, start: datetime, days: int) -> datetime:
        """`days` later, at the configured local hour (never at night)."""
        zone = self._config.locale.zone
        day = start.astimezone(zone).date() + timedelta(days=days)
        local = datetime.combine(day, time(self._config.revisits.local_hour), zone)
        return local.astimezone(start.tzinfo)

    def _next_digest(self, after: datetime) -> datetime:
        zone = self._config.locale.zone
        local = after.astimezone(zone)
        weekday = self._config.revisits.digest_weekday_index
        day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
        moment = datetime.combine(day, self._config.revisits.digest_at, zone)
        if moment <= local:
            moment += timedelta(days=7)
        return moment.astimezone(after.tzinfo)

    # ------------------------------------------------------------------ revisits

    async def extra_revisit(self, case: CaseRecord, n: int) -> None:
        """A revisit outside the usual days (a broken term): tomorrow, numbered `n`."""
        now = self._clock.now()
        await self._timers.at(
            f"revisit:{case.id}:{n}", "revisit", self._at_local_hour(now, 1), case.id, n
        )

    async def _send_revisit(self, reminder: Reminder) -> None:
        case = await self._case_of(reminder)
        n = reminder.ref or 1
        if case is None or case.state != "settled" or case.mediator_id is None:
            return  # reopened, withdrawn or erased meanwhile: nothing to revisit
        now = self._clock.now()
        mediator = case.mediator_id
        sent = await self._tell(mediator, lambda: self._revisit_card(case, n, late=reminder.late))
        if sent is not None:  # a reply to the card writes to the resident (bot.relay)
            await self._relay.map_alone(case.id, "resident", (mediator, sent), now, outgoing=True)
        await self._followup.revisit_sent(case.id, n, now)
        await self._timers.at(
            f"revisit_overdue:{case.id}:{n}", "revisit_overdue", now + OVERDUE_AFTER, case.id, n
        )

    def _revisit_card(self, case: CaseRecord, n: int, *, late: bool) -> Outgoing:
        closed = format_skeleton(
            case.closed_at or case.created_at, self._config.locale.zone, "yMMMd"
        )
        lines = [
            _("🔁 Revisit {n} of case {number}").format(n=n, number=case.number),
            _("{category} · {area} · settled on {date}").format(
                category=category_label(self._config, case.category),
                area=area_name(self._config, case.area_id),
                date=closed,
            ),
            _("The agreement: {text}").format(text=case.outcome_text or "—"),
            contact_line(self._config, case),
            _("Reply to this card to write to the resident here."),
            _("Please check with the family whether the agreement holds, then tell me:"),
        ]
        if late:
            lines.insert(0, _("(This reminder is late: the bot was offline when it fell due.)"))
        labels = {
            "holding": _("✓ It is holding"),
            "recurred": _("⚠ The dispute came back"),
            "unreachable": _("Could not reach them"),
            "tomorrow": _("Remind me tomorrow"),
        }
        buttons = [Button(labels[a], f"{REVISIT_PREFIX}{case.id}:{n}:{a}") for a in REVISIT_ANSWERS]
        return Outgoing("\n".join(lines), rows(*buttons, per_row=2))

    async def answer_revisit(self, person: Person, case_id: int, n: int, answer: str) -> Outgoing:
        """The mediator's answer to a revisit card; each answer is a timeline event."""
        case = await self._cases.get(case_id)
        if case is None or not person.is_mediator:
            raise NotAllowedError
        if case.mediator_id != person.id and not person.is_head:
            raise NotAllowedError
        if answer not in REVISIT_ANSWERS or not await self._followup.revisit_open(case_id, n):
            raise StaleActionError
        now = self._clock.now()
        if answer == "tomorrow":
            await self._timers.at(
                f"revisit:{case_id}:{n}", "revisit", self._at_local_hour(now, 1), case_id, n
            )
            await self._timers.cancel(f"revisit_overdue:{case_id}:{n}")
            await self._cases.add_event(case_id, "revisit_postponed", now, actor_id=person.id, n=n)
            return Outgoing(_("All right, I will remind you tomorrow."))
        await self._followup.revisit_answered(case_id, n, answer, now)
        await self._timers.cancel(f"revisit_overdue:{case_id}:{n}")
        await self._cases.add_event(
            case_id, "revisited", now, actor_id=person.id, n=n, answer=answer
        )
        if answer == "recurred":
            return await self._recurred(person, case)
        texts = {
            "holding": _("Thank you. Revisit {n} of case {number} is recorded: holding."),
            "unreachable": _(
                "Recorded: the family could not be reached for revisit {n} of case {number}."
            ),
        }
        return Outgoing(texts[answer].format(n=n, number=case.number))

    async def _recurred(self, person: Person, case: CaseRecord) -> Outgoing:
        """The dispute came back: a new case, linked to the old one, routed as usual."""
        await self._timers.cancel_case(case.id)
        now = self._clock.now()
        year = now.astimezone(self._config.locale.zone).year
        async with self._db.transaction():
            new_case = await self._cases.create(
                NewCase(
                    resident_id=case.resident_id,
                    pseudonym=case.pseudonym,
                    area_id=case.area_id,
                    category=case.category,
                    urgent=False,
                    contact=case.contact,
                    phone=case.phone,
                ),
                self._config.routing.case_prefix,
                year,
                now,
                parent_id=case.id,
            )
            await self._cases.add_event(
                new_case.id, "registered", now, actor_id=person.id, recurred_from=case.number
            )
        assignment = await self._routing.route(new_case.id)
        name = assignment.display_name or _("the head of the society")
        return Outgoing(
            _(
                "Recorded. The dispute is registered again as case {number}, linked "
                "to {old}; it has been offered to {name}."
            ).format(number=new_case.number, old=case.number, name=name)
        )

    async def _report_overdue(self, reminder: Reminder) -> None:
        case = await self._case_of(reminder)
        n = reminder.ref or 1
        if case is None or not await self._followup.revisit_open(case.id, n):
            return
        names = await self._members.display_names()

        def report() -> str:
            return _(
                "Revisit {n} of case {number} has not been answered for two days "
                "(mediator: {name})."
            ).format(n=n, number=case.number, name=names.get(case.mediator_id or 0, "—"))

        for head in await self._members.active("head"):
            await self._tell(head.user_id, report)

    # ------------------------------------------------------------------ survey

    async def _send_survey(self, reminder: Reminder) -> None:
        case = await self._case_of(reminder)
        if case is None or case.resident_id is None:
            return  # the resident erased their data
        user = await self._users.get(case.resident_id)
        if user is None or user.blocked_at is not None:
            return
        mediator = await self._members.get(case.mediator_id) if case.mediator_id else None
        async with self._people.speaking_to(case.resident_id):
            text = _(
                "A few days ago {name} closed your case about “{topic}” ({number}). How "
                "satisfied are you with the help you got? Press the stars: 1 = not at all, "
                "5 = very."
            ).format(
                name=mediator_label(mediator.display_name if mediator else None),
                topic=category_label(self._config, case.category),
                number=case.number,
            )
            stars = [Button("★" * n, f"{SURVEY_PREFIX}{case.id}:rate:{n}") for n in range(1, 6)]
        if await self._messenger.send(case.resident_id, Outgoing(text, rows(*stars))) is None:
            await self._users.mark_blocked(case.resident_id, self._clock.now())

    async def answer_survey(self, person: Person, case_id: int, step: str, value: str) -> Outgoing:
        """1–5 stars → is it resolved? → an optional comment (next message)."""
        case = await self._cases.get(case_id)
        if case is None or case.resident_id != person.id:
            raise NotAllowedError
        survey = await self._timers.row(f"survey:{case_id}")
        if survey is None or survey.state not in ("claimed", "done"):
            raise StaleActionError  # never asked: a forged answer must not count
        now = self._clock.now()
        if step == "rate" and value in {"1", "2", "3", "4", "5"}:
            await self._followup.survey_rating(case_id, int(value), now)
            buttons = rows(
                Button(_("Yes, it is resolved"), f"{SURVEY_PREFIX}{case_id}:resolved:yes"),
                Button(_("No, not yet"), f"{SURVEY_PREFIX}{case_id}:resolved:no"),
                per_row=2,
            )
            return Outgoing(_("Thank you! Is the problem resolved?"), buttons)
        if step == "resolved" and value in ("yes", "no"):
            await self._followup.survey_resolved(case_id, value == "yes", now)
            await self._followup.await_comment(person.id, case_id, now)
            skip = rows(Button(_("No comment"), f"{SURVEY_PREFIX}{case_id}:comment:skip"))
            return Outgoing(
                _("Anything else you would like to tell us? Write it here, or press No comment."),
                skip,
            )
        if step == "comment" and value == "skip":
            await self._followup.clear_comment(person.id)
            return Outgoing(_("Thank you for your answers."))
        raise StaleActionError

    async def survey_comment(self, person: Person, text: str) -> Outgoing | None:
        """The optional comment, if the resident was asked for one; else None."""
        case_id = await self._followup.awaited_comment(person.id)
        if case_id is None:
            return None
        await self._followup.survey_comment(case_id, text[:1000], self._clock.now())
        return Outgoing(
            _(
                "Thank you for telling us this; we read every word, and it helps us do better. "
                "All the best to you and your family!"
            )
        )

    # ------------------------------------------------------------------ weekly digest

    async def _send_digests(self, reminder: Reminder) -> None:
        now = self._clock.now()
        await self._timers.at(DIGEST_JOB, "digest", self._next_digest(now))  # next week first
        week_end = now + timedelta(days=7)
        for member in await self._members.active():
            if member.role not in ("mediator", "head"):
                continue
            async with self._people.speaking_to(member.user_id):
                text = await self._digest(member.user_id, member.role == "head", now, week_end)
            await self._messenger.send(member.user_id, Outgoing(text))

    async def _digest(self, user_id: int, whole: bool, now: datetime, week_end: datetime) -> str:
        mediator = None if whole else user_id
        open_cases = await self._followup.open_cases(mediator)
        due = await self._followup.revisits_due(mediator, now, week_end)
        overdue = await self._followup.revisits_overdue(mediator, now - OVERDUE_AFTER)
        title = _("📋 Weekly digest of the society") if whole else _("📋 Your weekly digest")
        over = await self._time_limits.over_limit(mediator)
        return "\n".join(
            [
                title,
                _("Over the time limit: {count}").format(count=len(over)),
                *(f"• {case.number}" for case in over),
                _("Open cases: {count}").format(count=len(open_cases)),
                *self._case_lines(open_cases, now),
                _("Revisits due this week: {count}").format(count=len(due)),
                *(f"• {number} #{n}" for number, n in due),
                _("Overdue revisits: {count}").format(count=len(overdue)),
                *(f"• {number} #{n}" for number, n in overdue),
            ]
        )

    def _case_lines(self, cases: Sequence[CaseRecord], now: datetime) -> list[str]:
        """Urgent cases nobody has taken first, marked 🔴 with how long they have waited."""
        ordered = sorted(cases, key=lambda c: not is_waiting_urgent(c))
        return [
            f"• {c.number} · {category_label(self._config, c.category)} · {state_label(c.state)}"
            + (f" · {waiting_mark(c, now)}" if is_waiting_urgent(c) else "")
            for c in ordered
        ]

    async def _case_of(self, reminder: Reminder) -> CaseRecord | None:
        return await self._cases.get(reminder.case_id) if reminder.case_id else None
