"""The bot's profile in each language: the name in the chat list, the description shown in
an empty chat before Start, and the short one on the profile page and in shared links."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.i18n import SUPPORTED_LOCALES, Catalogs, _


@dataclass(frozen=True)
class Profile:
    language_code: str  # Telegram's two-letter code; "" for everyone else
    name: str
    description: str
    short_description: str


def profiles(catalogs: Catalogs) -> list[Profile]:
    """One profile per supported language, and the default language's again for ""."""
    found = []
    for locale in SUPPORTED_LOCALES:
        with catalogs.using(locale):
            found.append(_profile(locale.split("_")[0]))
    with catalogs.using(catalogs.default):
        found.append(_profile(""))
    return found


def _profile(code: str) -> Profile:
    return Profile(
        language_code=code,
        name=_("Da'asao"),
        description=_(
            "Trouble at home, with neighbours, a landlord or an employer? Press Start and tell "
            "us. A volunteer woman mediator of your neighbourhood will answer you herself. "
            "Free, and what you say stays private."
        ),
        short_description=_(
            "Got a conflict? Find Da'asao: the neighbourhood's volunteer women mediators. "
            "Free and private."
        ),
    )
