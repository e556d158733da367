from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from tests.features import Features

# python-telegram-bot 22 warns when it builds RetryAfter without this opt-in to its future
# timedelta API; warnings are errors in our test runs.
os.environ.setdefault("PTB_TIMEDELTA", "1")

# Property-based tests draw the same examples on every run (a failure in CI fails on every
# machine), keep no example database in the tree and have no per-example deadline (the
# end-to-end ones wait on a real server). HYPOTHESIS_PROFILE=explore draws fresh ones.
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that spawn processes first (the kill tests run for minutes): spread over
    workers, none of them is then left running alone at the end of the suite."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
async def features(tmp_path: Path) -> AsyncIterator[Features]:
    """The features over a temporary database, a moved clock and a recording messenger."""
    from tests.features import Features  # after PTB_TIMEDELTA above: it imports telegram

    opened = await Features.open(tmp_path)
    yield opened
    await opened.close()
