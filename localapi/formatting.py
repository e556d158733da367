"""Parse modes of the local Bot API: HTML, MarkdownV2 and legacy Markdown.

The parsers follow the rules and the error wording of Telegram (TDLib): the markup is removed
from the text, the formatting becomes ``MessageEntity`` dicts with offsets and lengths in UTF-16
code units, and a malformed text raises :class:`EntityParseError` whose message is what Telegram
puts after ``"Bad Request: can't parse entities: "``.  Leading and trailing whitespace is trimmed
as Telegram does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from typing import Any

JSONDict = dict[str, Any]

HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
MARKDOWN_V2_RESERVED = "_*[]()~`>#+-=|{}.!"
_HTML_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[a-zA-Z0-9-]*")
_ATTR_NAME = re.compile(r"[a-zA-Z0-9_-]*")
_ENTITY_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


class EntityParseError(ValueError):
    """A text could not be parsed in the requested parse mode."""


@dataclass(frozen=True)
class FormattedText:
    """A text without markup and its entities, as Telegram stores a message."""

    text: str
    entities: list[JSONDict] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    """Return the UTF-8 byte offset of character ``index``, as Telegram reports positions."""
    return len(text[:index].encode("utf-8"))


class _Builder:
    """Accumulates plain text and entities while a parser walks the marked-up text."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[JSONDict] = []

    def append(self, chunk: str) -> None:
        """Add plain text."""
        self.parts.append(chunk)
        self.offset += utf16_len(chunk)

    def entity(self, kind: str, start: int, extra: JSONDict | None = None) -> None:
        """Add an entity from ``start`` to the current offset unless it is empty."""
        length = self.offset - start
        if length > 0:
            self.entities.append({"type": kind, "offset": start, "length": length, **(extra or {})})

    def result(self) -> FormattedText:
        """Return the text and its entities, sorted like Telegram sorts them."""
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return FormattedText("".join(self.parts), entities)


@dataclass
class _OpenTag:
    """An HTML start tag that waits for its end tag."""

    name: str
    attributes: dict[str, str]
    start: int


def parse_html(text: str) -> FormattedText:
    """Parse Telegram's HTML parse mode."""
    out = _Builder()
    stack: list[_OpenTag] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            i = _html_entity(text, i, out)
        elif char == "<" and text.startswith("</", i):
            i = _html_end_tag(text, i, stack, out)
        elif char == "<":
            tag, i = _html_start_tag(text, i)
            tag.start = out.offset
            stack.append(tag)
        else:
            out.append(char)
            i += 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.result()


def _html_entity(text: str, i: int, out: _Builder) -> int:
    """Decode ``&...;`` at ``i``; unknown entities stay literal, as in Telegram."""
    match = _HTML_ENTITY.match(text, i)
    if match is None:
        out.append("&")
        return i + 1
    name = match.group(1)
    if name.startswith("#"):
        decoded = unescape(match.group(0))
        if decoded == match.group(0):
            out.append("&")
            return i + 1
        out.append(decoded)
    elif name in _HTML_NAMED:
        out.append(_HTML_NAMED[name])
    else:
        out.append("&")
        return i + 1
    return match.end()


def _html_start_tag(text: str, i: int) -> tuple[_OpenTag, int]:
    """Parse the start tag at ``i``; return it and the index after ``>``."""
    begin = _byte_offset(text, i)
    name_match = _TAG_NAME.match(text, i + 1)
    assert name_match is not None  # the pattern matches the empty string
    name = name_match.group(0).lower()
    if name not in HTML_TAGS:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {begin}')
    attributes: dict[str, str] = {}
    j = name_match.end()
    while True:
        while j < len(text) and text[j].isspace():
            j += 1
        if j >= len(text):
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        if text[j] == ">":
            break
        j = _html_attribute(text, j, name, begin, attributes)
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    return _OpenTag(name, attributes, 0), j + 1


def _html_attribute(text: str, j: int, tag: str, begin: int, attributes: dict[str, str]) -> int:
    """Parse one ``name="value"`` attribute at ``j``; return the index after it."""
    attr_match = _ATTR_NAME.match(text, j)
    assert attr_match is not None  # the pattern matches the empty string
    attr = attr_match.group(0).lower()
    if not attr:
        raise EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
    j = attr_match.end()
    while j < len(text) and text[j].isspace():
        j += 1
    if j >= len(text) or text[j] != "=":
        if j < len(text) and text[j] in ">/ ":
            attributes[attr] = ""
            return j + 1 if text[j] == "/" else j
        raise EntityParseError(
            f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
            f"at byte offset {begin}"
        )
    j += 1
    while j < len(text) and text[j].isspace():
        j += 1
    if j < len(text) and text[j] in "'\"":
        end = text.find(text[j], j + 1)
        if end < 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        attributes[attr] = unescape(text[j + 1 : end])
        return end + 1
    end = j
    while end < len(text) and not text[end].isspace() and text[end] != ">":
        end += 1
    attributes[attr] = unescape(text[j:end])
    return end


