"""Intake: from "找大阿嫂" to a registered, routed case, one short step at a time.

consent → area → category → sensitive details → description → contact (→ phone) →
summary → confirm.

Details about violence, health or minors are sensitive personal information (PIPL
Art. 28): they get a consent of their own (Art. 29), asked just before the description and
recorded with the case. Declining changes nothing else: the resident goes on and tells
what she wants, without those details. The danger path registers without it, on the basis
of protecting life and health (Art. 13(4)), and says so on the timeline.

The draft lives in the database, so a restart in the middle loses nothing. Every step
accepts its buttons and sensible typed answers; anything else gets a short explanation
and the same step again. Danger words at any step short-cut to the danger path.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Literal

from bot.core.callbacks import INTAKE, URGENT
from bot.core.errors import NotAllowedError
from bot.core.i18n import _, current_locale, format_when
from bot.core.messaging import Button, Outgoing, rows
from bot.domain.cases import CaseRecord, MessagePart, NewCase
from bot.domain.people import Person
from bot.domain.terms import (
    CONTACTS,
    VIOLENCE,
    area_name,
    category_label,
    contact_label,
    excerpt,
)
from bot.features.deps import Deps, Feature
from bot.features.parties import rights_notice
from bot.features.privacy import offer_discreet
from bot.features.routing import Assignment, RoutingService
from bot.features.urgent import UrgentService

NEW_MATTER = INTAKE.pack("new", "go")  # a resident with an open case starts another one
MAX_PART_CHARS = 3000  # leaves room for the case header when relayed (Telegram: 4096)
MAX_PARTS = 30
EXCERPT_CHARS = 200
PHONE = re.compile(r"\+?\d{5,15}")

YES_WORDS = {"yes", "ok", "agree", "i agree", "同意", "好", "好的", "是", "可以", "继续"}
NO_WORDS = {"no", "不", "不同意", "不要", "算了"}
DONE_WORDS = {"done", "finished", "完成", "好了", "说完了", "完了", "结束"}
SKIP_WORDS = {"skip", "no", "跳过", "不用", "不留"}
EDIT_WORDS = {"edit", "change", "修改", "改", "改一下"}
CONFIRM_WORDS = {"confirm", "send", "yes", "确认", "提交", "发送", "是", "好"}


class Step(StrEnum):
    CONSENT = "consent"
    AREA = "area"
    CATEGORY = "category"
    SENSITIVE = "sensitive"
    DESCRIPTION = "describe"
    CONTACT = "contact"
    PHONE = "phone"
    SUMMARY = "summary"


@dataclass(frozen=True)
class Incoming:
    """What the resident did, without Telegram: typed text, a button, media, a contact."""

    kind: Literal["text", "button", "media", "contact", "unsupported"]
    text: str = ""  # text, caption, or the button's value
    step: str | None = None  # for a button: the step it was shown at
    part: MessagePart | None = None  # the original message, kept for the case
    phone: str | None = None  # a contact the resident shared of themselves


@dataclass
class Draft:
    area: str | None = None
    category: str | None = None
    parts: list[dict[str, Any]] | None = None
    contact: str | None = None
    phone: str | None = None
    editing: bool = False  # 修改 from the summary: each answer leads back to it
    sensitive: bool | None = None  # the separate consent: given, declined, not asked

    @classmethod
    def load(cls, data: dict[str, Any]) -> Draft:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    @property
    def messages(self) -> list[MessagePart]:
        return [MessagePart(**part) for part in self.parts or []]


TRIGGER = re.compile(r"^(我要|我想|请)?(找|联系)?大阿嫂(帮忙)?$|^(find|contact)?daasao$")


def is_trigger(text: str) -> bool:
    """找大阿嫂, 我要找大阿嫂, Find Da'asao, find daasao… — but not "谢谢大阿嫂" to a mediator."""
    return TRIGGER.match(_squeeze(text)) is not None


