"""Danger words, with the default lists of the config: what must match, and what must not."""

from __future__ import annotations

import pytest

from bot.core.config import DEFAULT_DANGER_WORDS, DEFAULT_EVERYDAY_PHRASES
from bot.domain.danger import DangerWords, normalize

WORDS = DangerWords.of(DEFAULT_DANGER_WORDS, DEFAULT_EVERYDAY_PHRASES)

# Messages someone in danger may write, typed in a hurry.
DANGER = [
    "救命！我老公在打我",
    "救命",
    "救 命 ！！",
    "救命啊啊啊",
    "ＳＯＳ救命",  # full-width letters
    "他又打我了",
    "他在 打 我",
    "老公打我，孩子在哭",
    "我被打了",
    "昨天又挨打了",
    "他说要打死我",
    "他掐我脖子",
    "他又家暴了",
    "我遭受家庭暴力",
    "他说要杀我",
    "他喝了酒在家里砸东西，我躲在卫生间里",
    "他拿刀站在门口",
    "我很危险，请快来",
    "我有危险",
    "有事打我电话，他刚才又打我",  # one harmless 打我, one that is not
    "help",
    "HELP!!!",
    "help, I am in danger",
    "Help me please",
    "please save me",
    "he is hitting me",
    "He hit me again",
    "my husband is beating me",
    "he beat me last night",
    "he keeps hurting me",
    "he said he will kill me",
    "he is going to kill us",
    "I'm in danger",
    "i am in danger!",
    "I think I am IN DANGER",
    "this is domestic violence",
    "he has a knife",
    "he is choking me",
    "Can you help me?",  # ambiguous: better one tap too many than one too few
]

# Everyday messages that contain a danger word, or look like they do.
EVERYDAY = [
    "找大阿嫂",
    "你好",
    "邻居吵架",
    "有事打我电话",
    "有事请打我手机 13800001111",
    "不想被打扰",
    "我说话老是被打断",
    "球队被打败了",
    "这件衣服被打折了",
    "打死我也不说",
    "救命之恩没齿难忘",
    "他是我的救命稻草",
    "我想听反家暴讲座",
    "反家庭暴力法是哪年的",
    "谢谢你的帮助",
    "危险品不能带上车",
    "Can you help me with my lease?",
    "This was very helpful",
    "I joined a self-help group",
    "Thank you for your help",
    "Could you help my mother fill in the form?",
    "Hit me up when you are free",
    "She beat me at chess",
    "The old bridge is in danger of falling down",
    "Is the crossing dangerous?",
    "The skill meter is broken",
    "He helped us a lot",
    "Where is the help desk?",
]


@pytest.mark.parametrize("text", DANGER)
def test_danger_is_found(text: str) -> None:
    assert WORDS.matches(text), text


@pytest.mark.parametrize("text", EVERYDAY)
def test_everyday_phrases_are_not_danger(text: str) -> None:
    assert WORDS.found(text) is None, (text, WORDS.found(text))


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("他在 打我！！", "他 在 打 我"),
        ("Help, I'm in DANGER", "help i m in danger"),
        ("ＨＥＬＰ　ｍｅ", "help me"),
        ("kill   me 🙏", "kill me"),
        ("", ""),
    ],
)
def test_normalize(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


def test_nothing_and_empty_lists() -> None:
    assert not WORDS.matches(None)
    assert not WORDS.matches("")
    assert not DangerWords.of([]).matches("救命")
    assert DangerWords.of(["救命"]).found("救命！") == "救 命"


def test_a_configured_word_is_matched_the_same_way() -> None:
    words = DangerWords.of(["Hilfe", "我 好怕"], ["hilfe beim"])
    assert words.matches("HILFE!")
    assert words.matches("我好怕")
    assert not words.matches("Hilfe beim Umzug")
