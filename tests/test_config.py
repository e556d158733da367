"""Tests of bot.core.config: loading, defaults, validation errors that name the key, secrecy."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

import pytest

from bot.core.config import (
    TOKEN_ENV,
    AnnouncementsConfig,
    AreaConfig,
    Config,
    ConfigError,
    Localized,
    PrivacyConfig,
    RevisitsConfig,
    RosterSlotConfig,
    load_config,
    parse_config,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
TOKEN = "123456789:AAHsecretSECRETsecretSECRETsecret-x_"
SECRET = "webhook-SECRET_value"

AREA = """
[[areas]]
id = "dongsheng"
name = { zh_CN = "东升社区", en = "Dongsheng Community" }
office_hours = { zh_CN = "周二、周四 9:00–11:30", en = "Tue and Thu 9:00–11:30" }
"""

WEBHOOK = f"""
[telegram]
token = "{TOKEN}"
mode = "webhook"

[telegram.webhook]
url = "https://bot.example.org/telegram"
secret_token = "{SECRET}"
"""


def write(tmp_path: Path, text: str) -> Path:
    """Write ``text`` to a fresh config.toml under ``tmp_path``."""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    """Load ``text`` and return the ConfigError it must raise."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={} if env is None else env)
    return info.value


def area(area_id: str) -> str:
    """An [[areas]] table with id ``area_id``."""
    return AREA.replace('"dongsheng"', f'"{area_id}"')


# The six broken configs the CLI tests reuse: (id, toml, key named in the error).
CLI_BROKEN = [
    ("unknown-key", "colour = 'red'\n" + AREA, "colour"),
    (
        "wrong-type",
        "[routing]\naccept_timeout_minutes = '30'\n" + AREA,
        "routing.accept_timeout_minutes",
    ),
    (
        "negative-timeout",
        "[routing]\naccept_timeout_minutes = -5\n" + AREA,
        "routing.accept_timeout_minutes",
    ),
    ("bad-time-zone", "[locale]\ntimezone = 'Asia/Shangai'\n" + AREA, "locale.timezone"),
    ("duplicate-area", AREA + area("weidou") + AREA, "areas[2].id"),
    ("webhook-no-token", WEBHOOK.replace(f'token = "{TOKEN}"', "") + AREA, "telegram.token"),
]

