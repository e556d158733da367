"""Staff tools: who may use them, the mediators list, deactivation, heads, the case overview.

Every entry point re-checks the person's role on the server: a button only names what was
on screen. Staff see numbers, states, areas, categories and case numbers — never message
contents or who a resident is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot import roster
from bot.clock import Clock
from bot.config import Config
from bot.errors import NotAllowedError, StaleActionError
from bot.i18n import _, format_when, lazy_gettext
from bot.menus import MenuService
from bot.messaging import Button, Messenger, Outgoing, rows
from bot.notify import Notifier
from bot.people import PeopleService, Person
from bot.revisits import OVERDUE_AFTER
from bot.routing import RoutingService
from bot.terms import STATES, area_name, category_label, state_label
from bot.timelimit import TimeLimitService
from bot.timers import Timers
from bot.urgent import UrgentService, waiting_mark
from storage.cases import CaseRepository
from storage.db import Database
from storage.members import MemberRecord, MemberRepository
from storage.roster import RosterRepository
from storage.staff import StaffRepository

STAFF_PREFIX = "st:"
MAX_LISTED = 10  # offers, waiting cases and revisits shown in the overview
MAX_CASE_LINES = 30  # the head's case list (a message holds 4096 characters)


class StaffOnlyError(NotAllowedError):
    def user_message(self) -> str:
        return _("Sorry, this is only for the federation staff.")


class StaffOrHeadOnlyError(NotAllowedError):
    def user_message(self) -> str:
        return _("Sorry, this is only for the federation staff and the head of the society.")


def require_staff(person: Person) -> None:
    """Roster changes, mediators, invites: federation staff only."""
    if not person.is_staff:
        raise StaffOnlyError


def require_staff_or_head(person: Person) -> None:
    """Reading the roster, the overview and statistics: staff, and the head of the society."""
    if not (person.is_staff or person.is_head):
        raise StaffOrHeadOnlyError


@dataclass(frozen=True)
class StaffFile:
    """A file for the staff member: a spreadsheet, a chart."""

    file_name: str
    data: bytes
    caption: str


def button(label: str, *parts: object) -> Button:
    """A staff button: `st:` and its parts; callback data must stay within 64 bytes."""
    data = STAFF_PREFIX + ":".join(str(p) for p in parts)
    if len(data.encode()) > 64:
        raise ValueError(f"callback data too long: {data!r}")
    return Button(label, data)


class StaffService:
    def __init__(
        self,
        *,
        db: Database,
        cases: CaseRepository,
        members: MemberRepository,
        roster_repo: RosterRepository,
        staff_repo: StaffRepository,
        routing: RoutingService,
        urgent: UrgentService,
        timers: Timers,
        time_limits: TimeLimitService,
        people: PeopleService,
        messenger: Messenger,
        menus: MenuService,
        clock: Clock,
        config: Config,
    ) -> None:
        self._db = db
        self._menus = menus
        self._time_limits = time_limits
        self._cases = cases
        self._members = members
        self._roster = roster_repo
        self._staff = staff_repo
        self._routing = routing
        self._urgent = urgent
        self._timers = timers
        self._people = people
        self._messenger = messenger
        self._tell = Notifier(people, messenger).tell
        self._clock = clock
        self._config = config

    # ------------------------------------------------------------------ the mediators list

    async def mediators(self, person: Person) -> Outgoing:
        """/mediators: area, role, duty state and open cases of every active mediator."""
        require_staff(person)
        team = await self._team()
        if not team:
            return Outgoing(_("No mediator has joined yet. Use /invite to invite one."))
        workload = await self._cases.workload()
        on_duty = await self._on_duty_now(team)
        lines = [_("👥 Mediators ({count})").format(count=len(team))]
        lines += [
            self._member_line(m, m.user_id in on_duty, workload.get(m.user_id, 0)) for m in team
        ]
        lines.append(
            _("Tap a name to deactivate them or make them the head. /invite adds someone.")
        )
        buttons = [button(_name(m), "mm", m.user_id) for m in team]
        return Outgoing("\n".join(lines), rows(*buttons, per_row=2))

    async def mediator_card(self, person: Person, user_id: int) -> Outgoing:
        """One mediator, with what staff can do about them."""
        require_staff(person)
        member = await self._team_member(user_id)
        on_duty = member.user_id in await self._on_duty_now([member])
        workload = (await self._cases.workload()).get(member.user_id, 0)
        actions = [button(_("Deactivate"), "md", member.user_id)]
        if member.role == "mediator":
            actions.append(button(_("Make head of the society"), "mh", member.user_id))
        actions.append(button(_("« All mediators"), "ml"))
        return Outgoing(self._member_line(member, on_duty, workload), rows(*actions))

    def _member_line(self, member: MemberRecord, on_duty: bool, open_cases: int) -> str:
        role = _("head") if member.role == "head" else _("mediator")
        return _("• {name} · {area} · {role} · {duty} · open cases: {count}").format(
            name=_name(member),
            area=area_name(self._config, member.area_id),
            role=role,
            duty=_duty_label(member, on_duty),
            count=open_cases,
        )

    async def _team(self) -> list[MemberRecord]:
        return [m for m in await self._members.active() if m.role in ("mediator", "head")]

    async def _team_member(self, user_id: int) -> MemberRecord:
        member = await self._members.get(user_id)
        if member is None or not member.active or member.role not in ("mediator", "head"):
            raise StaleActionError
        return member

    async def _on_duty_now(self, team: Iterable[MemberRecord]) -> set[int]:
        now = self._clock.now()
        zone = self._config.locale.zone
        slots = await self._roster.slots()
        overrides = await self._roster.overrides(now.astimezone(zone).date() - timedelta(days=1))
        return {
            m.user_id
            for m in team
            if roster.is_on_duty(
                roster.Mediator(m.user_id, m.area_id, m.duty_mode, m.active, 0, None),
                now,
                slots,
                overrides,
                zone,
            )
        }

    # ------------------------------------------------------------------ deactivating

    async def ask_deactivate(self, person: Person, user_id: int) -> Outgoing:
        require_staff(person)
        member = await self._team_member(user_id)
        open_cases = len(await self._staff.accepted_case_ids(user_id)) + len(
            await self._staff.waiting_offers(user_id)
        )
        text = _(
            "Deactivate {name}? Their open cases ({count}) go to other mediators, their "
            "duty slots are removed, and they can no longer take cases. Their past work "
            "stays in the registration book."
        ).format(name=_name(member), count=open_cases)
        buttons = rows(
            button(_("Yes, deactivate"), "mD", user_id),
            button(_("Cancel"), "mm", user_id),
        )
        return Outgoing(text, buttons)

    async def deactivate(self, person: Person, user_id: int) -> Outgoing:
        """Take a mediator off the team: re-route their open cases, drop their future duty."""
        require_staff(person)
        member = await self._team_member(user_id)
        now = self._clock.now()
        today = now.astimezone(self._config.locale.zone).date()
        async with self._db.transaction():
            await self._members.set_active(user_id, False)
            slots, overrides = await self._roster.remove_mediator(user_id, today)
            accepted = await self._release_accepted(person, user_id, now)
            offered = await self._withdraw_offers(person, user_id, now)
            revisits = await self._hand_over_revisits(person, user_id, now)
        await self._menus.refresh(user_id)  # her chat goes back to the residents' menu
        moved = [await self._reroute(case_id) for case_id in [*accepted, *offered]]
        await self._tell_residents(accepted)
        await self._tell_member(user_id, _DEACTIVATED_NOTICE)
        summary = [
            _("{name} is deactivated.").format(name=_name(member)),
            _("Open cases passed on: {count}").format(count=len(moved)),
            *moved,
            _(
                "Weekly duty slots removed: {slots}; planned roster changes removed: {overrides}"
            ).format(slots=slots, overrides=overrides),
        ]
        if revisits:
            summary.append(_("Revisits handed to the head: {count}").format(count=revisits))
        return Outgoing("\n".join(summary))

    async def _release_accepted(self, person: Person, user_id: int, now: datetime) -> list[int]:
        case_ids = await self._staff.accepted_case_ids(user_id)
        for case_id in case_ids:
            await self._cases.set_state(case_id, "new", None, now)
            await self._cases.add_event(
                case_id, "released", now, actor_id=person.id, mediator=user_id, reason="deactivated"
            )
        return case_ids

    async def _withdraw_offers(self, person: Person, user_id: int, now: datetime) -> list[int]:
        case_ids = []
        for offer in await self._staff.waiting_offers(user_id):
            if not await self._cases.end_offer(offer.offer_id, "declined", now, "deactivated"):
                continue
            await self._timers.cancel(f"offer:{offer.offer_id}")
            await self._cases.set_state(offer.case_id, "new", None, now)
            await self._cases.add_event(
                offer.case_id,
                "released",
                now,
                actor_id=person.id,
                mediator=user_id,
                reason="deactivated",
            )
            case_ids.append(offer.case_id)
        return case_ids

    async def _hand_over_revisits(self, person: Person, user_id: int, now: datetime) -> int:
        """Revisits still to come of their settled cases go to a head (if there is one)."""
        head = next((h for h in await self._members.active("head") if h.user_id != user_id), None)
        case_ids = await self._staff.awaiting_revisit(user_id)
        if head is None or not case_ids:
            return 0
        await self._staff.hand_over(case_ids, head.user_id, now)
        for case_id in case_ids:
            await self._cases.add_event(
                case_id, "transferred", now, actor_id=person.id, to=head.user_id, by_staff=True
            )
        return len(case_ids)

    async def _reroute(self, case_id: int) -> str:
        """Route a released case again (an urgent one: alert everyone); one summary line."""
        released = await self._cases.get(case_id)
        if released is not None and released.urgent:
            await self._urgent.raise_alarm(released)
            return _("• {number}: urgent, everyone alerted").format(number=released.number)
        assignment = await self._routing.route(case_id)
        case = await self._cases.get(case_id)
        number = case.number if case else str(case_id)
        if assignment.display_name:
            return _("• {number}: offered to {name}").format(
                number=number, name=assignment.display_name
            )
        return _("• {number}: waiting for a mediator").format(number=number)

    async def _tell_residents(self, case_ids: Sequence[int]) -> None:
        for case_id in case_ids:
            case = await self._cases.get(case_id)
            if case is None or case.resident_id is None:
                continue
            await self._tell(case.resident_id, partial(_mediator_gone, case.number))

    async def _tell_member(self, user_id: int, notice: Any) -> None:
        """`notice` is a lazy text: it is translated in the member's language here."""
        await self._tell(user_id, lambda: str(notice))

    # ------------------------------------------------------------------ heads

    async def ask_make_head(self, person: Person, user_id: int) -> Outgoing:
        require_staff(person)
        member = await self._team_member(user_id)
        text = _(
            "Make {name} a head of the society? The head gets escalations and urgent "
            "alerts, takes the cases no mediator can take, and may reassign cases. "
            "Their weekly duty slots are removed."
        ).format(name=_name(member))
        buttons = rows(
            button(_("Yes, make head"), "mH", user_id),
            button(_("Cancel"), "mm", user_id),
        )
        return Outgoing(text, buttons)

    async def make_head(self, person: Person, user_id: int) -> Outgoing:
        require_staff(person)
        member = await self._team_member(user_id)
        if member.role == "head":
            raise StaleActionError
        today = self._clock.now().astimezone(self._config.locale.zone).date()
        async with self._db.transaction():
            await self._members.set_role(user_id, "head")
            slots, _overrides = await self._roster.remove_mediator(user_id, today)
        await self._menus.refresh(user_id)
        await self._tell_member(user_id, _HEAD_NOTICE)
        return Outgoing(
            _("{name} is now a head of the society. Weekly duty slots removed: {slots}").format(
                name=_name(member), slots=slots
            )
        )

    # ------------------------------------------------------------------ overview

    async def overview(self, person: Person) -> list[Outgoing]:
        """/overview: counts and what waits; the head also gets the list of open cases."""
        require_staff_or_head(person)
        names = await self._members.display_names()
        parts = [
            _("📋 Case overview (numbers only: no messages, no residents)"),
            *await self._urgent_waiting(),
            await self._counts(),
            await self._waiting(names),
            await self._overdue(names),
            await self._over_limit(),
        ]
        replies = [Outgoing("\n\n".join(parts))]
        if person.is_head:
            replies.append(Outgoing(await self._case_list(names)))
        return replies

    async def _over_limit(self) -> str:
        """Open cases past `mediation.time_limit_days` (and any agreed extension)."""
        over = await self._time_limits.over_limit(None)
        lines = [
            _("⏰ Open longer than the time limit ({days} days): {count}").format(
                days=self._config.mediation.time_limit_days, count=len(over)
            )
        ]
        lines += [f"• {c.number}" for c in over[:MAX_LISTED]]
        return "\n".join(lines)

    async def _counts(self) -> str:
        by_state = await self._staff.count_by_state()
        states: Counter[str] = Counter()  # in the order of a case's life; labels may repeat
        for state in sorted(by_state, key=lambda s: list(STATES).index(s) if s in STATES else 99):
            states[state_label(state)] += by_state[state]
        areas = await self._staff.open_count_by_area()
        categories = await self._staff.open_count_by_category()
        area_ids = [a.id for a in self._config.areas] + [k for k in areas if k is None]
        return "\n".join(
            [
                _("All cases by state: {counts}").format(counts=_joined(states.items())),
                _("Open cases by area: {counts}").format(
                    counts=_joined((area_name(self._config, a), areas.get(a, 0)) for a in area_ids)
                ),
                _("Open cases by category: {counts}").format(
                    counts=_joined(
                        (category_label(self._config, t.id), categories.get(t.id, 0))
                        for t in self._config.case_topics
                    )
                ),
            ]
        )

    async def _urgent_waiting(self) -> list[str]:
        """Urgent cases nobody has taken: first, with how long they have waited."""
        waiting = await self._urgent.waiting()
        if not waiting:
            return []
        now = self._clock.now()
        lines = [_("🔴 Urgent, nobody has taken it yet ({count}):").format(count=len(waiting))]
        lines += [
            f"• {c.number} · {area_name(self._config, c.area_id)} · {waiting_mark(c, now)}"
            for c in waiting[:MAX_LISTED]
        ]
        return ["\n".join(lines)]

    async def _waiting(self, names: dict[int, str]) -> str:
        offers = await self._staff.waiting_offers()
        lines = [_("Oldest unanswered offers:")]
        lines += [
            _("• {number} · {area} · offered to {name} at {time}").format(
                number=o.number,
                area=area_name(self._config, o.area_id),
                name=names.get(o.mediator_id) or "—",
                time=self._when(o.offered_at),
            )
            for o in offers[:MAX_LISTED]
        ] or [_("• none")]
        unassigned = await self._staff.unassigned()
        if unassigned:
            lines.append(_("Waiting for a mediator to come on duty:"))
            lines += [
                _("• {number} · {area} · since {time}").format(
                    number=c.number,
                    area=area_name(self._config, c.area_id),
                    time=self._when(c.since),
                )
                for c in unassigned[:MAX_LISTED]
            ]
        return "\n".join(lines)

    async def _overdue(self, names: dict[int, str]) -> str:
        overdue = await self._staff.overdue_revisits(self._clock.now() - OVERDUE_AFTER)
        lines = [_("Overdue revisits:")]
        lines += [
            _("• {number} revisit {n} · {name} · asked at {time}").format(
                number=r.number,
                n=r.n,
                name=names.get(r.mediator_id or 0) or "—",
                time=self._when(r.sent_at),
            )
            for r in overdue[:MAX_LISTED]
        ] or [_("• none")]
        return "\n".join(lines)

    async def _case_list(self, names: dict[int, str]) -> str:
        cases = await self._staff.open_cases()
        urgent = {c.number: c for c in await self._urgent.waiting()}
        now = self._clock.now()
        lines = [_("Open cases ({count}):").format(count=len(cases))]
        lines += [
            f"• {c.number} · {area_name(self._config, c.area_id)} · "
            f"{category_label(self._config, c.category)} · {state_label(c.state)} · "
            f"{names.get(c.mediator_id or 0) or '—'} · {self._when(c.created_at)}"
            + (f" · {waiting_mark(urgent[c.number], now)}" if c.number in urgent else "")
            for c in cases[:MAX_CASE_LINES]
        ]
        if len(cases) > MAX_CASE_LINES:
            lines.append(_("… and {count} more").format(count=len(cases) - MAX_CASE_LINES))
        return "\n".join(lines)

    def _when(self, moment: datetime) -> str:
        return format_when(moment, self._config.locale.zone)


# Told to a team member in their own language: translated when sent (lazy).
_DEACTIVATED_NOTICE: Any = lazy_gettext(
    "You are no longer on the Da'asao mediators' team, and no new cases will come to you. "
    "Your open cases have been passed on. Thank you for your work!"
)
_HEAD_NOTICE: Any = lazy_gettext(
    "You are now a head of the Da'asao mediation society: escalations, urgent alerts and "
    "cases that no mediator can take come to you. /help shows what you can do."
)


def _name(member: MemberRecord) -> str:
    return member.display_name or _("(no name yet)")


def _duty_label(member: MemberRecord, on_duty: bool) -> str:
    if member.duty_mode == "on":
        return _("on duty (switched on)")
    if member.duty_mode == "off":
        return _("off duty (switched off)")
    return _("on duty now (roster)") if on_duty else _("off duty now (roster)")


def _joined(pairs: Iterable[tuple[str, int]]) -> str:
    return " · ".join(f"{label} {count}" for label, count in pairs) or "—"


def _mediator_gone(number: str) -> str:
    return _(
        "Your mediator for case {number} is no longer available. Your case is "
        "being passed to another Da'asao mediator, who will write to you here."
    ).format(number=number)
