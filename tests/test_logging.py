"""Logging: key=value lines, the token redacted, and no personal data even at DEBUG."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from bot.core.logs import KeyValueFormatter, RedactFilter, setup_logging
from localapi.state import BotMessage
from tests.e2e.driving import arrives, buttons, choose, count, messages, say
from tests.e2e.flows import WELCOME_NAMED, describe_and_confirm, expect_shaped, intake_up_to
from tests.harness import BotUnderTest, Person, make_config, zh

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
TOKEN = "123456789:AAH-SecretTokenForTheLogTest_xyz"


def _exc_info(error: BaseException) -> ExcInfo:
    """The exc_info of `error`, raised and caught."""
    try:
        raise error
    except BaseException as caught:
        return type(caught), caught, caught.__traceback__


def _record(msg: str, *args: Any, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("bot.test", logging.INFO, __file__, 1, msg, args or None, None)
    record.__dict__.update(extra)
    return record


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger and every logger's level back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, logger in logging.root.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(loggers.get(name, logging.NOTSET))


@pytest.fixture
def captured(restore_logging: None) -> io.StringIO:
    """Everything logged at DEBUG and above, through the project's own setup."""
    buf = io.StringIO()
    setup_logging(level="DEBUG", secret=TOKEN, stream=buf)
    return buf


# -- units ------------------------------------------------------------------------------------


def test_formatter_prints_extra_fields_as_key_value() -> None:
    record = _record("update handled", update_id=12, handler="start", case="QJS-2026-0001")
    line = KeyValueFormatter().format(record)
    assert ' INFO bot.test "update handled" ' in line
    assert line.endswith("case=QJS-2026-0001 handler=start update_id=12")


def test_formatter_quotes_values_with_spaces_and_empty_values() -> None:
    line = KeyValueFormatter().format(_record("x", mode="two words", empty=""))
    assert 'mode="two words"' in line
    assert 'empty=""' in line
    assert " x " in line


def test_formatter_keeps_one_event_on_one_line() -> None:
    line = KeyValueFormatter().format(_record("two\nlines", reason='say "hi"\nthen=go'))
    assert "\n" not in line
    assert '"two\\nlines"' in line
    assert 'reason="say \\"hi\\"\\nthen=go"' in line


def test_formatter_appends_the_traceback() -> None:
    record = _record("it failed")
    record.exc_info = _exc_info(ValueError("boom"))
    line = KeyValueFormatter().format(record)
    assert line.splitlines()[0].endswith('"it failed"')
    assert "ValueError: boom" in line


def test_redact_filter_replaces_the_token_in_the_message() -> None:
    record = _record(f"POST https://api.telegram.org/bot{TOKEN}/getMe")
    assert RedactFilter(TOKEN).filter(record)
    assert record.getMessage() == "POST https://api.telegram.org/bot<token>/getMe"


def test_redact_filter_replaces_the_token_in_the_args() -> None:
    record = _record("HTTP Request: %s %s", "POST", f"https://x/bot{TOKEN}/getUpdates")
    assert RedactFilter(TOKEN).filter(record)
    assert TOKEN not in record.getMessage()
    assert record.getMessage() == "HTTP Request: POST https://x/bot<token>/getUpdates"


def test_redact_filter_without_a_secret_changes_nothing() -> None:
    record = _record("hello %s", "world")
    assert RedactFilter("").filter(record)
    assert record.getMessage() == "hello world"
    assert record.args == ("world",)


def test_redact_filter_replaces_the_token_in_extra_fields_and_tracebacks() -> None:
    record = _record("call failed", url=f"https://x/bot{TOKEN}/getMe")
    record.exc_info = _exc_info(RuntimeError(f"The token `{TOKEN}` was rejected by the server."))
    assert RedactFilter(TOKEN).filter(record)
    line = KeyValueFormatter().format(record)
    assert TOKEN not in line
    assert "url=https://x/bot<token>/getMe" in line
    assert "The token `<token>` was rejected" in line


