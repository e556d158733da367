"""The HTTP control API of the local Bot API: act as users and inspect what the bot did.

JSON in, ``{"ok": true, "result": ...}`` out; errors are ``{"ok": false, "error_code",
"description"}`` with status 400.  The routes mirror the Python control API of
:class:`localapi.server.LocalBotApi` (the route list is in that module's docstring); media
are sent as base64 strings.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

from localapi.state import ControlError, User
from localapi.wire import ApiError, Params, bad_request

if TYPE_CHECKING:
    from localapi.server import FaultKind, LocalBotApi

Endpoint = Callable[[web.Request], Awaitable[Any]]
MEDIA_FIELDS = ("photo", "voice", "video", "document", "sticker")


def _respond(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Wrap an endpoint: its return value becomes ``result``, its errors a 400 answer."""

    async def handler(request: web.Request) -> web.Response:
        try:
            result = await endpoint(request)
        except ApiError as error:
            return web.json_response(error.payload(), status=error.status)
        except ControlError as error:
            body = {"ok": False, "error_code": 400, "description": str(error)}
            return web.json_response(body, status=400)
        return web.json_response({"ok": True, "result": result})

    return handler


async def _body(request: web.Request) -> Params:
    """The JSON object of a request body (empty body: no parameters)."""
    raw = await request.read()
    if not raw.strip():
        return Params({})
    try:
        decoded = json.loads(raw)
    except ValueError:
        raise bad_request("the body must be a JSON object") from None
    if not isinstance(decoded, dict):
        raise bad_request("the body must be a JSON object")
    return Params(decoded)


