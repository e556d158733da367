"""Closing a case: a short dialogue, a preview of exactly what happens, then 确认/修改/取消.

Settled: the mediator chooses a written agreement (调解协议书, 人民调解法 §29) or an oral one
(§28). The written one walks through its contents: each party's details as they should
appear (typed by the mediator, never taken from an account), the facts and points in
dispute, each party's responsibility, and the agreed terms, each with its manner and
deadline. Not settled: where it was referred. Withdrawn: nothing to type.

The preview says what each party will receive. 确认 closes the case and sends it; 修改 walks
through the answers again (each kept unless replaced); 取消 leaves everything as it was.
Each party who has joined receives the agreement with "我同意以上协议内容", and the time of
their confirmation is recorded. The dialogue waits in `pending_inputs` (kind 'closing'),
so a restart in the middle loses nothing; every step re-checks the case on the server.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial
from typing import Any

from bot.core.callbacks import AGREE, CONFIRM, FORM
from bot.core.errors import DomainError, NotAllowedError, StaleActionError
from bot.core.i18n import _, format_when
from bot.core.messaging import Button, Outgoing, rows
from bot.core.when import Refusal, read_local
from bot.domain.cases import CaseRecord, CaseState
from bot.domain.people import Person
from bot.domain.terms import party_label, pseudonym_label, state_label
from bot.features.agreement import Agreement, Letterhead, Term, agreement_text, render_docx
from bot.features.deadlines import DeadlineService
from bot.features.deps import Deps, Feature
from bot.features.parties import ended_for_party
from bot.features.relay import RelayService
from bot.features.revisits import RevisitService
from bot.features.urgent import ensure_mediation_allowed
from storage.parties import Form, PartyRecord, Side
from storage.relay import PendingInput

CLOSING = "closing"  # the pending input's kind
FORMS = ("written", "oral")
STEPS: dict[str, tuple[str, ...]] = {
    "written": ("applicant", "respondent", "facts", "responsibility", "terms"),
    "oral": ("content",),
    "not_settled": ("referral",),
    "withdrawn": (),
}
KEEP = "-"  # while changing: keep the answer as it was
MAX_TEXT = 2000
TERM_SPLIT = re.compile(r"\s*[/／|｜]\s*")


class TermsError(DomainError):
    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line

    def user_message(self) -> str:
        return _(
            "I could not read this term: {line}\nWrite each term on its own line as: what "
            "is done / how / by when, for example:\nPays 2000 yuan for the wall / in cash "
            "/ 3月31日"
        ).format(line=self.line)


class ClosingService(Feature):
    def __init__(
        self,
        deps: Deps,
        *,
        relay: RelayService,
        revisits: RevisitService,
        deadlines: DeadlineService,
    ) -> None:
        super().__init__(deps)
        self._store = deps.repos.relay
        self._parties = deps.repos.parties
        self._relay = relay
        self._revisits = revisits
        self._deadlines = deadlines

    # ------------------------------------------------------------------ the dialogue

    async def outcome_chosen(self, person: Person, case_id: int, outcome: str) -> Outgoing:
        """A button of /close: settled asks written or oral; the others start at once."""
        case = await self._relay.case_for_mediator(person, case_id)
        if outcome == "settled":
            ensure_mediation_allowed(case)  # a mediated agreement brings the parties together
            return Outgoing(
                _("Case {number}: a written agreement, or an oral one?").format(number=case.number),
                rows(
                    Button(
                        _("Written agreement (to print and sign)"),
                        FORM.pack(case.id, "written"),
                    ),
                    Button(_("Oral agreement (its content recorded)"), FORM.pack(case.id, "oral")),
                ),
            )
        if outcome in ("not_settled", "withdrawn"):
            return await self._begin(person, case, {"outcome": outcome, "fields": {}})
        raise StaleActionError

    async def form_chosen(self, person: Person, case_id: int, form: str) -> Outgoing:
        case = await self._relay.case_for_mediator(person, case_id)
        ensure_mediation_allowed(case)
        if form not in FORMS:
            raise StaleActionError
        return await self._begin(person, case, {"outcome": "settled", "form": form, "fields": {}})

    async def legacy(self, person: Person, case: CaseRecord, kind: str, text: str) -> Outgoing:
        """A text typed for the old one-step close (waiting from before an upgrade): it
        becomes an oral agreement or a referral, and goes to the preview like any other."""
        data: dict[str, Any]
        if kind == "settled":
            ensure_mediation_allowed(case)
            data = {"outcome": "settled", "form": "oral", "fields": {"content": text}}
        else:
            data = {"outcome": "not_settled", "fields": {"referral": text}}
        data["step"] = len(_steps(data))
        await self._save(person, case, data)
        return await self._preview(case, data)

    async def _begin(self, person: Person, case: CaseRecord, data: dict[str, Any]) -> Outgoing:
        data["step"] = 0
        await self._save(person, case, data)
        if not _steps(data):
            return await self._preview(case, data)
        return self._prompt(case, data)

    async def typed(self, person: Person, pending: PendingInput, text: str) -> Outgoing:
        """The answer to the current step; after the last one, the preview."""
        case = await self._relay.case_for_mediator(person, pending.case_id)
        data = dict(pending.data)
        steps = _steps(data)
        if data.get("outcome") == "settled":
            ensure_mediation_allowed(case)
        if data["step"] >= len(steps):  # the preview is out: its buttons decide
            await self._save(person, case, data)
            preview = await self._preview(case, data)
            hint = _("Please press ✓ Confirm, ✎ Change or ✗ Cancel below.")
            return Outgoing(hint + "\n\n" + preview.text, preview.buttons)
        step, text = steps[data["step"]], text.strip()[:MAX_TEXT]
        fields = dict(data["fields"])
        if not (data.get("editing") and text == KEEP and step in fields):
            try:
                fields[step] = self._read(step, text)
            except TermsError:
                await self._save(person, case, data)  # the step stays; asked again
                raise
        data["fields"], data["step"] = fields, data["step"] + 1
        await self._save(person, case, data)
        if data["step"] >= len(steps):
            return await self._preview(case, data)
        return self._prompt(case, data)

    def _read(self, step: str, text: str) -> Any:
        if step != "terms":
            return text
        return [t.__dict__ for t in self._terms(text)]

    def _terms(self, text: str) -> list[Term]:
        """One term a line: what / how / by when (a date as people write it)."""
        found = []
        now, zone = self._clock.now(), self._config.locale.zone
        for line in (line.strip() for line in text.splitlines()):
            if not line:
                continue
            parts = TERM_SPLIT.split(line)
            if len(parts) != 3 or not parts[0] or not parts[1]:
                raise TermsError(line)
            reading = read_local(parts[2], zone, now)
            if isinstance(reading, Refusal):
                raise TermsError(line)
            day = reading.moment.astimezone(zone).date()
            found.append(Term(parts[0], parts[1], day.isoformat()))
        if not found:
            raise TermsError(text)
        return found

    def _prompt(self, case: CaseRecord, data: dict[str, Any]) -> Outgoing:
        steps = _steps(data)
        step = steps[data["step"]]
        text = _prompts()[step].format(number=case.number, n=data["step"] + 1, total=len(steps))
        current = data["fields"].get(step)
        if data.get("editing") and current is not None:
            shown = _shown(step, current)
            text += "\n\n" + _("Now: {current}\nSend a new text, or {keep} to keep it.").format(
                current=shown, keep=KEEP
            )
        return Outgoing(text + "\n" + _("(Send /cancel to stop.)"))

    # ------------------------------------------------------------------ the preview

    async def _preview(self, case: CaseRecord, data: dict[str, Any]) -> Outgoing:
        outcome = data["outcome"]
        party = await self._joined(case)
        lines = [
            _("Please check. Nothing happens until you press ✓ Confirm."),
            _("Case {number} · outcome: {outcome}").format(
                number=case.number, outcome=_outcome_label(data)
            ),
        ]
        if outcome == "settled":
            lines += ["", agreement_text(_agreement(data), case.number), ""]
        if outcome == "not_settled":
            lines.append(_("Referred to: {text}").format(text=data["fields"]["referral"]))
        lines.append(_("When you confirm:"))
        lines += self._who_receives(case, data, party)
        buttons = rows(
            Button(_("✓ Confirm"), CONFIRM.pack(case.id, "ok")),
            Button(_("✎ Change"), CONFIRM.pack(case.id, "edit")),
            Button(_("✗ Cancel"), CONFIRM.pack(case.id, "cancel")),
            per_row=3,
        )
        return Outgoing("\n".join(lines), buttons)

    def _who_receives(
        self, case: CaseRecord, data: dict[str, Any], party: PartyRecord | None
    ) -> list[str]:
        resident = pseudonym_label(case.pseudonym)
        other = (
            [_("• {who} is told the mediation has ended.").format(who=party_label(party.pseudonym))]
            if party is not None
            else []
        )
        if data["outcome"] == "withdrawn":
            return [
                _("• {who} is told the case is closed as withdrawn.").format(who=resident),
                *other,
            ]
        if data["outcome"] == "not_settled":
            return [
                _("• {who} is told the case is closed, with where to go next.").format(
                    who=resident
                ),
                *other,
            ]
        said = [
            _("• {who} receives the agreement above and is asked to confirm it.").format(
                who=resident
            )
        ]
        if party is not None:
            said.append(
                _("• {who} receives the same agreement and is asked to confirm it.").format(
                    who=party_label(party.pseudonym)
                )
            )
        if data.get("form") == "written":
            said.append(
                _(
                    "• You receive the agreement as a Word file (a copy for each party and "
                    "one to keep), to print and have signed."
                )
            )
        else:
            said.append(_("• The content is recorded as an oral agreement; no document."))
        return said

    async def confirm_pressed(self, person: Person, case_id: int, verb: str) -> list[Outgoing]:
        """确认 / 修改 / 取消 on the preview now waiting, and only on that one."""
        pending = await self._store.pending(person.id)
        if pending is None or pending.kind != CLOSING or pending.case_id != case_id:
            raise StaleActionError
        data = dict(pending.data)
        if data["step"] < len(_steps(data)) or verb not in ("ok", "edit", "cancel"):
            raise StaleActionError
        case = await self._relay.case_for_mediator(person, case_id)
        if verb == "cancel":
            await self._store.clear_pending(person.id)
            return [
                Outgoing(
                    _("Cancelled. Nothing has changed: case {number} is still open.").format(
                        number=case.number
                    )
                )
            ]
        if verb == "edit":
            data["editing"] = True
            return [await self._begin(person, case, data)]
        await self._store.clear_pending(person.id)
        return await self._close(person, case, data)

    # ------------------------------------------------------------------ closing

    async def _close(
        self, person: Person, case: CaseRecord, data: dict[str, Any]
    ) -> list[Outgoing]:
        outcome, now = data["outcome"], self._clock.now()
        agreement = _agreement(data) if outcome == "settled" else None
        if agreement is not None:
            ensure_mediation_allowed(case)
        text = (
            agreement.summary() if agreement is not None else data["fields"].get("referral") or None
        )
        async with self._db.transaction():
            if agreement is not None:
                form: Form = "written" if agreement.form == "written" else "oral"
                await self._parties.save_agreement(
                    case.id, form, agreement.to_json(), person.id, now
                )
            await self._cases.close(case.id, CaseState(outcome), text, now)
            detail: dict[str, Any] = {"outcome": outcome}
            if agreement is not None:
                detail["form"] = agreement.form
            await self._cases.add_event(case.id, "closed", now, actor_id=person.id, **detail)
            await self._members.set_current_case(person.id, None)
            await self._revisits.case_closed(case, outcome)
            if agreement is not None:
                await self._deadlines.settled(case, agreement, now)
        await self._tell_parties(case, outcome, text, agreement)
        if agreement is not None:
            await self._deadlines.judicial_cards(case, now)
        replies = [
            Outgoing(
                _("Case {number} is closed: {outcome}.").format(
                    number=case.number, outcome=state_label(outcome)
                )
            )
        ]
        if agreement is not None and agreement.form == "written":
            await self._messenger.send(person.id, replies[0])  # the document after the word
            await self._send_document(person, case, agreement, now)
            return []
        return replies

    async def _send_document(
        self, person: Person, case: CaseRecord, agreement: Agreement, now: datetime
    ) -> None:
        zone = self._config.locale.zone
        head = Letterhead(
            organisation=self._config.mediation.organisation.text(person.locale),
            case_number=case.number,
            made_on=now.astimezone(zone).date(),
            mediator=(person.member.display_name if person.member else "") or "",
        )
        caption = _(
            "The mediation agreement of case {number}: print it, have each party sign, seal "
            "or put a fingerprint, sign it yourself and have it sealed."
        ).format(number=case.number)
        await self._messenger.send_document(
            person.id, f"{case.number}-agreement.docx", render_docx(agreement, head), caption
        )

    async def _tell_parties(
        self, case: CaseRecord, outcome: str, text: str | None, agreement: Agreement | None
    ) -> None:
        if case.resident_id is not None:
            await self._tell(
                case.resident_id, lambda: _closed_notice(case, outcome, text, agreement)
            )
        party = await self._joined(case)
        if party is None or party.user_id is None:
            return
        if agreement is not None:
            await self._tell(party.user_id, lambda: _party_notice(case, agreement))
        else:
            await self._tell(party.user_id, partial(ended_for_party, case.number))

    # ------------------------------------------------------------------ confirmations

    async def agreed(self, person: Person, case_id: int) -> Outgoing:
        """ "我同意以上协议内容" from a party of the case: the time is recorded."""
        case = await self._cases.get(case_id)
        if case is None:
            raise NotAllowedError
        agreement = await self._parties.agreement(case.id)
        party = await self._parties.get(case.id)
        side: Side
        if case.resident_id == person.id:
            side, who = "resident", pseudonym_label(case.pseudonym)
        elif party is not None and party.user_id == person.id and party.consented_at:
            side, who = "party", party_label(party.pseudonym)
        else:
            raise NotAllowedError
        if agreement is None or case.state != "settled":
            raise StaleActionError
        now = self._clock.now()
        async with self._db.transaction():
            if not await self._parties.confirm(case.id, side, now):
                raise StaleActionError
            await self._cases.add_event(case.id, "agreement_confirmed", now, side=side)
        zone = self._config.locale.zone
        if case.mediator_id is not None:
            await self._tell(
                case.mediator_id,
                lambda: _("{who} confirmed the agreement of case {number} ({time}).").format(
                    who=who, number=case.number, time=format_when(now, zone)
                ),
            )
        return Outgoing(
            _("Thank you. Your agreement was recorded ({time}).").format(
                time=format_when(now, zone)
            )
        )

    # ------------------------------------------------------------------ helpers

    async def _joined(self, case: CaseRecord) -> PartyRecord | None:
        party = await self._parties.get(case.id)
        return party if party is not None and party.taking_part else None

    async def _save(self, person: Person, case: CaseRecord, data: dict[str, Any]) -> None:
        await self._store.set_pending(
            PendingInput(person.id, CLOSING, case.id, data), self._clock.now()
        )


def _steps(data: dict[str, Any]) -> tuple[str, ...]:
    key = data.get("form") if data["outcome"] == "settled" else data["outcome"]
    return STEPS[str(key)]


def _agreement(data: dict[str, Any]) -> Agreement:
    f = data["fields"]
    return Agreement(
        form=data["form"],
        applicant=f.get("applicant", ""),
        respondent=f.get("respondent", ""),
        facts=f.get("facts", ""),
        responsibility=f.get("responsibility", ""),
        terms=tuple(Term(**t) for t in f.get("terms", ())),
        content=f.get("content", ""),
    )


def _shown(step: str, value: Any) -> str:
    if step == "terms":
        return "\n".join(f"{t['what']} / {t['manner']} / {t['deadline']}" for t in value)
    return str(value)


def _outcome_label(data: dict[str, Any]) -> str:
    if data["outcome"] == "settled" and data.get("form") == "written":
        return _("settled, written agreement")
    if data["outcome"] == "settled":
        return _("settled, oral agreement")
    return state_label(data["outcome"])


def _prompts() -> dict[str, str]:
    return {
        "applicant": _(
            "Written agreement of case {number}, step {n} of {total}: Party A (who asked for "
            "help) as the agreement should name them: name, sex, age, address, phone. Type "
            "it as it should be printed; nothing is taken from Telegram."
        ),
        "respondent": _(
            "Step {n} of {total}: Party B (the other party), the same way: name, sex, age, "
            "address, phone."
        ),
        "facts": _("Step {n} of {total}: the main facts of the dispute and the points in dispute."),
        "responsibility": _("Step {n} of {total}: each party's responsibility."),
        "terms": _(
            "Step {n} of {total}: what they agreed. One term a line: what is done / how / by "
            "when, for example:\nParty B pays 2000 yuan for the wall / in cash / 3月31日"
        ),
        "content": _(
            "Oral agreement of case {number}: write down what was agreed (who does what, how "
            "and by when). It is recorded with the case; no document is made."
        ),
        "referral": _(
            "Case {number}: where was it referred (for example the court, the police, the "
            "labour bureau)?"
        ),
    }


def _closed_notice(
    case: CaseRecord, outcome: str, text: str | None, agreement: Agreement | None
) -> Outgoing:
    lines = [
        _("Your case {number} has been closed: {outcome}.").format(
            number=case.number, outcome=state_label(outcome)
        )
    ]
    buttons: tuple[tuple[Button, ...], ...] = ()
    if agreement is not None and agreement.form == "oral":
        lines += [_("The agreement: {text}").format(text=text), _confirm_hint()]
    elif agreement is not None:
        lines += ["", agreement_text(agreement, case.number), "", _confirm_hint()]
    if agreement is not None:
        buttons = rows(Button(_("I agree to the agreement above"), AGREE.pack(case.id)))
    if outcome == "not_settled" and text:
        lines.append(_("Where to go next: {text}").format(text=text))
    lines.append(_("Thank you for trusting Da'asao. Write 找大阿嫂 if you need us again."))
    return Outgoing("\n".join(lines), buttons)


def _party_notice(case: CaseRecord, agreement: Agreement) -> Outgoing:
    text = "\n".join(
        (
            _("The mediation of case {number} has ended with an agreement.").format(
                number=case.number
            ),
            "",
            agreement_text(agreement, case.number),
            "",
            _confirm_hint(),
        )
    )
    return Outgoing(text, rows(Button(_("I agree to the agreement above"), AGREE.pack(case.id))))


def _confirm_hint() -> str:
    return _("If this is what you agreed, please press the button below.")