def test_setup_logging_writes_key_value_lines_and_quietens_httpx(captured: io.StringIO) -> None:
    logging.getLogger("httpx").info("HTTP Request: POST https://x/bot%s/getMe", TOKEN)
    logging.getLogger("bot.test").info("bot running", extra={"mode": "playground"})
    logging.getLogger("bot.test").warning("secret %s", TOKEN)
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("telegram.ext.ExtBot").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("aiosqlite").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("bot.test").getEffectiveLevel() == logging.DEBUG
    lines = captured.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith('bot.test "bot running" mode=playground')
    assert lines[1].endswith('bot.test "secret <token>"')


# -- privacy: a whole intake at DEBUG --------------------------------------------------------

DESCRIPTION = "SECRET-DESCRIPTION-丈夫喝酒"
RESIDENT_ID = 7777001
ROSTER = [
    {"area": "dongsheng", "weekday": "monday", "start": "09:00", "end": "12:00", "mediator": 2001}
]


async def _join_as_mediator(bot: BotUnderTest) -> Person:
    """Staff 900 invites mediator 2001 of 东升社区, who joins as 王大姐."""
    staff = bot.person(900, "Staff")
    mediator = bot.person(2001, "真名2001")
    await staff.send("/invite")
    await staff.expect(zh("Whom do you want to invite?"))
    await staff.press("调解员 · 东升社区")
    link = await expect_shaped(
        staff, "Send this link to the person you invite. It works once, until {time}:\n{link}"
    )
    payload = link.content.split("start=", 1)[1].split()[0]
    await mediator.send(f"/start {payload}")
    await mediator.expect()
    await mediator.send("王大姐")
    await mediator.expect(zh(WELCOME_NAMED, name="王大姐"))
    return mediator


async def _intake(resident: Person) -> str:
    """A whole Chinese intake with DESCRIPTION; returns the case number."""
    await intake_up_to(resident, "description", category="婚姻家庭")
    return await describe_and_confirm(resident, text=DESCRIPTION)


async def test_a_whole_intake_at_debug_logs_no_personal_data(
    tmp_path: Path, captured: io.StringIO
) -> None:
    config = make_config(tmp_path, {"roster": ROSTER})
    bot = BotUnderTest(config)
    bot.api.token = TOKEN  # a real-looking token, so that a leak would be visible
    async with bot:
        mediator = await _join_as_mediator(bot)
        resident = bot.person(
            RESIDENT_ID, "秀英", last_name="张", username="zhangxy_secret", language_code="zh-hans"
        )
        number = await _intake(resident)
        card = await mediator.expect(zh("New case {number}", number=number))
        assert DESCRIPTION in card.content  # the mediator does get it: only the log must not
    log = captured.getvalue()
    assert "migration applied" in log, "nothing was captured: the test would prove nothing"
    leaks = [
        secret
        for secret in (DESCRIPTION, "丈夫喝酒", "秀英", "zhangxy_secret", str(RESIDENT_ID), TOKEN)
        if secret in log
    ]
    offending = [line for line in log.splitlines() if any(s in line for s in leaks)]
    assert not leaks, f"the log leaks {leaks}:\n" + "\n".join(offending[:5])


# -- privacy: a whole case, from intake to erasure, at DEBUG ---------------------------------

FIRST, LAST, USERNAME = "秀英", "欧阳", "ouyang_xiuying_secret"
PHONE = "13987654321"
SAID = {
    "description": "SECRET-DESCRIPTION-婆婆天天骂我",
    "to the mediator": "SECRET-RELAY-他昨天又喝醉了",
    "to the resident": "SECRET-ANSWER-我们周四上门",
    "agreement": "SECRET-AGREEMENT-每周回娘家一次",
    "survey comment": "SECRET-COMMENT-王大姐很耐心",
}


def _with_button(prefix: str) -> Callable[[BotMessage], bool]:
    return lambda message: any(data.startswith(prefix) for data in buttons(message))