def _html_end_tag(text: str, i: int, stack: list[_OpenTag], out: _Builder) -> int:
    """Close the innermost open tag with the end tag at ``i``; return the index after it."""
    begin = _byte_offset(text, i)
    close = text.find(">", i)
    if close < 0:
        raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
    name = text[i + 2 : close].strip().lower()
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
    tag = stack.pop()
    if name != tag.name:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {begin}, expected "</{tag.name}>", found "</{name}>"'
        )
    _html_entity_for(tag, stack[-1] if stack else None, out)
    return close + 1


def _html_entity_for(tag: _OpenTag, parent: _OpenTag | None, out: _Builder) -> None:
    """Turn a closed tag into an entity (``parent`` is the enclosing open tag)."""
    kind = HTML_TAGS[tag.name]
    extra: JSONDict = {}
    language = _code_language(tag)
    if kind == "code" and language and parent is not None and parent.name == "pre":
        extra = {"language": language}
    elif kind == "text_link":
        href = tag.attributes.get("href", "")
        if not href:
            return
        extra = {"url": href}
    elif kind == "custom_emoji":
        emoji_id = tag.attributes.get("emoji-id", "")
        if not emoji_id:
            return
        extra = {"custom_emoji_id": emoji_id}
    elif kind == "blockquote" and "expandable" in tag.attributes:
        kind = "expandable_blockquote"
    elif kind == "pre":
        _merge_pre_language(tag, out)
        return
    out.entity(kind, tag.start, extra)


def _merge_pre_language(tag: _OpenTag, out: _Builder) -> None:
    """``<pre><code class="language-x">`` becomes one pre entity with a language."""
    length = out.offset - tag.start
    for entity in out.entities:
        if (
            entity["type"] == "code"
            and entity["offset"] == tag.start
            and entity["length"] == length
            and "language" in entity
        ):
            entity["type"] = "pre"
            return
    out.entity("pre", tag.start)


def _code_language(tag: _OpenTag) -> str | None:
    """Return the language of a ``<code class="language-x">`` tag."""
    cls = tag.attributes.get("class", "")
    return cls.removeprefix("language-") if cls.startswith("language-") else None


@dataclass
class _OpenMark:
    """A MarkdownV2 entity that waits for its closing mark."""

    kind: str
    start: int
    byte_offset: int
    language: str | None = None


def parse_markdown_v2(text: str) -> FormattedText:
    """Parse Telegram's MarkdownV2 parse mode."""
    out = _Builder()
    stack: list[_OpenMark] = []
    quote_start: int | None = None
    i = 0
    while i < len(text):
        char = text[i]
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if char == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            i += 2
            continue
        if char == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            quote_start = out.offset if quote_start is None else quote_start
            i += 1
            continue
        if char not in ("`" if in_code else MARKDOWN_V2_RESERVED):
            if char == "\n" and quote_start is not None and not text.startswith(">", i + 1):
                out.entity("blockquote", quote_start)
                quote_start = None
            out.append(char)
            i += 1
            continue
        if stack and _closes(stack[-1].kind, text, i):
            i = _close_mark(text, i, stack.pop(), out)
        else:
            i = _open_mark(text, i, stack, out)
    if stack:
        mark = stack[-1]
        name = _ENTITY_TYPE_NAMES[mark.kind]
        raise EntityParseError(f"Can't find end of {name} entity at byte offset {mark.byte_offset}")
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    return out.result()


def _closes(kind: str, text: str, i: int) -> bool:
    """Whether the reserved character at ``i`` ends an open entity of type ``kind``."""
    char = text[i]
    following = text[i + 1 : i + 2]
    return {
        "bold": char == "*",
        "italic": char == "_" and following != "_",
        "underline": text.startswith("__", i),
        "strikethrough": char == "~",
        "spoiler": text.startswith("||", i),
        "code": char == "`",
        "pre": text.startswith("```", i),
        "text_link": char == "]",
        "custom_emoji": char == "]",
    }[kind]


