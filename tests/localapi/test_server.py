"""The local Bot API, driven by the real python-telegram-bot over loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import struct
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    MenuButtonCommands,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from localapi import ControlError, LocalBotApi

MEI = 101
TAO = 202
STRANGER = 303


class Clock:
    """A clock the tests move by hand."""

    def __init__(self) -> None:
        self.moment = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta


def png(width: int, height: int) -> bytes:
    """Bytes with a PNG header of the given size (enough for the server to read it)."""
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
    return header + struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00" + b"\x00" * 32


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    """A one-row inline keyboard of (text, callback_data) buttons."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


@contextmanager
def refused(
    api: LocalBotApi, error: type[TelegramError], description: str
) -> Iterator[pytest.ExceptionInfo[TelegramError]]:
    """Expect the call in the block to fail with exactly Telegram's ``description``."""
    with pytest.raises(error) as info:
        yield info
    assert api.errors[-1].description == description
    if not isinstance(info.value, RetryAfter):  # PTB words flood control its own way
        assert info.value.message.lower() == description.removeprefix("Bad Request: ").lower()


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB warns when it builds a RetryAfter unless durations are timedeltas (warnings = errors)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(clock: Clock) -> AsyncIterator[LocalBotApi]:
    server = LocalBotApi(now=clock)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(api: LocalBotApi) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


