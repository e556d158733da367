"""Event announcements: staff compose, the bot sends on time (once or repeating), residents
answer "I'll come" / "Can't come", and those who come are reminded before the event.

Composing is a short dialogue kept in the database (the draft survives restarts):
text (and optionally a photo) → audience (areas, topics) → time (now, or a local date and
time, optionally repeating) → RSVP → reminder → preview exactly as residents will see it →
confirm. Each sending is a run on `bot.features.timers`; `bot.features.broadcast` delivers it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from bot.core.callbacks import COMPOSE, MANAGE, RSVP, UNSUBSCRIBE
from bot.core.errors import DomainError, NotAllowedError, StaleActionError, UsageError
from bot.core.i18n import SUPPORTED_LOCALES, _, current_locale, format_when, negotiate
from bot.core.messaging import Button, Outgoing, parse_id, rows
from bot.core.when import REPEATS, Reading, Refusal, next_occurrence, read_local
from bot.domain.people import Person
from bot.domain.permissions import require_staff
from bot.features.broadcast import Broadcaster
from bot.features.deps import Deps, Feature
from storage.announcements import Announcement, Run
from storage.reminders import Reminder

log = logging.getLogger(__name__)

PREVIEW = "preview"
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024  # Telegram's
FRAME_ROOM = 100  # what the bot puts around the text: the footer, or a reminder's first line


class ComposeError(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def user_message(self) -> str:
        return self.message


class AnnouncementService(Feature):
    def __init__(self, deps: Deps, *, broadcaster: Broadcaster) -> None:
        super().__init__(deps)
        self._repo = deps.repos.announcements
        self._subs = deps.repos.subscriptions
        self._broadcaster = broadcaster
        self._catalogs = deps.catalogs
        # A broadcast keeps a row per recipient and may take minutes: other reminders
        # must not wait behind it.
        deps.timers.register("announce", self._send_run, exclusive=False)
        deps.timers.register("announce_reminder", self._send_event_reminder)

    def stop(self) -> None:
        self._broadcaster.stop()

    # ------------------------------------------------------------------ composing

    async def start(self, person: Person) -> Outgoing:
        """/announce: a fresh draft (an older unfinished one is dropped)."""
        require_staff(person)
        await self._repo.create_draft(person.id, "text", self._clock.now())
        return Outgoing(
            _(
                "Send the text of the announcement. You may send a photo with the "
                "text as its caption instead. (/cancel stops.)"
            )
        )

    async def composing(self, person: Person) -> bool:
        return person.is_staff and await self._repo.draft_of(person.id) is not None

    async def cancel(self, person: Person) -> bool:
        draft = await self._repo.draft_of(person.id) if person.is_staff else None
        if draft is not None:
            await self._repo.update(draft.id, state="cancelled")
        return draft is not None

    async def typed(self, person: Person, text: str, photo: str | None = None) -> list[Outgoing]:
        """A message while composing: the text at the first step, a date at the time steps."""
        draft = await self._draft(person)
        if draft.step == "text":
            return [await self._take_text(draft, text, photo)]
        if draft.step in ("later", "event"):
            return await self._take_date(draft, draft.step, text)
        # Just after a time is taken it can still be typed again (an assumed hour changed).
        retyped = _retyped_step(draft)
        if retyped is not None and isinstance(self._read(text), Reading):
            return await self._take_date(draft, retyped, text)
        raise ComposeError(_("Please use the buttons above, or /cancel."))

    async def pressed(self, person: Person, step: str, value: str) -> list[Outgoing]:
        draft = await self._draft(person)
        if step != draft.step:
            raise StaleActionError
        if step == "audience":
            return [await self._audience_choice(draft, value)]
        if step == "time":
            return [await self._time_choice(draft, value)]
        if step == "repeat" and value in (*REPEATS, "once"):
            repeat = None if value == "once" else value
            await self._repo.update(draft.id, repeat=repeat, step="rsvp")
            return [self._rsvp_screen()]
        if step == "rsvp" and value in ("yes", "no"):
            return await self._rsvp_choice(draft, value == "yes")
        if step == "event" and value == "skip":
            await self._repo.update(draft.id, event_offset=None, step="confirm")
            return await self._summary(await self._draft(person))
        if step == "confirm" and value == "yes":
            return [await self._confirm(await self._draft(person))]
        if step == "confirm" and value == "edit":  # the text again; the rest is asked again
            await self._repo.update(draft.id, step="text")
            return [Outgoing(_("Send the new text (or a photo with the text as its caption)."))]
        if step == "confirm" and value == "cancel":
            await self._repo.update(draft.id, state="cancelled")
            return [Outgoing(_("Cancelled: the announcement will not be sent."))]
        raise StaleActionError

    async def _take_text(self, draft: Announcement, text: str, photo: str | None) -> Outgoing:
        limit = (CAPTION_LIMIT if photo else TEXT_LIMIT) - FRAME_ROOM
        if not text.strip():
            raise ComposeError(_("The announcement needs some text."))
        if len(text) > limit:
            raise ComposeError(
                _("That is too long: at most {limit} characters here.").format(limit=limit)
            )
        await self._repo.update(draft.id, text=text, photo_file_id=photo, step="audience")
        return self._audience_screen((), ())

    async def _audience_choice(self, draft: Announcement, value: str) -> Outgoing:
        areas, topics = set(draft.areas), set(draft.topics)
        kind, _sep, item = value.partition("-")
        if kind == "a" and self._config.area(item):
            areas ^= {item}
        elif kind == "t" and item in {t.id for t in self._config.announcements.topics}:
            topics ^= {item}
        elif kind == "all":
            areas, topics = set(), set()
        elif kind == "next":
            await self._repo.update(draft.id, step="time")
            return self._time_screen()
        else:
            raise StaleActionError
        await self._repo.update(draft.id, areas=areas, topics=topics)
        return self._audience_screen(tuple(areas), tuple(topics))

    async def _time_choice(self, draft: Announcement, value: str) -> Outgoing:
        if value == "now":
            await self._repo.update(draft.id, first_at=self._clock.now(), repeat=None, step="rsvp")
            return self._rsvp_screen()
        if value == "later":
            await self._repo.update(draft.id, step="later")
            return Outgoing(_send_time_prompt())
        raise StaleActionError

    def _read(self, text: str) -> Reading | Refusal:
        return read_local(text, self._config.locale.zone, self._clock.now())

    async def _take_date(self, draft: Announcement, step: str, text: str) -> list[Outgoing]:
        """The send time (step "later") or the event's time (step "event"), typed."""
        reading = self._read(text)
        if isinstance(reading, Refusal):
            raise ComposeError(_refusal_text(reading))
        moment = reading.moment
        if moment <= self._clock.now():
            raise ComposeError(
                _(
                    "That time has already passed. Please give a time ahead; "
                    "for a date next year, add the year too."
                )
            )
        said: list[Outgoing] = []
        if reading.hour_assumed:
            said.append(
                Outgoing(
                    _(
                        "No time of day was given, so I took {when}. "
                        "To change it, just type it again."
                    ).format(when=format_when(moment, self._config.locale.zone))
                )
            )
        if step == "later":
            await self._repo.update(draft.id, first_at=moment, step="repeat")
            return [*said, self._repeat_screen()]
        assert draft.first_at is not None
        offset = int((moment - draft.first_at).total_seconds() // 60)
        if offset < 0:
            raise ComposeError(_("The event must be after the announcement goes out."))
        await self._repo.update(draft.id, event_offset=offset, step="confirm")
        return [*said, *await self._summary(await self._repo.get(draft.id) or draft)]

    async def _rsvp_choice(self, draft: Announcement, rsvp: bool) -> list[Outgoing]:
        if not rsvp:
            await self._repo.update(draft.id, rsvp=False, event_offset=None, step="confirm")
            return await self._summary(await self._repo.get(draft.id) or draft)
        await self._repo.update(draft.id, rsvp=True, step="event")
        hours = self._config.announcements.reminder_hours_before
        question = _event_time_prompt(hours)
        return [Outgoing(question, rows(Button(_("No reminder"), COMPOSE.pack("event", "skip"))))]

    async def _summary(self, draft: Announcement) -> list[Outgoing]:
        """The preview exactly as residents will see it (buttons do nothing here), then what
        will happen, with the button that makes it happen."""
        audience = await self._subs.audience(draft.areas, draft.topics)
        when = (
            format_when(draft.first_at, self._config.locale.zone)
            if draft.first_at and draft.first_at > self._clock.now()
            else _("now")
        )
        lines = [
            _(
                "Please check the announcement above. It goes to {count} subscribers, {when}."
            ).format(count=len(audience), when=when),
        ]
        if draft.repeat:
            lines.append(_("It repeats: {rule}.").format(rule=_repeat_label(draft.repeat)))
        if draft.event_offset is not None and draft.first_at:
            event = draft.first_at + timedelta(minutes=draft.event_offset)
            lines.append(
                _("Event: {when}; those who come get a reminder.").format(
                    when=format_when(event, self._config.locale.zone)
                )
            )
        buttons = (
            (Button(_("✓ Send it"), COMPOSE.pack("confirm", "yes")),),
            (
                Button(_("✎ Change the text"), COMPOSE.pack("confirm", "edit")),
                Button(_("✗ Cancel"), COMPOSE.pack("confirm", "cancel")),
            ),
        )
        preview = self._resident_view(draft, run_id=None)
        return [preview, Outgoing("\n".join(lines), buttons)]

    async def _confirm(self, draft: Announcement) -> Outgoing:
        now = self._clock.now()
        first = draft.first_at if draft.first_at and draft.first_at > now else now
        async with self._db.transaction():
            await self._repo.update(draft.id, state="scheduled", step=None, first_at=first)
            run = await self._repo.add_run(draft.id, 1, first)
            await self._timers.at(f"announce:{run.id}", "announce", first, ref=run.id)
        return Outgoing(
            _(
                "Announcement #{id} “{title}” is scheduled. /announcements shows it and its "
                "delivery report."
            ).format(id=draft.id, title=title_of(draft))
        )

    # ------------------------------------------------------------------ screens

    def _audience_screen(self, areas: tuple[str, ...], topics: tuple[str, ...]) -> Outgoing:
        locale = current_locale()
        buttons = [
            Button(
                ("✓ " if not areas and not topics else "") + _("Everyone"),
                COMPOSE.pack("audience", "all"),
            )
        ]
        buttons += [
            Button(
                ("✓ " if a.id in areas else "") + a.name.text(locale),
                COMPOSE.pack("audience", f"a-{a.id}"),
            )
            for a in self._config.areas
        ]
        buttons += [
            Button(
                ("✓ " if t.id in topics else "") + t.name.text(locale),
                COMPOSE.pack("audience", f"t-{t.id}"),
            )
            for t in self._config.announcements.topics
        ]
        buttons.append(Button(_("Next ›"), COMPOSE.pack("audience", "next")))
        return Outgoing(
            _("Who should get it? Tick areas and/or topics, or keep Everyone."),
            rows(*buttons, per_row=2),
        )

    def _time_screen(self) -> Outgoing:
        return Outgoing(
            _("When should it go out?"),
            rows(
                Button(_("Now"), COMPOSE.pack("time", "now")),
                Button(_("At a date and time…"), COMPOSE.pack("time", "later")),
                per_row=2,
            ),
        )

    def _repeat_screen(self) -> Outgoing:
        buttons = [Button(_("Only once"), COMPOSE.pack("repeat", "once"))]
        buttons += [Button(_repeat_label(r), COMPOSE.pack("repeat", r)) for r in REPEATS]
        return Outgoing(_("Does it repeat?"), rows(*buttons, per_row=2))

    def _rsvp_screen(self) -> Outgoing:
        return Outgoing(
            _("Add “I'll come” / “Can't come” buttons?"),
            rows(
                Button(_("Yes, with RSVP"), COMPOSE.pack("rsvp", "yes")),
                Button(_("No RSVP"), COMPOSE.pack("rsvp", "no")),
                per_row=2,
            ),
        )

    def _resident_view(self, announcement: Announcement, run_id: int | None) -> Outgoing:
        """The announcement as a resident gets it, in the current locale."""
        target = str(run_id) if run_id is not None else PREVIEW
        if announcement.rsvp:
            buttons = self._rsvp_buttons(target, None)
        else:
            # In a preview the button is inert: no kind takes rsvp:preview:unsub.
            unsubscribe = (
                UNSUBSCRIBE.pack() if run_id is not None else f"{RSVP.prefix}{PREVIEW}:unsub"
            )
            buttons = rows(Button(_("Unsubscribe"), unsubscribe))
        text = announcement.text + "\n\n" + _("— Women's federation of the sub-district")
        return Outgoing(text, buttons, photo=announcement.photo_file_id)

    @staticmethod
    def _rsvp_buttons(target: str, answer: str | None) -> tuple[tuple[Button, ...], ...]:
        """I'll come / Can't come, her answer ticked (she can change it), Unsubscribe."""
        come = ("✓ " if answer == "yes" else "") + _("🙋 I'll come")
        cannot = ("✓ " if answer == "no" else "") + _("Can't come")
        # In a preview the button is inert: no kind takes rsvp:preview:unsub.
        inert = f"{RSVP.prefix}{PREVIEW}:unsub"
        unsubscribe = UNSUBSCRIBE.pack() if target != PREVIEW else inert
        return rows(
            Button(come, RSVP.pack(target, "yes")),
            Button(cannot, RSVP.pack(target, "no")),
            Button(_("Unsubscribe"), unsubscribe),
            per_row=2,
        )

    # ------------------------------------------------------------------ sending

    async def _send_run(self, reminder: Reminder) -> None:
        run = await self._repo.run(reminder.ref or 0)
        if run is None or run.state in ("sent", "cancelled"):
            return
        announcement = await self._repo.get(run.announcement_id)
        if announcement is None or announcement.state == "cancelled":
            return
        if run.state == "scheduled":
            await self._start_run(announcement, run)
        recipients = await self._repo.pending_recipients(run.id)
        views = self._views(announcement, run.id)
        locales = await self._locales(recipients)
        tally = await self._broadcaster.deliver(
            run.id, recipients, lambda uid: views[locales.get(uid, "zh_CN")]
        )
        await self._finish_run(announcement, run)
        log.info(
            "announcement run sent",
            extra={
                "run": run.id,
                "sent": tally.sent,
                "blocked": tally.blocked,
                "failed": tally.failed,
            },
        )

    async def _start_run(self, announcement: Announcement, run: Run) -> None:
        """Fix the audience once, and line up what follows (the next run, the reminder)."""
        audience = await self._subs.audience(announcement.areas, announcement.topics)
        await self._repo.add_recipients(run.id, audience)
        await self._repo.set_run_state(run.id, "sending", self._clock.now())
        if announcement.repeat:
            send_at = next_occurrence(run.send_at, announcement.repeat, self._config.locale.zone)
            following = await self._repo.add_run(announcement.id, run.n + 1, send_at)
            await self._timers.at(f"announce:{following.id}", "announce", send_at, ref=following.id)
        if announcement.rsvp and announcement.event_offset is not None:
            event = run.send_at + timedelta(minutes=announcement.event_offset)
            hours = self._config.announcements.reminder_hours_before
            due = max(event - timedelta(hours=hours), run.send_at + timedelta(minutes=1))
            await self._timers.at(
                f"announce_reminder:{run.id}", "announce_reminder", due, ref=run.id
            )

    async def _finish_run(self, announcement: Announcement, run: Run) -> None:
        now = self._clock.now()
        await self._repo.set_run_state(run.id, "sent", now)
        if not announcement.repeat:
            await self._repo.update(announcement.id, state="done")
        with self._catalogs.using(await self._locale(announcement.author_id)):
            report = Outgoing(
                await self._report_text(announcement), self._manage_buttons(announcement)
            )
        await self._messenger.send(announcement.author_id, report)

    def _views(self, announcement: Announcement, run_id: int) -> dict[str, Outgoing]:
        views = {}
        for locale in SUPPORTED_LOCALES:
            with self._catalogs.using(locale):
                views[locale] = self._resident_view(announcement, run_id)
        return views

    async def _locales(self, user_ids: list[int]) -> dict[int, str]:
        default = self._config.locale.default
        return {
            user.id: negotiate(user.language, user.telegram_language, default)
            for user in await self._users.many(user_ids)
        }

    async def _locale(self, user_id: int) -> str:
        return (await self._locales([user_id])).get(user_id, self._config.locale.default)

    async def _send_event_reminder(self, reminder: Reminder) -> None:
        run = await self._repo.run(reminder.ref or 0)
        announcement = await self._repo.get(run.announcement_id) if run else None
        if run is None or announcement is None or announcement.state == "cancelled":
            return
        assert announcement.event_offset is not None
        event = run.send_at + timedelta(minutes=announcement.event_offset)
        coming = await self._repo.coming(run.id)
        locales = await self._locales(coming)
        for user_id in coming:
            with self._catalogs.using(locales.get(user_id, self._config.locale.default)):
                text = _("⏰ Reminder: you said you will come — {when}.\n\n{text}").format(
                    when=format_when(event, self._config.locale.zone), text=announcement.text
                )
            await self._messenger.send(user_id, Outgoing(text))

    # ------------------------------------------------------------------ residents' answers

    async def rsvp(self, person: Person, target: str, answer: str) -> Outgoing:
        """ "I'll come" / "Can't come" (changeable): the short confirmation, and the
        notice's buttons with her answer ticked (none for a preview)."""
        if target == PREVIEW:
            return Outgoing(_("This is a preview: the buttons work for residents."))
        run_id = parse_id(target)
        run = await self._repo.run(run_id) if run_id is not None else None
        if run is None or answer not in ("yes", "no"):
            raise StaleActionError
        if not await self._repo.was_delivered(run.id, person.id):
            raise NotAllowedError
        await self._repo.rsvp(run.id, person.id, answer, self._clock.now())
        text = _("See you there!") if answer == "yes" else _("Thank you for letting us know.")
        return Outgoing(text, self._rsvp_buttons(str(run.id), answer))

    async def attendance(self, person: Person, words: Sequence[str]) -> Outgoing:
        """/attendance <notice> <people>: how many came to its latest event (staff count at
        the door); the year-end report adds them up."""
        require_staff(person)
        example = _("/attendance 3 45 (notice #3: 45 people came)")
        numbers = [parse_id(w.removeprefix("#")) for w in words]
        if len(numbers) != 2 or None in numbers:
            raise UsageError(example)
        announcement_id, attended = numbers
        assert announcement_id is not None and attended is not None
        announcement = await self._repo.get(announcement_id)
        if announcement is None or not announcement.rsvp:
            raise ComposeError(
                _("Notice #{id} is not an event with “I'll come” buttons.").format(
                    id=announcement_id
                )
            )
        sent = [r for r in await self._repo.runs_of(announcement.id) if r.state == "sent"]
        if not sent:
            raise ComposeError(_("Notice #{id} has not been sent yet.").format(id=announcement.id))
        await self._repo.set_attendance(sent[-1].id, attended)
        return Outgoing(
            _("Noted: {count} people came to “{title}” (notice #{id}).").format(
                count=attended, title=title_of(announcement), id=announcement.id
            )
        )

    # ------------------------------------------------------------------ staff: list, report

    async def listing(self, person: Person) -> Outgoing:
        """/announcements: scheduled ones first, then past ones, with their numbers."""
        require_staff(person)
        items = await self._repo.listed()
        if not items:
            return Outgoing(_("No announcements yet. /announce writes one."))
        lines, buttons = [_("Announcements:")], []
        for item in items:
            lines.append(await self._line(item))
            buttons.append(
                Button(_("Report #{id}").format(id=item.id), MANAGE.pack("report", item.id))
            )
            if item.state == "scheduled":
                buttons.append(
                    Button(_("Cancel #{id}").format(id=item.id), MANAGE.pack("cancel", item.id))
                )
        return Outgoing("\n".join(lines), rows(*buttons, per_row=2))

    async def manage(self, person: Person, action: str, announcement_id: int) -> Outgoing:
        require_staff(person)
        announcement = await self._repo.get(announcement_id)
        if announcement is None or announcement.state == "draft":
            raise StaleActionError
        if action == "cancel" and announcement.state == "scheduled":
            await self._cancel(announcement)
            return Outgoing(
                _("Announcement #{id} “{title}” is cancelled.").format(
                    id=announcement.id, title=title_of(announcement)
                )
            )
        if action == "report":
            report = await self._report_text(announcement)
            return Outgoing(report, self._manage_buttons(announcement))
        raise StaleActionError

    async def _cancel(self, announcement: Announcement) -> None:
        now = self._clock.now()
        await self._repo.update(announcement.id, state="cancelled")
        for run in await self._repo.runs_of(announcement.id):
            if run.state == "scheduled":
                await self._repo.set_run_state(run.id, "cancelled", now)
                await self._timers.cancel(f"announce:{run.id}")

    async def _line(self, item: Announcement) -> str:
        first = title_of(item)
        when = format_when(item.first_at, self._config.locale.zone) if item.first_at else "—"
        state = {"scheduled": _("scheduled"), "done": _("sent"), "cancelled": _("cancelled")}
        line = f"#{item.id} · {state.get(item.state, item.state)} · {when} · {first}"
        if item.repeat:
            line += f" · {_repeat_label(item.repeat)}"
        return line

    async def _report_text(self, announcement: Announcement) -> str:
        runs = await self._repo.runs_of(announcement.id)
        report = await self._repo.report([r.id for r in runs if r.state != "scheduled"])
        text = _(
            "Announcement #{id} “{title}”: sent {sent}, failed {failed}, blocked {blocked}, "
            "still to send {pending}."
        ).format(
            id=announcement.id,
            title=title_of(announcement),
            sent=report.sent,
            failed=report.failed,
            blocked=report.blocked,
            pending=report.pending,
        )
        if announcement.rsvp:
            text += "\n" + _("RSVP: {yes} will come, {no} cannot.").format(
                yes=report.rsvp_yes, no=report.rsvp_no
            )
        return text

    def _manage_buttons(self, announcement: Announcement) -> tuple[tuple[Button, ...], ...]:
        return rows(Button(_("Update report"), MANAGE.pack("report", announcement.id)))

    async def _draft(self, person: Person) -> Announcement:
        require_staff(person)
        draft = await self._repo.draft_of(person.id)
        if draft is None:
            raise StaleActionError
        return draft


def title_of(announcement: Announcement) -> str:
    """What staff call a notice: its first line, shortened."""
    first = announcement.text.strip().splitlines()[0] if announcement.text.strip() else "—"
    return first if len(first) <= 30 else first[:30] + "…"


def _send_time_prompt() -> str:
    return _(
        "When should it go out? Write the day and time, for example: "
        "Mar 1 9am, tomorrow 7pm, next Wed 14:00."
    )


def _event_time_prompt(hours: int) -> str:
    return _(
        "When is the event? Write the day and time, for example: Mar 8 7pm, Sat 10am. "
        "Everyone who said they will come gets a reminder {hours} hours before. "
        "Or press No reminder."
    ).format(hours=hours)


def _retyped_step(draft: Announcement) -> str | None:
    """The time step just behind this one, whose time may be typed again; None if none."""
    if draft.step == "repeat":
        return "later"
    if draft.step == "confirm" and draft.event_offset is not None:
        return "event"
    return None


def _refusal_text(refusal: Refusal) -> str:
    """Why a typed time could not be used, with examples that can be."""
    texts = {
        Refusal.UNREADABLE: _(
            "I could not read that time. You can write it like this: "
            "Mar 1 9am, tomorrow 7pm, next Wed 14:00."
        ),
        Refusal.NO_SUCH_DAY: _(
            "There is no such day on the calendar. Please check the month and the day, "
            "for example: Mar 1 9am."
        ),
        Refusal.NO_SUCH_HOUR: _(
            "That hour does not fit. Please check it, for example: 9am, 2:30pm, 19:00."
        ),
        Refusal.NO_HOUR: _("At what time? Please add the hour, for example: tomorrow 3pm."),
        Refusal.DAYS_DISAGREE: _(
            "The date and the weekday do not agree. Please check them, or give just one, "
            "for example: Mar 8 7pm."
        ),
    }
    return texts[refusal]


def _repeat_label(repeat: str) -> str:
    labels = {"weekly": _("every week"), "monthly": _("every month"), "yearly": _("every year")}
    return labels.get(repeat, repeat)
