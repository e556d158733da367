"""The case file (调解卷宗): one case's whole record, as self-contained HTML and as DOCX.

It holds what the society's rule asks for: a cover (number, parties, area, dates,
mediator, outcome), the registration record, the notices and consents, the conversation
with each party (pseudonymised), private notes, referrals, the agreement and its
confirmations, the follow-up of its terms, revisits, and the whole timeline — and nothing
that identifies a party beyond the case's pseudonyms, the names the mediator typed into an
agreement, and a phone number only if it was shared. Both renderings hold text only (HTML
escaped, DOCX plain runs): nothing typed by anyone can run.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from html import escape
from typing import Any

from docx import Document

from bot.i18n import _, current_locale, format_datetime, lazy_gettext
from bot.terms import referral_label
from storage.cases import BookEntry, CaseRecord, EventRecord, MessagePart
from storage.relay import Note

EVENTS: dict[str, Any] = {
    "registered": lazy_gettext("Registered"),
    "offered": lazy_gettext("Offered to a mediator"),
    "accepted": lazy_gettext("Accepted"),
    "declined": lazy_gettext("Declined"),
    "offer_expired": lazy_gettext("Offer timed out"),
    "unassigned": lazy_gettext("No mediator available"),
    "note": lazy_gettext("Note added"),
    "closed": lazy_gettext("Closed"),
    "reopened": lazy_gettext("Reopened"),
    "transferred": lazy_gettext("Handed over"),
    "consulted": lazy_gettext("Legal adviser consulted"),
    "recalled": lazy_gettext("A message recalled by the mediator"),
    "revisit_message": lazy_gettext("Written during the revisits"),
    "withdrawn": lazy_gettext("Withdrawn by the resident"),
    "unreachable": lazy_gettext("A participant could not be reached"),
    "urgent_alerted": lazy_gettext("Urgent: alerted"),
    "escalated": lazy_gettext("Became urgent"),
    "info_card": lazy_gettext("Information card sent to the resident"),
    "referral": lazy_gettext("Referred"),
    "vulnerable": lazy_gettext("A minor or someone who cannot look after themselves"),
    "care_flagged": lazy_gettext("Marked not suitable for mediation"),
    "care_cleared": lazy_gettext("No longer marked not suitable for mediation"),
    "consented": lazy_gettext("Privacy consent given"),
    "consent_declined": lazy_gettext("Privacy consent declined"),
    "rights_notice": lazy_gettext("Rights and obligations notice shown"),
    "party_invited": lazy_gettext("Other party invited"),
    "party_opened": lazy_gettext("Other party opened the invitation"),
    "party_joined": lazy_gettext("Other party joined and consented"),
    "party_declined": lazy_gettext("Other party declined"),
    "party_ended": lazy_gettext("Other party ended mediation"),
    "agreement_confirmed": lazy_gettext("Agreement confirmed by a party"),
    "term_reminded": lazy_gettext("Term deadline: mediator asked"),
    "term_performed": lazy_gettext("Term performed"),
    "term_not_yet": lazy_gettext("Term not yet performed"),
    "term_broken": lazy_gettext("Term broken"),
    "term_revisit": lazy_gettext("Revisit for a broken term"),
    "judicial_card": lazy_gettext("Judicial confirmation card sent"),
    "judicial_reminded": lazy_gettext("Judicial confirmation reminder sent"),
    "revisited": lazy_gettext("Revisited"),
}
NOTICES = (
    "rights_notice",
    "consented",
    "consent_declined",
    "party_invited",
    "party_opened",
    "party_joined",
    "party_declined",
    "party_ended",
)
TERM_EVENTS = ("term_reminded", "term_performed", "term_not_yet", "term_broken", "judicial_card")
REVISIT_EVENTS = ("revisited", "revisit_postponed", "term_revisit", "judicial_reminded")


@dataclass(frozen=True)
class BookPage:
    case: CaseRecord
    area: str
    category: str
    contact: str
    state: str
    events: list[EventRecord]
    messages: list[tuple[str, BookEntry]]  # (author label, entry): with the applicant
    notes: list[tuple[str, Note]]  # (author label, note)
    names: dict[int, str]  # team member ids → display names, for the timeline
    cover: list[tuple[str, str]] = field(default_factory=list)  # parties, mediator, …
    party_messages: list[tuple[str, BookEntry]] = field(default_factory=list)
    consultation: list[tuple[str, BookEntry]] = field(default_factory=list)
    agreement: list[str] = field(default_factory=list)  # its text, line by line
    confirmations: list[tuple[str, datetime]] = field(default_factory=list)


# Why Telegram refused a copy (bot.messaging.RefusalReason), for the book.
FAILURES = {
    "blocked": lazy_gettext("the other side has blocked the bot"),
    "too_long": lazy_gettext("too long for Telegram"),
    "not_allowed": lazy_gettext("this kind of message cannot be passed on"),
    "rejected": lazy_gettext("Telegram refused it"),
}


Section = tuple[str, list[tuple[str, str]]]


def sections(page: BookPage, zone: tzinfo) -> list[Section]:
    """The case file, section by section, in the current locale: (title, rows)."""
    case = page.case

    def when(moment: datetime) -> str:
        return format_datetime(moment, zone, "short")

    def events(kinds: tuple[str, ...]) -> list[tuple[str, str]]:
        return [(when(e.at), _event_text(e, page.names)) for e in page.events if e.kind in kinds]

    def talk(entries: list[tuple[str, BookEntry]]) -> list[tuple[str, str]]:
        return [(f"{when(entry.at)} · {author}", _entry_text(entry)) for author, entry in entries]

    facts = [
        (_("Case number"), case.number),
        (_("Registered"), when(case.created_at)),
        (_("Area"), page.area),
        (_("Category"), page.category + (" · " + _("urgent") if case.urgent else "")),
        (_("Contact preference"), page.contact),
        (
            _("Not suitable for mediation"),
            _("yes (Anti-Domestic Violence Law)") if case.no_mediation else _("no"),
        ),
        (
            _("Legal basis"),
            _("to protect life and health (PIPL Art. 13(4)), before the consent")
            if case.basis == "vital_interests"
            else _("the resident's consent"),
        ),
        (_("Phone (shared by the resident)"), case.phone or "—"),
        (_("State"), page.state),
        (_("Closed"), when(case.closed_at) if case.closed_at else "—"),
        (_("Outcome"), case.outcome_text or "—"),
    ]
    agreement = [("", line) for line in page.agreement] + [
        (when(at), _("confirmed by {who}").format(who=who)) for who, at in page.confirmations
    ]
    found: list[Section] = [
        (_("Cover"), page.cover),
        (_("Registration"), facts),
        (_("Notices and consents"), events(NOTICES)),
        (_("Conversation with the applicant"), talk(page.messages)),
    ]
    if page.party_messages:
        found.append((_("Conversation with the other party"), talk(page.party_messages)))
    if page.consultation:
        found.append((_("Consultation with the legal adviser"), talk(page.consultation)))
    found += [
        (_("Private notes"), [(f"{when(n.at)} · {author}", n.text) for author, n in page.notes]),
        (_("Referrals"), events(("referral", "info_card"))),
        (_("Agreement and confirmations"), agreement),
        (_("Follow-up of the terms"), events(TERM_EVENTS)),
        (_("Revisits"), events(REVISIT_EVENTS)),
        (_("Timeline"), [(when(e.at), _event_text(e, page.names)) for e in page.events]),
    ]
    return found


def _title(page: BookPage) -> str:
    return _("Case file · {number}").format(number=page.case.number)


def render(page: BookPage, zone: tzinfo) -> bytes:
    """The case file as UTF-8 HTML, in the current locale."""
    title = _title(page)
    footer = _("Confidential: for the mediation society only.")
    body = "".join(_table(name, rows) for name, rows in sections(page, zone))
    html = (
        f'<!doctype html><html lang="{escape(current_locale().replace("_", "-"))}"><head>'
        f'<meta charset="utf-8"><title>{escape(title)}</title><style>{_CSS}</style></head>'
        f"<body><h1>{escape(title)}</h1>{body}"
        f"<footer>{escape(footer)}</footer>"
        "</body></html>"
    )
    return html.encode("utf-8")


def render_docx(page: BookPage, zone: tzinfo) -> bytes:
    """The case file as a Word document: the same sections, plain runs in tables."""
    document = Document()
    document.add_heading(_printable(_title(page)), level=0)
    for name, rows in sections(page, zone):
        document.add_heading(_printable(name), level=1)
        if not rows:
            document.add_paragraph(_("(none)"))
            continue
        table = document.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for key, value in rows:
            cells = table.add_row().cells
            cells[0].paragraphs[0].add_run(_printable(str(key)))
            cells[1].paragraphs[0].add_run(_printable(str(value)))
    document.add_paragraph(_("Confidential: for the mediation society only."))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _printable(text: str) -> str:
    """XML cannot hold control characters: they are dropped (tabs and newlines stay)."""
    return "".join(ch for ch in text if ch in "\t\n" or ord(ch) >= 32)


def _event_text(event: EventRecord, names: dict[int, str]) -> str:
    label = str(EVENTS.get(event.kind, event.kind))
    who = names.get(event.actor_id) if event.actor_id else None
    details = [
        v
        for k, v in event.detail.items()
        if k in ("outcome", "form", "reason", "side", "card", "round", "n", "answer", "sensitive")
    ]
    target = event.detail.get("mediator") or event.detail.get("to")
    if isinstance(target, int) and target in names:
        details.append("→ " + names[target])
    elif event.kind == "referral" and isinstance(target, str):
        details.append("→ " + referral_label(target))
    text = label + (f" ({', '.join(str(d) for d in details)})" if details else "")
    return f"{text} — {who}" if who else text


def _entry_text(entry: BookEntry) -> str:
    """The message, and what became of it when that is not simply "passed on"."""
    text = _message_text(entry.part)
    notes = []
    if entry.edit_of is not None:
        notes.append(_("edited"))
    if entry.delivery == "undelivered":
        notes.append(
            _("not delivered: {reason}").format(reason=str(FAILURES.get(entry.failure or "", "—")))
        )
    elif entry.delivery == "held":
        notes.append(_("held back: written very fast"))
    elif entry.delivery == "pending":
        notes.append(_("not passed on yet"))
    return f"{text} ({'; '.join(notes)})" if notes else text


def _message_text(part: MessagePart) -> str:
    media = {
        "text": "",
        "photo": _("[photo]"),
        "voice": _("[voice message]"),
        "video": _("[video]"),
        "document": _("[file]"),
        "audio": _("[audio]"),
    }
    prefix = media.get(part.kind, f"[{part.kind}]")
    return " ".join(x for x in (prefix, part.text or "") if x)


def _table(title: str, rows: list[tuple[str, str]]) -> str:
    nothing = escape(_("(none)"))  # outside the f-string, where the extractor finds it
    body = (
        "".join(
            f"<tr><th>{escape(str(key))}</th><td>{escape(str(value))}</td></tr>"
            for key, value in rows
        )
        or f"<tr><td>{nothing}</td></tr>"
    )
    return f"<h2>{escape(title)}</h2><table>{body}</table>"


_CSS = (
    "body{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;"
    "padding:.4em;text-align:left;vertical-align:top}th{width:14em;font-weight:600}"
    "td{white-space:pre-wrap}footer{margin-top:2em;color:#777;font-size:.9em}"
)
