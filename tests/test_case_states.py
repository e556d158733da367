"""The case state machine: one table of moves, and storage writes no state without it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.cases import (
    CLOSED,
    OPEN,
    TRANSITIONS,
    WAITING,
    CaseState,
    IllegalTransitionError,
    NewCase,
    check_move,
    may_move,
)
from storage.cases import CaseRepository
from storage.db import Database
from storage.urgent import UrgentRepository
from storage.users import UserRepository

NOW = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
RESIDENT = 1001


def test_every_state_has_a_row_and_every_closed_state_only_reopens() -> None:
    assert set(TRANSITIONS) == set(CaseState)
    for state in CLOSED:
        assert TRANSITIONS[state] == {CaseState.ACCEPTED}
    assert {*WAITING, CaseState.ACCEPTED} == set(OPEN)


@pytest.mark.parametrize("state", sorted(OPEN))
def test_an_open_case_can_always_be_withdrawn(state: CaseState) -> None:
    assert check_move(state, CaseState.WITHDRAWN) is CaseState.WITHDRAWN


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (CaseState.NEW, CaseState.SETTLED),  # nobody mediated it
        (CaseState.OFFERED, CaseState.NOT_SETTLED),
        (CaseState.SETTLED, CaseState.NEW),  # a closed case is reopened, not re-routed
        (CaseState.WITHDRAWN, CaseState.OFFERED),
        (CaseState.ACCEPTED, CaseState.OFFERED),
    ],
)
def test_a_move_the_table_does_not_list_raises(current: CaseState, wanted: CaseState) -> None:
    assert not may_move(current, wanted)
    with pytest.raises(IllegalTransitionError, match=f"from {current} to {wanted}"):
        check_move(current, wanted)


def test_staying_is_not_a_move() -> None:
    """A transfer keeps the state and changes hands; a new round of alerts stays offered."""
    assert all(may_move(state, state) for state in CaseState)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3")
    await UserRepository(database).upsert_seen(RESIDENT, "zh-hans", NOW)
    yield database
    await database.close()


async def _new_case(db: Database) -> int:
    case = NewCase(RESIDENT, "R-1000", "dongsheng", "other", False, "chat", None)
    return (await CaseRepository(db).create(case, "QJS", 2026, NOW)).id


async def _state(db: Database, case_id: int) -> CaseState | None:
    case = await CaseRepository(db).get(case_id)
    return case.state if case else None


async def test_the_repository_follows_a_case_from_registration_to_reopening(db: Database) -> None:
    cases, case_id = CaseRepository(db), await _new_case(db)
    assert await _state(db, case_id) is CaseState.NEW
    await cases.set_state(case_id, CaseState.OFFERED, None, NOW)
    await cases.set_state(case_id, CaseState.ACCEPTED, 7, NOW)
    await cases.close(case_id, CaseState.SETTLED, "agreed", NOW)
    assert await _state(db, case_id) is CaseState.SETTLED
    await cases.reopen(case_id, NOW)
    assert await _state(db, case_id) is CaseState.ACCEPTED


async def test_the_repository_refuses_an_illegal_move_and_writes_nothing(db: Database) -> None:
    cases, case_id = CaseRepository(db), await _new_case(db)
    with pytest.raises(IllegalTransitionError):
        await cases.close(case_id, CaseState.SETTLED, "never mediated", NOW)
    assert await _state(db, case_id) is CaseState.NEW
    await cases.close(case_id, CaseState.WITHDRAWN, None, NOW)
    with pytest.raises(IllegalTransitionError):
        await cases.set_state(case_id, CaseState.OFFERED, None, NOW)
    assert await _state(db, case_id) is CaseState.WITHDRAWN


async def test_an_urgent_take_goes_through_the_table(db: Database) -> None:
    urgent, case_id = UrgentRepository(db), await _new_case(db)
    await urgent.wait_for_taker(case_id, NOW)
    assert await _state(db, case_id) is CaseState.OFFERED
    assert await urgent.take(case_id, 7, NOW)
    assert not await urgent.take(case_id, 8, NOW)  # someone was faster: no error, no steal
    case = await CaseRepository(db).get(case_id)
    assert case is not None and case.mediator_id == 7
