"""The playground's web server: the page, and a small JSON API over the local Bot API.

The page (``static/``, plain HTML, CSS and JavaScript, nothing fetched from elsewhere) shows
phone-sized chats of demo people. Its API acts as them through the local Bot API's Python
control API — the bot itself sees ordinary Telegram updates — and moves the clock:

    GET  /api/info                     the bot, the time zone, the demo people and the panes
    GET  /api/state                    the clock and how many messages each person got
    GET  /api/chats/{id}?version=V     a person's chat (``{"version", "unchanged": true}``
                                       while it still is at version V)
    POST /api/chats/{id}/send          {"text"} | {"photo": base64, "caption"} |
                                       {"contact": true} | {"location": true};
                                       optional "reply_to"
    POST /api/chats/{id}/press         {"message_id", "callback_data"}: the bot's answer
    POST /api/clock                    {"seconds"}: move the clock forward
    GET  /api/files/{path}             a file the local Bot API holds (photos, documents)

Like the local Bot API, it listens on loopback only: it lets anyone act as the demo people.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import mimetypes
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.core.clock import MovableClock
from bot.core.config import Config
from localapi.server import LocalBotApi
from localapi.state import ControlError, JSONDict
from playground.chat import FILES_ROUTE, bot_message_count, chat_view
from playground.demo import DemoPerson

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 12 * 1024 * 1024  # a phone photo, base64
MAX_JUMP = timedelta(days=366)
ANSWER_WAIT_SECONDS = 3.0
PANE_ROLES = {  # the four phones, left to right
    "resident": ("resident",),
    "mediator": ("mediator",),
    "staff": ("staff", "head", "adviser"),
    # The other party of a case: another resident, who opens the mediator's /party link
    # (type /start party-… here, copied from the mediator's phone).
    "party": ("resident",),
}
PANE_DEFAULT = {"party": 1}  # which of its people a phone shows first (else the first)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadInput(Exception):
    """The page asked something this API does not do; answered 400 with the reason."""


class PlaygroundWeb:
    """The page and its API for one local Bot API, clock and cast of demo people."""

    def __init__(
        self,
        api: LocalBotApi,
        clock: MovableClock,
        config: Config,
        people: Sequence[DemoPerson],
    ) -> None:
        self.api = api
        self.clock = clock
        self.config = config
        self.people = {person.id: person for person in people}
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on a loopback `host`; `port=0` picks a free port."""
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the playground only listens on loopback, not {host!r}")
        runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner, self._host = runner, host
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner, self._port = self._runner, None, None
            await runner.cleanup()

    @property
    def url(self) -> str:
        """The page's address."""
        if self._port is None:
            raise RuntimeError("the playground is not running; call start() first")
        return f"http://{self._host}:{self._port}/"

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", STATIC)
        for method, path, endpoint in (
            ("GET", "/api/info", self.info),
            ("GET", "/api/state", self.state),
            ("GET", "/api/chats/{user_id}", self.chat),
            ("POST", "/api/chats/{user_id}/send", self.send),
            ("POST", "/api/chats/{user_id}/press", self.press),
            ("POST", "/api/clock", self.move_clock),
        ):
            app.router.add_route(method, path, _json_endpoint(endpoint))
        app.router.add_get(FILES_ROUTE + "{file_path:.+}", self.file)
        return app

    # -- the page ----------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def file(self, request: web.Request) -> web.StreamResponse:
        stored = self.api.world.files_by_path.get(request.match_info["file_path"])
        if stored is None:
            raise web.HTTPNotFound()
        guessed = mimetypes.guess_type(stored.file_path)[0]
        kind = stored.mime_type or guessed or "application/octet-stream"
        return web.Response(body=stored.data, content_type=kind)

    # -- the API -----------------------------------------------------------------------------

    async def info(self, request: web.Request) -> Any:
        bot = self.api.world.bot
        return {
            "bot": {"first_name": bot.first_name, "username": bot.username},
            "names": self._bot_names(),
            "timezone": self.config.locale.timezone,
            "people": [self._person(p) for p in self.people.values()],
            "panes": [self._pane(name) for name in PANE_ROLES],
            "clock": self._clock(),
        }

    async def state(self, request: web.Request) -> Any:
        counts = {str(i): bot_message_count(self.api, i) for i in self.people}
        return {"clock": self._clock(), "counts": counts, "names": self._bot_names()}

    def _bot_names(self) -> dict[str, str]:
        """The bot's name as each language's users see it (setMyName), as a phone shows it."""
        fallback = self.api.world.bot.first_name
        return {code: self.api.profile("name", code) or fallback for code in ("zh", "en")}

    async def chat(self, request: web.Request) -> Any:
        view = chat_view(self.api, self._user(request))
        if view["version"] == request.query.get("version"):
            return {"version": view["version"], "unchanged": True}
        return view

    async def send(self, request: web.Request) -> Any:
        user_id = self._user(request)
        body = await _body(request)
        reply_to = _optional_int(body, "reply_to")
        if isinstance(body.get("text"), str):
            return await self.api.send_text(user_id, body["text"], reply_to=reply_to)
        if isinstance(body.get("photo"), str):
            caption = body.get("caption") if isinstance(body.get("caption"), str) else None
            data = _base64(body["photo"])
            return await self.api.send_photo(user_id, data, caption or None, reply_to=reply_to)
        if body.get("contact") is True:
            person = self.people[user_id]
            return await self.api.send_contact(user_id, demo_phone(user_id), person.first_name)
        if body.get("location") is True:
            return await self.api.send_location(user_id, 29.9, 121.6)
        raise BadInput("nothing to send: give text, photo, contact or location")

    async def press(self, request: web.Request) -> Any:
        user_id = self._user(request)
        body = await _body(request)
        message_id = _optional_int(body, "message_id")
        data = body.get("callback_data")
        if message_id is None or not isinstance(data, str):
            raise BadInput("give message_id and callback_data")
        query_id = await self.api.press_button(user_id, message_id, data)
        return await self._answer(query_id)

    async def move_clock(self, request: web.Request) -> Any:
        body = await _body(request)
        seconds = body.get("seconds")
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise BadInput("seconds must be an integer")
        jump = timedelta(seconds=seconds)
        if not timedelta(0) < jump <= MAX_JUMP:
            raise BadInput("the clock moves forward by 1 second to 366 days at a time")
        self.clock.advance(jump)
        return self._clock()

    # -- helpers -----------------------------------------------------------------------------

    async def _answer(self, query_id: str) -> JSONDict:
        """The bot's answer to a button press (a toast or an alert), if it comes in time."""

        def answered() -> bool:
            record = self.api.callback_answer(query_id)
            return record is not None and record.answered

        try:
            await self.api.wait_for(answered, timeout=ANSWER_WAIT_SECONDS)
        except TimeoutError:
            return {"answered": False}
        record = self.api.callback_answer(query_id)
        assert record is not None
        return {"answered": True, "text": record.text or "", "show_alert": record.show_alert}

    def _user(self, request: web.Request) -> int:
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            raise BadInput("the user id must be an integer") from None
        if user_id not in self.people:
            raise web.HTTPNotFound()
        return user_id

    def _clock(self) -> JSONDict:
        return {
            "now": self.clock.now().isoformat(),
            "offset_seconds": int(self.clock.offset.total_seconds()),
        }

    def _person(self, person: DemoPerson) -> JSONDict:
        return {
            "id": person.id,
            "role": person.role,
            "first_name": person.first_name,
            "display_name": person.display_name,
            "language": "en" if person.english else "zh",
            "area": self._area(person.area_id(self.config)),
            "duty_on": person.duty_on,
        }

    def _area(self, area_id: str | None) -> JSONDict | None:
        area = self.config.area(area_id) if area_id else None
        if area is None:
            return None
        return {"id": area.id, "zh": area.name.zh_CN, "en": area.name.text("en")}

    def _pane(self, name: str) -> JSONDict:
        """Which demo people a phone can switch between; the first is shown at first."""
        ids = [p.id for p in self.people.values() if p.role in PANE_ROLES[name]]
        first = min(PANE_DEFAULT.get(name, 0), len(ids) - 1)
        return {"id": name, "people": ids, "default": ids[first] if ids else None}


def demo_phone(user_id: int) -> str:
    """An obviously invented number (no Chinese mobile number starts with 100)."""
    return f"+86 100 {user_id // 10000:04d} {user_id % 10000:04d}"


def _json_endpoint(endpoint: Callable[[web.Request], Awaitable[Any]]) -> Handler:
    """The endpoint's result as JSON; impossible requests answer 400 with the reason."""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            result = await endpoint(request)
        except (BadInput, ControlError) as error:
            return web.json_response({"ok": False, "error": str(error)}, status=400)
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    return handler


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise BadInput("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadInput("the body must be a JSON object")
    return body


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadInput(f"{name} must be an integer")
    return value


def _base64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput("photo must be base64") from None