# (id, toml, key, the exact message or a fragment of it)
BROKEN: list[tuple[str, str, str, str]] = [
    # unknown keys, at every depth
    ("unknown-top", "colour = 'red'\n" + AREA, "colour", "expected one of telegram, playground,"),
    (
        "unknown-nested",
        "[storage]\npth = 'x'\n" + AREA,
        "storage.pth",
        "storage.pth: expected one of path, found an unknown key",
    ),
    (
        "unknown-deep",
        "[telegram.webhook]\nurll = 'x'\n" + AREA,
        "telegram.webhook.urll",
        "found an unknown key",
    ),
    ("unknown-in-array", AREA + "hotlin = '110'\n", "areas[0].hotlin", "found an unknown key"),
    (
        "unknown-in-second-area",
        AREA + area("weidou") + "hotlin = '1'\n",
        "areas[1].hotlin",
        "unknown",
    ),
    (
        "unknown-in-localized",
        AREA.replace('en = "Dongsheng Community"', 'fr = "x"'),
        "areas[0].name.fr",
        "expected one of zh_CN, en, found an unknown key",
    ),
    ("unknown-section", "[databse]\npath = 'x'\n" + AREA, "databse", "unknown key"),
    # wrong types
    (
        "string-for-int",
        "[routing]\naccept_timeout_minutes = '30'\n" + AREA,
        "routing.accept_timeout_minutes",
        "routing.accept_timeout_minutes: expected an integer, found '30'",
    ),
    (
        "bool-for-int",
        "[routing]\naccept_timeout_minutes = true\n" + AREA,
        "routing.accept_timeout_minutes",
        "routing.accept_timeout_minutes: expected an integer, found true",
    ),
    (
        "int-for-string",
        AREA + "hotline = 12338\n",
        "areas[0].hotline",
        "areas[0].hotline: expected a string, found 12338",
    ),
    (
        "float-for-int",
        "[announcements]\nmax_retries = 2.5\n" + AREA,
        "announcements.max_retries",
        "found 2.5",
    ),
    (
        "bool-for-float",
        "[announcements]\nrate_per_second = false\n" + AREA,
        "announcements.rate_per_second",
        "found false",
    ),
    (
        "table-for-section",
        "storage = 'x'\n" + AREA,
        "storage",
        "storage: expected a table, found 'x'",
    ),
    (
        "string-for-array",
        "[revisits]\noffsets_days = '7'\n" + AREA,
        "revisits.offsets_days",
        "expected an array",
    ),
    (
        "string-in-int-array",
        "[staff]\nadmins = ['42']\n" + AREA,
        "staff.admins[0]",
        "expected an integer, found '42'",
    ),
    (
        "non-table-area",
        "areas = ['dongsheng']\n",
        "areas[0]",
        "areas[0]: expected a table, found 'dongsheng'",
    ),
    (
        "toml-time",
        "[revisits]\ndigest_time = 09:00:00\n" + AREA,
        "revisits.digest_time",
        "found a date/time (09:00:00)",
    ),
    (
        "literal",
        "[telegram]\nmode = 'push'\n" + AREA,
        "telegram.mode",
        "expected one of 'polling', 'webhook', found 'push'",
    ),
    (
        "literal-case",
        "[revisits]\ndigest_weekday = 'Monday'\n" + AREA,
        "revisits.digest_weekday",
        "'sunday', found 'Monday'",
    ),
    ("literal-level", "[logging]\nlevel = 'debug'\n" + AREA, "logging.level", "found 'debug'"),
    # ranges and patterns
    (
        "negative-timeout",
        "[routing]\naccept_timeout_minutes = -5\n" + AREA,
        "routing.accept_timeout_minutes",
        "routing.accept_timeout_minutes: expected an integer >= 1, found -5",
    ),
    (
        "huge-timeout",
        "[routing]\naccept_timeout_minutes = 1441\n" + AREA,
        "routing.accept_timeout_minutes",
        "expected an integer <= 1440, found 1441",
    ),
    (
        "night-hour",
        "[revisits]\nlocal_hour = 22\n" + AREA,
        "revisits.local_hour",
        "expected an integer <= 20, found 22",
    ),
    (
        "case-prefix",
        "[routing]\ncase_prefix = 'qjs'\n" + AREA,
        "routing.case_prefix",
        "found 'qjs'",
    ),
    (
        "zero-rate",
        "[announcements]\nrate_per_second = 0\n" + AREA,
        "announcements.rate_per_second",
        "expected a number > 0, found 0",
    ),
    (
        "fast-rate",
        "[announcements]\nrate_per_second = 30.5\n" + AREA,
        "announcements.rate_per_second",
        "expected a number <= 30, found 30.5",
    ),
    (
        "nan-rate",
        "[announcements]\nrate_per_second = nan\n" + AREA,
        "announcements.rate_per_second",
        "found nan",
    ),
    (
        "short-retention",
        "[privacy]\nretention_days = 10\n" + AREA,
        "privacy.retention_days",
        "expected an integer >= 30",
    ),
    (
        "bad-port",
        "[playground]\nport = 70000\n" + AREA,
        "playground.port",
        "expected an integer <= 65535",
    ),
    ("same-ports", "[playground]\nport = 8081\n" + AREA, "playground.port", "found 8081 again"),
    (
        "empty-storage-path",
        "[storage]\npath = ''\n" + AREA,
        "storage.path",
        "storage.path: expected a non-empty path string, found ''",
    ),
    ("bad-admin", "[staff]\nadmins = [42, -1]\n" + AREA, "staff.admins[1]", "found -1"),
    (
        "duplicate-admin",
        "[staff]\nadmins = [42, 42]\n" + AREA,
        "staff.admins[1]",
        "expected a unique user id, found 42 again",
    ),
    (
        "base-url",
        "[telegram]\nbase_url = 'ftp://example.org/bot'\n" + AREA,
        "telegram.base_url",
        "expected an http or https URL",
    ),
    # time zone
    (
        "bad-time-zone",
        "[locale]\ntimezone = 'Asia/Shangai'\n" + AREA,
        "locale.timezone",
        "locale.timezone: expected an IANA time zone name such as 'Asia/Shanghai',"
        " found 'Asia/Shangai'",
    ),
    (
        "time-zone-path",
        "[locale]\ntimezone = '../../etc/passwd'\n" + AREA,
        "locale.timezone",
        "found '../../etc/passwd'",
    ),
    ("time-zone-empty", "[locale]\ntimezone = ''\n" + AREA, "locale.timezone", "found ''"),
    # areas
    (
        "duplicate-area",
        AREA + area("weidou") + AREA,
        "areas[2].id",
        "areas[2].id: expected a unique area id, found 'dongsheng' again",
    ),
    (
        "empty-areas",
        "areas = []\n",
        "areas",
        "areas: expected at least one [[areas]] table, found an empty array",
    ),
    (
        "no-areas",
        "[routing]\ncase_prefix = 'QJS'\n",
        "areas",
        "areas: expected an array, found no value",
    ),
    ("bad-area-id", area("Dong Sheng"), "areas[0].id", "found 'Dong Sheng'"),
    # roster seed
    (
        "roster-end-before-start",
        AREA + "[[roster]]\narea = 'dongsheng'\nweekday = 'monday'\nstart = '11:00'\n"
        "end = '09:00'\nmediator = 7\n",
        "roster[0].end",
        "roster[0].end: expected a time after start ('11:00'), found '09:00'",
    ),
    (
        "roster-unknown-area",
        AREA + "[[roster]]\narea = 'nowhere'\nweekday = 'monday'\nstart = '09:00'\n"
        "end = '24:00'\nmediator = 7\n",
        "roster[0].area",
        "found 'nowhere'",
    ),
    (
        "roster-bad-weekday",
        AREA + "[[roster]]\narea = 'dongsheng'\nweekday = 'mon'\nstart = '09:00'\n"
        "end = '10:00'\nmediator = 7\n",
        "roster[0].weekday",
        "found 'mon'",
    ),
    ("long-area-id", area("a" * 33), "areas[0].id", "expected an id of 1-32 characters"),
    (
        "area-without-name",
        "[[areas]]\nid = 'x'\noffice_hours = '周二'\n",
        "areas[0].name",
        "found no value",
    ),
    (
        "empty-chinese-name",
        AREA.replace('zh_CN = "东升社区"', 'zh_CN = ""'),
        "areas[0].name.zh_CN",
        "found ''",
    ),
    (
        "english-only-name",
        AREA.replace('zh_CN = "东升社区", ', ""),
        "areas[0].name.zh_CN",
        "found no value",
    ),
    ("bad-hotline", AREA + "hotline = 'call us'\n", "areas[0].hotline", "found 'call us'"),
    # webhook mode
    (
        "webhook-no-token",
        WEBHOOK.replace(f'token = "{TOKEN}"', "") + AREA,
        "telegram.token",
        "telegram.token: expected a bot token (here or in DAASAO_TOKEN)"
        " when telegram.mode is 'webhook', found no token",
    ),
    (
        "webhook-no-url",
        WEBHOOK.replace('url = "https://bot.example.org/telegram"', "") + AREA,
        "telegram.webhook.url",
        "telegram.webhook.url: expected an https URL when telegram.mode is 'webhook', found ''",
    ),
    (
        "webhook-http-url",
        WEBHOOK.replace("https://", "http://") + AREA,
        "telegram.webhook.url",
        "telegram.webhook.url: expected an https URL, found 'http://bot.example.org/telegram'",
    ),
    (
        "webhook-no-secret",
        WEBHOOK.replace(f'secret_token = "{SECRET}"', "") + AREA,
        "telegram.webhook.secret_token",
        "when telegram.mode is 'webhook', found an empty value",
    ),
    (
        "webhook-bad-secret",
        WEBHOOK.replace(SECRET, SECRET + "!") + AREA,
        "telegram.webhook.secret_token",
        "telegram.webhook.secret_token: expected 1-256 characters of A-Z, a-z, 0-9, _ and -,"
        " found a hidden value of 21 characters",
    ),
    (
        "token-with-space",
        f"[telegram]\ntoken = '{TOKEN} x'\n" + AREA,
        "telegram.token",
        "found a hidden value",
    ),
    (
        "token-not-string",
        "[telegram]\ntoken = 123456789\n" + AREA,
        "telegram.token",
        "expected a string, found a hidden int value",
    ),
    # revisits
    (
        "bad-digest-time",
        "[revisits]\ndigest_time = '25:00'\n" + AREA,
        "revisits.digest_time",
        "found '25:00'",
    ),
    (
        "digest-time-words",
        "[revisits]\ndigest_time = '9am'\n" + AREA,
        "revisits.digest_time",
        "expected a time of day as HH:MM",
    ),
    (
        "digest-time-seconds",
        "[revisits]\ndigest_time = '09:00:00'\n" + AREA,
        "revisits.digest_time",
        "found '09:00:00'",
    ),
    (
        "equal-offsets",
        "[revisits]\noffsets_days = [7, 7]\n" + AREA,
        "revisits.offsets_days[1]",
        "revisits.offsets_days[1]: expected values in strictly increasing order, found 7 after 7",
    ),
    (
        "decreasing-offsets",
        "[revisits]\noffsets_days = [7, 30, 14]\n" + AREA,
        "revisits.offsets_days[2]",
        "found 14 after 30",
    ),
    (
        "empty-offsets",
        "[revisits]\noffsets_days = []\n" + AREA,
        "revisits.offsets_days",
        "found an empty array",
    ),
    (
        "zero-offset",
        "[revisits]\noffsets_days = [0, 7]\n" + AREA,
        "revisits.offsets_days[0]",
        "expected an integer >= 1, found 0",
    ),
    # announcements and privacy arrays
    (
        "duplicate-topic",
        "[[announcements.topics]]\nid = 'health'\nname = '健康'\n"
        "[[announcements.topics]]\nid = 'health'\nname = '健康讲座'\n" + AREA,
        "announcements.topics[1].id",
        "announcements.topics[1].id: expected a unique topic id, found 'health' again",
    ),
    (
        "case-topics-without-other",
        "[[case_topics]]\nid = 'violence'\nname = '家暴'\n" + AREA,
        "case_topics",
        "found no other",
    ),
    (
        "repeated-case-topic",
        "[[case_topics]]\nid = 'other'\nname = '其他'\n"
        "[[case_topics]]\nid = 'other'\nname = '别的'\n" + AREA,
        "case_topics[1].id",
        "case_topics[1].id: expected a unique topic id, found 'other' again",
    ),
    (
        "no-emergency-numbers",
        "[privacy]\nemergency_numbers = []\n" + AREA,
        "privacy.emergency_numbers",
        "found an empty array",
    ),
    (
        "bad-emergency-number",
        "[[privacy.emergency_numbers]]\nnumber = 'police'\nlabel = '报警'\n" + AREA,
        "privacy.emergency_numbers[0].number",
        "found 'police'",
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "message"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_broken_config_names_the_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    error = load_error(tmp_path, text)
    assert error.key == key
    assert str(error).startswith(f"{key}: expected ")
    assert ", found " in str(error)
    assert "\n" not in str(error)
    if message.startswith(f"{key}: "):
        assert str(error) == message
    else:
        assert message in str(error)


@pytest.mark.parametrize(
    ("text", "key"), [c[1:] for c in CLI_BROKEN], ids=[c[0] for c in CLI_BROKEN]
)
def test_parse_config_takes_parsed_toml(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(tomllib.loads(text), env={})
    assert info.value.key == key


def test_error_carries_its_parts() -> None:
    error = ConfigError("routing.accept_timeout_minutes", "an integer >= 1", "-5")
    assert (error.key, error.expected, error.found) == (
        "routing.accept_timeout_minutes",
        "an integer >= 1",
        "-5",
    )
    assert str(error) == "routing.accept_timeout_minutes: expected an integer >= 1, found -5"
    assert "\n" not in str(ConfigError("a", "b\nc", "d\r\ne"))


# ----------------------------------------------------------------- the config file itself


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == "config file"
    assert (
        str(info.value)
        == f"config file: expected a readable TOML file at {path}, found no such file"
    )


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, env={})
    assert info.value.key == "config file"
    assert str(info.value).endswith("found a directory")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[routing]\ncase_prefix = "QJS"\naccept_timeout_minutes = \n', 3),
        (AREA + "\n[locale\n", 7),
        ('[storage]\npath = "unterminated\n', 2),
        ("[routing]\n[routing]\n", 2),
    ],
    ids=["missing-value", "unclosed-header", "unterminated-string", "duplicate-table"],
)
def test_invalid_toml_names_the_line(tmp_path: Path, text: str, line: int) -> None:
    error = load_error(tmp_path, text)
    assert error.key == "config file"
    assert str(error).startswith("config file: expected valid TOML in ")
    assert f"line {line}," in str(error)
    assert "\n" not in str(error)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(AREA.encode("gb18030"))
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == "config file"
    assert "UTF-8" in str(info.value)


