"""Bad input never crashes a handler and never goes unanswered (README: Privacy).

Hypothesis draws what people send — any Unicode (empty-looking, right-to-left, emoji,
longer than Telegram allows), odd entities, every medium the local Bot API can send, replies
to any of the bot's messages, edits of old messages, callback data with known and unknown
prefixes — and pushes it through the real application, as a stranger, a resident in the
middle of describing her problem, a mediator and a staff member. Groups and channels, which
the local Bot API does not simulate, get realistic updates pushed into its queue. Nothing may
reach the error handler except the refusals services raise on purpose, the bot makes no call
the Bot API rejects, and every private message and press gets an answer.

One bot per test; every example starts with people of its own, so that an example does the
same whenever it runs (Hypothesis replays a failure to shrink it).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from localapi.formatting import utf16_len
from tests.e2e.driving import Watcher, count, database, messages, newest_with
from tests.harness import BotUnderTest, Person

ADMIN = 900
STAFF_POOL = range(910_000, 915_000)  # a fresh staff member for every example
MAX_EXAMPLES = 150
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

Persona = Literal["stranger", "describing", "mediator", "staff"]
PERSONAS: tuple[Persona, ...] = ("stranger", "describing", "mediator", "staff")
COMMANDS = (
    "start", "help", "language", "status", "cancel", "withdraw", "subscribe", "unsubscribe",
    "privacy", "mydata", "forget", "invite", "duty", "cases", "case", "note", "close", "reopen",
    "transfer", "reassign", "consult", "book", "announce", "announcements", "roster",
    "mediators", "overview", "stats", "block", "unblock", "care", "nosuchcommand",
)  # fmt: skip
PREFIXES = (
    "in:", "lang:", "of:", "cs:", "cl:", "tr:", "wd:", "rl:", "rv:", "sv:", "sub:", "unsub",
    "rsvp:", "an:", "am:", "pv:", "inv:", "duty:", "st:", "ur:", "zz:", "",
)  # fmt: skip
ODD_TEXTS = (
    "\u200b",  # zero-width space
    "\u200f\u200e\u061c",  # direction marks only
    "\u202eevil\u202c",  # right-to-left override
    "\ufeff",
    "e\u0301\u0301\u0301\u0301",
    "👩\u200d👩\u200d👧\u200d👦🏳️\u200d🌈",
    "😀" * 2048,  # 4096 UTF-16 units
    "مرحبا، أحتاج المساعدة",
    "שָׁלוֹם",
    "𝓯𝓪𝓷𝓬𝔂 𝕥𝕖𝕩𝕥",
    "\x00\x01\x7f",
    "x" * 4096,
    "好" * 4097,
    "/start join-",
    "/start join-" + "A" * 100,
    "/start@daasao_bot",
    "/help@someone_else_bot",
    "/case ²³",
    "/book 99999999999999999999999",
    "/reopen QJS-2026-",
    "/stats 2025-13",
    "/stats 1900-01-01..2999-12-31",
    "/duty perhaps",
    "/block QJS-2026-0001",
    "找大阿嫂",
    "我要找大阿嫂！！！",
    "救命",
    "/",
    "//",
)
BLANK_TEXTS = (" ", "\n\n", "\t \u3000")  # Telegram would not send these; the bot gets them here
ENTITY_TYPES = (
    "bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre", "text_link",
    "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number",
    "text_mention", "custom_emoji", "blockquote", "expandable_blockquote", "nonsense",
)  # fmt: skip
RLO = "\u202e"  # right-to-left override: "invoice\u202efdp.exe" shows as "invoiceexe.pdf"
FILE_NAMES = (
    "note.pdf",
    "roster.xlsx",
    "roster.csv",
    "noext",
    f"é{RLO}fdp.exe",
    "a" * 200 + ".csv",
)


# ------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Text:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_to: int | None = None  # the n-th of the bot's messages in this chat (modulo)


@dataclass(frozen=True)
class Media:
    kind: Literal["photo", "voice", "video", "document", "sticker"]
    data: bytes
    caption: str | None
    file_name: str


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Contact:
    phone: str
    own: bool


@dataclass(frozen=True)
class Press:
    data: str


@dataclass(frozen=True)
class Edit:
    text: str  # the person's latest message of their own becomes this


Input = Text | Media | Location | Contact | Press | Edit

entities = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(ENTITY_TYPES),
            "offset": st.integers(0, 60),
            "length": st.integers(0, 60),
        },
        optional={"url": st.text(max_size=20), "language": st.text(max_size=5)},
    ),
    max_size=3,
)
texts = st.one_of(
    st.sampled_from(ODD_TEXTS),
    st.text(min_size=1, max_size=300),
    st.builds(
        lambda command, arg: f"/{command} {arg}".rstrip(),
        st.sampled_from(COMMANDS),
        st.text(max_size=40),
    ),
)
callback_data = st.builds(
    lambda prefix, rest: (prefix + rest).encode()[:64].decode("utf-8", "ignore"),
    st.sampled_from(PREFIXES),
    st.one_of(st.text(max_size=40), st.from_regex(r"[0-9]{1,25}(:[a-z0-9²-]{0,12}){0,3}")),
).filter(bool)
inputs: st.SearchStrategy[Input] = st.one_of(
    st.builds(Text, texts, entities, st.none() | st.integers(0, 50)),
    st.builds(Text, st.sampled_from(BLANK_TEXTS)),
    st.builds(
        Media,
        st.sampled_from(["photo", "voice", "video", "document", "sticker"]),
        st.binary(max_size=64),
        st.none() | st.text(max_size=1100),
        st.sampled_from(FILE_NAMES),
    ),
    st.builds(
        Location,
        st.floats(-90, 90, allow_nan=False),
        st.floats(-180, 180, allow_nan=False),
    ),
    st.builds(Contact, st.text(min_size=1, max_size=30), st.booleans()),
    st.builds(Press, callback_data),
    st.builds(Edit, texts.filter(lambda t: bool(t.strip()))),
)


# ------------------------------------------------------------------------------- people


@dataclass
class Lab:
    """One running bot, a watcher on it, and fresh people on demand."""

    bot: BotUnderTest
    watcher: Watcher
    admin: Person
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_000))
    staff_ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(STAFF_POOL.start)
    )

    def __repr__(self) -> str:  # Hypothesis prints the arguments of a failing example
        return "Lab()"

    async def handled(self, update_id: int) -> None:
        await self.watcher.finished(update_id)

    async def say(self, person: Person, text: str) -> None:
        await person.send(text)
        await self.handled(self.last_update())

    async def tap(self, person: Person, data: str) -> None:
        message = newest_with(person, data)
        assert message is not None, (data, [m.content for m in messages(person)])
        await person.api.press_button(person.id, message.message_id, data)
        await self.handled(self.last_update())

    def last_update(self) -> int:
        return self.bot.api.world.next_update_id - 1

    async def persona(self, kind: Persona) -> Person:
        """A new person of this kind, whose chat already has an answer of the bot."""
        if kind == "staff":
            person = self.bot.person(next(self.staff_ids), "Staff", language_code="en")
            await self.say(person, "/help")
            return person
        person = self.bot.person(next(self.ids), "Fuzz", language_code="en")
        if kind == "stranger":
            await self.say(person, "/help")
            return person
        if kind == "mediator":
            await self.say(self.admin, "/invite")
            await self.tap(self.admin, "inv:mediator:dongsheng")
            link = re.search(r"start=(join-[\w-]+)", messages(self.admin)[-1].content)
            assert link is not None
            await self.say(person, f"/start {link.group(1)}")
            await self.say(person, "王阿姨")
            return person
        await self.say(person, "找大阿嫂")
        for data in (
            "in:consent:yes",
            "in:area:dongsheng",
            "in:category:family",
            "in:sensitive:yes",
        ):
            await self.tap(person, data)
        return person


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {
        "staff": {"admins": [ADMIN, *STAFF_POOL]},
        "privacy": {"max_messages_per_minute": 600},  # the flood guard answers once a minute
    }


@pytest.fixture
async def lab(bot: BotUnderTest) -> AsyncIterator[Lab]:
    assert bot.app is not None
    watcher = Watcher(bot.api)
    watcher.attach(bot.app)
    admin = bot.person(ADMIN, "Admin", language_code="en")
    created = Lab(bot, watcher, admin)
    await created.say(admin, "/help")
    yield created
    assert not watcher.unexpected(), watcher.unexpected()


# ------------------------------------------------------------------------------- delivery


async def deliver(lab: Lab, person: Person, item: Input) -> tuple[int, str | None]:
    """Send the input as this person; returns the update id and the press's query id."""
    api, chat = lab.bot.api, person.id
    bot_messages = [m for m in messages(person) if not m.deleted]  # "clear this chat" deletes
    query = None
    if isinstance(item, Text) and not item.text.strip():
        push_private(lab, person, {"text": item.text})
    elif isinstance(item, Text):
        reply_to = None
        if item.reply_to is not None and bot_messages:
            reply_to = bot_messages[item.reply_to % len(bot_messages)].message_id
        await api.send_text(chat, item.text, reply_to=reply_to, entities=item.entities or None)
    elif isinstance(item, Media):
        await send_media(lab, person, item)
    elif isinstance(item, Location):
        await api.send_location(chat, item.latitude, item.longitude)
    elif isinstance(item, Contact):
        await api.send_contact(chat, item.phone, "Someone", own=item.own)
    elif isinstance(item, Press):
        query = await api.press_button(chat, bot_messages[-1].message_id, item.data, forged=True)
    else:
        own = [m for m in api.transcript(chat) if m["from"]["id"] == chat and "text" in m]
        await api.edit_text(chat, own[-1]["message_id"], item.text)
    return lab.last_update(), query