@pytest.fixture
async def mei(api: LocalBotApi) -> int:
    """Mei has started the bot; her /start was consumed already."""
    api.add_user(MEI, "Mei", "Li", "meili", "zh-hans")
    await api.send_text(MEI, "/start")
    api.world.updates.clear()
    return MEI


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def raw_call(
    http: aiohttp.ClientSession, url: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """POST to a URL and return status and JSON body."""
    async with http.post(url, **kwargs) as response:
        return response.status, await response.json()


# -- identity, tokens and the wire format ---------------------------------------------------


async def test_get_me_identifies_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (
        1000000,
        "daasao_bot",
        "Da'asao",
        True,
    )


async def test_wrong_token_and_unknown_method_answer_like_telegram(
    api: LocalBotApi, http: aiohttp.ClientSession
) -> None:
    root = f"http://127.0.0.1:{api.port}"
    status, body = await raw_call(http, f"{root}/bot123:wrong/getMe")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await raw_call(http, f"{root}/botnonsense/getMe")
    assert (status, body["description"]) == (404, "Not Found")
    status, body = await raw_call(http, f"{api.base_url}{api.token}/fooBar")
    assert (status, body["description"]) == (404, "Not Found")


async def test_json_body_query_string_and_case_insensitive_names(
    api: LocalBotApi, mei: int, http: aiohttp.ClientSession
) -> None:
    url = f"{api.base_url}{api.token}"
    status, body = await raw_call(http, f"{url}/SENDMESSAGE", json={"chat_id": mei, "text": "a"})
    assert status == 200
    assert body["result"]["text"] == "a"
    status, body = await raw_call(http, f"{url}/sendMessage?chat_id={mei}&text=b")
    assert (status, body["result"]["text"]) == (200, "b")
    assert [m.text for m in api.messages_to(mei)] == ["a", "b"]


async def test_malformed_requests_get_a_400_not_a_500(
    api: LocalBotApi, mei: int, http: aiohttp.ClientSession
) -> None:
    url = f"{api.base_url}{api.token}/sendMessage"
    status, body = await raw_call(
        http, url, data={"chat_id": str(mei), "text": "x", "reply_markup": "{not json"}
    )
    assert (status, body["description"]) == (
        400,
        "Bad Request: can't parse reply keyboard markup JSON object",
    )
    status, body = await raw_call(
        http, url, data=b"--xx\r\ngarbage", headers={"Content-Type": "multipart/form-data"}
    )
    assert status == 400
    status, body = await raw_call(
        http, url, data=b"[1]", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    status, body = await raw_call(http, url, json={"chat_id": mei, "text": "x", "reply_markup": 5})
    assert status == 400


# -- long polling ----------------------------------------------------------------------------


async def test_long_poll_returns_as_soon_as_a_user_writes(api: LocalBotApi, bot: Bot) -> None:
    api.add_user(MEI, "Mei")

    async def write_later() -> None:
        await asyncio.sleep(0.1)
        await api.send_text(MEI, "你好")

    started = time.monotonic()
    writer = asyncio.create_task(write_later())
    updates = await bot.get_updates(timeout=5)
    await writer
    assert time.monotonic() - started < 2
    assert [u.message.text for u in updates if u.message] == ["你好"]
    message = updates[0].message
    assert message is not None and message.from_user is not None
    assert message.chat.type == "private" and message.chat.id == MEI
    assert message.from_user.language_code is None


async def test_long_poll_times_out_without_updates(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_offset_confirms_and_negative_offset_keeps_the_last(
    api: LocalBotApi, bot: Bot
) -> None:
    api.add_user(MEI, "Mei", language_code="en")
    for text in ("one", "two", "three"):
        await api.send_text(MEI, text)
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["one", "two", "three"]
    assert await bot.get_updates(offset=updates[0].update_id + 1) != ()
    assert len(api.pending_updates) == 2
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last if u.message] == ["three"]
    assert await bot.get_updates(offset=last[0].update_id + 1, timeout=0) == ()
    assert api.pending_updates == []


async def test_limit_and_allowed_updates(api: LocalBotApi, bot: Bot, mei: int) -> None:
    sent = await bot.send_message(mei, "pick", reply_markup=keyboard(("A", "a")))
    await api.send_text(mei, "text")
    await api.press_button(mei, sent.message_id, "a")
    assert len(await bot.get_updates(limit=1)) == 1
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in updates if u.callback_query] == ["a"]
    assert all(u.message is None for u in updates)


async def test_a_second_poller_terminates_the_first(api: LocalBotApi, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_for(lambda: api.calls("getUpdates") == 1, timeout=2, what="first poll")
    async with Bot(api.token, base_url=api.base_url) as second_instance:
        await second_instance.get_updates(timeout=0)
    with pytest.raises(Conflict):
        await first


async def test_set_webhook_is_validated_recorded_and_blocks_polling(
    api: LocalBotApi, bot: Bot, mei: int
) -> None:
    """setWebhook is recorded, never called: the bot's webhook mode can start against us."""
    await api.send_text(mei, "pending")
    for url, error in [  # PTB capitalizes Telegram's descriptions
        ("http://bot.example.org/hook", r"(?i)an https url must be provided"),
        ("https://bot.example.org:8080/hook", r"(?i)only on ports 80, 88, 443 or 8443"),
    ]:
        with pytest.raises(BadRequest, match=error):
            await bot.set_webhook(url)
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("https://bot.example.org/hook", secret_token="no:colons")
    assert api.world.webhook is None
    assert await bot.set_webhook(
        "https://bot.example.org:8443/hook",
        secret_token="s3cret_Token-1",
        allowed_updates=["message"],
        max_connections=5,
    )
    assert api.world.webhook == {
        "url": "https://bot.example.org:8443/hook",
        "secret_token": "s3cret_Token-1",
        "max_connections": 5,
        "allowed_updates": ["message"],
    }
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.max_connections) == (
        "https://bot.example.org:8443/hook",
        1,
        5,
    )
    assert tuple(info.allowed_updates or ()) == ("message",)
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert api.world.webhook is None
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates(timeout=0) == ()  # polling works again; "pending" was dropped


# -- sending and validation ------------------------------------------------------------------


async def test_send_message_parses_html_into_entities(api: LocalBotApi, bot: Bot, mei: int) -> None:
    sent = await bot.send_message(
        mei, "<b>案件</b> &lt;3 <a href='https://example.org'>link</a>", parse_mode="HTML"
    )
    assert sent.text == "案件 <3 link"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("text_link", 6, 4),
    ]
    record = api.last_message_to(mei)
    assert record is not None and record.text == "案件 <3 link" and record.method == "sendMessage"


@pytest.mark.parametrize(
    "case",
    [
        ("", None, "Bad Request: message text is empty"),
        ("   \n", None, "Bad Request: message text is empty"),
        ("x" * 4097, None, "Bad Request: message is too long"),
        (
            "<foo>x</foo>",
            "HTML",
            'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 0',
        ),
        (
            "<b>bold",
            "HTML",
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            '"b"',
        ),
        (
            "Hello.",
            "MarkdownV2",
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped "
            "with the preceding '\\'",
        ),
        (
            "*bold",
            "MarkdownV2",
            "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0",
        ),
        (
            "_oops",
            "Markdown",
            "Bad Request: can't parse entities: Can't find end of the entity starting at byte "
            "offset 0",
        ),
    ],
)
async def test_invalid_texts_are_refused(
    api: LocalBotApi, bot: Bot, mei: int, case: tuple[str, str | None, str]
) -> None:
    text, parse_mode, description = case
    with refused(api, BadRequest, description):
        await bot.send_message(mei, text, parse_mode=parse_mode)
    assert api.messages_to(mei) == []


