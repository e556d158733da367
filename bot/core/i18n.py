"""Translations and local formatting.

The locale of the person being written to lives in a ContextVar, set once per update
(handlers' first group) or explicitly with `Catalogs.using()` when the bot writes to
someone else — a mediator is always addressed in the mediator's language, whatever
language the resident who triggered the message speaks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, tzinfo
from importlib import resources
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_datetime as babel_format_datetime
from babel.support import LazyProxy, NullTranslations, Translations

SUPPORTED_LOCALES = ("zh_CN", "en")
DOMAIN = "messages"

# The reader's locale and its catalog. Until a handler or job activates one, text stays
# in the source language (msgids are English) — that is what tests without catalogs see.
_active: ContextVar[tuple[str, NullTranslations]] = ContextVar(
    "active_locale", default=("en", NullTranslations())
)


class Catalogs:
    """The compiled catalogs of every supported locale, loaded once at start."""

    def __init__(self, directory: Path | None = None, default: str = SUPPORTED_LOCALES[0]) -> None:
        folder = directory or Path(str(resources.files("locales")))
        self.default = default
        self._translations: dict[str, NullTranslations] = {
            locale: Translations.load(str(folder), [locale], DOMAIN) for locale in SUPPORTED_LOCALES
        }
        missing = [
            locale
            for locale, catalog in self._translations.items()
            if not isinstance(catalog, Translations)
        ]
        if missing:
            raise RuntimeError(
                f"compiled catalogs missing for {', '.join(missing)} in {folder}: "
                "run `make compile`"
            )

    def get(self, locale: str) -> NullTranslations:
        return self._translations.get(locale, self._translations[self.default])

    def activate(self, locale: str) -> None:
        """Use `locale` for the rest of this update's (or job's) handling."""
        _active.set((locale, self.get(locale)))

    @contextmanager
    def using(self, locale: str) -> Iterator[None]:
        """Write to someone else in their language, then return to the current one."""
        token = _active.set((locale, self.get(locale)))
        try:
            yield
        finally:
            _active.reset(token)


def negotiate(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The user's stored choice, else Telegram's language_code, else the default."""
    if chosen in SUPPORTED_LOCALES:
        return chosen
    if telegram_code:
        primary = telegram_code.replace("_", "-").lower().split("-")[0]
        for locale in SUPPORTED_LOCALES:
            if locale.lower().split("_")[0] == primary:
                return locale
    return default


def current_locale() -> str:
    return _active.get()[0]


def gettext(message: str) -> str:
    return _active.get()[1].ugettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _active.get()[1].ungettext(singular, plural, count)


def lazy_gettext(message: str) -> Any:
    """For text defined at import time: translated when it is used, in that moment's locale."""
    return LazyProxy(gettext, message, enable_cache=False)


_ = gettext


def format_datetime(moment: datetime, zone: tzinfo, style: str = "medium") -> str:
    """A moment in the configured time zone, written the way the reader's locale writes it."""
    return babel_format_datetime(moment, format=style, tzinfo=zone, locale=_babel_locale())


def format_skeleton(moment: datetime, zone: tzinfo, skeleton: str) -> str:
    """A moment by CLDR skeleton (e.g. "MMMEdHm"), localized by Babel."""
    from babel.dates import format_skeleton as babel_format_skeleton

    return babel_format_skeleton(skeleton, moment, tzinfo=zone, locale=_babel_locale())


def format_when(moment: datetime, zone: tzinfo) -> str:
    """Weekday, day and time, e.g. "3月3日周二 09:00" / "Tue, Mar 3, 09:00".

    CLDR has no skeleton for date and time together, so the locale's own date-time
    pattern joins the two parts.
    """
    from babel.dates import get_datetime_format

    date = format_skeleton(moment, zone, "MMMEd")
    time = format_skeleton(moment, zone, "Hm")
    pattern = str(get_datetime_format("medium", locale=_babel_locale()))
    return pattern.replace("{1}", date).replace("{0}", time)


def language_name(locale: str) -> str:
    """A language's name in that language (中文, English): what a chooser shows."""
    parsed = Locale.parse(locale)
    return parsed.get_language_name(parsed) or locale


def _babel_locale() -> Locale:
    return Locale.parse(current_locale())


def language_label(locale: str) -> str:
    """A language's name in the reader's language (英语, Chinese): what a card says."""
    return Locale.parse(locale).get_language_name(_babel_locale()) or locale


def zone_label(zone: tzinfo) -> str:
    """The time zone as the reader names it: 中国（上海）时间, China (Shanghai) Time."""
    from babel.dates import get_timezone_location

    return str(get_timezone_location(zone, locale=_babel_locale()))
