"""What a resident can see of their own cases."""

from __future__ import annotations

from bot.core.i18n import _, format_skeleton
from bot.domain.people import Person
from bot.domain.terms import category_label, state_label
from bot.features.deps import Deps, Feature


class CaseService(Feature):
    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)

    async def status(self, person: Person) -> str:
        """/status: the resident's own cases, newest first, with number, topic and state."""
        cases = await self._cases.of_resident(person.id)
        if not cases:
            return _("You have no cases yet. Write 找大阿嫂 to talk to Da'asao.")
        lines = [_("Your cases:")]
        for case in reversed(cases):
            opened = format_skeleton(case.created_at, self._config.locale.zone, "yMMMd")
            lines.append(
                _("{number} · {category} · {state} · opened {date}").format(
                    number=case.number,
                    category=category_label(self._config, case.category),
                    state=state_label(case.state),
                    date=opened,
                )
            )
        lines.append(_("Write 找大阿嫂 to open another case."))
        return "\n".join(lines)
