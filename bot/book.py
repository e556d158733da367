"""The registration book (调解登记): one page per case, as a self-contained HTML document.

It holds what the society's rule asks for — number, dates, area, category, contact
preference, the timeline, the conversation (pseudonymised), private notes and the outcome —
and nothing that identifies the resident beyond the case's pseudonym (and a phone number
only if they chose to share it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape
from typing import Any

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
}


@dataclass(frozen=True)
class BookPage:
    case: CaseRecord
    area: str
    category: str
    contact: str
    state: str
    events: list[EventRecord]
    messages: list[tuple[str, BookEntry]]  # (author label, entry)
    notes: list[tuple[str, Note]]  # (author label, note)
    names: dict[int, str]  # team member ids → display names, for the timeline


# Why Telegram refused a copy (bot.messaging.RefusalReason), for the book.
FAILURES = {
    "blocked": lazy_gettext("the other side has blocked the bot"),
    "too_long": lazy_gettext("too long for Telegram"),
    "not_allowed": lazy_gettext("this kind of message cannot be passed on"),
    "rejected": lazy_gettext("Telegram refused it"),
}


def render(page: BookPage, zone: tzinfo) -> bytes:
    """The page as UTF-8 HTML, in the current locale."""
    case = page.case

    def when(moment: datetime) -> str:
        return format_datetime(moment, zone, "short")

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
    sections = [
        _table(_("Case"), [(k, v) for k, v in facts]),
        _table(_("Timeline"), [(when(e.at), _event_text(e, page.names)) for e in page.events]),
        _table(
            _("Conversation"),
            [
                (f"{when(entry.at)} · {author}", _entry_text(entry))
                for author, entry in page.messages
            ],
        ),
        _table(
            _("Private notes"), [(f"{when(n.at)} · {author}", n.text) for author, n in page.notes]
        ),
    ]
    title = _("Registration book · {number}").format(number=case.number)
    footer = _("Confidential: for the mediation society only.")
    html = (
        f'<!doctype html><html lang="{escape(current_locale().replace("_", "-"))}"><head>'
        f'<meta charset="utf-8"><title>{escape(title)}</title><style>{_CSS}</style></head>'
        f"<body><h1>{escape(title)}</h1>{''.join(sections)}"
        f"<footer>{escape(footer)}</footer>"
        "</body></html>"
    )
    return html.encode("utf-8")


def _event_text(event: EventRecord, names: dict[int, str]) -> str:
    label = str(EVENTS.get(event.kind, event.kind))
    who = names.get(event.actor_id) if event.actor_id else None
    details = [
        v for k, v in event.detail.items() if k in ("outcome", "reason", "side", "card", "round")
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
    body = (
        "".join(
            f"<tr><th>{escape(str(key))}</th><td>{escape(str(value))}</td></tr>"
            for key, value in rows
        )
        or f"<tr><td>{escape(_('(none)'))}</td></tr>"
    )
    return f"<h2>{escape(title)}</h2><table>{body}</table>"


_CSS = (
    "body{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;"
    "padding:.4em;text-align:left;vertical-align:top}th{width:14em;font-weight:600}"
    "td{white-space:pre-wrap}footer{margin-top:2em;color:#777;font-size:.9em}"
)