# ----------------------------------------------------------------- values that are accepted


def test_minimal_config_has_the_defaults() -> None:
    config = parse_config(tomllib.loads(AREA), env={})
    assert config == Config(areas=config.areas)
    assert config.telegram.mode == "polling"
    assert config.telegram.token == ""
    assert not config.has_token
    assert config.storage.path == Path("data/daasao.sqlite3")
    assert config.locale.zone == ZoneInfo("Asia/Shanghai")
    assert config.routing.case_prefix == "QJS"
    assert config.routing.accept_timeout_minutes == 30
    assert config.revisits.offsets_days == (7, 30)
    assert config.revisits.digest_at == dt.time(9, 0)
    assert config.revisits.digest_weekday_index == 0
    assert [t.id for t in config.announcements.topics] == ["events", "health", "legal", "family"]
    assert [n.number for n in config.privacy.emergency_numbers] == ["110", "12338"]
    assert config.privacy.emergency_numbers[1].label.text("en") == "Women's rights hotline"


@pytest.mark.parametrize(
    ("text", "attribute", "expected"),
    [
        ("[announcements]\nrate_per_second = 10\n", "announcements.rate_per_second", 10.0),
        (
            "[announcements]\nreminder_hours_before = 2\n",
            "announcements.reminder_hours_before",
            2,
        ),
        ("[announcements]\nrate_per_second = 30\n", "announcements.rate_per_second", 30.0),
        ("[revisits]\noffsets_days = [3]\n", "revisits.offsets_days", (3,)),
        ("[revisits]\ndigest_time = '23:59'\n", "revisits.digest_at", dt.time(23, 59)),
        ("[revisits]\ndigest_weekday = 'sunday'\n", "revisits.digest_weekday_index", 6),
        ("[revisits]\nlocal_hour = 8\n", "revisits.local_hour", 8),
        ("[staff]\nadmins = [12, 34]\n", "staff.admins", (12, 34)),
        (
            "[storage]\npath = '/var/lib/daasao/db.sqlite3'\n",
            "storage.path",
            Path("/var/lib/daasao/db.sqlite3"),
        ),
        (
            "[locale]\ntimezone = 'Europe/Berlin'\ndefault = 'en'\n",
            "locale.zone",
            ZoneInfo("Europe/Berlin"),
        ),
        (
            "[telegram]\nbase_url = 'http://127.0.0.1:8081/bot'\n",
            "telegram.base_url",
            "http://127.0.0.1:8081/bot",
        ),
        (
            "[[announcements.topics]]\nid = 'care'\nname = '关爱'\n",
            "announcements.topics",
            (
                dataclasses.replace(
                    AnnouncementsConfig().topics[0], id="care", name=Localized("关爱")
                ),
            ),
        ),
    ],
)
def test_accepted_values(text: str, attribute: str, expected: Any) -> None:
    value: Any = parse_config(tomllib.loads(text + AREA), env={})
    for name in attribute.split("."):
        value = getattr(value, name)
    assert value == expected
    assert type(value) is type(expected)