def _path_int(request: web.Request, name: str) -> int:
    """An integer from the URL path."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise bad_request(f"{name} must be an integer") from None


def _decode_media(params: Params, name: str) -> bytes:
    """Base64 media from the body."""
    try:
        return base64.b64decode(params.text(name) or "", validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"{name} must be base64") from None


def _required_text(params: Params, name: str) -> str:
    """A non-empty string field."""
    value = params.text(name)
    if not value:
        raise bad_request(f"{name} is empty")
    return value


class ControlHandlers:
    """The endpoints, bound to one server."""

    def __init__(self, api: LocalBotApi) -> None:
        self.api = api

    async def add_user(self, request: web.Request) -> Any:
        """POST /control/users."""
        return self._add_user(await _body(request)).to_dict()

    async def add_users(self, request: web.Request) -> Any:
        """POST /control/users/bulk: many at once (a benchmark's ten thousand residents)."""
        users = (await _body(request)).structured("users")
        if not isinstance(users, list) or not all(isinstance(u, dict) for u in users):
            raise bad_request("users must be a list of objects")
        return len([self._add_user(Params(user)) for user in users])

    def _add_user(self, body: Params) -> User:
        return self.api.add_user(
            body.required_integer("id"),
            _required_text(body, "first_name"),
            body.text("last_name"),
            body.text("username"),
            body.text("language_code"),
            started=body.flag("started", default=False),
        )

    async def list_users(self, request: web.Request) -> Any:
        """GET /control/users."""
        return [
            {**user.to_dict(), "blocked": user.blocked, "started": user.started}
            for user in self.api.world.users.values()
        ]

    async def send(self, request: web.Request) -> Any:
        """POST /control/users/{id}/send: text, media (base64), contact or location."""
        user_id = _path_int(request, "user_id")
        body = await _body(request)
        reply_to = body.integer("reply_to")
        caption = body.text("caption")
        if body.has("text"):
            return await self.api.send_text(user_id, body.text("text") or "", reply_to=reply_to)
        for field in MEDIA_FIELDS:
            if body.has(field):
                return await self._send_media(user_id, field, body, caption, reply_to)
        if body.has("contact"):
            contact = Params(_object(body, "contact"))
            return await self.api.send_contact(
                user_id,
                _required_text(contact, "phone_number"),
                _required_text(contact, "first_name"),
                own=contact.flag("own", default=True),
                last_name=contact.text("last_name"),
            )
        if body.has("location"):
            location = Params(_object(body, "location"))
            latitude, longitude = location.number("latitude"), location.number("longitude")
            if latitude is None or longitude is None:
                raise bad_request("location needs latitude and longitude")
            return await self.api.send_location(user_id, latitude, longitude)
        raise bad_request("nothing to send: give text, a medium, contact or location")

    async def _send_media(
        self, user_id: int, field: str, body: Params, caption: str | None, reply_to: int | None
    ) -> Any:
        """Dispatch one media kind of the send endpoint."""
        data = _decode_media(body, field)
        if field == "photo":
            return await self.api.send_photo(user_id, data, caption, reply_to=reply_to)
        if field == "voice":
            return await self.api.send_voice(user_id, data, reply_to=reply_to)
        if field == "video":
            return await self.api.send_video(user_id, data, caption, reply_to=reply_to)
        if field == "sticker":
            return await self.api.send_sticker(user_id, data, reply_to=reply_to)
        file_name = body.text("file_name") or "file.bin"
        return await self.api.send_document(user_id, data, file_name, caption, reply_to=reply_to)

    async def press(self, request: web.Request) -> Any:
        """POST /control/users/{id}/press."""
        body = await _body(request)
        query_id = await self.api.press_button(
            _path_int(request, "user_id"),
            body.required_integer("message_id"),
            _required_text(body, "callback_data"),
        )
        return {"callback_query_id": query_id}

    async def edit(self, request: web.Request) -> Any:
        """POST /control/users/{id}/edit."""
        body = await _body(request)
        return await self.api.edit_text(
            _path_int(request, "user_id"),
            body.required_integer("message_id"),
            _required_text(body, "text"),
        )

    async def block(self, request: web.Request) -> Any:
        """POST /control/users/{id}/block."""
        await self.api.block_bot(_path_int(request, "user_id"))
        return True

    async def unblock(self, request: web.Request) -> Any:
        """POST /control/users/{id}/unblock."""
        await self.api.unblock_bot(_path_int(request, "user_id"))
        return True

    async def messages(self, request: web.Request) -> Any:
        """GET /control/chats/{id}/messages?after=<index> (all of them without ``after``)."""
        after = Params(dict(request.query)).integer("after") or 0
        chat_id = _path_int(request, "chat_id")
        return [m.to_json() for m in self.api.messages_to(chat_id, after=after)]

    async def transcript(self, request: web.Request) -> Any:
        """GET /control/chats/{id}/transcript."""
        return self.api.transcript(_path_int(request, "chat_id"))

    async def messages_containing(self, request: web.Request) -> Any:
        """GET /control/messages?contains=<text>."""
        text = Params(dict(request.query)).text("contains")
        if not text:
            raise bad_request("give the text to look for: ?contains=...")
        return [
            {"chat_id": m.chat_id, "message_id": m.message_id, "recorded_at": m.recorded_at}
            for m in self.api.messages_containing(text)
        ]

    async def callback_answer(self, request: web.Request) -> Any:
        """GET /control/callback_queries/{id}."""
        query = self.api.callback_answer(request.match_info["query_id"])
        if query is None:
            raise bad_request("unknown callback query")
        return {
            "id": query.id,
            "data": query.data,
            "message_id": query.message_id,
            "answered": query.answered,
            "text": query.text,
            "show_alert": query.show_alert,
            "url": query.url,
        }

    async def commands(self, request: web.Request) -> Any:
        """GET /control/commands?scope=<json>&language_code=xx or ?user_id=N (menu)."""
        query = Params(dict(request.query))
        if query.has("user_id"):
            return self.api.menu_commands(query.required_integer("user_id"))
        scope = query.structured("scope", "BotCommandScope")
        if scope is not None and not isinstance(scope, dict):
            raise bad_request("can't parse BotCommandScope JSON object")
        return self.api.commands(scope, query.text("language_code") or "")

    async def faults(self, request: web.Request) -> Any:
        """POST /control/faults."""
        body = await _body(request)
        try:
            self.api.inject_fault(
                body.text("method"),
                kind=cast("FaultKind", body.text("kind") or ""),
                times=body.integer("times") or 1,
                retry_after=body.integer("retry_after") or 1,
                delay=body.number("delay") or 0.5,
                chat_id=body.integer("chat_id"),
            )
        except ValueError as error:
            raise bad_request(str(error)) from None
        return True

    async def rate_limit(self, request: web.Request) -> Any:
        """POST /control/rate_limit."""
        body = await _body(request)
        try:
            self.api.set_rate_limit(
                body.number("per_second"),
                body.number("per_chat_per_second"),
                burst=body.integer("burst") or 1,
                per_chat_burst=body.integer("per_chat_burst") or 1,
            )
        except ValueError as error:
            raise bad_request(str(error)) from None
        return True

    async def latency(self, request: web.Request) -> Any:
        """POST /control/latency."""
        seconds = (await _body(request)).number("seconds")
        try:
            self.api.set_latency(seconds if seconds is not None else -1)
        except ValueError as error:
            raise bad_request(str(error)) from None
        return True

    async def calls(self, request: web.Request) -> Any:
        """GET /control/calls."""
        return self.api.all_calls()

    async def errors(self, request: web.Request) -> Any:
        """GET /control/errors[?chat_id=N]: counts by status and the recent few."""
        counts = self.api.error_counts(Params(dict(request.query)).integer("chat_id"))
        return {
            "counts": {str(status): n for status, n in counts.items()},
            "recent": [dataclasses.asdict(e) for e in self.api.errors[-20:]],
        }


def _object(params: Params, name: str) -> dict[str, Any]:
    """A nested JSON object field."""
    value = params.structured(name)
    if not isinstance(value, dict):
        raise bad_request(f"{name} must be an object")
    return value


def add_control_routes(app: web.Application, api: LocalBotApi) -> None:
    """Register the ``/control/`` routes for ``api``."""
    h = ControlHandlers(api)
    routes: list[tuple[str, str, Endpoint]] = [
        ("POST", "/control/users", h.add_user),
        ("POST", "/control/users/bulk", h.add_users),
        ("GET", "/control/users", h.list_users),
        ("POST", "/control/users/{user_id}/send", h.send),
        ("POST", "/control/users/{user_id}/press", h.press),
        ("POST", "/control/users/{user_id}/edit", h.edit),
        ("POST", "/control/users/{user_id}/block", h.block),
        ("POST", "/control/users/{user_id}/unblock", h.unblock),
        ("GET", "/control/chats/{chat_id}/messages", h.messages),
        ("GET", "/control/chats/{chat_id}/transcript", h.transcript),
        ("GET", "/control/messages", h.messages_containing),
        ("GET", "/control/callback_queries/{query_id}", h.callback_answer),
        ("GET", "/control/commands", h.commands),
        ("POST", "/control/faults", h.faults),
        ("POST", "/control/rate_limit", h.rate_limit),
        ("POST", "/control/latency", h.latency),
        ("GET", "/control/calls", h.calls),
        ("GET", "/control/errors", h.errors),
    ]
    for method, path, endpoint in routes:
        app.router.add_route(method, path, _respond(endpoint))
