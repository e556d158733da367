"""What may stand in a screen of the other script: the allow-lists of the language scans.

A Chinese screen may carry Latin letters only where a reader needs them as they are: command
names and their arguments (/stats last-month), case numbers (QJS-2026-0001), pseudonyms
(R-1234), links, file types and names of products she uses (Telegram, Word, Excel, CSV),
units (MB). An English screen may carry Chinese only in names: a mediator's name as
residents see it (王大姐), terms she will meet in Chinese (告诫书: the police's written
caution; 司法确认: a court's confirmation), and the language chooser's 中文, written as its
readers look for it.
"""

from __future__ import annotations

import re

LATIN_ALLOWED = {"Telegram", "Word", "Excel", "CSV", "csv", "xlsx", "ID", "MB", "PDF", "HTML"}
CJK_ALLOWED = {"王大姐", "李阿姨", "赵嫂子", "陈社长", "告诫书", "司法确认", "中文"}

_COMMAND = re.compile(r"/[a-z_]+(?:@\w+)?(?:[ \t]+(?:[a-z][a-z0-9-]*|\d{4}))*")
_CASE = re.compile(r"\b[A-Z]{1,8}-(?:\d{4}-)?[\d…]+")
_PLACEHOLDER = re.compile(r"\{\w*\}")
_LINK = re.compile(r"https?://\S+")
_FILE = re.compile(r"\b[\w-]+\.(?:xlsx|csv|html|png)\b")
_LATIN = re.compile(r"[A-Za-z][A-Za-z']+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def stray_latin(text: str) -> list[str]:
    """Latin words of a Chinese text outside the allow-list."""
    for pattern in (_LINK, _PLACEHOLDER, _COMMAND, _CASE, _FILE):
        text = pattern.sub(" ", text)
    return [word for word in _LATIN.findall(text) if word not in LATIN_ALLOWED]


def stray_cjk(text: str) -> list[str]:
    """Chinese runs of an English text that are not allowed names."""
    for name in CJK_ALLOWED:
        text = text.replace(name, " ")
    return _CJK.findall(text)
