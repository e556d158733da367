"""The wire format of the Bot API: reading request parameters and Telegram-style errors.

Telegram accepts parameters in the query string, as ``application/x-www-form-urlencoded``,
as ``application/json`` and as ``multipart/form-data`` (needed to upload files).  In the form
encodings every value is a string; structured values (``reply_markup``, ``entities``, ...) are
JSON text.  :class:`Params` hides those differences and turns every malformed value into a
Telegram-style ``400 Bad Request`` (:class:`ApiError`), never into a server crash.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.multipart import BodyPartReader

JSONDict = dict[str, Any]
MAX_BODY_BYTES = 64 * 1024 * 1024


class ApiError(Exception):
    """A Bot API error answer: HTTP status, Telegram's description, optional retry_after."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSONDict:
        """Return the JSON body Telegram sends for this error."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    """Return a ``400 Bad Request: <detail>`` error."""
    return ApiError(400, f"Bad Request: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """Return the ``429`` flood-control error with ``parameters.retry_after``."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Typed, Telegram-validated access to the parameters of one request."""

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, Upload] | None = None):
        self._values = {k: v for k, v in values.items() if v is not None}
        self._uploads = dict(uploads or {})

    def has(self, name: str) -> bool:
        """Whether the parameter was given (an empty string counts as absent, like Telegram)."""
        return name in self._uploads or self._values.get(name, "") != ""

    def raw(self, name: str) -> Any:
        """Return the parameter as received, or None."""
        return self._values.get(name)

    def text(self, name: str) -> str | None:
        """Return a string parameter; numbers are accepted and turned into text."""
        value = self._values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad_request(f'field "{name}" must be of type String')
        return str(value)

    def integer(self, name: str) -> int | None:
        """Return an integer parameter (given as a number or a decimal string)."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(f"invalid {name} specified")

    def required_integer(self, name: str) -> int:
        """Return an integer parameter that must be present (``<name> is empty`` otherwise)."""
        value = self.integer(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def number(self, name: str) -> float | None:
        """Return a finite floating-point parameter."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise bad_request(f"invalid {name} specified") from None
        else:
            raise bad_request(f"invalid {name} specified")
        if not math.isfinite(number):
            raise bad_request(f"invalid {name} specified")
        return number

    def flag(self, name: str, default: bool = False) -> bool:
        """Return a boolean parameter (``true``/``false``/``1``/``0`` in form encodings)."""
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
            return value.lower() in ("true", "1")
        raise bad_request(f"invalid {name} specified")

    def structured(self, name: str, what: str | None = None) -> Any:
        """Return a structured parameter, decoding JSON text when it came form-encoded."""
        value = self._values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None

    def upload(self, name: str) -> Upload | None:
        """Return the uploaded file for ``name`` (directly or through ``attach://<part>``)."""
        if name in self._uploads:
            return self._uploads[name]
        value = self._values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if part not in self._uploads:
                raise bad_request(f"file for {name} not found in the request")
            return self._uploads[part]
        return None


async def read_params(request: web.Request) -> Params:
    """Collect the parameters of a request from its query string and body."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    content_type = request.content_type
    if request.method == "POST" and content_type == "multipart/form-data":
        await _read_multipart(request, values, uploads)
    elif request.method == "POST" and request.can_read_body:
        body = await request.read()
        values.update(_decode_body(body, content_type))
    return Params(values, uploads)


def _decode_body(body: bytes, content_type: str) -> dict[str, Any]:
    """Decode a JSON or url-encoded body into parameters."""
    if not body:
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("request body is not valid UTF-8") from None
    if content_type == "application/json":
        try:
            decoded = json.loads(text)
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(decoded, dict):
            raise bad_request("JSON request body must be an object")
        return decoded
    return dict(parse_qsl(text, keep_blank_values=True))


async def _read_multipart(
    request: web.Request, values: dict[str, Any], uploads: dict[str, Upload]
) -> None:
    """Read a multipart body: file parts go to ``uploads``, the others to ``values``."""
    try:
        reader = await request.multipart()
        total = 0
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                raise bad_request("can't parse multipart/form-data request")
            data = await part.read()
            total += len(data)
            if total > MAX_BODY_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            if part.filename is not None:
                content = part.headers.get("Content-Type")
                uploads[part.name] = Upload(part.filename, content, bytes(data))
            else:
                values[part.name] = bytes(data).decode("utf-8")
    except (ValueError, AssertionError, RuntimeError):
        raise bad_request("can't parse multipart/form-data request") from None
