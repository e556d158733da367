"""Configuration: ``config.toml`` read with :mod:`tomllib` into frozen, typed dataclasses.

The dataclasses below are the single description of the configuration. A small generic
builder walks them with :func:`dataclasses.fields` and :func:`typing.get_type_hints`,
converts each TOML value to the declared type and runs the checks listed in the field's
``metadata["checks"]``. A few cross-field checks live in ``_CLASS_CHECKS``. Every problem is
reported as one :class:`ConfigError` line that names the full dotted key, for example
``routing.accept_timeout_minutes: expected an integer >= 1, found -5``.

The bot token may come from the environment variable ``DAASAO_TOKEN`` instead of the file.
The token and the webhook secret never appear in an error message or a ``repr``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "TOKEN_ENV",
    "AnnouncementsConfig",
    "AreaConfig",
    "Config",
    "ConfigError",
    "EmergencyNumber",
    "LocaleConfig",
    "Localized",
    "LoggingConfig",
    "PlaygroundConfig",
    "PrivacyConfig",
    "RevisitsConfig",
    "RosterSlotConfig",
    "RoutingConfig",
    "StaffConfig",
    "StorageConfig",
    "TelegramConfig",
    "Topic",
    "UrgentConfig",
    "WebhookConfig",
    "load_config",
    "parse_config",
]

TOKEN_ENV = "DAASAO_TOKEN"
"""Environment variable that, when set and non-empty, overrides ``telegram.token``."""

Mode = Literal["polling", "webhook"]
LocaleName = Literal["zh_CN", "en"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class ConfigError(Exception):
    """A configuration problem, rendered as one line ``<key>: expected <x>, found <y>``."""

    def __init__(self, key: str, expected: str, found: str) -> None:
        self.key = key
        self.expected = expected
        self.found = found
        super().__init__(_one_line(f"{key}: expected {expected}, found {found}"))


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Problem:
    """What a check reports: the expectation, optionally what was found and where.

    ``where`` is appended to the key of the checked value (``"[2].id"``, ``".webhook.url"``);
    ``found`` defaults to a description of the checked value.
    """

    expected: str
    found: str | None = None
    where: str = ""


Check = Callable[[Any], Problem | None]
"""A check takes a converted value and returns ``None`` when it is fine."""


def checks(*items: Check) -> dict[str, Any]:
    """Field metadata carrying the checks run after type conversion, in order."""
    return {"checks": items}


def int_range(lo: int, hi: int) -> Check:
    """An integer within ``lo..hi`` (both inclusive)."""

    def check(value: int) -> Problem | None:
        if value < lo:
            return Problem(f"an integer >= {lo}")
        if value > hi:
            return Problem(f"an integer <= {hi}")
        return None

    return check


def float_range(lo: float, hi: float, *, lo_open: bool = False) -> Check:
    """A number within ``lo..hi``; ``lo_open`` excludes ``lo`` itself. NaN never passes."""
    low = f"a number > {lo:g}" if lo_open else f"a number >= {lo:g}"

    def check(value: float) -> Problem | None:
        if not (value > lo if lo_open else value >= lo):
            return Problem(low)
        if not value <= hi:
            return Problem(f"a number <= {hi:g}")
        return None

    return check


def pattern(regex: str, expected: str, *, allow_empty: bool = False) -> Check:
    """A string that matches ``regex`` in full (or is empty, when ``allow_empty``)."""
    compiled = re.compile(regex)

    def check(value: str) -> Problem | None:
        if allow_empty and value == "":
            return None
        return None if compiled.fullmatch(value) else Problem(expected)

    return check


def non_empty(expected: str) -> Check:
    """A string or array that is not empty."""

    def check(value: str | tuple[Any, ...]) -> Problem | None:
        return None if value else Problem(expected)

    return check


def each(inner: Check) -> Check:
    """Apply ``inner`` to every item of an array, reporting the failing item's index."""

    def check(values: tuple[Any, ...]) -> Problem | None:
        for index, value in enumerate(values):
            problem = inner(value)
            if problem is not None:
                found = problem.found if problem.found is not None else _describe(value)
                return Problem(problem.expected, found, f"[{index}]{problem.where}")
        return None

    return check


