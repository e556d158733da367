"""The other party of a case (对方当事人): a one-time invite, consent, their own pseudonym.

The mediator invites from a case; the bot gives her a link (and its QR code) to pass on in
person or by phone. The first person to open it is the one invited: the link never works
again. They read the privacy notice and the rights-and-obligations notice (People's
Mediation Law §23; recorded on the timeline with the time it was shown) and agree or
decline. Once they agree they talk to the mediator through the relay, exactly like the
first party, on a channel of their own ('party'): each party sees only the mediator.
Either party may end mediation at any time. Nothing of this is possible on a case flagged
不适合调解: the server refuses, whatever button or command was sent.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import segno

from bot.core.callbacks import JOIN, TALK
from bot.core.errors import DomainError, NotAllowedError, StaleActionError
from bot.core.i18n import _, format_when
from bot.core.messaging import Button, Outgoing, rows
from bot.domain.cases import CaseRecord
from bot.domain.people import Person
from bot.domain.terms import area_name, party_label, pseudonym_label
from bot.features.deps import Deps, Feature
from bot.features.relay import RelayService
from bot.features.urgent import ensure_mediation_allowed
from storage.parties import PartyRecord

PARTY_PREFIX = "party-"  # /start party-<token>
TOKEN_BYTES = 12  # 96 bits


class PartyLinkError(DomainError):
    """A link that is used, replaced or unknown: said kindly, nothing changes."""

    def user_message(self) -> str:
        return _(
            "This invitation link has already been used or is no longer valid. If a mediator "
            "invited you, please ask her for a new link."
        )


class MediationOverError(DomainError):
    def user_message(self) -> str:
        return _("This mediation is no longer open, so the invitation cannot be used.")


class AlreadyJoinedError(DomainError):
    def user_message(self) -> str:
        return _("The other party has already joined this case.")


class OwnCaseError(DomainError):
    def user_message(self) -> str:
        return _("This is your own case: you are already taking part in it.")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def qr_png(link: str) -> bytes:
    """The invite link as a QR code image, to show on the mediator's phone or print."""
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def rights_notice() -> str:
    """What every party is told before mediating (人民调解法 §23; 权利义务告知)."""
    return _(
        "About people's mediation:\n"
        "• It is free and voluntary. The mediator helps you talk and find an agreement; "
        "she does not decide for you.\n"
        "• You may accept or refuse mediation, ask for another mediator, ask that it be "
        "held in private, and end it at any time (/withdraw).\n"
        "• Please tell the truth, respect the other side, and keep to what you agree.\n"
        "• The mediator keeps what you say confidential.\n"
        "• An agreement you both sign is binding; you may ask a court to confirm it within "
        "30 days."
    )


@dataclass(frozen=True)
class Invitation:
    token: str
    number: str
    pseudonym: str

    def text(self, link: str) -> str:
        return _(
            "Invitation for the other party of case {number}. Give them this link in person "
            "or by phone, or let them scan the QR code. It works once: whoever opens it "
            "first joins as {party}.\n{link}"
        ).format(number=self.number, party=party_label(self.pseudonym), link=link)