async def test_4096_characters_are_fine(bot: Bot, mei: int) -> None:
    sent = await bot.send_message(mei, "字" * 4096)
    assert sent.text is not None and len(sent.text) == 4096


async def test_unknown_and_unstarted_chats_are_not_found(api: LocalBotApi, bot: Bot) -> None:
    with refused(api, BadRequest, "Bad Request: chat not found"):
        await bot.send_message(STRANGER, "hi")
    api.add_user(TAO, "Tao")
    with refused(api, BadRequest, "Bad Request: chat not found"):
        await bot.send_message(TAO, "hi")
    with refused(api, BadRequest, "Bad Request: chat not found"):
        await bot.get_chat(TAO)


async def test_callback_data_over_64_bytes_is_invalid(api: LocalBotApi, bot: Bot, mei: int) -> None:
    ok = await bot.send_message(mei, "x", reply_markup=keyboard(("ok", "é" * 32)))
    assert ok.reply_markup is not None
    with refused(api, BadRequest, "Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(mei, "x", reply_markup=keyboard(("long", "é" * 32 + "x")))


async def test_reply_keyboards_are_recorded_but_not_echoed(
    api: LocalBotApi, bot: Bot, mei: int
) -> None:
    markup = ReplyKeyboardMarkup([[KeyboardButton("Share", request_contact=True)]], True, True)
    sent = await bot.send_message(mei, "phone?", reply_markup=markup)
    assert sent.reply_markup is None
    record = api.last_message_to(mei)
    assert record is not None and record.reply_markup is not None
    assert record.reply_markup["keyboard"][0][0]["request_contact"] is True
    assert api.world.chats[mei].reply_keyboard is not None
    await bot.send_message(mei, "thanks", reply_markup=ReplyKeyboardRemove())
    assert api.world.chats[mei].reply_keyboard is None
    await bot.send_message(mei, "answer me", reply_markup=ForceReply())


async def test_replies_carry_reply_to_message(api: LocalBotApi, bot: Bot, mei: int) -> None:
    question = await api.send_text(mei, "Can you help?")
    sent = await bot.send_message(
        mei,
        "Yes",
        reply_parameters=ReplyParameters(question["message_id"]),
        disable_notification=True,
        protect_content=True,
    )
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.text == "Can you help?"
    record = api.last_message_to(mei)
    assert record is not None and record.reply_to_message_id == question["message_id"]
    assert record.options["protect_content"] is True and record.protected
    with refused(api, BadRequest, "Bad Request: message to be replied not found"):
        await bot.send_message(mei, "?", reply_parameters=ReplyParameters(999))


async def test_location_contact_chat_action_and_get_chat(
    api: LocalBotApi, bot: Bot, mei: int
) -> None:
    location = await bot.send_location(mei, 30.5, 114.3)
    assert location.location is not None and location.location.latitude == 30.5
    contact = await bot.send_contact(mei, "+8612345", "Desk")
    assert contact.contact is not None and contact.contact.phone_number == "+8612345"
    assert await bot.send_chat_action(mei, "typing")
    assert api.world.chats[mei].last_action == "typing"
    with refused(api, BadRequest, "Bad Request: wrong parameter action in request"):
        await bot.send_chat_action(mei, "dancing")
    chat = await bot.get_chat(mei)
    assert (chat.id, chat.type, chat.username) == (mei, "private", "meili")
    assert await bot.set_chat_menu_button(mei, MenuButtonCommands())


# -- buttons ---------------------------------------------------------------------------------


async def test_button_press_round_trip(api: LocalBotApi, bot: Bot, mei: int) -> None:
    sent = await bot.send_message(
        mei, "Urgent?", reply_markup=keyboard(("Yes", "u:1"), ("No", "u:0"))
    )
    record = api.last_message_to(mei)
    assert record is not None and record.button_data("Yes") == "u:1"
    query_id = await api.press_button(mei, sent.message_id, "u:1")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.id == query_id and query.data == "u:1"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query_id, text="Noted", show_alert=True)
    answer = api.callback_answer(query_id)
    assert answer is not None and answer.answered and answer.text == "Noted" and answer.show_alert
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    with refused(api, BadRequest, too_old):
        await bot.answer_callback_query(query_id)
    with refused(api, BadRequest, too_old):
        await bot.answer_callback_query("12345")
    with pytest.raises(ControlError, match="no button"):
        await api.press_button(mei, sent.message_id, "u:2")