class IntakeService(Feature):
    def __init__(self, deps: Deps, *, routing: RoutingService, urgent: UrgentService) -> None:
        super().__init__(deps)
        self._drafts = deps.repos.drafts
        self._routing = routing
        self._urgent = urgent

    # ------------------------------------------------------------------ entry points

    async def begin(self, person: Person, *, new_matter: bool = False) -> list[Outgoing]:
        """Start (or resume) an intake. A resident whose case is open is told who follows
        it: a second matter is her deliberate choice (`new_matter`), not an accident of the
        big 找大阿嫂 button."""
        if person.role != "resident":
            raise NotAllowedError  # the team's own matters are not registered here
        stored = await self._drafts.get(person.id)
        if stored is not None:
            draft = Draft.load(stored.data)
            resume = Outgoing(_("Let's continue where we left off."))
            return [resume, await self._screen(person, Step(stored.step), draft)]
        if not new_matter and (followed := await self._followed(person)) is not None:
            return [followed]
        user = await self._users.get(person.id)
        step = Step.AREA if user and user.consented_at else Step.CONSENT
        await self._save(person, step, Draft())
        return [await self._screen(person, step, Draft())]

    async def _followed(self, person: Person) -> Outgoing | None:
        """Her newest open case and who follows it, with the choice of a new matter."""
        open_cases = await self._cases.open_of_resident(person.id)
        if not open_cases:
            return None
        case = open_cases[-1]
        name = (await self._routing.follower(case)).display_name if case.mediator_id else None
        if name:
            text = _(
                "{name} is looking after your case {number}. Just write here: {name} reads "
                "every message."
            ).format(name=name, number=case.number)
        else:
            text = _(
                "Your case {number} is registered and a mediator will take it soon. Anything "
                "you write here goes to your case."
            ).format(number=case.number)
        text += "\n\n" + _("Is it something else, a new matter? Press the button below.")
        return Outgoing(text, rows(Button(_("It is a new matter"), NEW_MATTER)))

    async def hold(self, person: Person, incoming: Incoming) -> list[Outgoing]:
        """Danger words from someone with no intake and no case: the message waits in a new
        draft (its first screen not shown yet), so that the alarm takes it along."""
        user = await self._users.get(person.id)
        step = Step.AREA if user and user.consented_at else Step.CONSENT
        await self._keep(person, step, Draft(), incoming)
        return []

    async def _keep(self, person: Person, step: Step, draft: Draft, got: Incoming) -> None:
        if _description_problem(got, draft) is None:
            assert got.part is not None
            draft.parts = [*(draft.parts or []), asdict(got.part)]
        await self._save(person, step, draft)

    async def in_progress(self, person: Person) -> bool:
        return await self._drafts.get(person.id) is not None

    async def handle(
        self, person: Person, incoming: Incoming, *, alarmed: bool = False
    ) -> list[Outgoing] | None:
        """Advance the resident's draft; None when they have no intake in progress.

        `alarmed`: the message has danger words and the danger screen answers it. The draft
        stays at its step and keeps the message, so that the alarm takes it along (the
        mediators read it on their cards), or the intake simply goes on with it.
        """
        stored = await self._drafts.get(person.id)
        if stored is None:
            return None
        step, draft = Step(stored.step), Draft.load(stored.data)
        if alarmed:
            await self._keep(person, step, draft, incoming)
            return []
        if incoming.kind == "button" and incoming.step != step:
            return [
                Outgoing(_("That button belongs to an earlier step.")),
                await self._screen(person, step, draft),
            ]
        return await _STEPS[step](self, person, draft, incoming)

    async def cancel(self, person: Person) -> list[Outgoing]:
        if await self._drafts.get(person.id) is None:
            return [Outgoing(_("There is nothing to cancel."), reply_keyboard="main")]
        await self._drafts.delete(person.id)
        text = _("Cancelled. Nothing was sent. Write 找大阿嫂 whenever you want to start again.")
        return [Outgoing(text, reply_keyboard="main")]

    # ------------------------------------------------------------------ steps

    async def _on_consent(self, person: Person, draft: Draft, got: Incoming) -> list[Outgoing]:
        answer = _answer(got, {"yes": YES_WORDS, "no": NO_WORDS})
        if answer == "no":
            await self._drafts.delete(person.id)
            return [
                Outgoing(
                    _(
                        "All right, nothing has been stored about your request. "
                        "You can come back any time."
                    ),
                    reply_keyboard="main",
                )
            ]
        if answer != "yes":
            return await self._again(person, Step.CONSENT, draft, got)
        await self._users.consent(person.id, self._clock.now())
        return await self._advance(person, Step.AREA, draft)

    async def _on_area(self, person: Person, draft: Draft, got: Incoming) -> list[Outgoing]:
        area = _answer(got, {a.id: _names(a.name.zh_CN, a.name.en) for a in self._config.areas})
        if area is None:
            return await self._again(person, Step.AREA, draft, got)
        draft.area = area
        return await self._advance(person, Step.CATEGORY, draft)

    async def _on_category(self, person: Person, draft: Draft, got: Incoming) -> list[Outgoing]:
        choices = {
            key: _names(str(label), str(i))
            for i, (key, label) in enumerate(self._topics(), start=1)
        }
        choices["danger"] = {"danger", "sos", "危险"}
        category = _answer(got, choices)
        if category == "danger":
            return await self.sos(person, numbers_shown=False)
        if category is None:
            return await self._again(person, Step.CATEGORY, draft, got)
        draft.category = category
        return await self._advance(person, Step.SENSITIVE, draft)

    async def _on_sensitive(self, person: Person, draft: Draft, got: Incoming) -> list[Outgoing]:
        answer = _answer(got, {"yes": YES_WORDS, "no": NO_WORDS})
        if answer is None:
            return await self._again(person, Step.SENSITIVE, draft, got)
        draft.sensitive = answer == "yes"
        replies = await self._advance(person, Step.DESCRIPTION, draft)
        if not draft.sensitive:
            declined = _(
                "All right. Please leave out details about violence, health or children; "
                "tell us the rest. Your mediator can ask you again later."
            )
            replies.insert(0, Outgoing(declined))
        return replies

    async def _on_description(self, person: Person, draft: Draft, got: Incoming) -> list[Outgoing]:
        if _answer(got, {"done": DONE_WORDS}) == "done":
            if not draft.parts:
                return [
                    Outgoing(
                        _("Please tell us a little first: a few words, a photo or a voice message.")
                    ),
                    await self._screen(person, Step.DESCRIPTION, draft),
                ]
            return await self._advance(person, Step.CONTACT, draft)
        problem = _description_problem(got, draft)
        if problem is not None:
            return [Outgoing(problem), await self._screen(person, Step.DESCRIPTION, draft)]
        assert got.part is not None
        draft.parts = [*(draft.parts or []), asdict(got.part)]
        await self._save(person, Step.DESCRIPTION, draft)
        done = rows(Button(_("Done ✓"), _data(Step.DESCRIPTION, "done")))
        return [Outgoing(_("Got it. Send more if you like, or press Done."), done)]

    async def _on_contact(self, person: Person, draft: Draft, got: Incoming) -> list[Outgoing]:
        choices = {
            key: _names(str(label), str(i))
            for i, (key, label) in enumerate(CONTACTS.items(), start=1)
        }
        contact = _answer(got, choices)
        if contact is None:
            return await self._again(person, Step.CONTACT, draft, got)
        draft.contact = contact
        next_step = Step.PHONE if contact == "phone" else Step.SUMMARY
        return await self._advance(person, next_step, draft)

    async def _on_phone(self, person: Person, draft: Draft, got: Incoming) -> list[Outgoing]:
        if got.kind == "contact" and got.phone:
            draft.phone = got.phone
        elif got.kind == "text" and (number := _phone_number(got.text)):
            draft.phone = number
        elif _answer(got, {"skip": _names(_("Skip"), *SKIP_WORDS)}) == "skip":
            draft.phone = None
        else:
            problem = Outgoing(
                _(
                    "Please share your number with the button below, type it "
                    "(digits only), or press Skip."
                )
            )
            return [problem, await self._screen(person, Step.PHONE, draft)]
        saved = Outgoing(_("Thank you."), reply_keyboard="remove")
        return [saved, *await self._advance(person, Step.SUMMARY, draft)]

    async def _on_summary(self, person: Person, draft: Draft, got: Incoming) -> list[Outgoing]:
        answer = _answer(
            got, {"confirm": CONFIRM_WORDS, "cancel": {"cancel", "取消"}, "edit": EDIT_WORDS}
        )
        if answer == "cancel":
            return await self.cancel(person)
        if answer == "edit":
            return [self._edit_menu()]
        if got.kind == "button" and got.text.startswith("edit-"):
            return await self._edit(person, draft, got.text.removeprefix("edit-"))
        if answer != "confirm":
            return await self._again(person, Step.SUMMARY, draft, got)
        case = await self._register(person, draft, urgent=False)
        assignment = await self._routing.route(case.id)
        now = self._clock.now()  # the notice goes with the answer: shown now, recorded so
        await self._cases.add_event(
            case.id, "rights_notice", now, side="resident", shown_at=now.isoformat()
        )
        text = self._registered_text(case, assignment) + "\n\n" + rights_notice()
        return [Outgoing(text, reply_keyboard="main")]

    def _edit_menu(self) -> Outgoing:
        choices = (
            (Step.AREA, _("Village or community")),
            (Step.CATEGORY, _("What it is about")),
            (Step.DESCRIPTION, _("What happened (tell it again)")),
            (Step.CONTACT, _("How we reach you")),
        )
        buttons = [Button(label, _data(Step.SUMMARY, f"edit-{step}")) for step, label in choices]
        return Outgoing(_("What would you like to change?"), rows(*buttons, per_row=2))

    async def _edit(self, person: Person, draft: Draft, step_name: str) -> list[Outgoing]:
        """Back to one step; its answer leads straight back to the summary."""
        editable = {Step.AREA, Step.CATEGORY, Step.DESCRIPTION, Step.CONTACT}
        step = next((s for s in editable if s == step_name), None)
        if step is None:
            return await self._again(person, Step.SUMMARY, draft, Incoming("button"))
        draft.editing = True
        if step == Step.DESCRIPTION:
            draft.parts = []  # told again from the start: the summary shows the new words
        if step == Step.CONTACT:
            draft.phone = None
        await self._save(person, step, draft)
        return [await self._screen(person, step, draft)]

    # ------------------------------------------------------------------ danger path

    async def sos(self, person: Person, *, numbers_shown: bool) -> list[Outgoing]:
        """🆘: the numbers (unless on screen already), then an urgent case, alerted at once.

        The draft, if any, becomes the urgent case (area, topic, what was said so far);
        else a case of theirs that waits for a mediator becomes urgent; else a new one.
        """
        if person.member is not None:
            raise NotAllowedError  # the team's own cases are not registered here
        replies = [] if numbers_shown else [Outgoing(self._urgent.emergency_text())]
        stored = await self._drafts.get(person.id)
        waiting = [
            c for c in await self._cases.open_of_resident(person.id) if c.mediator_id is None
        ]
        if stored is None and (urgent := next((c for c in waiting if c.urgent), None)):
            return [*replies, await self._urgent.still_waiting(urgent)]
        if stored is None and waiting:
            told = await self._urgent.escalate(waiting[-1])
        else:
            draft = Draft.load(stored.data) if stored else Draft()
            case = await self._register(person, draft, urgent=True)
            told = await self._urgent.raise_alarm(case)
        return [*replies, told, offer_discreet()]

    # ------------------------------------------------------------------ registration

    async def _register(self, person: Person, draft: Draft, *, urgent: bool) -> CaseRecord:
        """The draft as a case. An urgent one may come before the consent (to protect life:
        the basis is recorded) and is not routed by duty: `bot.features.urgent` alerts for it."""
        now = self._clock.now()
        user = await self._users.get(person.id)
        consented = user is not None and user.consented_at is not None
        remembered = user.area_id if user and urgent else None  # alert the right area
        new_case = NewCase(
            resident_id=person.id,
            pseudonym=f"R-{1000 + secrets.randbelow(9000)}",
            area_id=draft.area or remembered,
            category=draft.category or (VIOLENCE if urgent else "other"),
            urgent=urgent,
            contact=draft.contact or "chat",
            phone=draft.phone,
        )
        year = now.astimezone(self._config.locale.zone).year
        async with self._db.transaction():
            case = await self._cases.create(new_case, self._config.routing.case_prefix, year, now)
            for part in draft.messages:
                await self._cases.add_message(case.id, "resident", part, now, delivery="pending")
            await self._urgent.note_registration(case, consented=consented, now=now)
            detail: dict[str, Any] = {"urgent": urgent, "sensitive": _sensitive_basis(draft)}
            if not consented:
                detail["basis"] = "vital_interests"  # PIPL Art. 13(4); consent asked later
            await self._cases.add_event(case.id, "registered", now, by="resident", **detail)
            await self._drafts.delete(person.id)
            if draft.area:
                await self._users.remember_area(person.id, draft.area, now)
        registered = await self._cases.get(case.id)
        assert registered is not None
        return registered

    def _registered_text(self, case: CaseRecord, assignment: Assignment) -> str:
        lines = [_("Your request is registered as case {number}.").format(number=case.number)]
        if assignment.mediator_id is None:
            lines.append(
                _(
                    "All our mediators are away right now; the first one available will "
                    "answer you here."
                )
            )
            area = self._config.area(case.area_id) if case.area_id else None
            if area and area.hotline:
                lines.append(_("Mediation hotline: {hotline}").format(hotline=area.hotline))
        else:
            lines.append(self._who_and_when(assignment))
        lines.append(_("Send /status to see your cases."))
        return "\n".join(lines)

    def _who_and_when(self, assignment: Assignment) -> str:
        name = assignment.display_name or _("A mediator")
        if assignment.starts_at is None:
            return _("{name} will answer you here soon.").format(name=name)
        when = format_when(assignment.starts_at, self._config.locale.zone)
        return _("{name} is on duty from {time} and will answer you then.").format(
            name=name, time=when
        )

    # ------------------------------------------------------------------ screens

    async def _advance(self, person: Person, step: Step, draft: Draft) -> list[Outgoing]:
        if draft.editing and step not in (Step.PHONE, Step.SUMMARY):
            step = Step.SUMMARY  # a change asked from the summary: back to it
        await self._save(person, step, draft)
        return [await self._screen(person, step, draft)]

    async def _again(
        self, person: Person, step: Step, draft: Draft, got: Incoming
    ) -> list[Outgoing]:
        """A short explanation, then the same step again."""
        if got.kind == "text" and len(got.text) > MAX_PART_CHARS:
            problem = _("That message is too long for this step.")
        elif got.kind in ("media", "unsupported", "contact"):
            problem = _("I can't use that here. Please choose one of the buttons.")
        else:
            problem = _("Sorry, I didn't understand. Please choose one of the buttons.")
        return [Outgoing(problem), await self._screen(person, step, draft)]

    async def _screen(self, person: Person, step: Step, draft: Draft) -> Outgoing:
        return await _SCREENS[step](self, person, draft)

    async def _consent_screen(self, person: Person, draft: Draft) -> Outgoing:
        text = _(
            "Hello! This is Da'asao, the volunteer women mediators of your neighbourhood. Tell "
            "us what troubles you, at home or with neighbours, landlords or employers: one of "
            "us will answer you herself, and what you say stays private."
        )
        text += "\n\n" + _(
            "Before we start, about your privacy:\n"
            "• What you tell us is seen only by the mediator who takes your case and the head "
            "of the mediation society.\n"
            "• The mediator sees a case code, never your name, username or phone number "
            "(unless you choose to share a number).\n"
            "• Messages are deleted {days} days after your case is closed.\n"
            "• You can stop at any step with /cancel.\n\n"
            "Do you agree?"
        ).format(days=self._config.privacy.retention_days)
        buttons = rows(
            Button(_("I agree"), _data(Step.CONSENT, "yes")),
            Button(_("No, thanks"), _data(Step.CONSENT, "no")),
            per_row=2,
        )
        return Outgoing(text, (*buttons, *_sos()))

    async def _area_screen(self, person: Person, draft: Draft) -> Outgoing:
        user = await self._users.get(person.id)
        remembered = user.area_id if user else None
        areas = sorted(self._config.areas, key=lambda a: a.id != remembered)
        locale = current_locale()
        buttons = [
            Button(
                ("✓ " if a.id == remembered else "") + a.name.text(locale), _data(Step.AREA, a.id)
            )
            for a in areas
        ]
        return Outgoing(
            _("Which village or community do you live in?"), (*rows(*buttons, per_row=2), *_sos())
        )

    async def _category_screen(self, person: Person, draft: Draft) -> Outgoing:
        buttons = [Button(label, _data(Step.CATEGORY, key)) for key, label in self._topics()]
        return Outgoing(_("What is it about?"), (*rows(*buttons, per_row=2), *_sos()))

    def _topics(self) -> list[tuple[str, str]]:
        """The configured case topics, in the reader's language."""
        locale = current_locale()
        return [(t.id, t.name.text(locale)) for t in self._config.case_topics]

    async def _sensitive_screen(self, person: Person, draft: Draft) -> Outgoing:
        text = _(
            "One more question before you tell us what happened. If it involves violence, "
            "your health or children, those are sensitive details. Only the mediator who "
            "takes your case and the head of the society will see them, only to help you, "
            "and they are deleted with the rest.\n\n"
            "May we keep such details if you tell them? If you say no, you can still go on: "
            "just leave them out."
        )
        buttons = rows(
            Button(_("Yes, you may keep them"), _data(Step.SENSITIVE, "yes")),
            Button(_("No, I'll leave them out"), _data(Step.SENSITIVE, "no")),
            per_row=2,
        )
        return Outgoing(text, (*buttons, *_sos()))

    async def _description_screen(self, person: Person, draft: Draft) -> Outgoing:
        text = _(
            "Please tell us what happened, in your own words. You can send several messages, "
            "photos or voice messages. Press Done when you have finished."
        )
        return Outgoing(text, rows(Button(_("Done ✓"), _data(Step.DESCRIPTION, "done"))))

    async def _contact_screen(self, person: Person, draft: Draft) -> Outgoing:
        buttons = [Button(str(label), _data(Step.CONTACT, key)) for key, label in CONTACTS.items()]
        return Outgoing(_("How would you like Da'asao to reach you?"), rows(*buttons))

    async def _phone_screen(self, person: Person, draft: Draft) -> Outgoing:
        text = _(
            "You can share your phone number with the button below, or type it. Only your "
            "mediator will see it. Or press Skip."
        )
        return Outgoing(text, reply_keyboard="share_phone")

    async def _summary_screen(self, person: Person, draft: Draft) -> Outgoing:
        lines = [
            _("Please check your request:"),
            _("Area: {area}").format(area=area_name(self._config, draft.area)),
            _("About: {category}").format(
                category=category_label(self._config, draft.category or "other")
            ),
            _("What you told us: {excerpt}").format(excerpt=excerpt(draft.messages, EXCERPT_CHARS)),
            _("Contact: {contact}").format(contact=contact_label(draft.contact or "chat")),
        ]
        if draft.phone:
            lines.append(_("Phone: {phone}").format(phone=draft.phone))
        area = self._config.area(draft.area) if draft.area else None
        if draft.contact == "office" and area:
            lines.append(
                _("Desk hours: {hours}").format(hours=area.office_hours.text(current_locale()))
            )
        buttons = (
            (Button(_("✓ Send to Da'asao"), _data(Step.SUMMARY, "confirm")),),
            (
                Button(_("✎ Change"), _data(Step.SUMMARY, "edit")),
                Button(_("✗ Cancel"), _data(Step.SUMMARY, "cancel")),
            ),
        )
        return Outgoing("\n".join(lines), buttons)

    async def _save(self, person: Person, step: Step, draft: Draft) -> None:
        await self._drafts.save(person.id, step, asdict(draft), self._clock.now())