async def _whole_case(bot: BotUnderTest, resident: Person, mediator: Person) -> None:
    """Intake with a shared phone number, acceptance, both ways of the relay, a settlement,
    the revisit and the survey a day later (the clock moved), /mydata and /forget."""
    await say(resident, "找大阿嫂")
    for data in ("in:consent:yes", "in:area:dongsheng", "in:category:family", "in:sensitive:yes"):
        await choose(resident, data)
    await say(resident, SAID["description"])
    await choose(resident, "in:describe:done")
    await choose(resident, "in:contact:phone")
    await bot.api.send_contact(resident.id, PHONE, FIRST, last_name=LAST)
    await choose(resident, "in:summary:confirm")
    card = await arrives(mediator, _with_button("of:"), 0, what="the offer")
    await choose(mediator, buttons(card)[0])  # accept
    book = await say(mediator, "/book")  # the registration book shows the shared number
    assert any(m.data and PHONE.encode() in m.data for m in book)
    await say(resident, SAID["to the mediator"])
    await arrives(mediator, lambda m: SAID["to the mediator"] in m.content, 0, what="relay")
    await say(mediator, SAID["to the resident"])
    await arrives(resident, lambda m: SAID["to the resident"] in m.content, 0, what="relay")
    answered = await say(mediator, "/close")  # her quiet "→ case" line may come first
    close = next(d for m in answered for d in buttons(m) if d.startswith("cl:"))
    case_id = close.split(":")[1]
    await choose(mediator, f"cl:{case_id}:settled")
    await choose(mediator, f"af:{case_id}:oral")
    await say(mediator, SAID["agreement"])
    await choose(mediator, f"cf:{case_id}:ok")
    since = {mediator.id: count(mediator), resident.id: count(resident)}
    bot.clock.advance(timedelta(days=1, minutes=30))
    card = await arrives(mediator, _with_button("rv:"), since[mediator.id], what="the revisit")
    await choose(mediator, buttons(card)[0])  # holding
    survey = await arrives(resident, _with_button("sv:"), since[resident.id], what="the survey")
    await choose(resident, buttons(survey)[3])  # four stars
    await choose(resident, next(d for d in buttons(messages(resident)[-1]) if d.endswith("yes")))
    await say(resident, SAID["survey comment"])
    exported = await say(resident, "/mydata")
    assert any(m.data and SAID["description"].encode() in m.data for m in exported)
    await say(resident, "/forget")
    await choose(resident, "pv:forget-yes")


async def test_a_whole_case_at_debug_logs_no_personal_data(
    tmp_path: Path, captured: io.StringIO
) -> None:
    overrides = {"roster": ROSTER, "revisits": {"offsets_days": [1], "survey_after_days": 1}}
    bot = BotUnderTest(make_config(tmp_path, overrides))
    bot.api.token = TOKEN
    async with bot:
        mediator = await _join_as_mediator(bot)
        resident = bot.person(
            RESIDENT_ID, FIRST, last_name=LAST, username=USERNAME, language_code="zh-hans"
        )
        await _whole_case(bot, resident, mediator)
    log = captured.getvalue()
    assert " DEBUG " in log and "migration applied" in log, "the capture would prove nothing"
    secrets = [*SAID.values(), FIRST, LAST, USERNAME, PHONE, str(RESIDENT_ID), "真名2001", TOKEN]
    leaks = [secret for secret in secrets if secret in log]
    offending = [line for line in log.splitlines() if any(s in line for s in leaks)]
    assert not leaks, f"the log leaks {leaks}:\n" + "\n".join(offending[:5])


# -- privacy: what libraries log, at every level ---------------------------------------------

SECRET = "SECRET-秀英-zhangxy_secret"
LIBRARY_LOGGERS = (
    "telegram.ext.Application",
    "telegram.request",
    "telegram.ext.ExtBot",
    "httpx",
    "httpcore.http11",
    "aiohttp.server",
    "asyncio",
    "root",
)