# -- copy, forward, files --------------------------------------------------------------------


async def test_copy_message_never_adds_a_forward_origin(
    api: LocalBotApi, bot: Bot, mei: int
) -> None:
    api.add_user(TAO, "Tao", started=True)
    photo = await api.send_photo(mei, png(1600, 1200), caption="my papers")
    copied = await bot.copy_message(TAO, mei, photo["message_id"], caption="from a client")
    record = api.last_message_to(TAO)
    assert record is not None and record.message_id == copied.message_id
    assert record.method == "copyMessage" and record.forward_origin is None
    assert "forward_origin" not in record.message
    assert (record.kind, record.caption, record.copied_from) == (
        "photo",
        "from a client",
        (mei, photo["message_id"]),
    )
    assert record.data == png(1600, 1200)
    text = await api.send_text(mei, "plain words")
    await bot.copy_message(TAO, mei, text["message_id"])
    assert api.messages_to(TAO)[-1].text == "plain words"
    with refused(api, BadRequest, "Bad Request: message to copy not found"):
        await bot.copy_message(TAO, mei, 999)


async def test_forward_message_names_its_origin(api: LocalBotApi, bot: Bot, mei: int) -> None:
    api.add_user(TAO, "Tao", started=True)
    original = await api.send_text(mei, "secret")
    forwarded = await bot.forward_message(TAO, mei, original["message_id"])
    assert forwarded.forward_origin is not None
    record = api.last_message_to(TAO)
    assert record is not None and record.forward_origin is not None
    assert record.forward_origin["sender_user"]["id"] == mei


async def test_photo_sizes_and_download(api: LocalBotApi, bot: Bot, mei: int) -> None:
    sent = await bot.send_photo(mei, png(2000, 1000), caption="poster")
    assert [(p.width, p.height) for p in sent.photo] == [
        (90, 45),
        (320, 160),
        (800, 400),
        (1280, 640),
    ]
    assert len({p.file_id for p in sent.photo}) == 4
    file = await bot.get_file(sent.photo[-1])
    assert file.file_path is not None and file.file_path.startswith(api.base_file_url)
    assert bytes(await file.download_as_bytearray()) == png(2000, 1000)
    again = await bot.send_photo(mei, sent.photo[-1].file_id)
    assert [p.file_id for p in again.photo] == [p.file_id for p in sent.photo]


