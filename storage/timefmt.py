"""Times are stored as ISO 8601 text in UTC; these two functions are the only way in and out."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(moment: datetime) -> str:
    """An aware datetime as UTC text; a naive one is a bug, so it is refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: store aware datetimes only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