@pytest.mark.parametrize("name", LIBRARY_LOGGERS)
@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
def test_library_records_carry_no_personal_data_at_any_level(
    captured: io.StringIO, name: str, level: int
) -> None:
    """Whatever a library's record quotes (an update, a request body, an exception's text),
    only its format string, numbers and the exception's type and frames reach the log."""
    logger = logging.getLogger() if name == "root" else logging.getLogger(name)
    logger.setLevel(logging.DEBUG)  # as if a ceiling had been lifted: the filter still holds
    update = {"message": {"from": {"username": SECRET}, "text": SECRET}}
    logger.log(level, "Received data was %r, retrying in %s s", update, 2.5)
    logger.log(level, "failed", exc_info=_exc_info(ValueError(f"bad value {SECRET}")))
    logger.log(level, ValueError(SECRET))  # not a format string at all
    logger.log(level, f"Task exception was never retrieved\nfuture: <Task exception={SECRET!r}>")
    logger.log(level, "%s logged in", SECRET, extra={"chat": SECRET})
    log = captured.getvalue()
    assert SECRET not in log and "秀英" not in log, log
    assert "Received data was" in log and "retrying in 2.5 s" in log
    assert "ValueError" in log and "Task exception was never retrieved" in log


def test_our_own_records_keep_their_fields(captured: io.StringIO) -> None:
    logging.getLogger("bot.features.relay").info("case handled", extra={"case": "QJS-2026-0001"})
    logging.getLogger("handlers.feed").warning("update %s skipped", 12)
    lines = captured.getvalue().splitlines()
    assert lines[0].endswith('"case handled" case=QJS-2026-0001')
    assert lines[1].endswith('"update 12 skipped"')


def test_an_invalid_bot_api_answer_is_not_quoted_in_the_log(captured: io.StringIO) -> None:
    """python-telegram-bot logs the whole body of an answer it cannot parse, at ERROR: a
    getUpdates answer cut short carries people's messages."""
    from telegram.error import TelegramError
    from telegram.request import BaseRequest

    body = json.dumps({"ok": True, "result": [{"message": {"text": SECRET}}]})[:-3]
    with pytest.raises(TelegramError):
        BaseRequest.parse_json_payload(body.encode())
    log = captured.getvalue()
    assert "Can not load invalid JSON data" in log
    assert SECRET not in log and "秀英" not in log, log


UNREADABLE = (  # updates python-telegram-bot cannot turn into objects
    {"text": SECRET, "entities": SECRET},  # AttributeError
    {"text": SECRET, "date": 10**20},  # OverflowError
    {"text": SECRET, "date": SECRET},  # TypeError
)


async def test_an_update_the_library_cannot_read_is_skipped_and_not_logged(
    tmp_path: Path, captured: io.StringIO
) -> None:
    bot = BotUnderTest(make_config(tmp_path))
    bot.api.token = TOKEN
    async with bot:
        person = bot.person(RESIDENT_ID, "秀英", username="zhangxy_secret")
        await person.send("/help")
        await person.expect()
        world = bot.api.world
        chat = world.chat(RESIDENT_ID)
        assert chat is not None and bot.app is not None
        ids = []
        for fields in UNREADABLE:
            message = world.new_message(chat, chat.user.to_dict(), {"text": "x"})
            ids.append(world.push_update("message", {**message, **fields})["update_id"])
        await person.send("/help")  # handled after them: the feed went on
        await person.expect()
        db = bot.app.bot_data.services.db
        marks = ",".join("?" * len(ids))
        for _ in range(100):
            row = await db.fetch_one(
                f"SELECT count(*) FROM inbox WHERE update_id IN ({marks}) AND handled_at IS NULL",
                ids,
            )
            if row is not None and row[0] == 0:
                break
            await asyncio.sleep(0.02)
        assert row is not None and row[0] == 0, "an unreadable update was never marked handled"
    log = captured.getvalue()
    assert log.count("update skipped: it could not be read") == len(UNREADABLE), log
    leaks = [s for s in (SECRET, "秀英", "zhangxy_secret", str(RESIDENT_ID)) if s in log]
    assert not leaks, f"the log leaks {leaks}"
