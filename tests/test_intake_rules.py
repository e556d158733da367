"""The intake's small rules: what counts as "find Da'asao", typed answers (danger words:
tests/test_danger.py)."""

from __future__ import annotations

import pytest

from bot.features.intake import Incoming, _answer, _phone_number, is_trigger


@pytest.mark.parametrize(
    "text",
    [
        "找大阿嫂",
        "找 大阿嫂！",
        "我要找大阿嫂",
        "大阿嫂",
        "Find Da'asao",
        "find daasao",
        "FIND DA-ASAO",
    ],
)
def test_triggers(text: str) -> None:
    assert is_trigger(text)


@pytest.mark.parametrize(
    "text",
    ["你好", "find", "help", "阿嫂", "", "谢谢大阿嫂", "我是大阿嫂，您好", "daasao is great"],
)
def test_not_triggers(text: str) -> None:
    assert not is_trigger(text)


AREAS = {"dongsheng": {"东升社区", "Dongsheng Community"}, "lianhe": {"联合村", "Lianhe Village"}}


@pytest.mark.parametrize(
    ("got", "expected"),
    [
        (Incoming("button", text="lianhe", step="area"), "lianhe"),
        (Incoming("button", text="mars", step="area"), None),  # forged or stale value
        (Incoming("text", text="东升社区"), "dongsheng"),
        (Incoming("text", text=" 东升 "), "dongsheng"),  # a distinctive part
        (Incoming("text", text="dongsheng community!"), "dongsheng"),
        (Incoming("text", text="社区"), "dongsheng"),  # only one name has 社区
        (Incoming("text", text="村"), None),  # one character is too little to guess from
        (Incoming("text", text="火星"), None),
        (Incoming("text", text="东" * 200), None),
        (Incoming("media", text="东升社区"), None),  # a caption is not an answer
    ],
)
def test_typed_and_pressed_answers(got: Incoming, expected: str | None) -> None:
    assert _answer(got, AREAS) == expected


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("13800001111", "13800001111"),
        ("138 0000-1111", "13800001111"),
        ("+86 138 0000 1111", "+8613800001111"),
        ("(0574) 8600 0001", "057486000001"),
        ("abc", None),
        ("123", None),
        ("1" * 20, None),
    ],
)
def test_phone_numbers(typed: str, number: str | None) -> None:
    assert _phone_number(typed) == number