def unique(what: str, attr: str | None = None) -> Check:
    """Items (or their ``attr``) of an array must be unique; the repeat is reported."""

    def check(values: tuple[Any, ...]) -> Problem | None:
        seen: set[Any] = set()
        for index, item in enumerate(values):
            value = getattr(item, attr) if attr else item
            if value in seen:
                where = f"[{index}].{attr}" if attr else f"[{index}]"
                return Problem(f"a unique {what}", f"{_describe(value)} again", where)
            seen.add(value)
        return None

    return check


def increasing(values: tuple[Any, ...]) -> Problem | None:
    """Items of an array must be strictly increasing."""
    for index in range(1, len(values)):
        if values[index] <= values[index - 1]:
            found = f"{_describe(values[index])} after {_describe(values[index - 1])}"
            return Problem("values in strictly increasing order", found, f"[{index}]")
    return None


def time_zone(value: str) -> Problem | None:
    """An IANA time zone name that :mod:`zoneinfo` can load, such as ``Asia/Shanghai``."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return Problem("an IANA time zone name such as 'Asia/Shanghai'")
    return None


def url(*schemes: str, allow_empty: bool = False) -> Check:
    """An absolute URL with one of ``schemes`` and a host (or empty, when ``allow_empty``)."""
    names = " or ".join(schemes)

    def check(value: str) -> Problem | None:
        if allow_empty and value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme in schemes and parts.netloc and not any(c.isspace() for c in value):
            return None
        return Problem(f"an {names} URL")

    return check


slug = pattern(r"[a-z0-9_-]{1,32}", "an id of 1-32 characters a-z, 0-9, _ and -")
port = int_range(1, 65535)
hh_mm = pattern(r"([01][0-9]|2[0-3]):[0-5][0-9]", "a time of day as HH:MM, like '09:00'")
hh_mm_or_midnight = pattern(
    r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00", "a time of day as HH:MM, like '11:30' or '24:00'"
)
_PHONE = r"\+?[0-9][0-9 -]{1,23}"
_PHONE_EXPECTED = "a phone number of digits, spaces and -, like '12338'"
phone = pattern(_PHONE, _PHONE_EXPECTED)
optional_phone = pattern(_PHONE, _PHONE_EXPECTED, allow_empty=True)
no_spaces = pattern(r"\S+", "a value without spaces or line breaks", allow_empty=True)
secret = pattern(
    r"[A-Za-z0-9_-]{1,256}", "1-256 characters of A-Z, a-z, 0-9, _ and -", allow_empty=True
)


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class Localized:
    """A text in Simplified Chinese and, optionally, English."""

    zh_CN: str = field(metadata=checks(non_empty("a non-empty Chinese text")))
    en: str = ""

    def text(self, locale: str) -> str:
        """The text for ``locale`` (``"en"``, ``"en_US"``, …); Chinese when English is empty."""
        if self.en and (locale == "en" or locale[:3] in ("en_", "en-")):
            return self.en
        return self.zh_CN


@dataclass(frozen=True)
class WebhookConfig:
    """Where the bot listens for Telegram's webhook calls (``telegram.mode = "webhook"``)."""

    listen: str = field(default="127.0.0.1", metadata=checks(non_empty("a host"), no_spaces))
    port: int = field(default=8443, metadata=checks(port))
    path: str = field(
        default="telegram",
        metadata=checks(pattern(r"[A-Za-z0-9_./-]*", "a URL path of A-Z, a-z, 0-9, _ . / -")),
    )
    url: str = field(default="", metadata=checks(url("https", allow_empty=True)))
    secret_token: str = field(default="", repr=False, metadata={**checks(secret), "secret": True})


@dataclass(frozen=True)
class TelegramConfig:
    """How the bot talks to the Bot API. An empty token means: use the local playground."""

    token: str = field(default="", repr=False, metadata={**checks(no_spaces), "secret": True})
    mode: Mode = "polling"
    base_url: str = field(
        default="https://api.telegram.org/bot", metadata=checks(url("http", "https"))
    )
    base_file_url: str = field(
        default="https://api.telegram.org/file/bot", metadata=checks(url("http", "https"))
    )
    webhook: WebhookConfig = field(default_factory=WebhookConfig)