StepHandler = Callable[[IntakeService, Person, Draft, Incoming], Awaitable[list[Outgoing]]]
_STEPS: dict[Step, StepHandler] = {
    Step.CONSENT: IntakeService._on_consent,
    Step.AREA: IntakeService._on_area,
    Step.CATEGORY: IntakeService._on_category,
    Step.SENSITIVE: IntakeService._on_sensitive,
    Step.DESCRIPTION: IntakeService._on_description,
    Step.CONTACT: IntakeService._on_contact,
    Step.PHONE: IntakeService._on_phone,
    Step.SUMMARY: IntakeService._on_summary,
}
_SCREENS: dict[Step, Callable[[IntakeService, Person, Draft], Awaitable[Outgoing]]] = {
    Step.CONSENT: IntakeService._consent_screen,
    Step.AREA: IntakeService._area_screen,
    Step.CATEGORY: IntakeService._category_screen,
    Step.SENSITIVE: IntakeService._sensitive_screen,
    Step.DESCRIPTION: IntakeService._description_screen,
    Step.CONTACT: IntakeService._contact_screen,
    Step.PHONE: IntakeService._phone_screen,
    Step.SUMMARY: IntakeService._summary_screen,
}


def _sos() -> tuple[tuple[Button, ...], ...]:
    """On every screen before the description: 🆘 registers an urgent case at once."""
    return rows(Button(_("🆘 I am in danger now"), URGENT.pack("sos")))


