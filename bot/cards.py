"""The case card: what a mediator needs to know about a case, on the offer, on the
accepted card and under /case — built here only, so that every card says the same.

Never the resident's Telegram identity; her earlier cases with the society by count, date
and outcome only, never their contents.
"""

from __future__ import annotations

from bot.config import Config
from bot.i18n import _, current_locale, format_when, language_label
from bot.people import PeopleService
from bot.terms import area_name, category_label, contact_label, pseudonym_label, state_label
from storage.cases import CaseRecord, CaseRepository


def callable_phone(phone: str) -> str:
    """A mainland mobile number written so that a phone offers to call it: +86 138 1234 5678."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    return phone


def case_card(
    config: Config, case: CaseRecord, earlier: list[CaseRecord], resident_locale: str | None
) -> list[str]:
    """The lines of the card, in the reader's language (call inside `speaking_to`)."""
    lines = [
        f"{'🔴 ' if case.urgent else ''}{case.number} · {pseudonym_label(case.pseudonym)}",
        _("Topic: {category} · {area}").format(
            category=category_label(config, case.category), area=area_name(config, case.area_id)
        ),
        contact_line(config, case),
    ]
    if resident_locale:
        language = language_label(resident_locale)
        lines.append(_("She writes in: {language}").format(language=language))
    if earlier:
        zone = config.locale.zone
        visits = "; ".join(
            f"{format_when(c.created_at, zone)} {state_label(c.state)}" for c in earlier
        )
        lines.append(
            _("Earlier cases with us: {count} ({cases})").format(count=len(earlier), cases=visits)
        )
    return lines


def contact_line(config: Config, case: CaseRecord) -> str:
    """How the resident wants to be reached, with her number when she gave one."""
    return _("Contact: {contact}").format(contact=_contact(config, case))


def _contact(config: Config, case: CaseRecord) -> str:
    label = contact_label(case.contact)
    if case.phone:
        return f"{label} · ☎ {callable_phone(case.phone)}"
    area = config.area(case.area_id) if case.area_id else None
    if case.contact == "office" and area is not None:
        hours = area.office_hours.text(current_locale())
        return f"{label} · {_('Desk hours: {hours}').format(hours=hours)}"
    return label


class CaseCards:
    """Reads what a card needs (her earlier cases, her language) and builds it."""

    def __init__(self, config: Config, cases: CaseRepository, people: PeopleService) -> None:
        self._config = config
        self._cases = cases
        self._people = people

    async def lines(self, case: CaseRecord) -> list[str]:
        earlier: list[CaseRecord] = []
        locale = None
        if case.resident_id is not None:
            mine = await self._cases.of_resident(case.resident_id)
            earlier = sorted((c for c in mine if c.id < case.id), key=lambda c: c.id)
            locale = await self._people.locale_of(case.resident_id)
        return case_card(self._config, case, earlier, locale)