class PartyService(Feature):
    def __init__(self, deps: Deps, *, relay: RelayService) -> None:
        super().__init__(deps)
        self._parties = deps.repos.parties
        self._relay = relay

    # ------------------------------------------------------------------ the mediator

    async def invite(self, person: Person, case: CaseRecord) -> Invitation:
        """A new one-time link for the case's other party; an older unused one stops working."""
        case = await self._relay.case_for_mediator(person, case.id)
        ensure_mediation_allowed(case)
        existing = await self._parties.get(case.id)
        if existing is not None and existing.taking_part:
            raise AlreadyJoinedError
        token = secrets.token_urlsafe(TOKEN_BYTES)
        pseudonym = existing.pseudonym if existing else f"R-{1000 + secrets.randbelow(9000)}"
        now = self._clock.now()
        async with self._db.transaction():
            await self._parties.invite(case.id, token_hash(token), pseudonym, person.id, now)
            await self._cases.add_event(case.id, "party_invited", now, actor_id=person.id)
        return Invitation(token, case.number, pseudonym)

    async def talk_menu(self, person: Person, case: CaseRecord) -> Outgoing:
        """/talk: whom the mediator's messages without a reply go to in this case."""
        party = await self._joined(case)
        focus = await self._parties.focus(person.id, case.id)
        choices = [("resident", pseudonym_label(case.pseudonym))]
        if party is not None:
            choices.append(("party", party_label(party.pseudonym)))
        buttons = [
            Button(("▶ " if key == focus else "") + label, TALK.pack(case.id, key))
            for key, label in choices
        ]
        return Outgoing(
            _(
                "Case {number}: whom should your messages go to when you do not reply to a "
                "message? (A reply always goes back to whoever wrote it.)"
            ).format(number=case.number),
            rows(*buttons, per_row=2),
        )

    async def talk_to(self, person: Person, case_id: int, channel: str) -> Outgoing:
        case = await self._relay.case_for_mediator(person, case_id)
        if channel == "party":
            ensure_mediation_allowed(case)
            party = await self._joined(case)
            if party is None:
                raise StaleActionError
            label = party_label(party.pseudonym)
        elif channel == "resident":
            label = pseudonym_label(case.pseudonym)
        else:
            raise StaleActionError
        await self._parties.set_focus(person.id, case.id, channel)
        return Outgoing(
            _("Messages you write in case {number} without replying now go to {who}.").format(
                number=case.number, who=label
            )
        )

    async def parties_line(self, case: CaseRecord) -> str:
        """Who has joined and consented: a line for the mediator's case card."""
        zone = self._config.locale.zone
        first = _("{who}: consented {time}").format(
            who=pseudonym_label(case.pseudonym), time=format_when(case.created_at, zone)
        )
        party = await self._parties.get(case.id)
        if party is None:
            second = _("other party not invited")
        elif party.ended_at is not None:
            second = _("{who}: declined or ended {time}").format(
                who=party_label(party.pseudonym), time=format_when(party.ended_at, zone)
            )
        elif party.consented_at is not None:
            second = _("{who}: joined and consented {time}").format(
                who=party_label(party.pseudonym), time=format_when(party.consented_at, zone)
            )
        else:
            second = _("{who}: invited, not joined yet").format(who=party_label(party.pseudonym))
        return _("Parties: {first} · {second}").format(first=first, second=second)

    # ------------------------------------------------------------------ the invited party

    async def opened(self, person: Person, token: str) -> Outgoing:
        """/start party-<token>: the link's one use; the notices and the question."""
        if person.member is not None:
            raise NotAllowedError  # the team does not join cases as a party
        hashed = token_hash(token)
        party = await self._parties.by_token(hashed)
        if party is None:
            raise PartyLinkError
        case = await self._cases.get(party.case_id)
        if case is None:
            raise PartyLinkError
        if case.resident_id == person.id:
            raise OwnCaseError
        if party.opened_at is not None and not self._may_answer(party, person):
            raise PartyLinkError
        self._ensure_open(case)
        now = self._clock.now()
        if party.opened_at is None:
            async with self._db.transaction():
                if not await self._parties.claim(case.id, hashed, person.id, now):
                    raise PartyLinkError
                await self._cases.add_event(case.id, "party_opened", now)
                await self._cases.add_event(
                    case.id, "rights_notice", now, side="party", shown_at=now.isoformat()
                )
        return self._join_screen(case)

    def _join_screen(self, case: CaseRecord) -> Outgoing:
        intro = _(
            "Hello. A mediator of Da'asao, the women's mediation desk of {area}, invites you "
            "to take part in a mediation (case {number}). Another person asked for help with "
            "a disagreement that concerns you."
        ).format(area=area_name(self._config, case.area_id), number=case.number)
        privacy = _(
            "Your privacy: only the mediator and the head of the mediation society see what "
            "you write here. The other side never sees your account, your name or your "
            "messages, unless the mediator passes something on. Messages are deleted {days} "
            "days after the case is closed."
        ).format(days=self._config.privacy.retention_days)
        question = _("Do you agree to take part?")
        text = "\n\n".join((intro, privacy, rights_notice(), question))
        buttons = rows(
            Button(_("I agree, take part"), JOIN.pack(case.id, "yes")),
            Button(_("No, I don't want to"), JOIN.pack(case.id, "no")),
            per_row=2,
        )
        return Outgoing(text, buttons)

    async def answered(self, person: Person, case_id: int, agree: bool) -> Outgoing:
        """Their answer to the invitation; only the person who opened the link may give it."""
        party = await self._parties.get(case_id)
        case = await self._cases.get(case_id)
        if party is None or case is None or not self._may_answer(party, person):
            raise NotAllowedError
        self._ensure_open(case)
        now = self._clock.now()
        if not agree:
            async with self._db.transaction():
                await self._parties.end(case.id, now)
                await self._cases.add_event(case.id, "party_declined", now)
            await self._tell_mediator(case, party, _declined_notice)
            return Outgoing(
                _("All right. Nothing more will be asked of you. Thank you for your time."),
                reply_keyboard="main",
            )
        async with self._db.transaction():
            if not await self._parties.consent(case.id, now):
                raise StaleActionError
            await self._cases.add_event(case.id, "party_joined", now, pseudonym=party.pseudonym)
        await self._tell_mediator(case, party, _joined_notice)
        return Outgoing(
            _(
                "Thank you. You can write to the mediator right here: words, photos or voice "
                "messages. Only the mediator sees them. Send /withdraw to end mediation at "
                "any time."
            )
        )

    async def tell_ended(self, case: CaseRecord) -> None:
        """The case ended without them (withdrawn): the other party is told, kindly."""
        party = await self._joined(case)
        if party is not None and party.user_id is not None:
            await self._tell(party.user_id, partial(ended_for_party, case.number))

    async def cases_of(self, person: Person) -> list[CaseRecord]:
        """The open cases this person takes part in as the other party."""
        found = []
        for party in await self._parties.of_user(person.id):
            case = await self._cases.get(party.case_id)
            if case is not None and case.is_open:
                found.append(case)
        return found

    async def end(self, person: Person, case_id: int) -> Outgoing:
        """The other party ends mediation: the mediator is told; the case stays hers."""
        party = await self._parties.get(case_id)
        case = await self._cases.get(case_id)
        if party is None or case is None or party.user_id != person.id:
            raise NotAllowedError
        if not party.taking_part:
            raise StaleActionError
        now = self._clock.now()
        async with self._db.transaction():
            await self._parties.end(case.id, now)
            await self._cases.add_event(case.id, "party_ended", now)
        await self._tell_mediator(case, party, _ended_notice)
        return Outgoing(
            _("You have ended your part in the mediation of case {number}. Thank you.").format(
                number=case.number
            ),
            reply_keyboard="main",
        )

    # ------------------------------------------------------------------ helpers

    async def _joined(self, case: CaseRecord) -> PartyRecord | None:
        party = await self._parties.get(case.id)
        return party if party is not None and party.taking_part else None

    @staticmethod
    def _may_answer(party: PartyRecord, person: Person) -> bool:
        """The one who opened the link, before they agreed or declined."""
        return party.user_id == person.id and party.consented_at is None and not party.ended_at

    @staticmethod
    def _ensure_open(case: CaseRecord) -> None:
        ensure_mediation_allowed(case)
        if case.state != "accepted" or case.mediator_id is None:
            raise MediationOverError

    async def _tell_mediator(
        self, case: CaseRecord, party: PartyRecord, notice: Callable[[str, str], str]
    ) -> None:
        if case.mediator_id is not None:
            await self._tell(case.mediator_id, partial(notice, case.number, party.pseudonym))


def ended_for_party(number: str) -> str:
    """What the other party is told when the case ends without an agreement."""
    return _(
        "The mediation of case {number} has ended without an agreement. Thank you for taking part."
    ).format(number=number)


def _joined_notice(number: str, pseudonym: str) -> str:
    return _(
        "{party} has joined case {number} and agreed to mediation. Their messages come to "
        "you here. Reply to one to answer them; /talk chooses whom your other messages go to."
    ).format(party=party_label(pseudonym), number=number)


def _declined_notice(number: str, pseudonym: str) -> str:
    return _("{party} declined to take part in the mediation of case {number}.").format(
        party=party_label(pseudonym), number=number
    )


def _ended_notice(number: str, pseudonym: str) -> str:
    return _("{party} has ended their part in the mediation of case {number}.").format(
        party=party_label(pseudonym), number=number
    )
