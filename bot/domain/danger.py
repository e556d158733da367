"""Danger words: does a message say that someone is being hurt, or is about to be?

Pure rules, no I/O. The words come from the config (`urgent.danger_words`), together with
everyday phrases that contain one of them and mean something harmless
(`urgent.everyday_phrases`: 有事打我电话 contains 打我; "thanks for your help" contains help).

Matching is tolerant of how people type in a hurry: full-width and half-width forms, case,
punctuation, emoji and spacing are ignored ("救 命！！", "HELP!!!", "kill   me"). Chinese is
matched character by character, so 他在打我 and 他在 打 我 both match 打我. Latin words are
matched as whole words, so "helpful" is not "help" and "skill meter" is not "kill me". A
match that lies inside one of the everyday phrases does not count; another occurrence of
the same word elsewhere in the message still does (有事打我电话，他刚才又打我).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# A character of a script written without spaces between words: matched one by one.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def normalize(text: str) -> str:
    """Casefolded words separated by single spaces; each CJK character is a word of its own.

    "他在 打我！！" → "他 在 打 我", "Help, I'm in DANGER" → "help i m in danger".
    """
    words: list[str] = []
    current: list[str] = []
    for ch in unicodedata.normalize("NFKC", text).casefold():
        if _UNSPACED.match(ch):
            if current:
                words.append("".join(current))
                current = []
            words.append(ch)
        elif unicodedata.category(ch)[0] in "LN":
            current.append(ch)
        elif unicodedata.category(ch)[0] == "M" and current:
            continue  # a combining mark (an accent): part of the letter before it
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return " ".join(words)


def _spans(haystack: str, needle: str) -> Iterator[tuple[int, int]]:
    """Where `needle` occurs in `haystack` as whole words (both normalized)."""
    if not needle:
        return
    padded, wanted = f" {haystack} ", f" {needle} "
    start = padded.find(wanted)
    while start != -1:
        yield start, start + len(wanted)
        start = padded.find(wanted, start + 1)


@dataclass(frozen=True)
class DangerWords:
    """The configured words and the everyday phrases that neutralise them."""

    words: tuple[str, ...]
    everyday: tuple[str, ...] = ()

    @classmethod
    def of(cls, words: Iterable[str], everyday: Iterable[str] = ()) -> DangerWords:
        return cls(
            tuple(w for w in (normalize(word) for word in words) if w),
            tuple(p for p in (normalize(phrase) for phrase in everyday) if p),
        )

    def found(self, text: str | None) -> str | None:
        """The first danger word the text contains (normalized), or None."""
        if not text:
            return None
        normalized = normalize(text)
        harmless = [span for phrase in self.everyday for span in _spans(normalized, phrase)]
        for word in self.words:
            for start, end in _spans(normalized, word):
                if not any(s <= start and end <= e for s, e in harmless):
                    return word
        return None

    def matches(self, text: str | None) -> bool:
        return self.found(text) is not None
