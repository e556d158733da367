"""The callback-data registry: one declaration per kind of button, unique prefixes, the
64-byte limit, and the strings already sitting in people's chats still understood."""

from __future__ import annotations

import re

import pytest

import handlers.common
from bot.core import callbacks
from bot.core.callbacks import (
    CARD,
    CLOSE,
    INTAKE,
    INVITE,
    LANGUAGE,
    OFFER,
    PICK,
    REGISTRY,
    STAFF,
    SUBSCRIBE,
    UNSUBSCRIBE,
    URGENT,
    CallbackDataError,
    declare,
    number,
    word,
)


def test_no_prefix_repeats_or_starts_another() -> None:
    prefixes = sorted(REGISTRY)
    for a in prefixes:
        for b in prefixes:
            assert a == b or not b.startswith(a), (a, b)


def test_declaring_a_prefix_twice_or_inside_another_is_refused() -> None:
    with pytest.raises(ValueError, match="collides"):
        declare("of:", number("x"))
    with pytest.raises(ValueError, match="collides"):
        declare("o", word("x"))  # a press of:1:accept would belong to both
    assert "o" not in REGISTRY


@pytest.mark.parametrize(
    ("kind", "values", "data"),
    [
        (OFFER, (12, "accept"), "of:12:accept"),
        (OFFER, (12, "no-busy"), "of:12:no-busy"),
        (CLOSE, (7, "settled"), "cl:7:settled"),
        (PICK, (1001, 7), "rl:1001:7"),
        (CARD, (5, 7, "yes"), "rk:5:7:yes"),
        (URGENT, ("sos",), "ur:sos"),
        (URGENT, ("card", 7, "police"), "ur:card:7:police"),
        (SUBSCRIBE, ("all",), "sub:all"),
        (SUBSCRIBE, ("a", "dongsheng"), "sub:a:dongsheng"),
        (UNSUBSCRIBE, (), "unsub"),
        (INVITE, ("head", ""), "inv:head:"),
        (INTAKE, ("category", "family"), "in:category:family"),
        (STAFF, ("md", 5, "x-1"), "st:md:5:x-1"),
        (STAFF, ("ov",), "st:ov"),
        (LANGUAGE, ("zh_CN",), "lang:zh_CN"),
    ],
)
def test_pack_gives_the_strings_in_the_chats_and_unpack_reads_them_back(
    kind: callbacks.ButtonKind, values: tuple[object, ...], data: str
) -> None:
    assert kind.pack(*values) == data
    press = kind.unpack(data)
    assert press is not None and press.kind is kind


def test_fields_come_back_typed() -> None:
    press = CARD.unpack("rk:5:7:no")
    assert press is not None
    assert (press.number("message"), press.number("case"), press.text("answer")) == (5, 7, "no")
    staff = STAFF.unpack("st:md:5:x-1")
    assert staff is not None and staff.parts("args") == ["5", "x-1"]


def test_data_over_64_bytes_cannot_be_packed() -> None:
    with pytest.raises(CallbackDataError, match="64 bytes"):
        STAFF.pack("md", *(["abcdefghij"] * 6))
    assert len(LANGUAGE.pack("x" * 59).encode()) == 64  # exactly the limit is fine


def test_data_that_does_not_fit_the_fields_cannot_be_packed() -> None:
    with pytest.raises(CallbackDataError, match="fields"):
        OFFER.pack("twelve", "accept")
    with pytest.raises(CallbackDataError):
        CARD.pack(5, 7, "maybe")


def test_a_press_of_another_kind_or_forged_is_not_unpacked() -> None:
    assert OFFER.unpack("cl:7:settled") is None
    assert OFFER.unpack("of:1234567890123456789:accept") is None  # beyond SQLite's integers
    assert OFFER.unpack("of:١٢:accept") is None  # digits, but not ASCII


def test_every_button_handler_matches_through_a_declared_kind() -> None:
    """The wiring refuses a handler with a pattern of its own (handlers/common.py)."""
    from telegram.ext import CallbackQueryHandler

    async def own(update: object, context: object) -> None:
        """Matches with a home-made expression."""

    with pytest.raises(TypeError, match="declared button kind"):
        handlers.common.button_patterns([CallbackQueryHandler(own, pattern=re.compile("^of:"))])
    assert handlers.common.button_patterns([CallbackQueryHandler(own, pattern=OFFER.pattern)]) == (
        OFFER.pattern,
    )
