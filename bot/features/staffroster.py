"""The roster for staff: see it, export it, import an edited file, add leave and swaps.

An import is two steps and keeps no state in between: the preview answers the staff
member's file with the changes and a confirm button carrying a digest of the current
roster and the file's roster; the confirmation reads the same file again (the preview is a
reply to it) and applies it only if both digests still match — so a restart in between
loses nothing, and a roster changed meanwhile is never overwritten unseen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Literal

from bot.core.errors import DomainError, StaleActionError
from bot.core.i18n import _, current_locale, format_skeleton, zone_label
from bot.core.messaging import Outgoing, rows
from bot.domain.people import MemberRecord, Person
from bot.domain.permissions import require_staff, require_staff_or_head
from bot.domain.roster import Override, Slot
from bot.features.deps import Deps, Feature
from bot.features.rosterfile import (
    MAX_PROBLEMS_SHOWN,
    Change,
    MediatorRef,
    RosterBook,
    RosterDiff,
    clock_text,
    compare,
    export_rows,
    fingerprint,
    parse,
    read_table,
    to_csv,
    to_xlsx,
    weekday_names,
)
from bot.features.staff import StaffFile, button

ChangeKind = Literal["leave", "swap"]  # a planned roster change: leave, or a swap
FileLoader = Callable[[], Awaitable[tuple[str, bytes]]]  # (file name, bytes) of a sent file
KIND_CODES: dict[str, ChangeKind] = {"l": "leave", "s": "swap"}
DAYS_AHEAD = 14
MAX_DIFF_LINES = 40


class RosterChangedError(DomainError):
    def user_message(self) -> str:
        return _(
            "The roster or the file has changed since it was checked. Please send the "
            "file again (or export the roster anew)."
        )


class StaffRosterService(Feature):
    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._roster = deps.repos.roster

    # ------------------------------------------------------------------ seeing it

    async def view(self, person: Person) -> Outgoing:
        """/roster: each area's weekly slots and this week's overrides, in local time."""
        require_staff_or_head(person)
        book = await self.book()
        slots = await self._roster.slots()
        zone = zone_label(self._config.locale.zone)
        lines = [_("🗓 Duty roster · {zone}").format(zone=zone)]
        for area in self._config.areas:
            lines.append("")
            lines.append(book.area_label(area.id))
            lines += _slot_lines([s for s in slots if s.area_id == area.id], book) or [
                _("• no duty slots")
            ]
        lines += ["", *await self._week_lines(book)]
        buttons = [button(_("📄 Export (Excel and CSV)"), "rx")]
        if person.is_staff:
            buttons.append(button(_("🗓 Add leave or a swap"), "ol"))
            lines += ["", _("To change the weekly slots: export, edit the file, send it back.")]
        return Outgoing("\n".join(lines), rows(*buttons))

    async def _week_lines(self, book: RosterBook) -> list[str]:
        today = self._today()
        monday = today - timedelta(days=today.weekday())
        sunday = monday + timedelta(days=6)
        overrides = [o for o in await self._roster.overrides(monday) if o.day <= sunday]
        lines = [
            _("This week ({first} – {last}):").format(
                first=self._day_label(monday), last=self._day_label(sunday)
            )
        ]
        ordered = sorted(overrides, key=lambda o: (o.day, o.kind != "off", o.mediator_id))
        changes = [self._override_line(o, book) for o in ordered] or [_("• no changes")]
        return lines + changes

    def _override_line(self, override: Override, book: RosterBook) -> str:
        name = book.mediator_name(override.mediator_id)
        day = self._day_label(override.day)
        if override.kind == "off" and override.whole_day:
            return _("• {day} · {name} · off duty all day").format(day=day, name=name)
        assert override.start is not None and override.end is not None
        hours = f"{clock_text(override.start)}–{clock_text(override.end)}"
        if override.kind == "off":
            return _("• {day} · {name} · off duty {hours}").format(day=day, name=name, hours=hours)
        return _("• {day} · {name} · on duty {hours}").format(day=day, name=name, hours=hours)

    async def book(self) -> RosterBook:
        """The areas and the team, as a roster file names them."""
        active = await self._members.active()
        names = await self._members.display_names()
        refs = [
            MediatorRef(m.user_id, m.display_name, m.area_id, m.role == "mediator") for m in active
        ]
        known = {m.user_id for m in active}
        refs += [
            MediatorRef(uid, name, None, False) for uid, name in names.items() if uid not in known
        ]
        return RosterBook(self._config.areas, refs)

    # ------------------------------------------------------------------ the file

    async def export(self, person: Person) -> list[StaffFile]:
        """The roster as XLSX (to edit) and CSV, in the reader's language."""
        require_staff_or_head(person)
        book = await self.book()
        table = export_rows(await self._roster.slots(), book)
        stamp = self._today().isoformat()
        caption = _(
            "The duty roster. Edit the rows (one per weekly slot), keep the columns, and "
            "send the file back to me; I will show the changes before anything is saved."
        )
        return [
            StaffFile(f"roster-{stamp}.xlsx", to_xlsx(table, book), caption),
            StaffFile(f"roster-{stamp}.csv", to_csv(table), _("The same roster as CSV.")),
        ]

    async def preview(self, person: Person, file_name: str, data: bytes) -> Outgoing:
        """Check an edited file: the problems per row, or the changes and a confirm button."""
        require_staff(person)
        book = await self.book()
        parsed = parse(read_table(file_name, data), book)
        if parsed.problems:
            return Outgoing(_problems_text(parsed.problems))
        current = await self._roster.slots()
        diff = compare(current, parsed.slots)
        if diff.empty:
            return Outgoing(_("The file matches the current roster: nothing to change."))
        digest = fingerprint(current, parsed.slots)
        buttons = rows(
            button(_("✓ Apply these changes"), "rc", digest),
            button(_("✗ Discard"), "rd"),
        )
        return Outgoing(_diff_text(diff, book), buttons)

    async def apply(self, person: Person, load: FileLoader, digest: str) -> Outgoing:
        """The confirmation: the same file (`load` fetches it again), against the same
        roster, is applied."""
        require_staff(person)
        file_name, data = await load()
        parsed = parse(read_table(file_name, data), await self.book())
        async with self._db.transaction():  # two confirmations at once: the second is stale
            current = await self._roster.slots()
            if parsed.problems or fingerprint(current, parsed.slots) != digest:
                raise RosterChangedError
            diff = compare(current, parsed.slots)
            await self._roster.replace_slots(parsed.slots)
        return Outgoing(
            _(
                "✓ The roster is updated: {added} added, {removed} removed, {changed} "
                "changed. New cases are routed by it from now on."
            ).format(added=len(diff.added), removed=len(diff.removed), changed=len(diff.changed))
        )

    def discard(self, person: Person) -> Outgoing:
        require_staff(person)
        return Outgoing(_("Discarded: the roster is unchanged."))

    def cancel(self, person: Person) -> Outgoing:
        require_staff(person)
        return Outgoing(_("Cancelled: nothing was saved."))

    # ------------------------------------------------------------------ leave and swaps

    async def override_start(self, person: Person) -> Outgoing:
        """Whose duty changes?"""
        require_staff(person)
        mediators = await self._mediators()
        if not mediators:
            return Outgoing(_("No mediator has joined yet. Use /invite to invite one."))
        buttons = [
            button(f"{m.display_name} · {self._area(m)}", "ok", m.user_id) for m in mediators
        ]
        return Outgoing(_("Whose duty changes?"), rows(*buttons, per_row=2))

    async def override_kind(self, person: Person, mediator_id: int) -> Outgoing:
        require_staff(person)
        mediator = await self._mediator(mediator_id)
        buttons = rows(
            button(_("Leave: off duty for a day"), "od", mediator_id, "l"),
            button(_("Swap: someone takes over a day"), "od", mediator_id, "s"),
            button(_("« Back"), "ol"),
        )
        return Outgoing(_("What changes for {name}?").format(name=mediator.display_name), buttons)

    async def override_days(self, person: Person, mediator_id: int, code: str) -> Outgoing:
        """The next two weeks; for a swap only the days the mediator is rostered."""
        require_staff(person)
        kind = _kind(code)
        mediator = await self._mediator(mediator_id)
        days = [self._today() + timedelta(days=n) for n in range(DAYS_AHEAD)]
        if kind == "swap":
            weekdays = {s.weekday for s in await self._slots_of(mediator_id)}
            days = [d for d in days if d.weekday() in weekdays]
            if not days:
                return Outgoing(
                    _("{name} has no weekly duty slots to swap.").format(name=mediator.display_name)
                )
        buttons = [
            button(self._day_label(d), "oy", mediator_id, code, d.strftime("%Y%m%d")) for d in days
        ]
        buttons.append(button(_("« Back"), "ok", mediator_id))
        return Outgoing(_("Which day?"), rows(*buttons, per_row=2))

    async def override_day_chosen(
        self, person: Person, mediator_id: int, code: str, day: date
    ) -> Outgoing:
        """Leave: confirm. Swap: who takes over?"""
        require_staff(person)
        mediator = await self._mediator(mediator_id)
        self._check_day(day)
        if _kind(code) == "leave":
            return self._confirm_leave(mediator, day)
        others = [
            m
            for m in await self._mediators()
            if m.area_id == mediator.area_id and m.user_id != mediator_id
        ]
        if not others:
            return Outgoing(
                _("Nobody else in {area} can take over.").format(area=self._area(mediator))
            )
        buttons = [
            button(m.display_name, "oc", mediator_id, day.strftime("%Y%m%d"), m.user_id)
            for m in others
        ]
        return Outgoing(
            _("Who takes over {name}'s duty on {day} ({hours})?").format(
                name=mediator.display_name,
                day=self._day_label(day),
                hours=await self._hours(mediator_id, day),
            ),
            rows(*buttons, per_row=2),
        )

    def _confirm_leave(self, mediator: MemberRecord, day: date) -> Outgoing:
        text = _(
            "{name} will be off duty all day on {day}. New cases of {area} go to whoever "
            "else is on duty. Save this?"
        ).format(name=mediator.display_name, day=self._day_label(day), area=self._area(mediator))
        buttons = rows(
            button(_("✓ Save"), "oa", mediator.user_id, "l", day.strftime("%Y%m%d"), 0),
            button(_("✗ Cancel"), "x"),
        )
        return Outgoing(text, buttons)

    async def override_swap_chosen(
        self, person: Person, mediator_id: int, day: date, substitute_id: int
    ) -> Outgoing:
        require_staff(person)
        mediator, substitute = await self._swap_pair(mediator_id, day, substitute_id)
        text = _(
            "{substitute} takes over {name}'s duty on {day} ({hours}); {name} is off duty "
            "that day. Save this?"
        ).format(
            substitute=substitute.display_name,
            name=mediator.display_name,
            day=self._day_label(day),
            hours=await self._hours(mediator_id, day),
        )
        buttons = rows(
            button(_("✓ Save"), "oa", mediator_id, "s", day.strftime("%Y%m%d"), substitute_id),
            button(_("✗ Cancel"), "x"),
        )
        return Outgoing(text, buttons)

    async def override_apply(
        self, person: Person, mediator_id: int, code: str, day: date, substitute_id: int
    ) -> Outgoing:
        """Save the leave or the swap as dated overrides (the weekly slots stay)."""
        require_staff(person)
        if _kind(code) == "leave":
            mediator = await self._mediator(mediator_id)
            self._check_day(day)
            await self._add_once([Override(day, mediator_id, "off", mediator.area_id or "")])
            return Outgoing(
                _("Saved: {name} is off duty all day on {day}.").format(
                    name=mediator.display_name, day=self._day_label(day)
                )
            )
        mediator, substitute = await self._swap_pair(mediator_id, day, substitute_id)
        covered = [
            Override(day, substitute_id, "on", s.area_id, s.start, s.end)
            for s in await self._slots_of(mediator_id)
            if s.weekday == day.weekday()
        ]
        await self._add_once([Override(day, mediator_id, "off", mediator.area_id or ""), *covered])
        return Outgoing(
            _("Saved: {substitute} takes over {name}'s duty on {day}.").format(
                substitute=substitute.display_name,
                name=mediator.display_name,
                day=self._day_label(day),
            )
        )

    async def _add_once(self, overrides: Sequence[Override]) -> None:
        existing = set(await self._roster.overrides(min(o.day for o in overrides)))
        for override in overrides:
            if override not in existing:
                await self._roster.add_override(override)

    async def _swap_pair(
        self, mediator_id: int, day: date, substitute_id: int
    ) -> tuple[MemberRecord, MemberRecord]:
        mediator = await self._mediator(mediator_id)
        substitute = await self._mediator(substitute_id)
        self._check_day(day)
        rostered = any(s.weekday == day.weekday() for s in await self._slots_of(mediator_id))
        if substitute.area_id != mediator.area_id or substitute_id == mediator_id or not rostered:
            raise StaleActionError
        return mediator, substitute

    # ------------------------------------------------------------------ helpers

    async def _mediators(self) -> list[MemberRecord]:
        """Active mediators who have named themselves: only they hold duty slots."""
        return [m for m in await self._members.active("mediator") if m.display_name]

    async def _mediator(self, user_id: int) -> MemberRecord:
        member = await self._members.get(user_id)
        if member is None or not member.active or member.role != "mediator":
            raise StaleActionError
        return member

    async def _slots_of(self, mediator_id: int) -> list[Slot]:
        return [s for s in await self._roster.slots() if s.mediator_id == mediator_id]

    async def _hours(self, mediator_id: int, day: date) -> str:
        slots = sorted(
            (s for s in await self._slots_of(mediator_id) if s.weekday == day.weekday()),
            key=lambda s: s.start,
        )
        return ", ".join(f"{clock_text(s.start)}–{clock_text(s.end)}" for s in slots)

    def _check_day(self, day: date) -> None:
        today = self._today()
        if not today <= day < today + timedelta(days=DAYS_AHEAD):
            raise StaleActionError

    def _today(self) -> date:
        return self._clock.now().astimezone(self._config.locale.zone).date()

    def _day_label(self, day: date) -> str:
        zone = self._config.locale.zone
        return format_skeleton(datetime.combine(day, time(12), zone), zone, "MMMEd")

    def _area(self, member: MemberRecord) -> str:
        area = self._config.area(member.area_id) if member.area_id else None
        return area.name.text(current_locale()) if area else "—"