async def test_document_and_voice_round_trip(api: LocalBotApi, bot: Bot, mei: int) -> None:
    payload = b"%PDF-1.4 minutes of the meeting"
    sent = await bot.send_document(mei, InputFile(payload, filename="minutes.pdf"), caption="ok")
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.mime_type) == ("minutes.pdf", "application/pdf")
    record = api.last_message_to(mei)
    assert record is not None and record.kind == "document" and record.data == payload
    voice = await api.send_voice(mei, b"OggS voice bytes", duration=3)
    file = await bot.get_file(voice["voice"]["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"OggS voice bytes"
    with refused(api, BadRequest, "Bad Request: invalid file_id"):
        await bot.get_file("nope")
    with refused(api, BadRequest, "Bad Request: wrong file identifier/HTTP URL specified"):
        await bot.send_voice(mei, "nope")
    with refused(api, BadRequest, "Bad Request: message caption is too long"):
        await bot.send_document(mei, InputFile(b"x", filename="a.txt"), caption="c" * 1025)


async def test_user_media_and_shares_are_telegram_shaped(
    api: LocalBotApi, bot: Bot, mei: int
) -> None:
    await api.send_document(mei, b"hello", "note.txt", caption="see")
    await api.send_video(mei, b"\x00\x00video", caption="clip")
    await api.send_sticker(mei, b"RIFFwebp")
    await api.send_contact(mei, "+8613800000000", "Mei")
    await api.send_contact(mei, "+8613900000000", "Friend", own=False)
    await api.send_location(mei, 31.2, 121.5)
    messages = [u.message for u in await bot.get_updates()]
    assert all(isinstance(m, Message) for m in messages)
    doc, video, sticker, own, other, place = (m for m in messages if m is not None)
    assert doc.document is not None and doc.document.file_name == "note.txt"
    assert doc.caption == "see" and video.video is not None and sticker.sticker is not None
    assert own.contact is not None and own.contact.user_id == mei
    assert other.contact is not None and other.contact.user_id is None
    assert place.location is not None and place.location.longitude == 121.5


# -- editing and deleting --------------------------------------------------------------------


async def test_edit_history_and_not_modified(api: LocalBotApi, bot: Bot, mei: int) -> None:
    sent = await bot.send_message(mei, "Step 1", reply_markup=keyboard(("Next", "n")))
    await bot.edit_message_text("Step 2", mei, sent.message_id, reply_markup=keyboard(("Go", "g")))
    await bot.edit_message_reply_markup(mei, sent.message_id)
    record = api.last_message_to(mei)
    assert record is not None
    assert record.text == "Step 2" and record.buttons == []
    assert [(v.text, v.reply_markup is not None) for v in record.edits] == [
        ("Step 1", True),
        ("Step 2", True),
    ]
    not_modified = (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    )
    with refused(api, BadRequest, not_modified):
        await bot.edit_message_text("Step 2", mei, sent.message_id)
    with refused(api, BadRequest, "Bad Request: message to edit not found"):
        await bot.edit_message_text("x", mei, 999)
    mine = await api.send_text(mei, "user text")
    with refused(api, BadRequest, "Bad Request: message can't be edited"):
        await bot.edit_message_text("x", mei, mine["message_id"])


async def test_edit_caption(api: LocalBotApi, bot: Bot, mei: int) -> None:
    photo = await bot.send_photo(mei, png(10, 10), caption="before")
    edited = await bot.edit_message_caption(
        mei, photo.message_id, caption="<i>after</i>", parse_mode="HTML"
    )
    assert isinstance(edited, Message) and edited.caption == "after"
    record = api.last_message_to(mei)
    assert record is not None and [v.caption for v in record.edits] == ["before"]
    with refused(api, BadRequest, "Bad Request: there is no text in the message to edit"):
        await bot.edit_message_text("x", mei, photo.message_id)


async def test_delete_within_48_hours_only(
    api: LocalBotApi, bot: Bot, mei: int, clock: Clock
) -> None:
    first = await bot.send_message(mei, "one")
    second = await bot.send_message(mei, "two")
    assert await bot.delete_message(mei, first.message_id)
    assert [m.deleted for m in api.messages_to(mei)] == [True, False]
    with refused(api, BadRequest, "Bad Request: message to delete not found"):
        await bot.delete_message(mei, first.message_id)
    clock.advance(timedelta(hours=49))
    with refused(api, BadRequest, "Bad Request: message can't be deleted for everyone"):
        await bot.delete_message(mei, second.message_id)


async def test_user_edit_produces_edited_message(api: LocalBotApi, bot: Bot, mei: int) -> None:
    sent = await api.send_text(mei, "typo")
    await api.edit_text(mei, sent["message_id"], "fixed")
    updates = await bot.get_updates()
    edited = updates[-1].edited_message
    assert edited is not None and edited.text == "fixed" and edited.edit_date is not None


# -- blocking ---------------------------------------------------------------------------------


async def test_blocked_user(api: LocalBotApi, bot: Bot, mei: int) -> None:
    await api.block_bot(mei)
    (update,) = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    with refused(api, Forbidden, "Forbidden: bot was blocked by the user"):
        await bot.send_message(mei, "hello?")
    await api.send_text(mei, "/start")
    kinds = [
        u.my_chat_member is not None for u in await bot.get_updates(offset=update.update_id + 1)
    ]
    assert kinds == [True, False]
    assert (await bot.send_message(mei, "welcome back")).text == "welcome back"


# -- faults and flood control ----------------------------------------------------------------


async def test_injected_429_carries_retry_after(api: LocalBotApi, bot: Bot, mei: int) -> None:
    api.inject_fault("sendMessage", kind="429", retry_after=7, times=2)
    for _ in range(2):
        with refused(api, RetryAfter, "Too Many Requests: retry after 7") as info:
            await bot.send_message(mei, "x")
        assert isinstance(info.value, RetryAfter)
        assert info.value.retry_after == timedelta(seconds=7)
    await bot.send_message(mei, "x")
    assert api.calls("sendMessage") == 3
    assert len(api.messages_to(mei)) == 1


async def test_injected_403_and_500(api: LocalBotApi, bot: Bot, mei: int) -> None:
    api.inject_fault(None, kind="403", chat_id=mei)
    api.inject_fault("sendPhoto", kind="500")
    await bot.get_updates(timeout=0)
    with refused(api, Forbidden, "Forbidden: bot was blocked by the user"):
        await bot.send_message(mei, "x")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_photo(mei, png(5, 5))
    assert api.messages_to(mei) == []


async def test_slow_answer_times_out_but_the_message_went_out(
    api: LocalBotApi, bot: Bot, mei: int
) -> None:
    api.inject_fault("sendMessage", kind="slow", delay=1.0)
    with pytest.raises(TimedOut):
        await bot.send_message(mei, "late", read_timeout=0.2)
    assert [m.text for m in api.messages_to(mei)] == ["late"]
    await bot.send_message(mei, "fast", read_timeout=2)


async def test_latency_holds_every_answer_back_after_the_call(
    api: LocalBotApi, bot: Bot, mei: int
) -> None:
    api.set_latency(0.4)
    started = time.monotonic()
    sent = await bot.send_message(mei, "late")
    answered = time.monotonic()
    recorded = api.messages_to(mei)[0].recorded_at
    assert answered - started >= 0.4
    assert recorded - started < 0.3  # the message was there a round trip before the answer
    api.set_latency(0)
    await bot.edit_message_text("on time", chat_id=mei, message_id=sent.message_id)
    assert time.monotonic() - answered < 0.3
    with pytest.raises(ValueError, match="latency"):
        api.set_latency(-1)


async def test_latency_holds_every_answer_back_getupdates_included(
    api: LocalBotApi, bot: Bot, mei: int, http: aiohttp.ClientSession
) -> None:
    status, _ = await raw_call(http, f"{api.control_url}/latency", json={"seconds": 0.3})
    assert status == 200 and api.latency == 0.3
    with pytest.raises(TimedOut):
        await bot.send_message(mei, "late", read_timeout=0.1)
    assert [m.text for m in api.messages_to(mei)] == ["late"]
    await api.send_text(mei, "hello")
    started = time.monotonic()
    updates = await bot.get_updates(timeout=0, read_timeout=2)
    assert [u.message.text for u in updates if u.message] == ["hello"]
    assert time.monotonic() - started >= 0.3
    assert api.pending_updates  # confirmed only by the next call's offset
    api.set_latency(0)
    await bot.send_message(mei, "fast", read_timeout=0.1)


async def test_held_calls_wait_until_admitted_one_by_one(api: LocalBotApi, bot: Bot) -> None:
    api.hold("getMe")
    before = api.calls("getMe")
    first = asyncio.create_task(bot.get_me(read_timeout=5))
    second = asyncio.create_task(bot.get_me(read_timeout=5))
    await api.wait_for(lambda: api.waiting("getMe") == 2, timeout=2, what="two waiting calls")
    assert api.calls("getMe") == before + 2 and not first.done() and not second.done()
    api.admit("getMe")
    done, _ = await asyncio.wait({first, second}, return_when=asyncio.FIRST_COMPLETED)
    assert len(done) == 1 and api.waiting("getMe") == 1
    api.release("getMe")
    await asyncio.wait_for(asyncio.gather(first, second), 2)
    await bot.get_me(read_timeout=2)


async def test_rate_limit_per_chat(api: LocalBotApi, bot: Bot, mei: int) -> None:
    api.add_user(TAO, "Tao", started=True)
    api.set_rate_limit(None, per_chat_per_second=1)
    await bot.send_message(mei, "1")
    with pytest.raises(RetryAfter):
        await bot.send_message(mei, "2")
    await bot.send_message(TAO, "other chat")
    api.set_rate_limit(None, None)
    await bot.send_message(mei, "3")


async def test_rate_limit_overall_is_a_pace_with_short_bursts(
    api: LocalBotApi, bot: Bot, mei: int
) -> None:
    api.add_user(TAO, "Tao", started=True)
    api.set_rate_limit(2, burst=2)
    await bot.send_message(mei, "1")
    await bot.send_message(TAO, "2")  # a burst of two is fine
    with pytest.raises(RetryAfter):
        await bot.send_message(mei, "3")  # a third at once is not
    await asyncio.sleep(0.5)  # the steady pace: 2 a second
    await bot.send_message(TAO, "4")
    assert api.error_counts() == {429: 1} and api.error_counts(mei) == {429: 1}
    assert api.error_counts(TAO) == {}
    api.set_rate_limit(None, None)
    with pytest.raises(ValueError, match="burst"):
        api.set_rate_limit(30, burst=0)


async def test_latency_holds_every_answer_back(api: LocalBotApi, bot: Bot, mei: int) -> None:
    api.set_latency(0.2)
    started = time.monotonic()
    await bot.send_message(mei, "late")
    answered = time.monotonic()
    [message] = api.messages_to(mei)
    assert answered - started >= 0.2
    assert message.recorded_at - started < 0.1  # carried out on arrival
    api.set_latency(0)
    with pytest.raises(ValueError, match="latency"):
        api.set_latency(-1)


# -- commands ---------------------------------------------------------------------------------


async def test_commands_per_scope_and_language(api: LocalBotApi, bot: Bot, mei: int) -> None:
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")])
    await bot.set_my_commands(
        [BotCommand("start", "Start")], scope=BotCommandScopeAllPrivateChats(), language_code="en"
    )
    assert [c["command"] for c in api.commands()] == ["start", "help"]
    private = {"type": "all_private_chats"}
    assert api.commands(private, "en") == [{"command": "start", "description": "Start"}]
    mine = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="en")
    assert [c.description for c in mine] == ["Start"]
    assert [c["description"] for c in api.menu_commands(mei)] == ["开始", "帮助"]
    await bot.set_my_commands([BotCommand("case", "My case")], scope=BotCommandScopeChat(mei))
    assert [c["command"] for c in api.menu_commands(mei)] == ["case"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(mei))
    assert [c["command"] for c in api.menu_commands(mei)] == ["start", "help"]
    with refused(api, BadRequest, "Bad Request: BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


# -- waiting helpers and the HTTP control API -------------------------------------------------


async def test_wait_for_message_reports_what_was_received(
    api: LocalBotApi, bot: Bot, mei: int
) -> None:
    await bot.send_message(mei, "first")
    later = asyncio.create_task(bot.send_message(mei, "second"))
    message = await api.wait_for_message(mei, after=1, timeout=2)
    await later
    assert message.text == "second" and message.index == 1
    with pytest.raises(TimeoutError, match=r"\[0\] #\d+ sendMessage text: 'first'"):
        await api.wait_for_message(mei, after=2, timeout=0.1)


async def test_http_control_api(api: LocalBotApi, bot: Bot, http: aiohttp.ClientSession) -> None:
    control = api.control_url
    status, body = await raw_call(
        http, f"{control}/users", json={"id": TAO, "first_name": "Tao", "language_code": "en"}
    )
    assert (status, body["result"]["first_name"]) == (200, "Tao")
    assert not api.user(TAO).started
    await raw_call(
        http, f"{control}/users", json={"id": STRANGER, "first_name": "S", "started": True}
    )
    assert api.user(STRANGER).started
    status, body = await raw_call(http, f"{control}/users/{TAO}/send", json={"text": "/start"})
    assert body["result"]["entities"][0]["type"] == "bot_command"
    photo = base64.b64encode(png(3, 3)).decode()
    await raw_call(http, f"{control}/users/{TAO}/send", json={"photo": photo, "caption": "c"})
    sent = await bot.send_message(TAO, "menu", reply_markup=keyboard(("A", "a")))
    status, body = await raw_call(
        http,
        f"{control}/users/{TAO}/press",
        json={"message_id": sent.message_id, "callback_data": "a"},
    )
    assert status == 200 and body["result"]["callback_query_id"]
    status, body = await raw_call(
        http,
        f"{control}/users/{TAO}/press",
        json={"message_id": sent.message_id, "callback_data": "z"},
    )
    assert status == 400 and "no button" in body["description"]
    async with http.get(f"{control}/chats/{TAO}/messages") as response:
        messages = (await response.json())["result"]
    assert [m["text"] for m in messages] == ["menu"]
    assert messages[0]["recorded_at"] == api.messages_to(TAO)[0].recorded_at
    await bot.send_message(TAO, "second")
    async with http.get(f"{control}/chats/{TAO}/messages?after=1") as response:
        assert [m["text"] for m in (await response.json())["result"]] == ["second"]
    status, body = await raw_call(http, f"{control}/latency", json={"seconds": 0.01})
    assert (status, api.latency) == (200, 0.01)
    status, body = await raw_call(http, f"{control}/latency", json={"seconds": -1})
    assert status == 400 and api.latency == 0.01
    api.set_latency(0)
    status, body = await raw_call(
        http, f"{control}/faults", json={"method": "sendMessage", "kind": "429", "retry_after": 3}
    )
    assert status == 200
    with pytest.raises(RetryAfter):
        await bot.send_message(TAO, "x")
    status, body = await raw_call(http, f"{control}/faults", json={"kind": "boom"})
    assert status == 400
    status, body = await raw_call(http, f"{control}/users/{TAO}/block", data=b"")
    assert status == 200 and api.user(TAO).blocked
    status, body = await raw_call(http, f"{control}/users", data=b"not json")
    assert status == 400
    types = [next(k for k in u if k != "update_id") for u in api.pending_updates]
    assert types == ["message", "message", "callback_query", "my_chat_member"]


async def test_http_control_api_for_benchmarks(
    api: LocalBotApi, bot: Bot, http: aiohttp.ClientSession
) -> None:
    control = api.control_url
    users = [{"id": u, "first_name": "居民", "started": True} for u in (7001, 7002)]
    status, body = await raw_call(http, f"{control}/users/bulk", json={"users": users})
    assert (status, body["result"]) == (200, 2)
    status, body = await raw_call(http, f"{control}/users/bulk", json={"users": [1]})
    assert status == 400
    await bot.send_message(7001, "讲座 A")  # started: the bot may write at once
    await bot.send_message(7002, "讲座 A")
    await bot.send_message(7002, "其他")
    async with http.get(f"{control}/messages", params={"contains": "讲座"}) as response:
        found = (await response.json())["result"]
    assert sorted(m["chat_id"] for m in found) == [7001, 7002]
    assert all(isinstance(m["recorded_at"], float) for m in found)
    api.inject_fault("sendMessage", kind="429", chat_id=7001)
    with pytest.raises(RetryAfter):
        await bot.send_message(7001, "x")
    async with http.get(f"{control}/errors", params={"chat_id": 7002}) as response:
        assert (await response.json())["result"]["counts"] == {}
    async with http.get(f"{control}/errors") as response:
        errors = (await response.json())["result"]
    assert errors["counts"] == {"429": 1}
    assert errors["recent"][-1]["chat_id"] == 7001
    status, _ = await raw_call(http, f"{control}/latency", json={"seconds": 0.05})
    assert status == 200 and api.latency == 0.05
    status, _ = await raw_call(http, f"{control}/latency", json={})
    assert status == 400
    status, _ = await raw_call(
        http, f"{control}/rate_limit", json={"per_second": 30, "burst": 5, "per_chat_burst": 2}
    )
    assert status == 200 and (api.rate_limiter.burst, api.rate_limiter.per_chat_burst) == (5, 2)


# -- the real PTB Application -----------------------------------------------------------------


async def test_ptb_application_end_to_end(api: LocalBotApi, mei: int) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        args = " ".join(context.args or [])
        await context.bot.send_message(
            update.effective_chat.id, f"Welcome {args}", reply_markup=keyboard(("Help", "help"))
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("On it")
        await update.callback_query.edit_message_text("Helping")

    app = (
        Application.builder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            await api.send_command(mei, "/start ref42")
            welcome = await api.wait_for_message(mei, timeout=5)
            assert welcome.text == "Welcome ref42"
            query_id = await api.press_button(mei, welcome.message_id, "help")
            await api.wait_for(lambda: bool(welcome.edits), timeout=5, what="edit")
            assert welcome.text == "Helping"
            answer = api.callback_answer(query_id)
            assert answer is not None and answer.text == "On it"
        finally:
            await app.updater.stop()
            await app.stop()