@dataclass(frozen=True)
class PlaygroundConfig:
    """The local Bot API server (and web page) used when there is no token."""

    host: str = field(default="127.0.0.1", metadata=checks(non_empty("a host"), no_spaces))
    api_port: int = field(default=8081, metadata=checks(port))
    port: int = field(default=8080, metadata=checks(port))


@dataclass(frozen=True)
class StorageConfig:
    """Where the SQLite database lives."""

    path: Path = Path("data/daasao.sqlite3")


@dataclass(frozen=True)
class LocaleConfig:
    """Default language and the local time zone."""

    default: LocaleName = "zh_CN"
    timezone: str = field(default="Asia/Shanghai", metadata=checks(time_zone))

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class LoggingConfig:
    """Log verbosity."""

    level: LogLevel = "INFO"


@dataclass(frozen=True)
class StaffConfig:
    """Federation staff, by Telegram user id."""

    admins: tuple[int, ...] = field(
        default=(),
        metadata=checks(
            each(int_range(1, 2**63 - 1)),
            unique("user id"),
        ),
    )
    invite_valid_hours: int = field(default=72, metadata=checks(int_range(1, 720)))


@dataclass(frozen=True)
class AreaConfig:
    """A village or community with its own mediators, office hours and hotline."""

    id: str = field(metadata=checks(slug))
    name: Localized
    office_hours: Localized
    hotline: str = field(default="", metadata=checks(optional_phone))


@dataclass(frozen=True)
class RoutingConfig:
    """Case numbering and how long a mediator has to accept a new case."""

    case_prefix: str = field(
        default="QJS", metadata=checks(pattern(r"[A-Z]{2,8}", "2-8 capital letters A-Z"))
    )
    accept_timeout_minutes: int = field(default=30, metadata=checks(int_range(1, 1440)))
    unassigned_retry_minutes: int = field(default=10, metadata=checks(int_range(1, 1440)))


@dataclass(frozen=True)
class RosterSlotConfig:
    """A weekly duty slot seeded into an empty roster at start (local time)."""

    area: str = field(metadata=checks(slug))
    weekday: Weekday
    start: str = field(metadata=checks(hh_mm))
    end: str = field(metadata=checks(hh_mm_or_midnight))
    mediator: int = field(metadata=checks(int_range(1, 2**63 - 1)))

    @property
    def weekday_index(self) -> int:
        """Monday = 0, like :meth:`datetime.date.weekday`."""
        days: tuple[str, ...] = get_args(Weekday)
        return days.index(self.weekday)

    @property
    def start_time(self) -> dt.time:
        return _clock_time(self.start)

    @property
    def end_time(self) -> dt.time:
        """``24:00`` is the end of the day, :data:`datetime.time.max`."""
        return _clock_time(self.end)


def _clock_time(text: str) -> dt.time:
    hours, minutes = (int(part) for part in text.split(":"))
    return dt.time.max if hours == 24 else dt.time(hours, minutes)


@dataclass(frozen=True)
class RevisitsConfig:
    """Follow-up visits after a settlement, the resident survey and the weekly digest."""

    offsets_days: tuple[int, ...] = field(
        default=(7, 30),
        metadata=checks(
            non_empty("at least one offset in days"), each(int_range(1, 365)), increasing
        ),
    )
    local_hour: int = field(default=10, metadata=checks(int_range(8, 20)))
    survey_after_days: int = field(default=3, metadata=checks(int_range(1, 60)))
    digest_weekday: Weekday = "monday"
    digest_time: str = field(default="09:00", metadata=checks(hh_mm))

    @property
    def digest_at(self) -> dt.time:
        """``digest_time`` as a :class:`datetime.time` (local time)."""
        return _clock_time(self.digest_time)

    @property
    def digest_weekday_index(self) -> int:
        """``digest_weekday`` as a number, Monday = 0 (like :meth:`datetime.date.weekday`)."""
        days: tuple[str, ...] = get_args(Weekday)
        return days.index(self.digest_weekday)


@dataclass(frozen=True)
class Topic:
    """An announcement topic residents can subscribe to."""

    id: str = field(metadata=checks(slug))
    name: Localized


