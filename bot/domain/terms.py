"""Names of things the resident and the mediator both see: categories, contact ways, areas.

Labels are lazy: they are translated when shown, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.config import Config
from bot.core.i18n import _, current_locale, lazy_gettext, ngettext
from bot.domain.cases import MessagePart

# Case topics (what a matter is about) come from the configuration: [[case_topics]].
VIOLENCE = "violence"  # an urgent case's category unless the resident chose one

# Where a mediator referred someone at risk: counted in /stats.
REFERRALS: dict[str, Any] = {
    "police": lazy_gettext("Police"),
    "court": lazy_gettext("Court"),
    "shelter": lazy_gettext("Shelter"),
    "hotline": lazy_gettext("12338 hotline"),
    "hospital": lazy_gettext("Hospital"),
}

CONTACTS: dict[str, Any] = {
    "chat": lazy_gettext("Chat here"),
    "phone": lazy_gettext("A phone call"),
    "office": lazy_gettext("Visit the desk during office hours"),
    "home": lazy_gettext("A home visit"),
}


def category_label(config: Config, category: str) -> str:
    """A case topic in the reader's language (a topic no longer configured: "other")."""
    return config.case_topic(category).name.text(current_locale())


def referral_label(kind: str) -> str:
    return str(REFERRALS.get(kind, kind))


def contact_label(contact: str) -> str:
    return str(CONTACTS.get(contact, contact))


def area_name(config: Config, area_id: str | None) -> str:
    area = config.area(area_id) if area_id else None
    return area.name.text(current_locale()) if area else _("area not given")


def pseudonym_label(pseudonym: str) -> str:
    """How a mediator sees a resident: never their name, only the case's pseudonym."""
    return _("Resident {code}").format(code=pseudonym)


def party_label(pseudonym: str) -> str:
    """How a mediator sees the other party of a case: 对方 R-5130."""
    return _("Other party {code}").format(code=pseudonym)


def mediator_label(display_name: str | None) -> str:
    return display_name or _("your mediator")


def excerpt(parts: Sequence[MessagePart], limit: int) -> str:
    """The gist of what a resident wrote: the text, cut at `limit`, and a count of media."""
    texts = " / ".join(p.text for p in parts if p.text)
    if len(texts) > limit:
        texts = texts[:limit] + "…"
    media = attachments([p.kind for p in parts if p.kind != "text"])
    if media:
        texts += " " + _("(with {attachments})").format(attachments=media)
    return texts.strip()


def attachments(kinds: Sequence[str]) -> str:
    """What came besides words, counted by kind: "2 photos, 1 voice message"."""
    counted = {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)}
    # Translators: joins "2 photos" and "1 voice message" in a list.
    return _(", ").join(_media_count(kind, n) for kind, n in counted.items())


def _media_count(kind: str, n: int) -> str:
    if kind == "photo":
        return ngettext("{count} photo", "{count} photos", n).format(count=n)
    if kind == "voice":
        return ngettext("{count} voice message", "{count} voice messages", n).format(count=n)
    if kind == "video":
        return ngettext("{count} video", "{count} videos", n).format(count=n)
    return ngettext("{count} file", "{count} files", n).format(count=n)


STATES: dict[str, Any] = {
    "new": lazy_gettext("registered"),
    "unassigned": lazy_gettext("waiting for a mediator"),
    "offered": lazy_gettext("waiting for a mediator"),
    "accepted": lazy_gettext("with a mediator"),
    "settled": lazy_gettext("settled"),
    "not_settled": lazy_gettext("not settled"),
    "withdrawn": lazy_gettext("withdrawn"),
    "closed": lazy_gettext("closed"),
}


def state_label(state: str) -> str:
    return str(STATES.get(state, state))
