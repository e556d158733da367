"""The catalogs are complete: every msgid in the code is in the .pot and translated in both .po."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.core.i18n import SUPPORTED_LOCALES, Catalogs, negotiate

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _ids(catalog: Catalog) -> set[str]:
    return {_key(m) for m in catalog if m.id}


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _strings(message: Message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


def test_pot_is_current_with_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [
            "make",
            "-s",
            "extract",
            f"POT={fresh}",
            f"BIN={Path(sys.executable).parent}",
            "EXTRACT_DEPS=",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    code_ids = _ids(_read(fresh))
    committed = _ids(_read(LOCALES / "messages.pot"))
    assert code_ids - committed == set(), "msgids in code but not in messages.pot: make catalogs"
    assert committed - code_ids == set(), "stale msgids in messages.pot: make catalogs"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_message_is_translated(locale: str) -> None:
    template = _ids(_read(LOCALES / "messages.pot"))
    catalog = _read(LOCALES / locale / "LC_MESSAGES" / "messages.po", locale)
    assert template - _ids(catalog) == set(), f"{locale}: msgids missing, run make update"
    for message in catalog:
        if not message.id:
            continue
        assert all(_strings(message)), f"{locale}: empty translation for {_key(message)!r}"
        assert not message.fuzzy, f"{locale}: fuzzy translation for {_key(message)!r}"
        wanted = set(PLACEHOLDER.findall(_key(message)))
        for string in _strings(message):
            assert set(PLACEHOLDER.findall(string)) == wanted, (
                f"{locale}: placeholders of {string!r}"
            )


def test_compiled_catalogs_translate() -> None:
    catalogs = Catalogs()
    assert catalogs.get("zh_CN").ugettext("Talk to Da'asao") == "找大阿嫂"
    assert catalogs.get("en").ugettext("Talk to Da'asao") == "Talk to Da'asao"


@pytest.mark.parametrize(
    ("chosen", "telegram", "expected"),
    [
        ("en", "zh-hans", "en"),  # a stored choice wins
        (None, "zh-hans", "zh_CN"),
        (None, "zh-CN", "zh_CN"),
        (None, "zh", "zh_CN"),
        (None, "en-GB", "en"),
        (None, "en", "en"),
        (None, "ru", "zh_CN"),  # unsupported: the configured default
        (None, None, "zh_CN"),
        ("xx", None, "zh_CN"),  # a stale stored value is ignored
    ],
)
def test_locale_negotiation(chosen: str | None, telegram: str | None, expected: str) -> None:
    assert negotiate(chosen, telegram, "zh_CN") == expected