DEFAULT_TOPICS: tuple[Topic, ...] = (
    Topic("events", Localized("活动与讲座", "Events and lectures")),
    Topic("health", Localized("健康", "Health")),
    Topic("legal", Localized("法律", "Legal")),
    Topic("family", Localized("家庭与儿童", "Family and children")),
)


@dataclass(frozen=True)
class CaseTopic:
    """What a resident's matter is about: a button at intake, a line in /stats."""

    id: str = field(metadata=checks(slug))
    name: Localized


# "violence" (the urgent path's topic) and "other" (the fallback) are what the rules rely
# on; the ids of stored cases stay valid as long as their topic stays configured.
DEFAULT_CASE_TOPICS: tuple[CaseTopic, ...] = (
    CaseTopic("family", Localized("婚姻家庭", "Marriage and family")),
    CaseTopic("neighbours", Localized("邻里纠纷", "Neighbours")),
    CaseTopic("labour", Localized("劳动/欠薪", "Work and unpaid wages")),
    CaseTopic("renting", Localized("租房", "Renting and landlords")),
    CaseTopic("inheritance", Localized("继承与赡养", "Inheritance and elder support")),
    CaseTopic("rights", Localized("妇女儿童维权", "Women's and children's rights")),
    CaseTopic("violence", Localized("家庭暴力与人身安全", "Domestic violence and personal safety")),
    CaseTopic("other", Localized("其他", "Something else")),
)
REQUIRED_CASE_TOPICS = ("violence", "other")


@dataclass(frozen=True)
class AnnouncementsConfig:
    """Broadcast pacing and the topics residents can subscribe to."""

    rate_per_second: float = field(default=25.0, metadata=checks(float_range(0, 30, lo_open=True)))
    max_retries: int = field(default=3, metadata=checks(int_range(0, 10)))
    reminder_hours_before: int = field(default=24, metadata=checks(int_range(1, 168)))
    topics: tuple[Topic, ...] = field(
        default=DEFAULT_TOPICS, metadata=checks(unique("topic id", "id"))
    )


@dataclass(frozen=True)
class EmergencyNumber:
    """A number shown at once to anyone who may be in danger."""

    number: str = field(metadata=checks(phone))
    label: Localized


DEFAULT_EMERGENCY_NUMBERS: tuple[EmergencyNumber, ...] = (
    EmergencyNumber("110", Localized("报警", "Police")),
    EmergencyNumber("12338", Localized("妇女维权公益服务热线", "Women's rights hotline")),
)


@dataclass(frozen=True)
class PrivacyConfig:
    """How long closed cases and abandoned drafts are kept, the flood limit, whether the
    relay's copies are protected from forwarding and saving, and the emergency numbers."""

    retention_days: int = field(default=365, metadata=checks(int_range(30, 3650)))
    draft_days: int = field(default=30, metadata=checks(int_range(1, 365)))
    max_messages_per_minute: int = field(default=20, metadata=checks(int_range(5, 600)))
    protect_content: bool = True
    emergency_numbers: tuple[EmergencyNumber, ...] = field(
        default=DEFAULT_EMERGENCY_NUMBERS,
        metadata=checks(non_empty("at least one [[privacy.emergency_numbers]] table")),
    )


DEFAULT_DANGER_WORDS: tuple[str, ...] = (
    "救命",
    "救救我",
    "sos",
    "打我",
    "被打",
    "挨打",
    "打死我",
    "掐我",
    "家暴",
    "家庭暴力",
    "要杀我",
    "杀了我",
    "杀死我",
    "砸东西",
    "他拿刀",
    "我很危险",
    "我有危险",
    "有生命危险",
    "help",
    "help me",
    "save me",
    "hitting me",
    "hit me",
    "beating me",
    "beat me",
    "hurting me",
    "kill me",
    "going to kill",
    "kill us",
    "I am in danger",
    "I'm in danger",
    "in danger",
    "domestic violence",
    "abusing me",
    "attacking me",
    "choking me",
    "strangling me",
    "has a knife",
)
DEFAULT_EVERYDAY_PHRASES: tuple[str, ...] = (
    "打我电话",
    "打我手机",
    "打我的电话",
    "打我的手机",
    "打我座机",
    "被打扰",
    "被打断",
    "被打败",
    "被打折",
    "被打开",
    "被打印",
    "被打回",
    "被打分",
    "被打包",
    "打死我也不",
    "救命之恩",
    "救命稻草",
    "反家暴",
    "反家庭暴力",
    "help me with",
    "help with",
    "can you help",
    "could you help",
    "help you",
    "your help",
    "the help",
    "self help",
    "help desk",
    "hit me up",
    "beat me at",
    "beat me to it",
    "in danger of",
)