def _open_mark(text: str, i: int, stack: list[_OpenMark], out: _Builder) -> int:
    """Open the entity whose mark starts at ``i``; return the index after the mark."""
    begin = _byte_offset(text, i)
    char = text[i]
    width = 1
    language: str | None = None
    if char == "_" and text.startswith("__", i):
        kind, width = "underline", 2
    elif char in "_*~[":
        kind = {"_": "italic", "*": "bold", "~": "strikethrough", "[": "text_link"}[char]
    elif text.startswith("||", i):
        kind, width = "spoiler", 2
    elif text.startswith("![", i):
        kind, width = "custom_emoji", 2
    elif text.startswith("```", i):
        kind = "pre"
        newline = text.find("\n", i + 3)
        header = text[i + 3 : newline] if newline >= 0 else None
        if header is not None and "`" not in header and not any(c.isspace() for c in header):
            language = header or None
            width = newline + 1 - i
        else:
            width = 3
    elif char == "`":
        kind = "code"
    else:
        raise EntityParseError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )
    stack.append(_OpenMark(kind, out.offset, begin, language))
    return i + width


def _close_mark(text: str, i: int, mark: _OpenMark, out: _Builder) -> int:
    """Close ``mark`` at ``i``; return the index after the closing mark (and a link's URL)."""
    if mark.kind in ("text_link", "custom_emoji"):
        return _close_link(text, i, mark, out)
    width = {"underline": 2, "spoiler": 2, "pre": 3}.get(mark.kind, 1)
    extra: JSONDict = {"language": mark.language} if mark.language else {}
    out.entity(mark.kind, mark.start, extra)
    return i + width


def _close_link(text: str, i: int, mark: _OpenMark, out: _Builder) -> int:
    """Close ``[text](url)`` or ``![emoji](tg://emoji?id=N)`` at the ``]`` at ``i``."""
    if not text.startswith("(", i + 1):
        return i + 1
    j = i + 2
    url: list[str] = []
    while j < len(text) and text[j] != ")":
        if text[j] == "\\" and j + 1 < len(text):
            j += 1
        url.append(text[j])
        j += 1
    if j >= len(text):
        raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
    target = "".join(url)
    if mark.kind == "custom_emoji":
        emoji_id = target.removeprefix("tg://emoji?id=")
        out.entity("custom_emoji", mark.start, {"custom_emoji_id": emoji_id})
    elif target:
        out.entity("text_link", mark.start, {"url": target})
    return j + 1


def parse_markdown(text: str) -> FormattedText:
    """Parse the legacy Markdown parse mode (no nesting, fewer reserved characters)."""
    out = _Builder()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.append(text[i + 1])
            i += 2
        elif char in "_*`[":
            i = _markdown_entity(text, i, out)
        else:
            out.append(char)
            i += 1
    return out.result()


def _markdown_entity(text: str, i: int, out: _Builder) -> int:
    """Parse one legacy Markdown entity starting at ``i``; return the index after it."""
    begin = _byte_offset(text, i)
    start = out.offset
    if text.startswith("```", i):
        end = text.find("```", i + 3)
        if end < 0:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        out.append(text[i + 3 : end])
        out.entity("pre", start)
        return end + 3
    closing = "]" if text[i] == "[" else text[i]
    end = text.find(closing, i + 1)
    if end < 0:
        raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
    out.append(text[i + 1 : end])
    if closing != "]":
        out.entity({"_": "italic", "*": "bold", "`": "code"}[closing], start)
        return end + 1
    if not text.startswith("(", end + 1):
        return end + 1
    url_end = text.find(")", end + 2)
    if url_end < 0:
        raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
    out.entity("text_link", start, {"url": text[end + 2 : url_end]})
    return url_end + 1


def trim(formatted: FormattedText) -> FormattedText:
    """Strip leading/trailing whitespace and shift/clip the entities, as Telegram does."""
    stripped = formatted.text.strip()
    if stripped == formatted.text:
        return formatted
    lead = utf16_len(formatted.text[: len(formatted.text) - len(formatted.text.lstrip())])
    total = utf16_len(stripped)
    entities: list[JSONDict] = []
    for entity in formatted.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(stripped, entities)


def format_text(
    text: str, parse_mode: str | None, entities: list[JSONDict] | None = None
) -> FormattedText:
    """Parse ``text`` in ``parse_mode`` (or take explicit ``entities``) and trim it.

    Raises:
        EntityParseError: the text is malformed in that parse mode.
        ValueError: the parse mode is unknown (message ``unsupported parse_mode``).
    """
    mode = (parse_mode or "").lower()
    if mode == "html":
        parsed = parse_html(text)
    elif mode == "markdownv2":
        parsed = parse_markdown_v2(text)
    elif mode == "markdown":
        parsed = parse_markdown(text)
    elif mode:
        raise ValueError("unsupported parse_mode")
    else:
        parsed = FormattedText(text, list(entities or []))
    return trim(parsed)