def _sensitive_basis(draft: Draft) -> str:
    """Why details about violence, health or minors may be kept (PIPL Art. 29 / 13(4))."""
    if draft.sensitive is True:
        return "consent"
    if draft.sensitive is False:
        return "declined"
    return "vital_interests"  # the danger path, before the question was reached


def _data(step: Step, value: str) -> str:
    return INTAKE.pack(step, value)


def _squeeze(text: str) -> str:
    """Casefolded, without spaces, punctuation or symbols: for matching typed answers."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text).casefold()
        if unicodedata.category(ch)[0] in "LN"
    )


def _names(*names: str) -> set[str]:
    return {name for name in names if name}


def _answer(got: Incoming, choices: Mapping[str, Iterable[str]]) -> str | None:
    """The choice a button or a typed answer stands for, or None."""
    if got.kind == "button":
        return got.text if got.text in choices else None
    if got.kind != "text" or len(got.text) > 100:
        return None
    typed = _squeeze(got.text)
    if not typed:
        return None
    for key, names in choices.items():
        if typed in {_squeeze(n) for n in names} or typed == _squeeze(key):
            return key
    # A distinctive part of a name, e.g. "东升" for 东升社区: accepted when only one matches.
    partial = [
        k
        for k, names in choices.items()
        if len(typed) >= 2 and any(typed in _squeeze(n) for n in names if not n.isdigit())
    ]
    return partial[0] if len(partial) == 1 else None


def _description_problem(got: Incoming, draft: Draft) -> str | None:
    if got.kind not in ("text", "media") or got.part is None:
        return _("Please use words, photos, voice messages or files for your description.")
    if len(got.text) > MAX_PART_CHARS:
        return _(
            "That message is too long ({count} characters). Please send it in parts of at "
            "most {limit} characters."
        ).format(count=len(got.text), limit=MAX_PART_CHARS)
    if len(draft.parts or []) >= MAX_PARTS:
        return _("That is a lot already: please press Done, and tell the rest to your mediator.")
    return None


def _phone_number(text: str) -> str | None:
    digits = re.sub(r"[\s\-()]", "", text)
    return digits if PHONE.fullmatch(digits) else None