def test_localized_plain_string_and_fallback() -> None:
    config = parse_config(
        tomllib.loads(
            AREA.replace('{ zh_CN = "东升社区", en = "Dongsheng Community" }', '"东升社区"')
        ),
        env={},
    )
    name = config.areas[0].name
    assert name == Localized("东升社区")
    assert name.text("en") == "东升社区"
    office = config.areas[0].office_hours
    assert office.text("en") == "Tue and Thu 9:00–11:30"
    assert office.text("en_US") == office.text("en-GB") == "Tue and Thu 9:00–11:30"
    assert office.text("zh_CN") == "周二、周四 9:00–11:30"
    assert office.text("fr") == "周二、周四 9:00–11:30"


def test_area_lookup() -> None:
    config = parse_config(tomllib.loads(AREA + area("weidou")), env={})
    found = config.area("weidou")
    assert isinstance(found, AreaConfig)
    assert found.id == "weidou"
    assert config.area("nowhere") is None


def test_config_is_frozen() -> None:
    config = parse_config(tomllib.loads(AREA), env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.routing.accept_timeout_minutes = 5  # type: ignore[misc]


def test_input_mapping_is_not_modified() -> None:
    data = tomllib.loads("[telegram]\nmode = 'polling'\n" + AREA)
    before = repr(data)
    parse_config(data, env={TOKEN_ENV: TOKEN})
    assert repr(data) == before


def test_webhook_mode_with_everything() -> None:
    config = parse_config(tomllib.loads(WEBHOOK + AREA), env={})
    assert config.telegram.mode == "webhook"
    assert config.telegram.webhook.secret_token == SECRET
    assert config.has_token


# ----------------------------------------------------------------- the token from the environment


@pytest.mark.parametrize(
    ("text", "env", "token"),
    [
        (f"[telegram]\ntoken = '{TOKEN}'\n", {TOKEN_ENV: "42:FROM_ENV"}, "42:FROM_ENV"),
        ("", {TOKEN_ENV: "42:FROM_ENV"}, "42:FROM_ENV"),
        ("[telegram.webhook]\nport = 9000\n", {TOKEN_ENV: "42:FROM_ENV\n"}, "42:FROM_ENV"),
        (f"[telegram]\ntoken = '{TOKEN}'\n", {TOKEN_ENV: ""}, TOKEN),
        (f"[telegram]\ntoken = '{TOKEN}'\n", {}, TOKEN),
        ("", {"OTHER": "x"}, ""),
    ],
    ids=[
        "overrides-file",
        "no-telegram-section",
        "stripped",
        "empty-env-ignored",
        "unset",
        "no-token",
    ],
)
def test_token_env_override(tmp_path: Path, text: str, env: dict[str, str], token: str) -> None:
    config = load_config(write(tmp_path, text + AREA), env=env)
    assert config.telegram.token == token
    assert config.has_token == bool(token)


def test_env_token_satisfies_webhook_mode() -> None:
    text = WEBHOOK.replace(f'token = "{TOKEN}"', "") + AREA
    config = parse_config(tomllib.loads(text), env={TOKEN_ENV: TOKEN})
    assert config.telegram.token == TOKEN


def test_env_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "7:FROM_OS_ENVIRON")
    assert load_config(write(tmp_path, AREA)).telegram.token == "7:FROM_OS_ENVIRON"
    monkeypatch.delenv(TOKEN_ENV)
    assert load_config(write(tmp_path, AREA)).telegram.token == ""