@dataclass(frozen=True)
class UrgentConfig:
    """Someone in danger: the words that show it, and how fast an urgent case must be taken."""

    take_within_minutes: int = field(default=10, metadata=checks(int_range(1, 120)))
    danger_words: tuple[str, ...] = field(
        default=DEFAULT_DANGER_WORDS,
        metadata=checks(
            non_empty("at least one word"), each(non_empty("a non-empty word or phrase"))
        ),
    )
    everyday_phrases: tuple[str, ...] = field(
        default=DEFAULT_EVERYDAY_PHRASES,
        metadata=checks(each(non_empty("a non-empty phrase"))),
    )


@dataclass(frozen=True)
class DeskConfig:
    """The mediator's desk: which case an unquoted message goes to, revisits in the chat,
    continuity for returning residents, and the society's saved phrases."""

    choice_minutes: int = field(default=10, metadata=checks(int_range(1, 240)))
    revisit_chat_days: int = field(default=30, metadata=checks(int_range(0, 365)))
    continuity: bool = True
    phrases: tuple[str, ...] = field(
        default=(), metadata=checks(each(non_empty("a non-empty phrase")))
    )


@dataclass(frozen=True)
class MediationConfig:
    """How mediation is run and written down (人民调解法): the organisation's name, as it is
    printed on agreements."""

    organisation: Localized = field(
        default_factory=lambda: Localized("大阿嫂妇女调解室", "Da'asao Women's Mediation Desk")
    )
    judicial_confirmation: bool = False
    court: str = ""
    time_limit_days: int = field(default=30, metadata=checks(int_range(1, 365)))


def _court_named(mediation: MediationConfig) -> Problem | None:
    """Judicial confirmation needs the court the parties apply to."""
    if mediation.judicial_confirmation and not mediation.court.strip():
        return Problem("the court's name when judicial_confirmation is true", "''", ".court")
    return None


