"""Structured logging: one line per event, `key=value` fields, no personal data.

Callers pass ids of *things* (case numbers, update ids, job ids) in `extra`, never message
text, names or Telegram ids of residents. Libraries that would print secrets or personal data
are capped here: httpx logs request URLs, which contain the bot token; at DEBUG
python-telegram-bot dumps every update and Bot API call (names, usernames, message text) and
aiosqlite every SQL statement with its parameters. The bot token is redacted from whatever is
still logged: message, arguments, extra fields and tracebacks.

Below their ceilings, libraries still log at WARNING and above, and some of those records quote
what they were given: python-telegram-bot logs the whole body of a Bot API answer it cannot
parse (a getUpdates answer carries people's messages), an update it could not build a context
for, or an exception whose text holds a value. So every record of a logger outside this
project's packages (`LibraryFilter`) keeps only its format string, harmless numbers and its
exception's type and frames, whatever its level.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TextIO

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
REDACTED = "<token>"
WITHHELD = "<withheld>"
# Loggers of this project's own code: they name ids of things, never personal data.
OWN_PACKAGES = frozenset({"bot", "handlers", "storage"})
LARGEST_HARMLESS_INT = 99_999  # counts, seconds, status codes; Telegram ids are longer

# The most a library logger may say, whatever the configured level.
LIBRARY_CEILINGS: dict[str, int] = {
    "httpx": logging.WARNING,  # request lines carry the token in the URL
    "httpcore": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "apscheduler.executors.default": logging.WARNING,  # "job executed" every few seconds
    "apscheduler.scheduler": logging.WARNING,  # "added job" for each of thousands at start
    "telegram": logging.INFO,  # DEBUG: full updates and Bot API parameters/results
    "aiosqlite": logging.INFO,  # DEBUG: every statement with its parameters
}


class KeyValueFormatter(logging.Formatter):
    """`2026-11-29T08:00:00 INFO bot.app "update handled" update_id=12 handler=start`."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        parts = [
            self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            record.levelname,
            record.name,
            _quote(record.getMessage()),
            *(f"{key}={_quote(str(value))}" for key, value in sorted(fields.items())),
        ]
        line = " ".join(parts)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


class RedactFilter(logging.Filter):
    """Replaces a secret (the bot token) wherever it would appear in a log line."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secret:
            return True
        message = record.getMessage()
        if self._secret in message:
            record.msg = self._redact(message)
            record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str) and self._secret in value:
                setattr(record, key, self._redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, REDACTED)


class LibraryFilter(logging.Filter):
    """Records of loggers outside this project (python-telegram-bot, httpx, httpcore,
    aiohttp, asyncio, the root logger, …) may quote an update, a request or an answer:

    * arguments that are not harmless numbers are withheld; the format string stays;
    * a message that is not a format string (no arguments) keeps its first line only
      (asyncio's reports put the task and its exception on the next lines);
    * an exception keeps its type and frames, never its text;
    * extra fields are dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in OWN_PACKAGES:
            return True
        record.msg = _scrubbed_message(record)
        record.args = None
        for key in [k for k in record.__dict__ if k not in _STANDARD]:
            delattr(record, key)
        if record.exc_info:
            record.exc_text = _bare_traceback(record.exc_info)
        elif record.exc_text:
            record.exc_text = WITHHELD
        return True


def _harmless(value: object) -> bool:
    if value is None or isinstance(value, bool | float):
        return True
    return isinstance(value, int) and abs(value) <= LARGEST_HARMLESS_INT


def _scrubbed_message(record: logging.LogRecord) -> str:
    template = record.msg
    if not isinstance(template, str):
        return f"<{type(template).__name__} withheld>"
    args = record.args
    if not args:
        return template.split("\n", 1)[0]
    safe: tuple[Any, ...] | dict[str, Any]
    if isinstance(args, Mapping):
        safe = {key: v if _harmless(v) else WITHHELD for key, v in args.items()}
    else:
        safe = tuple(v if _harmless(v) else WITHHELD for v in args)
    try:
        return template % safe
    except (TypeError, ValueError, KeyError):  # "%d" given the placeholder: the bare template
        return template


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def _bare_traceback(exc_info: ExcInfo | bool | BaseException) -> str:
    """The traceback with each exception's type and frames, not its text."""
    error = exc_info if isinstance(exc_info, BaseException) else None
    if isinstance(exc_info, tuple):
        error = exc_info[1]
    if error is None:
        return ""
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    parts = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(link.__traceback__))
        + f"{type(link).__module__}.{type(link).__qualname__}: {WITHHELD}"
        for link in reversed(chain)
    ]
    return "\n\nwhich led to:\n\n".join(parts)


def setup_logging(level: str, secret: str = "", stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stderr) as key=value lines, `secret` redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(LibraryFilter())  # first: the token filter then sees the scrubbed text
    handler.addFilter(RedactFilter(secret))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    wanted = logging.getLevelNamesMapping()[level]
    for name, ceiling in LIBRARY_CEILINGS.items():
        logging.getLogger(name).setLevel(max(ceiling, wanted))


def _quote(text: str) -> str:
    """Bare when it is one plain word, else a JSON string: a value never spans two lines."""
    if text and not any(char.isspace() or char in '"=\\' for char in text):
        return text
    return json.dumps(text, ensure_ascii=False)
