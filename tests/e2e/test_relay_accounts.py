"""No account crosses the relay: what one side gets carries no id or username of the other.

Contact cards go as their phone number and first name (sendContact, never a copy); a text
whose entities name an account (a text_mention, a hidden link into Telegram) goes without
them; captions go as plain text; copies are protected. The words people write are theirs
and pass as written (bot/features/relay.py). A property test sends every kind of message the relay
accepts (handlers/incoming.py RELAYED), with every field that can name an account, both
ways, and searches the other side's copy for the writer's id and username.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.features.intake import is_trigger
from handlers.incoming import RELAYED
from localapi.formatting import utf16_len
from localapi.state import BotMessage
from tests.e2e.conftest import ROSTER
from tests.e2e.driving import choose, say
from tests.e2e.flows import (
    CASE_NUMBER,
    GOT_IT,
    accepted_case,
    describe_and_confirm,
    expect_shaped,
    intake_up_to,
)
from tests.harness import BotUnderTest, Person, zh

RESIDENT, RESIDENT_HANDLE, RESIDENT_SURNAME = 7_340_019, "xiuying_secret_handle", "欧阳秘"
WANG_HANDLE = "wang_secret_handle"
PHONE = "13912345678"
OWN_CARD = (  # a mediator sending her own contact card is asked first
    "This contact card shows your own phone number to the resident of case {number}. Send it?"
)


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"roster": ROSTER, "privacy": {"max_messages_per_minute": 600}}


def _account(api_user: dict[str, Any]) -> dict[str, Any]:
    return {k: api_user[k] for k in ("id", "is_bot", "first_name", "username") if k in api_user}


async def _delivered(bot: BotUnderTest, sender: int, message_id: int) -> str:
    """Wait until the book says what became of the message; returns that."""
    assert bot.app is not None
    db = bot.app.bot_data.services.db
    outcome = None
    for _ in range(250):
        row = await db.fetch_one(
            "SELECT delivery FROM case_messages WHERE chat_id = ? AND message_id = ?",
            (sender, message_id),
        )
        outcome = None if row is None else str(row[0])
        if outcome not in (None, "pending"):
            break
        await asyncio.sleep(0.02)
    assert outcome is not None, "the message was never booked"
    return outcome


def _leaks(copy: BotMessage, user_id: int, handles: tuple[str, ...]) -> list[str]:
    """The writer's id (as a number of its own) or handles anywhere in the copy."""
    text = json.dumps(copy.message, ensure_ascii=False)
    found = [h for h in handles if h in text]
    if re.search(rf"(?<![0-9]){user_id}(?![0-9])", text):
        found.append(str(user_id))
    return found


async def _resident_with_case(bot: BotUnderTest, team: dict[str, Person]) -> Person:
    resident = bot.person(RESIDENT, "秀英", last_name=RESIDENT_SURNAME, username=RESIDENT_HANDLE)
    await accepted_case(resident, team["wang"])
    return resident


# ---------------------------------------------------------------------------- examples