async def send_media(lab: Lab, person: Person, item: Media) -> None:
    api, chat = lab.bot.api, person.id
    if item.kind == "photo":
        await api.send_photo(chat, item.data, item.caption)
    elif item.kind == "voice":
        await api.send_voice(chat, item.data)
    elif item.kind == "video":
        await api.send_video(chat, item.data, item.caption)
    elif item.kind == "sticker":
        await api.send_sticker(chat, item.data)
    else:
        await api.send_document(chat, item.data, item.file_name, item.caption)


def push_private(lab: Lab, person: Person, content: dict[str, Any]) -> None:
    """A message the control API would refuse to send (blank text), straight into the queue."""
    world = lab.bot.api.world
    chat = world.chat(person.id)
    assert chat is not None
    message = world.new_message(chat, chat.user.to_dict(), content)
    world.push_update("message", message)


async def check(lab: Lab, persona: Persona, items: list[Input]) -> None:
    """The property: each input is handled without an unexpected error or a refused Bot API
    call, and each message or press (not an edit) gets an answer in its chat."""
    person = await lab.persona(persona)
    api = lab.bot.api
    for item in items:
        errors, api_errors, since = len(lab.watcher.errors), len(api.errors), count(person)
        update_id, query = await deliver(lab, person, item)
        await lab.handled(update_id)
        where = f"{persona} sent {item!r}"
        assert not lab.watcher.unexpected(errors), f"{where}: {lab.watcher.unexpected(errors)}"
        assert api.errors[api_errors:] == [], f"{where}: {api.errors[api_errors:]}"
        if query is not None:
            record = api.callback_answer(query)
            assert record is not None and record.answered, f"{where}: the press was not answered"
        elif not isinstance(item, Edit):
            assert count(person) > since, f"{where}: no answer"


