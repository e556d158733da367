"""Someone in danger now: the danger screen, urgent cases, their alarm, and the care after.

* Danger words (`bot.domain.danger`, from the config) are looked for in every private message of a
  resident who is not talking with a mediator: the emergency numbers come first, with one
  button that raises the alarm. In a conversation, the mediator's copy is marked 🔴.
* An urgent case never waits for a duty slot and never gets a duty-time deadline. It is
  offered at once to every active mediator of its area and to the head, on duty or not,
  with a 我来接手 button; the first to press takes it and everyone's card says who did.
  Untaken after `urgent.take_within_minutes` (real minutes), the alert goes again, louder,
  to the head, every mediator and staff — and again, until someone takes it.
* Until then every message of the resident is copied to everyone alerted (under the case's
  pseudonym), and she is reminded of the emergency numbers in one line.
* An urgent case, like any case about violence, is flagged 不适合调解 (Anti-Domestic
  Violence Law): nothing may bring the parties together while the flag is set, and only
  the mediator clears it, with a reason on the timeline. Her care panel sends the resident
  short information cards, records referrals, and reminds her of the duty to report (§14).
* Registered before the privacy consent, an urgent case records why (PIPL Art. 13(4): to
  protect life and health); the consent is asked once a mediator has taken the case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import pacing
from bot.core.callbacks import URGENT
from bot.core.errors import DomainError, NotAllowedError, StaleActionError
from bot.core.i18n import _, current_locale, ngettext
from bot.core.messaging import (
    Button,
    DeliveryRefused,
    Outgoing,
    TransientDeliveryError,
    rows,
)
from bot.domain.cases import WAITING_STATES, CaseRecord, MessagePart
from bot.domain.danger import DangerWords
from bot.domain.people import DRAFTING_CASE, MemberRecord, Person
from bot.domain.terms import (
    REFERRALS,
    VIOLENCE,
    area_name,
    category_label,
    excerpt,
    mediator_label,
    pseudonym_label,
    referral_label,
)
from bot.features.deps import Deps, Feature
from bot.features.notify import Notifier
from bot.features.outbox import redone_after_a_crash
from bot.features.relay import Envelope, RelayService
from storage.reminders import Reminder
from storage.urgent import Alert

log = logging.getLogger(__name__)

# ur:sos          the 🆘 button of the intake's screens: the numbers, and the alarm at once
# ur:alarm        the button under the danger screen (the numbers are already on screen)
# ur:take:<case>  我来接手
# ur:consent:yes|no             the privacy consent, asked after an urgent registration
# ur:card:<case>:<card>         an information card for the resident (the care panel)
# ur:ref:<case>:<referral>      a referral, recorded on the timeline
# ur:minor:<case>               the person at risk is a minor or cannot look after themselves
# ur:flag:<case>, ur:clear:<case>   set, or (with a reason) clear, 不适合调解
CARE_REASON = "care_clear"  # the pending input: why 不适合调解 may be cleared
INFO_CARDS = ("police", "order", "evidence", "hotline")
EXCERPT_CHARS = 300
BASIS_CONSENT, BASIS_VITAL = "consent", "vital_interests"


class TakenError(DomainError):
    """Someone else pressed 我来接手 first."""

    def __init__(self, name: str | None) -> None:
        super().__init__(name)
        self.name = name

    def user_message(self) -> str:
        return _("{name} has taken it.").format(name=mediator_label(self.name))


class NoMediationError(DomainError):
    """The case is flagged 不适合调解: nothing may bring the parties together."""

    def user_message(self) -> str:
        return _(
            "This case is marked “not suitable for mediation”: no meeting with the other "
            "party and no mediated agreement. If it really can be mediated, clear the mark "
            "in /care first, with a reason."
        )


def ensure_mediation_allowed(case: CaseRecord) -> None:
    """Every feature that would contact the other party, or settle between the parties,
    calls this first: the server refuses while the case is flagged 不适合调解."""
    if case.no_mediation:
        raise NoMediationError


def is_waiting_urgent(case: CaseRecord) -> bool:
    """An urgent case that nobody has taken yet."""
    return case.urgent and case.state in WAITING_STATES


def waited(case: CaseRecord, now: datetime) -> timedelta:
    return max(now - (case.urgent_at or case.created_at), timedelta(0))


def minutes_text(span: timedelta) -> str:
    count = int(span.total_seconds() // 60)
    return ngettext("{count} minute", "{count} minutes", count).format(count=count)


def waiting_mark(case: CaseRecord, now: datetime) -> str:
    """What stands out in lists until an urgent case is taken: 🔴 and the minutes waiting."""
    return _("🔴 waiting {time}").format(time=minutes_text(waited(case, now)))


@dataclass(frozen=True)
class _Card:
    """Who gets a card of a round, whether she may take the case, and its text."""

    user_id: int
    can_take: bool
    render: Callable[[], str | Outgoing]


class UrgentService(Feature):
    def __init__(self, deps: Deps, *, relay: RelayService) -> None:
        super().__init__(deps)
        # Until someone takes the case, its cards (and their edits) and the copies of what
        # she writes go before every conversation and broadcast: the bot's first slots.
        # From the take on, her case is a conversation, in the order it is written.
        self._alerts = deps.messenger.at_priority(pacing.URGENT)
        self._alert = Notifier(deps.people, self._alerts).tell
        self._repo = deps.repos.urgent
        self._relay = relay
        deps.timers.register("urgent", self._escalate)
        urgent = deps.config.urgent
        self.words = DangerWords.of(urgent.danger_words, urgent.everyday_phrases)

    # ------------------------------------------------------------------ the danger screen

    def in_danger(self, text: str | None) -> bool:
        return self.words.matches(text)

    def emergency_text(self) -> str:
        locale = current_locale()
        numbers = "\n".join(
            f"☎ {n.number} — {n.label.text(locale)}" for n in self._config.privacy.emergency_numbers
        )
        return _("If you are in danger now, call at once:\n{numbers}").format(numbers=numbers)

    def danger_screen(self, *, pressed: bool = False) -> Outgoing:
        """The numbers, then one tap that raises the alarm (gone once it is pressed)."""
        if pressed:
            return Outgoing(self.emergency_text())
        text = self.emergency_text() + "\n\n" + _("Press the button and Da'asao is alerted now.")
        return Outgoing(text, rows(Button(_("🆘 Alert Da'asao now"), URGENT.pack("alarm"))))

    async def alarm(self, person: Person, text: str | None) -> Outgoing | None:
        """The danger screen, first, for a resident's message with danger words — unless a
        mediator has their conversation (the copy is marked 🔴) or their urgent case is
        waiting already (everyone alerted gets the message: `waiting_message`)."""
        if person.member is not None or not self.in_danger(text):
            return None
        if person.busy != DRAFTING_CASE:
            for case in await self._cases.open_of_resident(person.id):
                if case.state == "accepted" or case.urgent:
                    return None
        return self.danger_screen()

    def _numbers_line(self) -> str:
        return " · ".join(n.number for n in self._config.privacy.emergency_numbers)

    # ------------------------------------------------------------------ registration

    async def note_registration(self, case: CaseRecord, *, consented: bool, now: datetime) -> None:
        """A new case's legal basis and care flag; inside the registering transaction."""
        await self._repo.mark_registered(
            case.id,
            now,
            urgent=case.urgent,
            basis=BASIS_CONSENT if consented else BASIS_VITAL,
            no_mediation=case.urgent or case.category == VIOLENCE,
        )

    async def raise_alarm(self, case: CaseRecord) -> Outgoing:
        """Offer an urgent case to its area's mediators and the head, all at once (everyone,
        louder, if it was alerted before); what the resident is told."""
        now = self._clock.now()
        round_ = await self._repo.last_round(case.id) + 1
        async with self._db.transaction():
            await self._repo.wait_for_taker(case.id, now)
            await self._arm(case.id, round_ + 1, now)
        case = await self._fresh(case.id)
        reached = await self._send_round(case, round_)
        if reached == 0:  # nobody at all to take it: everyone, staff too, right away
            reached = await self._send_round(case, round_ + 1)
        if reached == 0:
            return Outgoing(
                _(
                    "We could not reach a Da'asao mediator yet; we keep trying until "
                    "someone answers. If you are in danger now, call {numbers} right away."
                ).format(numbers=self._numbers_line()),
                reply_keyboard="main",
            )
        return self._told(reached)

    def _told(self, count: int) -> Outgoing:
        first = self._config.privacy.emergency_numbers[0].number
        text = ngettext(
            "We have alerted {count} Da'asao mediator; the first to take your case will "
            "contact you right away. If you are in danger now, call {number} at once.",
            "We have alerted {count} Da'asao mediators; the first to take your case will "
            "contact you right away. If you are in danger now, call {number} at once.",
            count,
        ).format(count=count, number=first)
        return Outgoing(text, reply_keyboard="main")

    async def still_waiting(self, case: CaseRecord) -> Outgoing:
        """🆘 again while the urgent case waits: how many know, and the numbers."""
        alerted = {a.user_id for a in await self._repo.alerts(case.id) if a.can_take}
        return self._told(len(alerted))

    async def escalate(self, case: CaseRecord) -> Outgoing:
        """A case that waits for a mediator becomes urgent (the resident pressed 🆘)."""
        now = self._clock.now()
        async with self._db.transaction():
            offer = await self._cases.open_offer(case.id)
            if offer is not None:
                await self._cases.end_offer(offer.id, "declined", now, "urgent")
                await self._timers.cancel(f"offer:{offer.id}")
            await self._timers.cancel_case(case.id, ("route",))
            await self._repo.make_urgent(case.id, now)
            await self._cases.add_event(case.id, "escalated", now, by="resident")
        return await self.raise_alarm(await self._fresh(case.id))

    async def resume(self) -> int:
        """At start: alarm the urgent cases a crash left registered but never alerted, and
        send the rest of a round a crash cut short (its unsent cards were dropped: they are
        sent here, and recorded). How many cases needed it."""
        resumed = 0
        for case in await self._repo.waiting():
            round_ = await self._repo.last_round(case.id)
            if round_ < 0:
                await self.raise_alarm(case)
                resumed += 1
                continue
            alerted = {a.user_id for a in await self._repo.alerts(case.id) if a.round == round_}
            now = self._clock.now()
            cards = await self._round_cards(case, round_, now)
            missing = [card for card in cards if card.user_id not in alerted]
            if missing:
                await self._send_cards(case, round_, now, missing)
                resumed += 1
        return resumed

    # ------------------------------------------------------------------ the rounds

    async def _send_round(self, case: CaseRecord, round_: int) -> int:
        """Send the cards of one round; how many of them can take the case."""
        now = self._clock.now()
        return await self._send_cards(case, round_, now, await self._round_cards(case, round_, now))

    async def _round_cards(self, case: CaseRecord, round_: int, now: datetime) -> list[_Card]:
        """Who gets a card in this round, and its text."""
        takers, staff = await self._recipients(case, loud=round_ > 0)
        parts = await self._cases.messages(case.id)
        return [
            *(_Card(m.user_id, True, lambda: self._card(case, round_, now, parts)) for m in takers),
            *(_Card(user_id, False, lambda: self._staff_card(case, now)) for user_id in staff),
        ]

    async def _send_cards(
        self, case: CaseRecord, round_: int, now: datetime, cards: Sequence[_Card]
    ) -> int:
        """Send these cards of a round and write the round down; how many can take the case."""
        # All at once: the last of six cards does not wait for five round trips. A crash
        # leaves its unsent cards to resume(), which knows who has one.
        with redone_after_a_crash():
            results = await asyncio.gather(
                *(self._alert_one(case, round_, now, card) for card in cards),
                return_exceptions=True,
            )
        reached = results.count(True)
        await self._cases.add_event(case.id, "urgent_alerted", now, round=round_, count=reached)
        log.warning("urgent case alerted", extra={"case": case.number, "round": round_})
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:  # the others went out all the same
            raise failure
        return reached

    async def _alert_one(self, case: CaseRecord, round_: int, now: datetime, card: _Card) -> bool:
        """One card of a round, recorded as soon as it is out: she may take the case at once,
        whatever the other cards are doing. Whether it reached someone who can take it."""
        message_id = await self._try(card.user_id, card.render)
        if message_id is None:
            return False
        alert = Alert(case.id, card.user_id, message_id, round_, card.can_take, sent_at=now)
        await self._repo.add_alert(alert)
        return card.can_take

    async def _try(self, user_id: int, render: Callable[[], str | Outgoing]) -> int | None:
        """One card of a round: a passing failure must not keep the others from theirs (the
        next round tries everyone again)."""
        try:
            return await self._alert(user_id, render)
        except (TransientDeliveryError, DeliveryRefused):
            log.warning("urgent card not delivered now")
            return None

    async def _recipients(
        self, case: CaseRecord, *, loud: bool
    ) -> tuple[list[MemberRecord], list[int]]:
        """Who can take it — the area's mediators and the head; when loud (or nobody of the
        area is known), every mediator — and the staff, who are told when loud."""
        team = [m for m in await self._members.active() if m.role in ("mediator", "head")]
        everyone = loud or case.area_id is None
        takers = [m for m in team if m.role == "head" or everyone or m.area_id == case.area_id]
        if not loud:
            return takers, []
        taker_ids = {m.user_id for m in takers}
        staff = [m.user_id for m in await self._members.active("staff")]
        staff += list(self._config.staff.admins)
        return takers, [u for u in dict.fromkeys(staff) if u not in taker_ids]

    def _card(
        self, case: CaseRecord, round_: int, now: datetime, parts: Sequence[MessagePart]
    ) -> Outgoing:
        about = " · ".join(
            (
                pseudonym_label(case.pseudonym),
                area_name(self._config, case.area_id),
                category_label(self._config, case.category),
            )
        )
        head = (
            _("🔴🔴🔴 STILL NOT TAKEN: waiting {time}!").format(
                time=minutes_text(waited(case, now))
            )
            if round_ > 0
            else ""
        )
        lines = [
            head,
            _("🔴 URGENT: someone is in danger · case {number}").format(number=case.number),
            about,
            excerpt(parts, EXCERPT_CHARS),
            _("They have seen the emergency numbers. Please take it now, or phone someone who can.")
            if round_ > 0
            else _(
                "They have seen the emergency numbers. Whoever presses “I'll take it” "
                "first gets the case."
            ),
        ]
        button = Button(_("I'll take it"), URGENT.pack("take", case.id))
        return Outgoing("\n".join(line for line in lines if line), rows(button))

    def _staff_card(self, case: CaseRecord, now: datetime) -> str:
        return _(
            "🔴🔴🔴 Urgent case {number} ({area}) has waited {time} and nobody has taken it. "
            "Please phone the head or a mediator now."
        ).format(
            number=case.number,
            area=area_name(self._config, case.area_id),
            time=minutes_text(waited(case, now)),
        )

    async def _arm(self, case_id: int, round_: int, now: datetime) -> None:
        due = now + timedelta(minutes=self._config.urgent.take_within_minutes)
        await self._timers.at(f"urgent:{case_id}:{round_}", "urgent", due, case_id, round_)

    async def _escalate(self, reminder: Reminder) -> None:
        """Not taken in time: everyone again, louder; and again after the same time."""
        case = await self._cases.get(reminder.case_id) if reminder.case_id else None
        if case is None or not is_waiting_urgent(case):
            return
        round_ = max(reminder.ref or 1, await self._repo.last_round(case.id) + 1)
        now = self._clock.now()
        await self._arm(case.id, round_ + 1, now)  # the next round first: never stop
        await self._send_round(case, round_)

    # ------------------------------------------------------------------ taking the case

    async def take(self, person: Person, case_id: int) -> CaseRecord:
        """我来接手: the first of those alerted (or the head, for any waiting case) gets it."""
        if not person.is_mediator or person.member is None or not person.member.active:
            raise NotAllowedError
        case = await self._cases.get(case_id)
        if case is None:
            raise NotAllowedError
        if not person.is_head and not await self._repo.was_alerted(case.id, person.id):
            raise NotAllowedError
        taken = await self.hand_to(case, person.id, actor_id=person.id, via="alert")
        if taken is None:
            raise await self._too_late(case.id)
        return taken

    async def _too_late(self, case_id: int) -> DomainError:
        case = await self._fresh(case_id)
        if case.is_open and case.mediator_id is not None:
            member = await self._members.get(case.mediator_id)
            return TakenError(member.display_name if member else None)
        return StaleActionError()

    async def hand_to(
        self, case: CaseRecord, to_id: int, *, actor_id: int, via: str
    ) -> CaseRecord | None:
        """Give a case nobody has yet to a mediator (or the head): hers at once, the cards
        say so, the resident is told, the conversation so far follows. None when it is no
        longer waiting (someone was faster)."""
        now = self._clock.now()
        async with self._db.transaction():
            if not await self._repo.take(case.id, to_id, now):
                return None
            offer = await self._cases.open_offer(case.id)
            if offer is not None:
                if offer.mediator_id == to_id:
                    await self._cases.end_offer(offer.id, "accepted", now)
                else:
                    await self._cases.end_offer(offer.id, "declined", now, "taken")
                await self._timers.cancel(f"offer:{offer.id}")
            await self._timers.cancel_case(case.id, ("urgent", "route"))
            detail: dict[str, object] = {"via": via}
            if actor_id != to_id:
                detail["assigned_by"] = actor_id
            if case.urgent:
                detail["waited_minutes"] = int(waited(case, now).total_seconds() // 60)
            await self._cases.add_event(case.id, "accepted", now, actor_id=to_id, **detail)
            await self._members.set_current_case(to_id, case.id, now if actor_id == to_id else None)
            taken = await self._fresh(case.id)
        member = await self._members.get(to_id)
        name = member.display_name if member else None
        await self._cards_taken(taken, to_id, name, now)
        if offer is not None and offer.mediator_id != to_id:
            await self._tell(
                offer.mediator_id,
                lambda: _("Case {number} has been given to {name}.").format(
                    number=taken.number, name=mediator_label(name)
                ),
            )
        if actor_id != to_id:
            await self._tell(
                to_id,
                lambda: _(
                    "The head has given you case {number} ({area}). It is now your current "
                    "case: write here to talk to the resident."
                ).format(number=taken.number, area=area_name(self._config, taken.area_id)),
            )
        await self._tell_resident_taken(taken, name)
        await self._relay.deliver_backlog(taken)
        if taken.no_mediation:
            await self._tell(to_id, lambda: self.panel_text_and_buttons(taken, [], [], False))
        await self._ask_consent(taken)
        return taken

    async def _cards_taken(
        self, case: CaseRecord, taker: int, name: str | None, now: datetime
    ) -> None:
        """Every card about the case now says who took it; no button is left to press."""
        for alert in await self._repo.alerts(case.id):

            def render(alert: Alert = alert) -> str:
                if alert.user_id == taker:
                    return _(
                        "✓ You took urgent case {number}. What the resident wrote follows: "
                        "please contact them now."
                    ).format(number=case.number)
                return _("✓ Urgent case {number}: {name} has taken it (after {time}).").format(
                    number=case.number,
                    name=mediator_label(name),
                    time=minutes_text(waited(case, now)),
                )

            async with self._people.speaking_to(alert.user_id):
                text = render()
            await self._edit_card(alert, text)

    async def withdrawn(self, case: CaseRecord) -> None:
        """The resident withdrew the urgent case before anyone took it: every card says so."""
        for alert in await self._repo.alerts(case.id):
            async with self._people.speaking_to(alert.user_id):
                text = withdrawn_card(case.number)
            await self._edit_card(alert, text)

    async def _edit_card(self, alert: Alert, text: str) -> None:
        """Best effort: a card its reader deleted, or a chat that blocked the bot, must not
        keep the other cards from changing."""
        try:
            await self._alerts.edit(alert.user_id, alert.message_id, Outgoing(text))
        except Exception:
            log.warning("an urgent card could not be edited", exc_info=True)

    async def _tell_resident_taken(self, case: CaseRecord, name: str | None) -> None:
        if case.resident_id is None:
            return
        await self._tell(
            case.resident_id,
            lambda: _(
                "{name} has taken your case {number} and will write to you here right away."
            ).format(name=mediator_label(name), number=case.number),
        )

    async def _fresh(self, case_id: int) -> CaseRecord:
        case = await self._cases.get(case_id)
        if case is None:
            raise StaleActionError
        return case

    async def waiting_for(self, person: Person) -> list[CaseRecord]:
        """Urgent cases nobody has taken that this person may take (the head: all)."""
        if not person.is_mediator:
            return []
        return await self._repo.waiting(None if person.is_head else person.id)

    async def waiting(self) -> list[CaseRecord]:
        return await self._repo.waiting()

    # ------------------------------------------------------------------ the relay's hooks

    async def waiting_message(self, case: CaseRecord, envelope: Envelope) -> list[Outgoing] | None:
        """A resident writes while their urgent case waits: everyone alerted gets a copy
        (never staff: they see no messages), and the numbers are repeated in one line."""
        if not is_waiting_urgent(case):
            return None
        part = envelope.part
        alerted = [a.user_id for a in await self._repo.alerts(case.id) if a.can_take]
        heads = [m.user_id for m in await self._members.active("head")]
        for user_id in dict.fromkeys([*alerted, *heads]):
            current = await self._cases.get(case.id)
            if current is None or not is_waiting_urgent(current):
                break  # taken meanwhile: the taker gets it with the rest, in order
            async with self._people.speaking_to(user_id):
                header = _("🔴 {number} · {who} (not taken yet):").format(
                    number=case.number, who=pseudonym_label(case.pseudonym)
                )
            try:
                if part.kind == "text":
                    await self._alerts.send(user_id, Outgoing(f"{header}\n{part.text or ''}"))
                else:
                    caption = f"{header}\n{part.text}" if part.text else header
                    await self._alerts.copy(part.chat_id, part.message_id, user_id, caption=caption)
            except TransientDeliveryError:  # the message is booked: the taker gets it all
                log.warning("an urgent copy could not be delivered now")
        line = _("Passed on to Da'asao. In danger now? Call {numbers}.").format(
            numbers=self._numbers_line()
        )
        return [Outgoing(line)]

    def mark(self, case: CaseRecord, part: MessagePart) -> str | None:
        """🔴 on the mediator's copy of a resident's message with danger words."""
        if part.chat_id == case.resident_id and self.in_danger(part.text):
            return "🔴"
        return None

    # ------------------------------------------------------------------ consent afterwards

    async def _ask_consent(self, case: CaseRecord) -> None:
        """Registered to protect life before the consent: now that someone has the case."""
        if case.basis != BASIS_VITAL or case.resident_id is None:
            return
        user = await self._users.get(case.resident_id)
        if user is None or user.consented_at is not None:
            return

        def ask() -> Outgoing:
            text = _(
                "To keep you safe, we registered your request first. Only your mediator and "
                "the head of the society read what you write, and it is deleted {days} days "
                "after your case is closed. Do you agree that we keep it this way?"
            ).format(days=self._config.privacy.retention_days)
            buttons = rows(
                Button(_("I agree"), URGENT.pack("consent", "yes")),
                Button(_("No"), URGENT.pack("consent", "no")),
                per_row=2,
            )
            return Outgoing(text, buttons)

        await self._tell(case.resident_id, ask)

    async def consent(self, person: Person, agreed: bool) -> Outgoing:
        now = self._clock.now()
        user = await self._users.get(person.id)
        if user is not None and user.consented_at is None:  # once: a second press is no news
            vital = [c for c in await self._cases.of_resident(person.id) if c.basis == BASIS_VITAL]
            if agreed:
                await self._users.consent(person.id, now)
            kind = "consented" if agreed else "consent_declined"
            for case in vital:
                await self._cases.add_event(case.id, kind, now)
        if agreed:
            return Outgoing(_("Thank you."))
        return Outgoing(
            _(
                "All right. We use it only to keep you safe, and you can erase everything "
                "with /forget at any time."
            )
        )

    # ------------------------------------------------------------------ the care panel

    async def panel(self, person: Person, case: CaseRecord) -> Outgoing:
        """The mediator's care panel of a case she may act on (checked by the caller)."""
        cards = await self._repo.event_details(case.id, "info_card", "card")
        referrals = await self._repo.event_details(case.id, "referral", "to")
        vulnerable = await self._repo.count_events(case.id, "vulnerable") > 0
        return self.panel_text_and_buttons(case, cards, referrals, vulnerable)

    def panel_text_and_buttons(
        self,
        case: CaseRecord,
        cards: Sequence[str],
        referrals: Sequence[str],
        vulnerable: bool,
    ) -> Outgoing:
        lines = [_("🛡 Case {number}: safety and information").format(number=case.number)]
        if case.no_mediation:
            lines.append(
                _(
                    "Not suitable for mediation: this may be domestic violence. Keep the "
                    "resident safe first; do not arrange a meeting with the other party and "
                    "do not push for reconciliation (Anti-Domestic Violence Law)."
                )
            )
        else:
            lines.append(_("Not marked “not suitable for mediation”."))
        if vulnerable:
            lines.append(
                _(
                    "⚠️ The person at risk is a minor or cannot look after themselves: you "
                    "must report it to the police (Anti-Domestic Violence Law, Art. 14)."
                )
            )
        if cards:
            sent = " · ".join(dict.fromkeys(_card_title(c) for c in cards))
            lines.append(_("Cards sent: {cards}").format(cards=sent))
        if referrals:
            made = " · ".join(dict.fromkeys(referral_label(r) for r in referrals))
            lines.append(_("Referrals recorded: {referrals}").format(referrals=made))
        lines.append(_("Send the resident a card (one tap, in their language):"))
        card_buttons = [Button(_card_title(c), URGENT.pack("card", case.id, c)) for c in INFO_CARDS]
        ref_buttons = [
            Button(_("Referred: {to}").format(to=referral_label(r)), URGENT.pack("ref", case.id, r))
            for r in REFERRALS
        ]
        other = [
            Button(
                _("👧 A minor, or someone who cannot look after themselves"),
                URGENT.pack("minor", case.id),
            )
        ]
        if case.no_mediation:
            other.append(
                Button(_("Clear “not suitable for mediation”"), URGENT.pack("clear", case.id))
            )
        else:
            other.append(
                Button(_("Mark “not suitable for mediation”"), URGENT.pack("flag", case.id))
            )
        buttons = (*rows(*card_buttons, per_row=2), *rows(*ref_buttons, per_row=3), *rows(*other))
        return Outgoing("\n".join(lines), buttons)

    async def care_action(
        self, person: Person, case: CaseRecord, verb: str, value: str
    ) -> tuple[str, Outgoing]:
        """A press on the care panel of a case the person may act on (checked by the
        caller): the toast, and the panel again."""
        now = self._clock.now()
        if verb == "card" and value in INFO_CARDS and case.resident_id is not None:
            sent = await self._tell(case.resident_id, lambda: _card_text(value))
            if sent is None:
                raise StaleActionError
            await self._cases.add_event(case.id, "info_card", now, actor_id=person.id, card=value)
            toast = _("Sent to the resident: {card}").format(card=_card_title(value))
        elif verb == "ref" and value in REFERRALS:
            await self._cases.add_event(case.id, "referral", now, actor_id=person.id, to=value)
            toast = _("Recorded: referred to {to}").format(to=referral_label(value))
        elif verb == "minor":
            await self._cases.add_event(case.id, "vulnerable", now, actor_id=person.id)
            toast = _(
                "Please report it to the police now: the law requires it for a minor or "
                "someone who cannot look after themselves (Art. 14)."
            )
        elif verb == "flag" and not case.no_mediation:
            await self._repo.set_no_mediation(case.id, True, now)
            await self._cases.add_event(case.id, "care_flagged", now, actor_id=person.id)
            toast = _("Marked “not suitable for mediation”.")
        else:
            raise StaleActionError
        return toast, await self.panel(person, await self._fresh(case.id))

    def clear_prompt(self, case: CaseRecord) -> str:
        if not case.no_mediation:
            raise StaleActionError
        return _(
            "Why can case {number} be mediated after all? Write one sentence: it is kept on "
            "the case's timeline."
        ).format(number=case.number)

    async def clear_flag(self, person: Person, case: CaseRecord, reason: str) -> Outgoing:
        """Deliberately, with a reason on the timeline: the case may be mediated again."""
        if not case.no_mediation or not reason.strip():
            raise StaleActionError
        now = self._clock.now()
        async with self._db.transaction():
            await self._repo.set_no_mediation(case.id, False, now)
            await self._cases.add_event(
                case.id, "care_cleared", now, actor_id=person.id, reason=reason.strip()
            )
        return Outgoing(
            _("Case {number} is no longer marked “not suitable for mediation”.").format(
                number=case.number
            )
        )


def withdrawn_card(number: str) -> str:
    return _(
        "Urgent case {number} was withdrawn from the resident's phone before anyone took it."
    ).format(number=number)


# ---------------------------------------------------------------------- information cards

_CARD_TITLES: dict[str, Callable[[], str]] = {
    "police": lambda: _("🚓 Police and a written caution"),
    "order": lambda: _("🛡 Personal safety protection order"),
    "evidence": lambda: _("📷 Keeping evidence"),
    "hotline": lambda: _("☎ The 12338 hotline"),
}


def _card_title(card: str) -> str:
    title = _CARD_TITLES.get(card)
    return title() if title else card


def _card_text(card: str) -> str:
    """A short card for the resident, in their language (rendered in their locale)."""
    if card == "police":
        return _(
            "🚓 If you are being hurt, call 110 at once.\n"
            "Ask the police to write down what happened.\n"
            "For less serious violence the police can give the abuser a written caution "
            "(告诫书) that orders them to stop (Anti-Domestic Violence Law, Art. 16). Keep it: "
            "it is evidence later."
        )
    if card == "order":
        return _(
            "🛡 You can ask the court for a personal safety protection order: it forbids "
            "the abuser to hurt, harass or follow you.\n"
            "The women's federation can help you apply (Art. 23).\n"
            "The court decides within 72 hours, within 24 hours in an emergency (Art. 28)."
        )
    if card == "evidence":
        return _(
            "📷 Keep evidence quietly, where the abuser cannot find it:\n"
            "• photos of injuries, with the date\n"
            "• medical records and receipts\n"
            "• threatening messages, chats and recordings\n"
            "• neighbours or relatives who saw or heard it\n"
            "• the police receipt or the written caution"
        )
    return _(
        "☎ 12338 is the women's federation's hotline for women's rights. Call it for advice "
        "and help: they can put you in touch with your local women's federation."
    )
