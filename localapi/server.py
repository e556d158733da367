"""A local Telegram Bot API server on aiohttp, for end-to-end tests and the playground.

It speaks the real wire format of https://core.telegram.org/bots/api for the subset of methods
the bot uses, so the unmodified python-telegram-bot works against it::

    api = LocalBotApi()
    await api.start()                      # 127.0.0.1, a free port
    bot = Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url)
    api.add_user(42, "Mei", language_code="zh-hans")
    await api.send_text(42, "/start")      # the bot's getUpdates now returns this message
    reply = await api.wait_for_message(42, after=0, timeout=5)
    await api.stop()

``LocalBotApi(latency=0.15)`` (or ``set_latency``) holds every answer back that long after
carrying the call out, as Telegram's network would: a bot that makes two calls one after the
other pays two round trips, and a long poll hands over its updates one round trip late.
``python -m localapi`` runs it on its own, in a process of its own, as Telegram is.

Bot API (``/bot<token>/<method>``, method names case-insensitive; query string, url-encoded,
JSON and multipart bodies): getMe, logOut, close, setWebhook (recorded, never called),
deleteWebhook, getWebhookInfo, getUpdates, sendMessage, copyMessage, forwardMessage,
editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage,
answerCallbackQuery, sendPhoto, sendDocument, sendVoice, sendVideo, sendAudio, sendSticker,
sendLocation, sendContact, sendChatAction, getFile, setMyCommands, getMyCommands,
deleteMyCommands, setMyName, getMyName, setMyDescription, getMyDescription,
setMyShortDescription, getMyShortDescription, setChatMenuButton, getChatMenuButton, getChat.
Files download from ``/file/bot<token>/<file_path>``.  A wrong token answers 401 Unauthorized
(404 Not Found if it is not even shaped like a token); an unknown method 404 Not Found.

Users are simulated through the Python control API (``add_user``, ``send_text``,
``press_button``, ``block_bot``, ...; see :class:`LocalBotApi`) or the HTTP control API, JSON
in and ``{"ok": true, "result": ...}`` out (see :mod:`localapi.control`):

    POST /control/users                      {"id", "first_name", "last_name", "username",
                                              "language_code", "started"}
    POST /control/users/bulk                 {"users": [{...as above}, ...]}
    GET  /control/users
    POST /control/users/{id}/send            {"text"} | {"photo"|"voice"|"video"|"sticker": b64}
                                             | {"document": b64, "file_name"} | {"contact": {
                                             "phone_number", "first_name", "own"}} |
                                             {"location": {"latitude", "longitude"}};
                                             optional "caption", "reply_to"
    POST /control/users/{id}/press           {"message_id", "callback_data"}
    POST /control/users/{id}/edit            {"message_id", "text"}
    POST /control/users/{id}/block           (and /unblock)
    GET  /control/chats/{id}/messages        what the bot sent, with edit history;
                                             ?after=<index>: only from that index on
    GET  /control/chats/{id}/transcript      every visible message of the chat
    GET  /control/messages?contains=<text>   every bot message with that text, any chat:
                                             chat_id, message_id, recorded_at
    GET  /control/callback_queries/{id}      the bot's answer to a button press
    GET  /control/commands                   ?scope=<json>&language_code= or ?user_id=
    POST /control/faults                     {"method", "kind", "times", "retry_after",
                                              "delay", "chat_id"}
    POST /control/rate_limit                 {"per_second", "per_chat_per_second",
                                              "burst", "per_chat_burst"}
    POST /control/latency                    {"seconds"}: every answer takes this long
    GET  /control/calls                      Bot API call counters
    GET  /control/errors                     error answers so far, counted by status
                                             (?chat_id=N: of calls for that chat)

Only in Python: ``hold``/``admit``/``release`` keep one method's calls waiting until the
test lets them in (say, the next bot process's getMe, while the current one still runs).

The server binds to loopback only: the control API lets anyone act as any user.
``python -m localapi`` runs it on its own, in a process of its own, as Telegram is.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
import json
import math
import mimetypes
import re
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web

from localapi.control import add_control_routes
from localapi.formatting import utf16_len
from localapi.methods import BLOCKED, BotApiMethods, menu_commands, parse_chat_id, scope_key
from localapi.state import (
    BotIdentity,
    BotMessage,
    CallbackQueryRecord,
    ChatState,
    ControlError,
    JSONDict,
    User,
    World,
    utc_now,
)
from localapi.wire import (
    MAX_BODY_BYTES,
    ApiError,
    Params,
    read_params,
    too_many_requests,
)

FaultKind = Literal["429", "403", "500", "slow"]
FAULT_KINDS: tuple[str, ...] = ("429", "403", "500", "slow")
_TOKEN_SHAPE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
_COMMAND_TOKEN = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,})?")
_RATE_LIMITED = re.compile(r"(send(?!chataction).*|copymessage|forwardmessage|editmessage.*)")


@dataclass
class Fault:
    """A failure to inject into the next matching Bot API calls."""

    method: str | None
    kind: FaultKind
    remaining: int
    retry_after: int
    delay: float
    chat_id: int | None

    def matches(self, method: str, chat_id: int | None) -> bool:
        """Whether this fault applies to a call (``method=None``: all but getUpdates)."""
        if self.method is None and method == "getupdates":
            return False
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or self.chat_id == chat_id


@dataclass(frozen=True)
class ApiCallError:
    """An error answer the server gave the bot (kept for test diagnostics)."""

    method: str
    status: int
    description: str
    chat_id: int | None = None


class RateLimiter:
    """Emulates Telegram's flood limits: a steady rate overall and per chat, short bursts
    allowed (Telegram's own FAQ words: "30 messages per second or so", and per chat "we may
    allow short bursts").

    Each limit is a token bucket in its GCRA form: with ``interval = 1 / rate``, a call is
    refused when it comes more than ``burst - 1`` intervals ahead of the steady pace. Over
    any stretch of time no more than ``rate`` a second get through (plus the one burst), yet
    a send that arrives a little early (network jitter) is not refused for it. Refused calls
    do not count.
    """

    def __init__(self) -> None:
        self.per_second: float | None = None
        self.per_chat_per_second: float | None = None
        self.burst = 1
        self.per_chat_burst = 1
        self._overall = -math.inf  # when the next call is due at the steady pace
        self._chats: dict[int, float] = {}

    def configure(
        self,
        per_second: float | None,
        per_chat_per_second: float | None,
        *,
        burst: int = 1,
        per_chat_burst: int = 1,
    ) -> None:
        """Set the limits (None = unlimited) and forget past calls."""
        if burst < 1 or per_chat_burst < 1:
            raise ValueError("a burst is at least 1 call")
        self.per_second, self.per_chat_per_second = per_second, per_chat_per_second
        self.burst, self.per_chat_burst = burst, per_chat_burst
        self._overall = -math.inf
        self._chats.clear()

    def check(self, chat_id: int | None, now: float) -> int | None:
        """Record a call at ``now``; return retry_after seconds if it exceeds a limit."""
        wait = self._wait(self._overall, self.per_second, self.burst, now)
        if chat_id is not None:
            due = self._chats.get(chat_id, -math.inf)
            wait = max(wait, self._wait(due, self.per_chat_per_second, self.per_chat_burst, now))
        if wait > 0:
            return max(1, math.ceil(wait))  # Telegram says whole seconds
        if self.per_second:
            self._overall = max(self._overall, now) + 1 / self.per_second
        if chat_id is not None and self.per_chat_per_second:
            due = self._chats.get(chat_id, -math.inf)
            self._chats[chat_id] = max(due, now) + 1 / self.per_chat_per_second
        return None

    @staticmethod
    def _wait(due: float, rate: float | None, burst: int, now: float) -> float:
        """Seconds until a call would be within the burst allowance (0 if it is now)."""
        if not rate:
            return 0.0
        return max(0.0, due - (burst - 1) / rate - now)


def _json_response(body: Any, status: int = 200) -> web.Response:
    """A JSON response, serialised now (later edits cannot change it)."""
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def _user_text(text: str, entities: list[JSONDict] | None) -> JSONDict:
    """Content of a user's text message; a leading ``/command`` gets its bot_command entity."""
    if not text.strip():
        raise ControlError("a message text must not be empty")
    found = list(entities or [])
    token = text.split(maxsplit=1)[0] if text.startswith("/") else ""
    has_command = any(e.get("type") == "bot_command" and e.get("offset") == 0 for e in found)
    if token and _COMMAND_TOKEN.fullmatch(token) and not has_command:
        found.insert(0, {"type": "bot_command", "offset": 0, "length": utf16_len(token)})
    content: JSONDict = {"text": text}
    if found:
        content["entities"] = found
    return content


class LocalBotApi:
    """The local Bot API server plus the control API that plays the users."""

    def __init__(
        self,
        *,
        token: str = "0:local",
        bot_id: int = 1000000,
        bot_username: str = "daasao_bot",
        bot_first_name: str = "Da'asao",
        now: Callable[[], datetime] | None = None,
        latency: float = 0.0,
    ) -> None:
        self.token = token
        self.latency = 0.0  # seconds every Bot API answer is held back (a round trip)
        self.set_latency(latency)
        self.world = World(BotIdentity(bot_id, bot_username, bot_first_name), now or utc_now)
        self.methods = BotApiMethods(self.world)
        self.rate_limiter = RateLimiter()
        self._faults: list[Fault] = []
        self._admissions: dict[str, int] = {}  # held method -> calls it may let in (hold)
        self._waiting: Counter[str] = Counter()  # calls of a held method waiting now
        self._calls: Counter[str] = Counter()
        self._errors: deque[ApiCallError] = deque(maxlen=200)
        self._error_counts: Counter[tuple[int, int | None]] = Counter()  # (status, chat)
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None
        self._stopping: asyncio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on a loopback ``host``; ``port=0`` picks a free port."""
        if self._runner is not None:
            raise RuntimeError("the local Bot API is already running")
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the local Bot API only listens on loopback, not {host!r}")
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_endpoint)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._file_endpoint)
        add_control_routes(app, self)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner, self._host = runner, host
        self._port = int(runner.addresses[0][1])
        self._stopping = asyncio.Event()
        self.methods.closing = False

    async def stop(self) -> None:
        """End long polls and delayed answers, then close the server."""
        if self._runner is None:
            return
        self.methods.closing = True
        if self._stopping is not None:
            self._stopping.set()
        self.world.signal.notify()
        runner, self._runner, self._port = self._runner, None, None
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start on a free loopback port."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            raise RuntimeError("the local Bot API is not running; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """``base_url`` for telegram.Bot (PTB appends the token)."""
        return f"http://{self._host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """``base_file_url`` for telegram.Bot."""
        return f"http://{self._host}:{self.port}/file/bot"

    @property
    def control_url(self) -> str:
        """Root of the HTTP control API."""
        return f"http://{self._host}:{self.port}/control"

    # -- HTTP endpoints ----------------------------------------------------------------------

    def _token_error(self, token: str) -> ApiError | None:
        """The error Telegram gives for a wrong token, or None if it is ours."""
        if token == self.token:
            return None
        if _TOKEN_SHAPE.fullmatch(token):
            return ApiError(401, "Unauthorized")
        return ApiError(404, "Not Found")

    async def _bot_endpoint(self, request: web.Request) -> web.Response:
        """``/bot<token>/<method>``: the answer, one round trip late (and later if faulted)."""
        response, delay = await self._bot_answer(request)
        if delay + self.latency > 0:
            await self._pause(delay + self.latency)
        return response

    async def _bot_answer(self, request: web.Request) -> tuple[web.Response, float]:
        """Faults, flood limits, then the method; the answer and a fault's extra delay."""
        token_error = self._token_error(request.match_info["token"])
        if token_error is not None:
            return _json_response(token_error.payload(), token_error.status), 0.0
        name = request.match_info["method"].lower()
        self._calls[name] += 1
        self.world.signal.notify()
        method = self.methods.table.get(name)
        if method is None:
            return _json_response(ApiError(404, "Not Found").payload(), 404), 0.0
        if name in self._admissions:
            await self._admitted(name)
        delay = 0.0  # a fault's extra delay; the round trip comes on top (_bot_endpoint)
        chat_id = None
        try:
            params = await read_params(request)
            chat_id = parse_chat_id(params.raw("chat_id"))
            delay += self._apply_faults(name, params)
            self._check_rate(name, params)
            response = _json_response({"ok": True, "result": await method(params)})
        except ApiError as error:
            self._errors.append(ApiCallError(name, error.status, error.description, chat_id))
            self._error_counts[error.status, chat_id] += 1
            response = _json_response(error.payload(), error.status)
        else:
            self.world.signal.notify()
        return response, delay

    async def _file_endpoint(self, request: web.Request) -> web.Response:
        """``/file/bot<token>/<file_path>``: the bytes of a stored file, a round trip late."""
        response = self._file_answer(request)
        if self.latency > 0:
            await self._pause(self.latency)
        return response

    def _file_answer(self, request: web.Request) -> web.Response:
        """The bytes of a stored file, or Telegram's error."""
        error = self._token_error(request.match_info["token"])
        stored = self.world.files_by_path.get(request.match_info["file_path"])
        if error is None and stored is None:
            error = ApiError(404, "Not Found")
        if error is not None or stored is None:
            error = error or ApiError(404, "Not Found")
            return _json_response(error.payload(), error.status)
        content_type = stored.mime_type or mimetypes.guess_type(stored.file_path)[0]
        return web.Response(
            body=stored.data, content_type=content_type or "application/octet-stream"
        )

    async def _pause(self, delay: float) -> None:
        """Sleep ``delay`` seconds unless the server stops first."""
        if self._stopping is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)

    # -- faults and flood limits -------------------------------------------------------------

    def inject_fault(
        self,
        method: str | None,
        *,
        kind: FaultKind,
        times: int = 1,
        retry_after: int = 1,
        delay: float = 0.5,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` matching calls fail.

        ``method`` None matches every method except getUpdates (name it explicitly to fault
        polling). Kinds: ``"429"`` Too Many Requests with ``retry_after``; ``"403"`` bot was
        blocked; ``"500"`` Internal Server Error; ``"slow"``: the call is carried out, then its
        answer is held back ``delay`` seconds, so a client that times out cannot tell that it
        succeeded, as with a congested Telegram.  ``chat_id`` restricts it to calls for that
        chat.  Faulted calls count in :meth:`calls`.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        if times < 1:
            raise ValueError("times must be at least 1")
        name = method.lower() if method is not None else None
        self._faults.append(Fault(name, kind, times, retry_after, delay, chat_id))

    def set_latency(self, seconds: float) -> None:
        """Hold every later Bot API answer back ``seconds`` (Telegram's round trip is
        ~0.1-0.2 s): the call is carried out when it arrives, as if the way there took no
        time and the way back all of it."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"latency must be 0 or more seconds, not {seconds}")
        self.latency = seconds

    def clear_faults(self) -> None:
        """Forget every injected fault that has not fired yet."""
        self._faults.clear()

    def set_rate_limit(
        self,
        per_second: float | None,
        per_chat_per_second: float | None = None,
        *,
        burst: int = 1,
        per_chat_burst: int = 1,
    ) -> None:
        """Answer 429 with retry_after when sends/edits exceed these rates (None: no limit);
        ``burst`` calls may come at once before the pace applies (see :class:`RateLimiter`).

        Telegram's limits are about 30 messages per second overall and 1 per second per chat.
        """
        self.rate_limiter.configure(
            per_second, per_chat_per_second, burst=burst, per_chat_burst=per_chat_burst
        )

    def hold(self, method: str) -> None:
        """Keep calls of ``method`` waiting, unanswered and not carried out, until
        :meth:`admit` lets them in one by one (or :meth:`release` all); they count in
        :meth:`calls` when they arrive, in :meth:`waiting` while they wait.
        """
        self._admissions.setdefault(method.lower(), 0)

    def admit(self, method: str, calls: int = 1) -> None:
        """Let ``calls`` calls of a held method in: waiting ones first, then the next ones."""
        name = method.lower()
        if name not in self._admissions:
            raise ValueError(f"{method} is not held")
        self._admissions[name] += calls
        self.world.signal.notify()

    def release(self, method: str) -> None:
        """Stop holding ``method``: every waiting and later call goes in."""
        self._admissions.pop(method.lower(), None)
        self.world.signal.notify()

    def waiting(self, method: str) -> int:
        """Calls of a held method waiting to be let in now."""
        return self._waiting[method.lower()]

    async def _admitted(self, name: str) -> None:
        """Wait until a held call may go in (or the method is released, or the server stops)."""

        def may_enter() -> bool:
            return self.methods.closing or self._admissions.get(name, 1) > 0

        self._waiting[name] += 1
        self.world.signal.notify()
        try:
            while not await self.world.signal.wait_for(may_enter, 60.0):
                pass
        finally:
            self._waiting[name] -= 1
        if self._admissions.get(name, 0) > 0:
            self._admissions[name] -= 1

    def _apply_faults(self, method: str, params: Params) -> float:
        """Fire the first matching fault: raise its error or return its delay."""
        chat_id = parse_chat_id(params.raw("chat_id"))
        for fault in self._faults:
            if not fault.matches(method, chat_id):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            if fault.kind == "429":
                raise too_many_requests(fault.retry_after)
            if fault.kind == "403":
                raise ApiError(403, BLOCKED)
            if fault.kind == "500":
                raise ApiError(500, "Internal Server Error")
            return fault.delay
        return 0.0

    def _check_rate(self, method: str, params: Params) -> None:
        """Apply the flood-limit emulation to sends and edits."""
        if not _RATE_LIMITED.fullmatch(method):
            return
        chat_id = parse_chat_id(params.raw("chat_id"))
        retry_after = self.rate_limiter.check(chat_id, time.monotonic())
        if retry_after is not None:
            raise too_many_requests(retry_after)

    # -- control API: users ------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        *,
        started: bool = False,
    ) -> User:
        """Register a user.  The bot can write to them once they sent anything (or started)."""
        user = User(user_id, first_name, last_name, username, language_code, started=started)
        return self.world.add_user(user)

    def user(self, user_id: int) -> User:
        """Return a registered user."""
        return self.world.user(user_id)

    def _chat_of(self, user_id: int) -> ChatState:
        """The private chat of a registered user."""
        self.world.user(user_id)
        return self.world.chats[user_id]

    def _user_sends(self, user_id: int, content: JSONDict, reply_to: int | None) -> JSONDict:
        """A user sends a message; the bot gets a ``message`` update."""
        chat = self._chat_of(user_id)
        replied = None
        if reply_to is not None:
            replied = chat.visible(reply_to)
            if replied is None:
                raise ControlError(f"message {reply_to} not found in chat {user_id}")
        if chat.user.blocked:
            self._set_blocked(chat, blocked=False)
        chat.user.started = True
        message = self.world.new_message(chat, chat.user.to_dict(), content, replied)
        if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None
        self.world.push_update("message", message)
        return copy.deepcopy(message)

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        entities: list[JSONDict] | None = None,
    ) -> JSONDict:
        """The user sends a text; ``/command ...`` gets its bot_command entity.

        A user who had blocked the bot unblocks it first, as Telegram's "Restart" does.
        """
        return self._user_sends(user_id, _user_text(text, entities), reply_to)

    async def send_content(
        self, user_id: int, content: JSONDict, *, reply_to: int | None = None
    ) -> JSONDict:
        """The user sends a message with exactly these fields (``text``/``entities``, a medium
        with ``caption_entities``, ``forward_origin``, a ``contact`` with any ``user_id``…),
        as any client could: for tests of what the bot passes on. Media must be stored
        files (``world.store_file``)."""
        return self._user_sends(user_id, copy.deepcopy(content), reply_to)

    async def send_command(self, user_id: int, command: str) -> JSONDict:
        """The user sends a command such as ``"/start payload"``."""
        if not command.startswith("/"):
            raise ControlError(f"a command starts with '/': {command!r}")
        return await self.send_text(user_id, command)

    def _media_content(self, kind: str, media: Any, caption: str | None) -> JSONDict:
        """Content of a user's media message."""
        content: JSONDict = {kind: media}
        if caption:
            content["caption"] = caption
        return content

    async def send_photo(
        self, user_id: int, data: bytes, caption: str | None = None, *, reply_to: int | None = None
    ) -> JSONDict:
        """The user sends a photo (stored in several sizes, as Telegram does)."""
        self._chat_of(user_id)
        sizes = [f.to_dict() for f in self.world.store_photo(data)]
        return self._user_sends(user_id, self._media_content("photo", sizes, caption), reply_to)

    async def send_voice(
        self, user_id: int, data: bytes, *, duration: int = 1, reply_to: int | None = None
    ) -> JSONDict:
        """The user sends a voice note."""
        self._chat_of(user_id)
        stored = self.world.store_file("voice", data, mime_type="audio/ogg", duration=duration)
        content = self._media_content("voice", stored.to_dict(), None)
        return self._user_sends(user_id, content, reply_to)

    async def send_video(
        self,
        user_id: int,
        data: bytes,
        caption: str | None = None,
        *,
        duration: int = 1,
        width: int = 640,
        height: int = 360,
        reply_to: int | None = None,
    ) -> JSONDict:
        """The user sends a video."""
        self._chat_of(user_id)
        stored = self.world.store_file(
            "video", data, mime_type="video/mp4", width=width, height=height, duration=duration
        )
        content = self._media_content("video", stored.to_dict(), caption)
        return self._user_sends(user_id, content, reply_to)

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        caption: str | None = None,
        *,
        mime_type: str | None = None,
        reply_to: int | None = None,
    ) -> JSONDict:
        """The user sends a file."""
        self._chat_of(user_id)
        mime = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self.world.store_file("document", data, file_name=file_name, mime_type=mime)
        content = self._media_content("document", stored.to_dict(), caption)
        return self._user_sends(user_id, content, reply_to)

    async def send_sticker(
        self, user_id: int, data: bytes, *, emoji: str = "🙂", reply_to: int | None = None
    ) -> JSONDict:
        """The user sends a sticker."""
        self._chat_of(user_id)
        extra = {"is_animated": False, "is_video": False, "type": "regular", "emoji": emoji}
        stored = self.world.store_file("sticker", data, width=512, height=512, extra=extra)
        content = self._media_content("sticker", stored.to_dict(), None)
        return self._user_sends(user_id, content, reply_to)

    async def send_contact(
        self,
        user_id: int,
        phone_number: str,
        first_name: str,
        *,
        own: bool = True,
        last_name: str | None = None,
    ) -> JSONDict:
        """The user shares a contact; ``own=True`` is "share my phone number" (user_id set)."""
        contact: JSONDict = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if own:
            contact["user_id"] = user_id
        return self._user_sends(user_id, {"contact": contact}, None)

    async def send_location(self, user_id: int, latitude: float, longitude: float) -> JSONDict:
        """The user shares a location."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_sends(user_id, {"location": location}, None)

    async def edit_text(self, user_id: int, message_id: int, new_text: str) -> JSONDict:
        """The user edits one of their text messages; the bot gets ``edited_message``."""
        chat = self._chat_of(user_id)
        message = chat.visible(message_id)
        if message is None or message["from"]["id"] != user_id or "text" not in message:
            raise ControlError(f"user {user_id} has no text message {message_id} to edit")
        message.pop("entities", None)
        message.update(_user_text(new_text, None))
        message["edit_date"] = self.world.timestamp()
        self.world.push_update("edited_message", message)
        return copy.deepcopy(message)

    async def press_button(
        self, user_id: int, message_id: int, callback_data: str, *, forged: bool = False
    ) -> str:
        """The user presses an inline button; return the callback query id.

        ``forged=True`` sends callback data that the message does not carry, as a modified
        client could: the bot must treat callback data as a claim, never as a permission.
        """
        chat = self._chat_of(user_id)
        message = chat.visible(message_id)
        record = chat.bot_message(message_id)
        if message is None or record is None:
            raise ControlError(f"no bot message {message_id} in chat {user_id}")
        available = [b.get("callback_data") for row in record.buttons for b in row]
        if callback_data not in available and not forged:
            raise ControlError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"it has {available}"
            )
        query_id = str(secrets.randbits(62))
        self.world.callback_queries[query_id] = CallbackQueryRecord(
            query_id, user_id, chat.id, message_id, callback_data, self.world.now()
        )
        payload = {
            "id": query_id,
            "from": chat.user.to_dict(),
            "message": message,
            "chat_instance": str(abs(user_id) * 7919 + 1),
            "data": callback_data,
        }
        self.world.push_update("callback_query", payload)
        return query_id

    def _set_blocked(self, chat: ChatState, *, blocked: bool) -> None:
        """Change the block flag and send the ``my_chat_member`` update Telegram sends."""
        if chat.user.blocked == blocked:
            return
        chat.user.blocked = blocked
        bot = self.world.bot.to_dict()
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        new_member: JSONDict = {"user": bot, "status": new}
        if blocked:
            new_member["until_date"] = 0
        old_member: JSONDict = {"user": bot, "status": old}
        if not blocked:
            old_member["until_date"] = 0
        update = {
            "chat": chat.user.chat_dict(),
            "from": chat.user.to_dict(),
            "date": self.world.timestamp(),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        self.world.push_update("my_chat_member", update)

    async def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: sends fail with 403, the bot gets ``my_chat_member``."""
        self._set_blocked(self._chat_of(user_id), blocked=True)

    async def unblock_bot(self, user_id: int) -> None:
        """The user unblocks the bot."""
        self._set_blocked(self._chat_of(user_id), blocked=False)

    # -- control API: reading ----------------------------------------------------------------

    def messages_to(self, chat_id: int, *, after: int = 0) -> list[BotMessage]:
        """What the bot sent to a chat, in order (deleted ones included, flagged); ``after``:
        only those with an index from ``after`` on."""
        chat = self.world.chat(chat_id)
        return list(chat.bot_messages[max(after, 0) :]) if chat is not None else []

    def last_message_to(self, chat_id: int) -> BotMessage | None:
        """The latest message the bot sent to a chat."""
        sent = self.messages_to(chat_id)
        return sent[-1] if sent else None

    def transcript(self, chat_id: int) -> list[JSONDict]:
        """Every message of a chat that is not deleted, user's and bot's, in order."""
        chat = self.world.chat(chat_id)
        if chat is None:
            return []
        return [copy.deepcopy(chat.messages[i]) for i in sorted(chat.messages) if chat.visible(i)]

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a bounded wait is the point of this helper
        what: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds; raise TimeoutError naming ``what``."""
        if not await self.world.signal.wait_for(predicate, timeout):
            raise TimeoutError(f"{what} did not happen within {timeout}s{self._recent_errors()}")

    async def wait_for_message(
        self,
        chat_id: int,
        *,
        after: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 - a bounded wait is the point of this helper
    ) -> BotMessage:
        """The first bot message to ``chat_id`` with index >= ``after`` (waits for it)."""
        if await self.world.signal.wait_for(
            lambda: len(self.messages_to(chat_id)) > after, timeout
        ):
            return self.messages_to(chat_id)[after]
        received = self.messages_to(chat_id)
        lines = "\n  ".join(m.describe() for m in received) or "(nothing)"
        raise TimeoutError(
            f"no bot message with index >= {after} to chat {chat_id} within {timeout}s; "
            f"the bot sent {len(received)}:\n  {lines}{self._recent_errors()}"
        )

    def _recent_errors(self) -> str:
        """The last error answers, for timeout messages."""
        if not self._errors:
            return ""
        lines = "\n  ".join(
            f"{e.method}: {e.status} {e.description}" for e in list(self._errors)[-5:]
        )
        return f"\nrecent Bot API errors:\n  {lines}"

    @property
    def errors(self) -> list[ApiCallError]:
        """Recent error answers given to the bot, oldest first."""
        return list(self._errors)

    def error_counts(self, chat_id: int | None = None) -> dict[int, int]:
        """How many error answers of each status the bot got since the start (all of them,
        or those of calls for one chat)."""
        counts: Counter[int] = Counter()
        for (status, chat), n in self._error_counts.items():
            if chat_id is None or chat == chat_id:
                counts[status] += n
        return dict(counts)

    def messages_containing(self, text: str) -> list[BotMessage]:
        """Every bot message, in any chat, whose text or caption contains ``text``."""
        return [
            message
            for chat in self.world.chats.values()
            for message in chat.bot_messages
            if text in message.content
        ]

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates the bot has not confirmed yet."""
        return copy.deepcopy(self.world.updates)

    def callback_answer(self, callback_query_id: str) -> CallbackQueryRecord | None:
        """The button press with that id and the bot's answer (``answered``, ``text``, ...)."""
        return self.world.callback_queries.get(callback_query_id)

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """The command list set for exactly that scope (default scope if None) and language."""
        key = (scope_key(scope or {"type": "default"}), language_code)
        return list(self.world.commands.get(key, []))

    def profile(self, field_name: str, language_code: str = "") -> str | None:
        """The profile text set for exactly that language ("name", "description",
        "short_description"), or None."""
        return self.world.profile.get((field_name, language_code))

    def menu_commands(self, user_id: int) -> list[JSONDict]:
        """The commands a Telegram client would show this user in the menu."""
        return menu_commands(self.world, self.world.user(user_id))

    def calls(self, method: str) -> int:
        """How many calls of a Bot API method arrived (faulted and refused ones included)."""
        return self._calls[method.lower()]

    def all_calls(self) -> dict[str, int]:
        """Call counters of every method called so far."""
        return dict(self._calls)
