"""Every word in its place: the catalogs speak one script per language (tests/words.py)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from tests.words import stray_cjk, stray_latin

LOCALES = Path(__file__).resolve().parent.parent / "locales"


def _translations(locale: str) -> list[tuple[str, str]]:
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    found = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else message.string
        found += [(msgid, text) for text in strings]
    return found


def test_no_latin_words_in_chinese_entries() -> None:
    stray = {msgid: words for msgid, text in _translations("zh_CN") if (words := stray_latin(text))}
    assert stray == {}


def test_no_chinese_in_english_entries_but_names() -> None:
    stray = {msgid: runs for msgid, text in _translations("en") if (runs := stray_cjk(text))}
    assert stray == {}


def test_the_scans_see_what_they_must() -> None:
    assert stray_latin("请发送 /stats last-month 或者 QJS-2026-0001，居民 R-1234") == []
    assert stray_latin("点 Update report 刷新") == ["Update", "report"]
    assert stray_latin("Da'asao 调解") == ["Da'asao"]
    assert stray_cjk("王大姐 will answer you") == []
    assert stray_cjk("Write 找大阿嫂 to start") == ["找大阿嫂"]
