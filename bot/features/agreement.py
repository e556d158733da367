"""The agreement of a settled case: its §29 contents, its text in the chat, its DOCX.

人民调解法 §29: a written agreement (调解协议书) states the parties' basic details; the main
facts, the points in dispute and each party's responsibility; what they agreed, with the
manner and deadline of performance. It takes effect when the parties sign, seal or put
their fingerprint and the mediator signs and the organisation seals it; each party keeps a
copy and the organisation keeps one. An oral agreement (§28) is recorded by its content.

Everything here is typed by the mediator: nothing comes from a Telegram account. The DOCX
holds plain runs only (no fields, no links), so what was typed is shown, never run.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from docx import Document
from docx.enum.text import WD_BREAK, WD_PARAGRAPH_ALIGNMENT
from docx.shared import Pt

from bot.core.i18n import _


@dataclass(frozen=True)
class Term:
    """One agreed term: what is done, how, and by when."""

    what: str
    manner: str
    deadline: str  # ISO date, local


@dataclass(frozen=True)
class Agreement:
    """The §29 contents (written) or the content (oral) as the mediator typed them."""

    form: str  # 'written' or 'oral'
    applicant: str = ""
    respondent: str = ""
    facts: str = ""
    responsibility: str = ""
    terms: tuple[Term, ...] = ()
    content: str = ""  # the oral agreement

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Agreement:
        terms = tuple(Term(**t) for t in data.get("terms", ()))
        keep = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "terms"}
        return cls(**{**keep, "terms": terms})

    def summary(self) -> str:
        """One short text for the case record (revisits quote it)."""
        if self.form == "oral":
            return self.content
        return "；".join(t.what for t in self.terms)


def day_label(iso: str) -> str:
    day = date.fromisoformat(iso)
    return _("{year}-{month}-{day}").format(year=day.year, month=day.month, day=day.day)


def term_line(number: int, term: Term) -> str:
    return _("{n}. {what} (manner: {manner}; by {deadline})").format(
        n=number, what=term.what, manner=term.manner, deadline=day_label(term.deadline)
    )


def agreement_text(agreement: Agreement, case_number: str) -> str:
    """What each party reads in the chat before confirming."""
    if agreement.form == "oral":
        return _("Oral agreement of case {number}:\n{content}").format(
            number=case_number, content=agreement.content
        )
    lines = [
        _("Mediation agreement of case {number}").format(number=case_number),
        _("Party A: {text}").format(text=agreement.applicant),
        _("Party B: {text}").format(text=agreement.respondent),
        _("Facts and points in dispute: {text}").format(text=agreement.facts),
        _("Each party's responsibility: {text}").format(text=agreement.responsibility),
        _("Agreed:"),
        *(term_line(n, t) for n, t in enumerate(agreement.terms, start=1)),
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Letterhead:
    organisation: str
    case_number: str
    made_on: date
    mediator: str


def render_docx(agreement: Agreement, head: Letterhead) -> bytes:
    """The written agreement, printable: one copy per party and one to keep, each headed
    with whose it is, page breaks between them."""
    document = Document()
    style = document.styles["Normal"]
    style.font.size = Pt(12)
    copies = (
        _("Copy for Party A"),
        _("Copy for Party B"),
        _("Copy kept by {organisation}").format(organisation=head.organisation),
    )
    for index, copy in enumerate(copies):
        _one_copy(document, agreement, head, copy)
        if index < len(copies) - 1:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _one_copy(document: Any, agreement: Agreement, head: Letterhead, copy: str) -> None:
    title = document.add_paragraph()
    title.alignment = WD_PARAGRAPH_ALIGNMENT.CENTER
    run = title.add_run(_("People's Mediation Agreement"))
    run.bold = True
    run.font.size = Pt(18)
    _plain(document, head.organisation, center=True)
    _plain(document, f"（{copy}）", center=True)
    _plain(document, _("Case number: {number}").format(number=head.case_number))
    _plain(
        document,
        _("Date: {date}").format(date=day_label(head.made_on.isoformat())),
    )
    _section(document, _("Party A"), agreement.applicant)
    _section(document, _("Party B"), agreement.respondent)
    _section(document, _("Main facts and points in dispute"), agreement.facts)
    _section(document, _("Responsibility of each party"), agreement.responsibility)
    _section(
        document,
        _("The parties agree of their own free will"),
        "\n".join(term_line(n, t) for n, t in enumerate(agreement.terms, start=1)),
    )
    _plain(
        document,
        _(
            "This agreement takes effect when the parties have signed, sealed or put their "
            "fingerprint on it and the mediator has signed it and the organisation has "
            "sealed it. It is made in three copies: each party keeps one and the "
            "organisation keeps one."
        ),
    )
    _signatures(document, head)


def _signatures(document: Any, head: Letterhead) -> None:
    blank = "________________"
    for who in (_("Party A"), _("Party B")):
        _plain(
            document,
            _("{who} (signature, seal or fingerprint): {blank}   Date: {blank}").format(
                who=who, blank=blank
            ),
        )
    _plain(
        document,
        _("Mediator (signature): {blank} ({name})   Date: {blank}").format(
            blank=blank, name=head.mediator
        ),
    )
    _plain(
        document,
        _("Mediation organisation (seal): {organisation}   Date: {blank}").format(
            organisation=head.organisation, blank=blank
        ),
    )


def _section(document: Any, heading: str, text: str) -> None:
    para = document.add_paragraph()
    para.add_run(heading + "：").bold = True
    for line in _lines(text):
        _plain(document, line)


def _plain(document: Any, text: str, *, center: bool = False) -> None:
    para = document.add_paragraph()
    if center:
        para.alignment = WD_PARAGRAPH_ALIGNMENT.CENTER
    para.add_run(_printable(text))


def _lines(text: str) -> Sequence[str]:
    return [line for line in text.splitlines() if line.strip()] or [""]


def _printable(text: str) -> str:
    """XML cannot hold control characters: they are dropped (tabs and newlines stay)."""
    return "".join(ch for ch in text if ch in "\t\n" or ord(ch) >= 32)
