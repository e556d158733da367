"""Structured logging: one line per event, `key=value` fields, no personal data.

Callers pass ids of *things* (case numbers, update ids, job ids) in `extra`, never message
text, names or Telegram ids of residents. Libraries that would print secrets or personal data
are capped here: httpx logs request URLs, which contain the bot token; at DEBUG
python-telegram-bot dumps every update and Bot API call (names, usernames, message text) and
aiosqlite every SQL statement with its parameters. The bot token is redacted from whatever is
still logged: message, arguments, extra fields and tracebacks.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import TextIO

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
REDACTED = "<token>"

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


def setup_logging(level: str, secret: str = "", stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stderr) as key=value lines, `secret` redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(KeyValueFormatter())
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