# ----------------------------------------------------------------- secrets never leak


SECRET_LEAK_CASES = [
    ("other-error", f"[telegram]\ntoken = '{TOKEN}'\n[routing]\naccept_timeout_minutes = -5\n", {}),
    ("other-error-env", "[routing]\naccept_timeout_minutes = -5\n", {TOKEN_ENV: TOKEN}),
    ("token-with-space", f"[telegram]\ntoken = '{TOKEN} x'\n", {}),
    ("env-token-with-space", "", {TOKEN_ENV: f"{TOKEN} x"}),
    ("token-misplaced", f"[telegram]\ntokn = '{TOKEN}'\n", {}),
    ("webhook-no-url", WEBHOOK.replace('url = "https://bot.example.org/telegram"', ""), {}),
    (
        "webhook-no-url-env",
        WEBHOOK.replace('url = "https://bot.example.org/telegram"', ""),
        {TOKEN_ENV: TOKEN},
    ),
    ("bad-secret", WEBHOOK.replace(SECRET, SECRET + " "), {}),
    ("invalid-toml", f"[telegram]\ntoken = '{TOKEN}'\n[locale\n", {}),
]


@pytest.mark.parametrize(
    ("text", "env"), [c[1:] for c in SECRET_LEAK_CASES], ids=[c[0] for c in SECRET_LEAK_CASES]
)
def test_secrets_absent_from_errors(tmp_path: Path, text: str, env: dict[str, str]) -> None:
    error = load_error(tmp_path, text + AREA, env)
    for shown in (str(error), repr(error), error.found, error.expected):
        assert TOKEN not in shown
        assert TOKEN.split(":")[1] not in shown
        assert SECRET not in shown


