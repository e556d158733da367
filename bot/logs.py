"""Structured logging: one line per event, `key=value` fields, no personal data.

Callers pass ids of *things* (case numbers, update ids, job ids) in `extra`, never message
text, names or Telegram ids of residents. Libraries that would print secrets (httpx logs
request URLs, which contain the bot token) are quietened and redacted here.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class KeyValueFormatter(logging.Formatter):
    """`2026-11-29T08:00:00 INFO bot.app update handled update_id=12 handler=start`."""

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
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RedactFilter(logging.Filter):
    """Replaces a secret (the bot token) wherever it would appear in a log line."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secret and self._secret in record.getMessage():
            record.msg = record.getMessage().replace(self._secret, "<token>")
            record.args = None
        return True


def setup_logging(level: str, secret: str = "", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(RedactFilter(secret))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Request lines carry the token in the URL; they are noise at INFO anyway.
    for noisy in ("httpx", "httpcore", "aiohttp.access", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _quote(text: str) -> str:
    return f'"{text}"' if (" " in text or not text) else text