# ------------------------------------------------------------------------------- properties


@FUZZ
@given(persona=st.sampled_from(PERSONAS), items=st.lists(inputs, min_size=1, max_size=4))
@example(  # found by this test: the footer made a 4096-character notice too long to send
    persona="staff",
    items=[
        Text("/announce"),
        Text("x" * 4096),
        *(Press(f"an:{step}") for step in ("audience:next", "time:now", "rsvp:no")),
    ],
)
async def test_any_message_or_press_is_answered_without_a_crash(
    lab: Lab, persona: Persona, items: list[Input]
) -> None:
    await check(lab, persona, items)


@FUZZ
@given(persona=st.sampled_from(PERSONAS), data=st.lists(callback_data, min_size=1, max_size=6))
async def test_any_callback_data_is_refused_or_handled_never_left_spinning(
    lab: Lab, persona: Persona, data: list[str]
) -> None:
    await check(lab, persona, [Press(d) for d in data])


# ------------------------------------------------------------------------------- groups

GROUPS = (
    {"id": -4_000_000_001, "type": "group", "title": "家族群"},
    {"id": -1_000_000_000_002, "type": "supergroup", "title": "东升社区邻里", "username": "ds_nb"},
)
CHANNEL = {"id": -1_000_000_000_003, "type": "channel", "title": "社区通知"}
MEMBER_STATES = ("member", "left", "kicked")
COMMAND_TOKEN = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,})?(?=\s|$)")