def test_secrets_absent_from_config_repr() -> None:
    config = parse_config(tomllib.loads(WEBHOOK + AREA), env={})
    for shown in (str(config), repr(config), repr(config.telegram), repr(config.telegram.webhook)):
        assert TOKEN not in shown
        assert SECRET not in shown


# ----------------------------------------------------------------- config.example.toml


def test_example_config_loads_with_defaults_and_demo_areas() -> None:
    config = load_config(EXAMPLE, env={})
    assert not config.has_token
    assert config.telegram.mode == "polling"
    assert config.storage.path == Path("data/daasao.sqlite3")
    assert len(config.areas) == 5
    assert config.area("dongsheng") is not None
    assert all(a.name.zh_CN and a.name.en and a.office_hours.en for a in config.areas)
    # Apart from the demo areas and roster, the example shows exactly the built-in defaults.
    assert config.roster
    assert config == Config(areas=config.areas, roster=config.roster)
    assert config.revisits == RevisitsConfig()
    assert config.privacy == PrivacyConfig()


def _missing_keys(cls: type, data: dict[str, Any], key: str) -> list[str]:
    """Dotted keys of ``cls`` fields (recursively) that ``data`` does not set."""
    missing: list[str] = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        dotted = f"{key}.{f.name}" if key else f.name
        tp = hints[f.name]
        if f.name not in data:
            missing.append(dotted)
        elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
            missing += _missing_keys(tp, data[f.name], dotted)
        elif get_origin(tp) is tuple and dataclasses.is_dataclass(get_args(tp)[0]):
            if not data[f.name]:
                missing.append(f"{dotted}[0]")
            for index, item in enumerate(data[f.name]):
                missing += _missing_keys(get_args(tp)[0], item, f"{dotted}[{index}]")
    return missing