async def test_a_contact_card_goes_as_number_and_first_name_only(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = await _resident_with_case(bot, team), team["wang"]
    card = {
        "phone_number": PHONE,
        "first_name": "秀英",
        "last_name": RESIDENT_SURNAME,
        "user_id": RESIDENT,
        "vcard": f"BEGIN:VCARD\nN:{RESIDENT_SURNAME}\nX-TG:@{RESIDENT_HANDLE}\nEND:VCARD",
    }
    sent = await bot.api.send_content(resident.id, {"contact": card})
    assert await _delivered(bot, RESIDENT, sent["message_id"]) == "delivered"
    copy = bot.api.messages_to(wang.id)[-1]
    assert copy.method == "sendContact" and copy.protected
    assert copy.message["contact"] == {"phone_number": PHONE, "first_name": "秀英"}
    assert not _leaks(copy, RESIDENT, (RESIDENT_HANDLE, RESIDENT_SURNAME))


async def test_a_mediators_own_card_waits_for_her_yes(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = await _resident_with_case(bot, team), team["wang"]
    before = len(bot.api.messages_to(resident.id))
    await bot.api.send_contact(wang.id, "13700001111", "王大姐", own=True)
    await expect_shaped(wang, OWN_CARD, number=CASE_NUMBER.pattern)
    await wang.press(zh("No, don't send it"))
    await wang.expect(zh("Your number was not sent."))
    await bot.api.send_contact(wang.id, "13700001111", "王大姐", own=True)
    await expect_shaped(wang, OWN_CARD, number=CASE_NUMBER.pattern)
    await wang.press(zh("Yes, send my number"))
    await bot.api.wait_for(
        lambda: any(m.kind == "contact" for m in bot.api.messages_to(resident.id)[before:]),
        what="the card",
    )
    cards = [m for m in bot.api.messages_to(resident.id)[before:] if m.kind == "contact"]
    assert len(cards) == 1 and cards[0].message["contact"] == {
        "phone_number": "13700001111",
        "first_name": "王大姐",
    }
    assert str(wang.id) not in json.dumps(cards[0].message)


async def test_a_mention_of_an_account_becomes_plain_text_at_intake_and_in_the_relay(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(RESIDENT, "秀英", username=RESIDENT_HANDLE)
    wang = team["wang"]
    me = _account(bot.api.user(RESIDENT).to_dict())
    text = "我是秀英，丈夫是老李"
    hidden = [
        {"type": "text_mention", "offset": 2, "length": 2, "user": me},
        {"type": "bold", "offset": 5, "length": 2},
        {"type": "text_link", "offset": 8, "length": 2, "url": f"tg://user?id={RESIDENT}"},
    ]
    await intake_up_to(resident, "description")
    await bot.api.send_text(resident.id, text, entities=hidden)
    await resident.expect(zh(GOT_IT))
    number = await describe_and_confirm(resident, text="还有一件事")
    await wang.expect(zh("New case {number}", number=number))
    await wang.press(zh("Accept"))
    await wang.expect(f"📨 {number}")
    copy = await wang.expect(text)  # the description, passed on at acceptance
    assert copy.entities == [{"type": "bold", "offset": 5, "length": 2}]
    assert copy.protected and not _leaks(copy, RESIDENT, (RESIDENT_HANDLE,))
    sent = await bot.api.send_text(resident.id, "再说一次：秀英", entities=hidden[:1])
    assert await _delivered(bot, RESIDENT, sent["message_id"]) == "delivered"
    again = bot.api.messages_to(wang.id)[-1]
    assert again.text == "再说一次：秀英" and again.entities == []
    assert not _leaks(again, RESIDENT, (RESIDENT_HANDLE,))


@pytest.mark.parametrize(
    "config_overrides", [{"roster": ROSTER, "privacy": {"protect_content": False}}]
)
async def test_copies_are_unprotected_only_when_the_config_says_so(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1801), team["wang"]
    await accepted_case(resident, wang, text="家里的事")
    copy = bot.api.messages_to(wang.id)[-1]
    assert copy.content == "家里的事" and not copy.protected


# ---------------------------------------------------------------------------- property

OTHER_HANDLES = ("someone_else", "jiedao_ban")
words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    min_size=1,
    max_size=40,
).filter(lambda t: bool(t.strip()) and not t.lstrip().startswith("/") and not is_trigger(t))
CAPTIONED = ("photo", "voice", "audio", "video", "document", "animation")


@st.composite
def writings(draw: st.DrawFn) -> str:
    """What someone writes: any words, maybe with @mentions of other people."""
    text = draw(words)
    if draw(st.booleans()):
        text += f" @{draw(st.sampled_from(OTHER_HANDLES))}"
    return text


def _entities(draw: st.DrawFn, text: str, account: dict[str, Any]) -> list[dict[str, Any]]:
    size = utf16_len(text)
    kinds = st.sampled_from(["text_mention", "text_link", "mention", "bold", "url", "account"])
    found = []
    for kind in draw(st.lists(kinds, max_size=4)):
        offset = draw(st.integers(0, size - 1))
        length = draw(st.integers(1, size - offset))
        entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
        if kind == "text_mention":
            entity["user"] = account
        elif kind == "text_link":
            entity["url"] = draw(
                st.sampled_from(
                    [
                        f"tg://user?id={account['id']}",
                        f"https://t.me/{account.get('username', 'x')}",
                        "https://example.org/",
                    ]
                )
            )
        elif kind == "account":  # a link hidden behind words, by id
            url = f"tg://openmessage?user_id={account['id']}"
            entity = {**entity, "type": "text_link", "url": url}
        found.append(entity)
    return found


@st.composite
def messages_of(draw: st.DrawFn, kind: str, account: dict[str, Any]) -> dict[str, Any]:
    """A message of this kind as a client may send it, with every field that can name an
    account filled with the writer's own."""
    content: dict[str, Any] = {}
    if kind == "text":
        text = draw(writings())
        content = {"text": text, "entities": _entities(draw, text, account)}
    elif kind == "location":
        content = {"location": {"latitude": 29.9, "longitude": 121.6}}
    elif kind == "contact":
        content = {
            "contact": {
                "phone_number": draw(st.from_regex(r"\+?[0-9]{5,15}", fullmatch=True)),
                "first_name": draw(words),
                "last_name": account.get("username", "x"),
                "user_id": account["id"] if draw(st.booleans()) else 99_000_001,
                "vcard": f"BEGIN:VCARD\nX-TG:@{account.get('username')}\nEND:VCARD",
            }
        }
    else:
        content = {"media": kind}  # stored by the test: the world's file ids
        if kind in CAPTIONED and draw(st.booleans()):
            caption = draw(writings())
            content["caption"] = caption
            content["caption_entities"] = _entities(draw, caption, account)
    if draw(st.booleans()):  # forwarded into the chat: the copy must not say from whom
        content["forward_origin"] = {"type": "user", "sender_user": account, "date": 1}
    return content


def _with_media(bot: BotUnderTest, content: dict[str, Any]) -> dict[str, Any]:
    kind = content.pop("media", None)
    if kind is None:
        return content
    world = bot.api.world
    if kind == "photo":
        return {**content, "photo": [f.to_dict() for f in world.store_photo(b"jpeg")]}
    stored = world.store_file(kind, b"bytes", width=240, height=240, duration=2)
    media = stored.to_dict()
    if kind == "sticker":
        media |= {"is_animated": False, "is_video": False, "type": "regular", "emoji": "🙂"}
    if kind == "animation":  # as at Telegram: an animation also comes as a document
        return {**content, "animation": media, "document": media}
    return {**content, kind: media}


RELAY_PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@RELAY_PROPERTY
@given(data=st.data())
async def test_no_copy_carries_the_writers_account(
    bot: BotUnderTest, team: dict[str, Person], data: st.DataObject
) -> None:
    if not bot.api.messages_to(RESIDENT):  # the first example sets the case up
        await _resident_with_case(bot, team)
        wang = bot.api.user(team["wang"].id)
        wang.username = WANG_HANDLE  # the mediator has a username too
    accounts = {
        RESIDENT: (team["wang"].id, (RESIDENT_HANDLE, RESIDENT_SURNAME)),
        team["wang"].id: (RESIDENT, (WANG_HANDLE,)),
    }
    writer = data.draw(st.sampled_from(sorted(accounts)), label="writer")
    reader, handles = accounts[writer]
    kind = data.draw(st.sampled_from(RELAYED), label="kind")
    account = _account(bot.api.user(writer).to_dict())
    content = _with_media(bot, data.draw(messages_of(kind, account), label="message"))
    before, asked = len(bot.api.messages_to(reader)), len(bot.api.messages_to(writer))
    sent = await bot.api.send_content(writer, content)
    if writer != RESIDENT and content.get("contact", {}).get("user_id") == writer:
        await _say_yes(bot, writer, asked)  # her own card: she is asked first
    outcome = await _delivered(bot, writer, sent["message_id"])
    assert outcome == "delivered", (kind, content, bot.api.errors[-3:])
    arrived = bot.api.messages_to(reader)[before:]
    # Not headers, nor the quiet "→ case" line under a mediator's earlier message.
    copies = [m for m in arrived if not m.content.startswith(("📨", "💬", "→ "))]
    assert copies, (kind, content)
    for message in arrived:
        assert not _leaks(message, writer, handles), (kind, content, message.message)
        assert "forward_origin" not in message.message and "via_bot" not in message.message
    assert all(copy.protected for copy in copies), [c.describe() for c in copies]


async def _say_yes(bot: BotUnderTest, writer: int, since: int) -> None:
    def question() -> BotMessage | None:
        return next(
            (m for m in bot.api.messages_to(writer)[since:] if "这张名片" in m.content), None
        )

    await bot.api.wait_for(lambda: question() is not None, what="the question")
    asked = question()
    assert asked is not None
    yes = next(b["callback_data"] for row in asked.buttons for b in row)
    assert yes.endswith(":yes")
    await bot.api.press_button(writer, asked.message_id, yes)


async def test_no_account_of_the_other_party_crosses_either(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    """The second party's card and mentions are passed on like the first party's."""
    from tests.e2e.test_parties import OTHER, _two_party_case

    _applicant, other, number = await _two_party_case(bot, team)
    wang = team["wang"]
    card = {"phone_number": PHONE, "first_name": "老李", "last_name": "李秘", "user_id": OTHER}
    sent = await bot.api.send_content(other.id, {"contact": card})
    assert await _delivered(bot, OTHER, sent["message_id"]) == "delivered"
    copy = bot.api.messages_to(wang.id)[-1]
    assert copy.method == "sendContact" and copy.protected
    assert copy.message["contact"] == {"phone_number": PHONE, "first_name": "老李"}
    assert not _leaks(copy, OTHER, ("laoli_handle", "李秘"))
    me = _account(bot.api.user(OTHER).to_dict())
    mention = [{"type": "text_mention", "offset": 0, "length": 2, "user": me}]
    sent = await bot.api.send_text(other.id, "老李在此", entities=mention)
    assert await _delivered(bot, OTHER, sent["message_id"]) == "delivered"
    again = bot.api.messages_to(wang.id)[-1]
    assert again.text == "老李在此" and again.entities == []
    assert not _leaks(again, OTHER, ("laoli_handle",))
    # The mediator's own card never goes to the other party.
    before = len(bot.api.messages_to(other.id))
    await say(wang, "/talk")
    await choose(wang, f"tk:{await _case_id(bot, number)}:party")
    await bot.api.send_contact(wang.id, "13700001111", "王大姐", own=True)
    await bot.api.wait_for(
        lambda: any("不会转给对方当事人" in m.content for m in bot.api.messages_to(wang.id)),
        what="the refusal",
    )
    assert len(bot.api.messages_to(other.id)) == before


async def _case_id(bot: BotUnderTest, number: str) -> int:
    assert bot.app is not None
    row = await bot.app.bot_data.services.db.fetch_one(
        "SELECT id FROM cases WHERE number = ?", (number,)
    )
    assert row is not None
    return int(row[0])