@dataclass(frozen=True, kw_only=True)
class Config:
    """The whole configuration. Only ``areas`` has no default."""

    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    playground: PlaygroundConfig = field(default_factory=PlaygroundConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    locale: LocaleConfig = field(default_factory=LocaleConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    staff: StaffConfig = field(default_factory=StaffConfig)
    areas: tuple[AreaConfig, ...] = field(
        metadata=checks(non_empty("at least one [[areas]] table"), unique("area id", "id"))
    )
    case_topics: tuple[CaseTopic, ...] = field(
        default=DEFAULT_CASE_TOPICS, metadata=checks(unique("topic id", "id"))
    )
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    roster: tuple[RosterSlotConfig, ...] = ()
    revisits: RevisitsConfig = field(default_factory=RevisitsConfig)
    announcements: AnnouncementsConfig = field(default_factory=AnnouncementsConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    urgent: UrgentConfig = field(default_factory=UrgentConfig)
    desk: DeskConfig = field(default_factory=DeskConfig)
    mediation: MediationConfig = field(default_factory=MediationConfig)

    @property
    def has_token(self) -> bool:
        """True when a real Telegram token is configured (else: local playground)."""
        return bool(self.telegram.token)

    def area(self, area_id: str) -> AreaConfig | None:
        """The area with id ``area_id``, or ``None``."""
        return next((a for a in self.areas if a.id == area_id), None)

    def case_topic(self, topic_id: str) -> CaseTopic:
        """The topic with that id; a stored id no longer configured reads as "other"."""
        found = next((t for t in self.case_topics if t.id == topic_id), None)
        return found or next(t for t in self.case_topics if t.id == "other")


# --------------------------------------------------------------------------- cross-field checks


def _webhook_url(tg: TelegramConfig) -> Problem | None:
    """Webhook mode needs the public https URL Telegram calls."""
    if tg.mode == "webhook" and not tg.webhook.url:
        return Problem(
            "an https URL when telegram.mode is 'webhook'",
            _describe(tg.webhook.url),
            ".webhook.url",
        )
    return None


def _webhook_secret(tg: TelegramConfig) -> Problem | None:
    """Webhook mode needs a secret token so forged calls can be refused."""
    if tg.mode == "webhook" and not tg.webhook.secret_token:
        expected = (
            "a secret of 1-256 characters A-Z, a-z, 0-9, _ and - when telegram.mode is 'webhook'"
        )
        return Problem(expected, "an empty value", ".webhook.secret_token")
    return None


def _webhook_token(tg: TelegramConfig) -> Problem | None:
    """Webhook mode needs a real token: the playground only speaks polling."""
    if tg.mode == "webhook" and not tg.token:
        expected = f"a bot token (here or in {TOKEN_ENV}) when telegram.mode is 'webhook'"
        return Problem(expected, "no token", ".token")
    return None


def _slot_ends_after_start(slot: RosterSlotConfig) -> Problem | None:
    """A slot runs forward within one day."""
    if slot.end <= slot.start:
        return Problem(f"a time after start ({slot.start!r})", repr(slot.end), ".end")
    return None


def _roster_areas_exist(config: Config) -> Problem | None:
    """Seeded slots must name configured areas."""
    known = {area.id for area in config.areas}
    for index, slot in enumerate(config.roster):
        if slot.area not in known:
            expected = "one of the [[areas]] ids: " + ", ".join(sorted(known))
            return Problem(expected, repr(slot.area), f"roster[{index}].area")
    return None


def _required_case_topics(config: Config) -> Problem | None:
    """The urgent path files under "violence"; anything unknown falls back to "other"."""
    known = {topic.id for topic in config.case_topics}
    missing = [t for t in REQUIRED_CASE_TOPICS if t not in known]
    if missing:
        expected = "[[case_topics]] tables with the ids " + ", ".join(REQUIRED_CASE_TOPICS)
        return Problem(expected, "no " + ", ".join(missing), "case_topics")
    return None


def _distinct_ports(pg: PlaygroundConfig) -> Problem | None:
    """The playground's Bot API server and web page cannot share a port."""
    if pg.port == pg.api_port:
        return Problem("a port different from playground.api_port", f"{pg.port} again", ".port")
    return None


_CLASS_CHECKS: dict[type, tuple[Check, ...]] = {
    TelegramConfig: (_webhook_token, _webhook_url, _webhook_secret),
    PlaygroundConfig: (_distinct_ports,),
    RosterSlotConfig: (_slot_ends_after_start,),
    Config: (_roster_areas_exist, _required_case_topics),
    MediationConfig: (_court_named,),
}


# --------------------------------------------------------------------------- generic builder

_SCALARS: dict[type, tuple[str, Callable[[Any], bool]]] = {
    str: ("a string", lambda v: isinstance(v, str)),
    int: ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    bool: ("true or false", lambda v: isinstance(v, bool)),
    Path: ("a non-empty path string", lambda v: isinstance(v, str) and v != ""),
}

_LOCALIZED_EXPECTED = 'a string or a table like { zh_CN = "…", en = "…" }'


def _one_line(text: str) -> str:
    """Collapse line breaks so an error is always one line."""
    return text.replace("\r", " ").replace("\n", " ")


def _describe(value: Any) -> str:
    """A short, one-line, repr-ish description of a TOML (or converted) value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str | int | float):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "…"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array" if value else "an empty array"
    if isinstance(value, dt.date | dt.time):
        return f"a date/time ({value.isoformat()})"
    return f"a {type(value).__name__}"


def _hidden(value: Any) -> str:
    """Describe a secret without revealing it."""
    if isinstance(value, str):
        return f"a hidden value of {len(value)} characters"
    return f"a hidden {type(value).__name__} value"


def _join(key: str, suffix: str) -> str:
    """Append ``.name`` or ``[i]`` to a dotted key; the top level has an empty key."""
    return suffix.removeprefix(".") if not key else key + suffix


@cache
def _hints(cls: type) -> dict[str, Any]:
    """Resolved type hints of a dataclass."""
    return get_type_hints(cls)


def _is_dataclass_type(tp: Any) -> bool:
    """True for a dataclass class (not an instance)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _expected(tp: Any) -> str:
    """How a type is described in an error message."""
    if tp is Localized:
        return _LOCALIZED_EXPECTED
    if _is_dataclass_type(tp):
        return "a table"
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(arg) for arg in get_args(tp))
    if get_origin(tp) is tuple:
        return "an array"
    return _SCALARS[tp][0]


def _convert(tp: Any, value: Any, key: str, hide: bool = False) -> Any:
    """Convert one TOML value to type ``tp``, raising a :class:`ConfigError` naming ``key``."""
    if tp is Localized and isinstance(value, str):
        value = {"zh_CN": value}
    if _is_dataclass_type(tp) and isinstance(value, Mapping):
        return _build(tp, value, key)
    if get_origin(tp) is tuple and isinstance(value, list):
        item_type = get_args(tp)[0]
        return tuple(_convert(item_type, v, f"{key}[{i}]", hide) for i, v in enumerate(value))
    if get_origin(tp) is Literal and value in get_args(tp) and isinstance(value, str):
        return value
    if tp in _SCALARS and _SCALARS[tp][1](value):
        return tp(value)
    raise ConfigError(key, _expected(tp), _hidden(value) if hide else _describe(value))


def _run_checks(found_checks: tuple[Check, ...], value: Any, key: str, hide: bool) -> None:
    """Run checks in order; the first problem becomes a :class:`ConfigError`."""
    for check in found_checks:
        problem = check(value)
        if problem is None:
            continue
        found = problem.found if problem.found is not None else _describe(value)
        raise ConfigError(
            _join(key, problem.where), problem.expected, _hidden(value) if hide else found
        )


def _reject_unknown(cls: type, data: Mapping[str, Any], key: str) -> None:
    """Any key that is not a field of ``cls`` is an error naming the full dotted key."""
    names = [f.name for f in dataclasses.fields(cls)]
    for name in data:
        if name not in names:
            raise ConfigError(
                _join(key, f".{name}"), "one of " + ", ".join(names), "an unknown key"
            )


def _build(cls: type, data: Mapping[str, Any], key: str) -> Any:
    """Build dataclass ``cls`` from a TOML table, field by field, then run class checks."""
    _reject_unknown(cls, data, key)
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        field_key = _join(key, "." + f.name)
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(field_key, _expected(hints[f.name]), "no value")
            continue
        hide = bool(f.metadata.get("secret", False))
        value = _convert(hints[f.name], data[f.name], field_key, hide)
        _run_checks(f.metadata.get("checks", ()), value, field_key, hide)
        values[f.name] = value
    instance = cls(**values)
    _run_checks(_CLASS_CHECKS.get(cls, ()), instance, key, False)
    return instance


# --------------------------------------------------------------------------- entry points


def _with_env_token(data: Mapping[str, Any], env: Mapping[str, str]) -> Mapping[str, Any]:
    """A copy of ``data`` whose ``telegram.token`` is ``$DAASAO_TOKEN`` when that is set."""
    token = env.get(TOKEN_ENV, "").strip()
    telegram = data.get("telegram", {})
    if not token or not isinstance(telegram, Mapping):
        return data
    return {**data, "telegram": {**telegram, "token": token}}


def parse_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate parsed TOML ``data`` into a :class:`Config`; ``env`` defaults to os.environ."""
    data = _with_env_token(data, os.environ if env is None else env)
    config: Config = _build(Config, data, "")
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    """Read and parse a TOML file; any failure becomes a ``config file`` error."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        found = "no such file"
    except IsADirectoryError:
        found = "a directory"
    except PermissionError:
        found = "a file without read permission"
    except OSError as error:
        found = error.strerror or type(error).__name__
    except UnicodeDecodeError:
        raise ConfigError("config file", f"UTF-8 text in {path}", "other bytes") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("config file", f"valid TOML in {path}", str(error)) from None
    raise ConfigError("config file", f"a readable TOML file at {path}", found)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (TOML) and validate it; ``DAASAO_TOKEN`` in ``env`` overrides the token."""
    return parse_config(_read_toml(Path(path)), env)