def test_example_config_sets_every_field() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert _missing_keys(Config, data, "") == []


def test_example_config_documents_every_key() -> None:
    """Each key of a plain table has a comment above it that states its default."""
    comment: list[str] = []
    in_array = False
    undocumented: list[str] = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            comment.append(line)
            continue
        if line.startswith("["):
            in_array = line.startswith("[[")
        elif (
            (match := re.match(r"(\w+) = ", line))
            and not in_array
            and not any("Default:" in c for c in comment)
        ):
            undocumented.append(match.group(1))
        comment = []
    assert undocumented == []


def test_example_config_documents_array_table_keys() -> None:
    """Fields of [[areas]], topics and emergency numbers are explained in comments."""
    comments = " ".join(
        line for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if line.startswith("#")
    )
    for cls in (
        AreaConfig,
        RosterSlotConfig,
        AnnouncementsConfig().topics[0].__class__,
        PrivacyConfig().emergency_numbers[0].__class__,
    ):
        for f in dataclasses.fields(cls):
            assert re.search(rf"\b{f.name}\b", comments), f"{cls.__name__}.{f.name}"


# ----------------------------------------------------------------- CLI: python -m bot check-config


def _check_config(path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot check-config path`` without a token in the environment."""
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    return subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "key"), [c[1:] for c in CLI_BROKEN], ids=[c[0] for c in CLI_BROKEN]
)
def test_cli_check_config_rejects(tmp_path: Path, text: str, key: str) -> None:
    result = _check_config(write(tmp_path, text))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert key in lines[0]
    assert TOKEN not in result.stderr + result.stdout


@pytest.mark.slow
def test_cli_check_config_accepts_example() -> None:
    result = _check_config(EXAMPLE)
    assert result.returncode == 0, result.stderr


def test_case_topics_default_to_the_areas_everyday_troubles() -> None:
    config = load_config(EXAMPLE, env={})
    labels = [topic.name.zh_CN for topic in config.case_topics]
    assert "劳动/欠薪" in labels and "租房" in labels
    assert config.case_topic("renting").name.en == "Renting and landlords"
    assert config.case_topic("gone-from-the-list").id == "other"  # an old stored id still reads