def _kind(code: str) -> ChangeKind:
    kind = KIND_CODES.get(code)
    if kind is None:
        raise StaleActionError
    return kind


def _slot_lines(slots: Iterable[Slot], book: RosterBook) -> list[str]:
    """One line per weekday and time, naming everyone on duty then."""
    days = weekday_names()
    grouped: dict[tuple[int, time, time], list[str]] = {}
    for slot in sorted(slots, key=lambda s: (s.weekday, s.start, s.end, s.mediator_id)):
        grouped.setdefault((slot.weekday, slot.start, slot.end), []).append(
            book.mediator_name(slot.mediator_id)
        )
    return [
        f"• {days[weekday]} {clock_text(start)}–{clock_text(end)} · {', '.join(names)}"
        for (weekday, start, end), names in grouped.items()
    ]


def _problems_text(problems: Sequence[str]) -> str:
    lines = [_("I could not use this file. Please correct these rows and send it again:")]
    lines += problems[:MAX_PROBLEMS_SHOWN]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(
            _("… and {count} more problems").format(count=len(problems) - MAX_PROBLEMS_SHOWN)
        )
    lines.append(_("Nothing has been changed."))
    return "\n".join(lines)


def _diff_text(diff: RosterDiff, book: RosterBook) -> str:
    lines = [
        _(
            "Changes to the roster: {added} added, {removed} removed, {changed} changed. "
            "Nothing is saved until you confirm."
        ).format(added=len(diff.added), removed=len(diff.removed), changed=len(diff.changed))
    ]
    body = [f"+ {_describe(s, book)}" for s in diff.added]
    body += [f"− {_describe(s, book)}" for s in diff.removed]
    body += [_describe_change(c, book) for c in diff.changed]
    lines += body[:MAX_DIFF_LINES]
    if len(body) > MAX_DIFF_LINES:
        lines.append(_("… and {count} more").format(count=len(body) - MAX_DIFF_LINES))
    return "\n".join(lines)


def _describe(slot: Slot, book: RosterBook) -> str:
    day = weekday_names()[slot.weekday]
    hours = f"{clock_text(slot.start)}–{clock_text(slot.end)}"
    name = book.mediator_name(slot.mediator_id)
    return f"{book.area_label(slot.area_id)} · {day} {hours} · {name}"


def _describe_change(change: Change, book: RosterBook) -> str:
    old, new = change.old, change.new
    return "~ {area} · {day} · {name}: {old} → {new}".format(
        area=book.area_label(old.area_id),
        day=weekday_names()[old.weekday],
        name=book.mediator_name(old.mediator_id),
        old=f"{clock_text(old.start)}–{clock_text(old.end)}",
        new=f"{clock_text(new.start)}–{clock_text(new.end)}",
    )
