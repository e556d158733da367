"""Callback data: every kind of button declares its prefix and its fields once, here.

A button's data is an opaque reference (`of:12:accept`), never a permission: whoever gets
the press re-checks everything. A kind packs its fields (`OFFER.pack(12, "accept")`,
refused beyond Telegram's 64 bytes), gives handlers the pattern they match with, and
unpacks a press into typed fields (`press.number("offer")`). Prefixes are unique and
none is the start of another (checked when a kind is declared, and by
tests/test_callbacks.py). The strings are those already sitting in people's chats: a
kind's fields and prefix may grow, never change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from bot.core.messaging import MAX_ID_DIGITS

MAX_BYTES = 64  # Telegram's limit for an inline button's callback_data
ID_PATTERN = rf"[0-9]{{1,{MAX_ID_DIGITS}}}"  # an id inside callback data
SEP = ":"


class CallbackDataError(ValueError):
    """Data a kind cannot pack: a field that does not fit, or more than 64 bytes."""


@dataclass(frozen=True)
class Field:
    name: str
    regex: str
    optional: bool = False  # may be left out, with its separator
    many: bool = False  # any number of `:value` parts (the staff buttons' arguments)


def number(name: str, *, optional: bool = False) -> Field:
    """A database id: ASCII digits, at most 18."""
    return Field(name, ID_PATTERN, optional)


def word(name: str, *, optional: bool = False) -> Field:
    return Field(name, r"\w+", optional)


def slug(name: str, *, optional: bool = False) -> Field:
    """A word that may have hyphens (`a-dongsheng`, `discreet-on`)."""
    return Field(name, r"[\w-]+", optional)


def free(name: str, *, optional: bool = False) -> Field:
    """Anything, even nothing: the last field of the older kinds, whose handlers read the
    value themselves (and answer a value they do not know)."""
    return Field(name, r".*", optional)


def head(name: str) -> Field:
    """Anything up to the first separator, even nothing."""
    return Field(name, r"[^:]*")


def one_of(name: str, *values: str, optional: bool = False) -> Field:
    return Field(name, "|".join(re.escape(v) for v in values), optional)


def parts(name: str) -> Field:
    return Field(name, r"[\w-]+", many=True)


@dataclass(frozen=True)
class Press:
    """A press unpacked: its fields as text, by name; `number` and `parts` type them."""

    kind: ButtonKind
    values: dict[str, str]

    def text(self, name: str) -> str:
        return self.values[name]

    def number(self, name: str) -> int:
        return int(self.values[name])  # the pattern allows ASCII digits only, ≤ 18

    def optional_number(self, name: str) -> int | None:
        value = self.values[name]
        return int(value) if value.isascii() and value.isdigit() else None

    def parts(self, name: str) -> list[str]:
        value = self.values[name]
        return value.split(SEP)[1:] if value else []


REGISTRY: dict[str, ButtonKind] = {}


@dataclass(frozen=True, eq=False)
class ButtonKind:
    prefix: str  # with its separator, as in the chats: "of:"
    fields: tuple[Field, ...]

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """What the handler of this kind matches (PTB uses re.match)."""
        body = ""
        for index, field in enumerate(self.fields):
            sep = "" if index == 0 else SEP
            if field.many:
                body += rf"(?P<{field.name}>(?:{SEP}(?:{field.regex}))*)"
            elif field.optional:
                body += rf"(?:{sep}(?P<{field.name}>{field.regex}))?"
            else:
                body += rf"{sep}(?P<{field.name}>{field.regex})"
        return re.compile(rf"^{re.escape(self.prefix)}{body}$")

    def pack(self, *values: object) -> str:
        """The callback data of one button; CallbackDataError if it cannot be pressed."""
        texts = [str(v) for v in values]
        body, index = "", 0
        for index, (field, text) in enumerate(zip(self.fields, texts, strict=False)):
            if field.many:
                body += "".join(SEP + t for t in texts[index:])
                break
            body += ("" if index == 0 else SEP) + text
        data = self.prefix + body
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise CallbackDataError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        if self.unpack(data) is None:
            raise CallbackDataError(f"{data!r} does not fit {self.prefix!r}'s fields")
        return data

    def unpack(self, data: str) -> Press | None:
        match = self.pattern.match(data)
        if match is None:
            return None
        return Press(self, {k: v or "" for k, v in match.groupdict().items()})


def declare(prefix: str, *fields: Field) -> ButtonKind:
    """A new kind of button. Its prefix may not repeat or start another kind's prefix:
    a press must belong to one kind only."""
    for other in REGISTRY:
        if prefix.startswith(other) or other.startswith(prefix):
            raise ValueError(f"callback prefix {prefix!r} collides with {other!r}")
    kind = ButtonKind(prefix, fields)
    REGISTRY[prefix] = kind
    return kind


def unpack_any(data: str, *kinds: ButtonKind) -> Press | None:
    """The press, unpacked by the first of `kinds` it fits."""
    for kind in kinds:
        press = kind.unpack(data)
        if press is not None:
            return press
    return None


# ---------------------------------------------------------------------------- the kinds
# Residents: intake, urgent help, their cases, follow-up, privacy, notices, language.
INTAKE = declare("in:", head("step"), free("value", optional=True))  # an intake screen's answer
URGENT = declare(  # the danger button, the alarm, the take, the safety panel
    "ur:",
    one_of("verb", "sos", "alarm", "take", "consent", "card", "ref", "minor", "flag", "clear"),
    Field("ref", rf"{ID_PATTERN}|yes|no", optional=True),
    word("value", optional=True),
)
WITHDRAW = declare("wd:", number("case"))
PICK = declare("rl:", number("message"), number("case"))  # which case a message is for
HELD = declare("rh:", number("case"))  # pass on what the flood limit held
CARD = declare("rk:", number("message"), number("case"), one_of("answer", "yes", "no"))
REVISIT = declare("rv:", number("case"), number("round"), word("answer"))
SURVEY = declare("sv:", number("case"), word("step"), word("value"))
PRIVACY = declare(
    "pv:",
    one_of(
        "action", "mydata", "forget", "forget-yes", "keep", "discreet-on", "discreet-off", "clear"
    ),
)
SUBSCRIBE = declare(
    "sub:", one_of("kind", "a", "t", "all", "done", "offer"), slug("value", optional=True)
)
UNSUBSCRIBE = declare("unsub")  # the one tap under every notice
RSVP = declare("rsvp:", word("run"), one_of("answer", "yes", "no"))
LANGUAGE = declare("lang:", free("locale"))
# The team: offers, case tools, duty, invites, announcements, staff screens.
OFFER = declare("of:", number("offer"), Field("action", r"accept|decline|back|no-\w+|yes-\w+"))
SELECT = declare("cs:", number("case"))
CLOSE = declare("cl:", number("case"), word("outcome"))
TRANSFER = declare("tr:", number("case"), number("to"))
TRANSFER_CONFIRM = declare("tc:", number("case"), word("choice"))  # yes | edit | no
MEMBER_PICK = declare("rm:", number("message"), number("case"))  # a mediator's message: which case
RECALL = declare("rc:", number("entry"))  # take a relayed message back from the resident
# The two parties, the closing dialogue, the agreement's terms, the time limit.
FORM = declare("af:", number("case"), one_of("form", "written", "oral"))  # the agreement's form
CONFIRM = declare("cf:", number("case"), one_of("choice", "ok", "edit", "cancel"))  # its preview
AGREE = declare("ac:", number("case"))  # a party agrees to the agreement
TERM = declare("tf:", number("case"), number("term"), one_of("answer", "done", "notyet", "broken"))
BROKEN = declare("tb:", number("case"), number("term"), one_of("choice", "revisit", "reopen"))
JOIN = declare("pj:", number("case"), one_of("answer", "yes", "no"))  # the invited party
END = declare("pe:", number("case"))  # the other party ends mediation
TALK = declare("tk:", number("case"), one_of("to", "resident", "party"))  # whom she writes to
EXTEND = declare("ex:", number("case"), number("period"), one_of("answer", "yes", "no"))
PHRASE = declare("ph:", one_of("list", "s", "m"), number("ref"))  # the society's, or her own
DUTY = declare("duty:", free("mode"))
INVITE = declare("inv:", head("role"), free("area", optional=True))
COMPOSE = declare("an:", word("step"), slug("value"))  # the /announce composer
MANAGE = declare("am:", one_of("action", "report", "cancel"), number("announcement"))
STAFF = declare("st:", Field("verb", "[a-zA-Z]+"), parts("args"))