@dataclass(frozen=True)
class GroupEvent:
    kind: Literal["message", "edited_message", "channel_post", "edited_channel_post", "bot"]
    group: int  # index into GROUPS
    text: str
    entities: list[dict[str, Any]]
    old: str = "member"
    new: str = "kicked"


group_events = st.builds(
    GroupEvent,
    st.sampled_from(["message", "edited_message", "channel_post", "edited_channel_post", "bot"]),
    st.integers(0, len(GROUPS) - 1),
    st.one_of(st.sampled_from([f"/{command}" for command in COMMANDS]), texts),
    entities,
    st.sampled_from(MEMBER_STATES),
    st.sampled_from(MEMBER_STATES),
)


def group_update(lab: Lab, person: Person, event: GroupEvent, n: int) -> tuple[str, Any]:
    """The update Telegram would send for this event (the bot's own status: my_chat_member)."""
    world = lab.bot.api.world
    user = world.user(person.id).to_dict()
    date = world.timestamp()
    if event.kind == "bot":
        bot = world.bot.to_dict()
        status = {"kicked": {"until_date": 0}}
        return "my_chat_member", {
            "chat": GROUPS[event.group],
            "from": user,
            "date": date,
            "old_chat_member": {"user": bot, "status": event.old, **status.get(event.old, {})},
            "new_chat_member": {"user": bot, "status": event.new, **status.get(event.new, {})},
        }
    message: dict[str, Any] = {"message_id": n, "date": date, "text": event.text}
    command = COMMAND_TOKEN.match(event.text)
    found = [*event.entities]
    if command:  # as Telegram marks it
        found.insert(0, {"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
    if found:
        message["entities"] = found
    if event.kind.endswith("channel_post"):
        message |= {"chat": CHANNEL, "sender_chat": CHANNEL}
    else:
        message |= {"chat": GROUPS[event.group], "from": user}
    if event.kind.startswith("edited"):
        message["edit_date"] = date
    return event.kind, message


@FUZZ
@given(events=st.lists(group_events, min_size=1, max_size=5))
async def test_groups_and_channels_are_ignored_without_a_crash(
    lab: Lab, events: list[GroupEvent]
) -> None:
    """The bot only speaks in private chats; what happens in a group changes nothing."""
    person = await lab.persona("stranger")  # who also writes in a family group
    api, db = lab.bot.api, database(lab.bot)
    for n, event in enumerate(events, start=1):
        errors, api_errors, since = len(lab.watcher.errors), len(api.errors), count(person)
        kind, payload = group_update(lab, person, event, n)
        update_id = api.world.push_update(kind, payload)["update_id"]
        await lab.handled(update_id)
        assert not lab.watcher.unexpected(errors), f"{event!r}: {lab.watcher.unexpected(errors)}"
        assert api.errors[api_errors:] == [], f"{event!r}: the bot wrote into {kind}"
        assert count(person) == since, f"{event!r}: answered in private"
        row = await db.fetch_one("SELECT blocked_at FROM users WHERE id = ?", (person.id,))
        assert row is not None and row[0] is None, f"{event!r}: marked as blocking the bot"
