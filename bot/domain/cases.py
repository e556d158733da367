"""A case and its state machine: the states, the one table of moves between them, and the
records a case is made of (its messages, timeline events and offers).

Every change of a case's state goes through `check_move` (storage/cases.py and
storage/urgent.py write no state without it): a move the table does not list is a bug, and
raises `IllegalTransitionError` instead of writing a state the rules never meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal


class CaseState(StrEnum):
    """Where a case stands. The values are what the database stores (migration 0001)."""

    NEW = "new"  # registered, not yet offered to anyone
    UNASSIGNED = "unassigned"  # nobody could take it: routing tries again later
    OFFERED = "offered"  # a mediator (or, when urgent, several) has been asked
    ACCEPTED = "accepted"  # a mediator has it
    SETTLED = "settled"  # closed: an agreement was reached (revisits may follow)
    NOT_SETTLED = "not_settled"  # closed: no agreement
    WITHDRAWN = "withdrawn"  # closed: the resident withdrew it, or erased her data
    CLOSED = "closed"  # closed without an outcome (older cases)


WAITING = frozenset({CaseState.NEW, CaseState.UNASSIGNED, CaseState.OFFERED})
OPEN = WAITING | {CaseState.ACCEPTED}
CLOSED = frozenset(CaseState) - OPEN
# The same, as SQL lists for `state IN {…}` (plain strings: the enum's repr is no SQL).
OPEN_STATES = tuple(sorted(state.value for state in OPEN))
WAITING_STATES = tuple(sorted(state.value for state in WAITING))

# The one table of moves. Staying in a state is always allowed: a change of hands (a
# transfer, the head assigning) or a new round of alerts is not a move.
TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    # routing offers it, finds nobody, or a mediator takes it at once (urgent cases);
    # the resident may withdraw it at any time while it is open
    CaseState.NEW: frozenset(
        {CaseState.OFFERED, CaseState.UNASSIGNED, CaseState.ACCEPTED, CaseState.WITHDRAWN}
    ),
    CaseState.UNASSIGNED: frozenset(
        {CaseState.NEW, CaseState.OFFERED, CaseState.ACCEPTED, CaseState.WITHDRAWN}
    ),
    # declined, expired or withdrawn offers put it back to new
    CaseState.OFFERED: frozenset(
        {CaseState.NEW, CaseState.UNASSIGNED, CaseState.ACCEPTED, CaseState.WITHDRAWN}
    ),
    # closed with an outcome (or without one, as older cases were), or released when its
    # mediator leaves the desk
    CaseState.ACCEPTED: frozenset(
        {
            CaseState.SETTLED,
            CaseState.NOT_SETTLED,
            CaseState.WITHDRAWN,
            CaseState.CLOSED,
            CaseState.NEW,
        }
    ),
    # /reopen gives a closed case back to its mediator
    CaseState.SETTLED: frozenset({CaseState.ACCEPTED}),
    CaseState.NOT_SETTLED: frozenset({CaseState.ACCEPTED}),
    CaseState.WITHDRAWN: frozenset({CaseState.ACCEPTED}),
    CaseState.CLOSED: frozenset({CaseState.ACCEPTED}),
}


class IllegalTransitionError(RuntimeError):
    """A state change the table does not allow: a bug, never a user's mistake."""

    def __init__(self, current: CaseState, wanted: CaseState) -> None:
        super().__init__(f"a case cannot move from {current} to {wanted}")
        self.current, self.wanted = current, wanted


def may_move(current: CaseState, wanted: CaseState) -> bool:
    return current == wanted or wanted in TRANSITIONS[current]


def check_move(current: CaseState, wanted: CaseState) -> CaseState:
    """`wanted`, if the table allows the move; else IllegalTransitionError."""
    if not may_move(current, wanted):
        raise IllegalTransitionError(current, wanted)
    return wanted


def sources(wanted: CaseState) -> tuple[str, ...]:
    """The states a case may be in to move to `wanted`, as SQL values."""
    return tuple(sorted(state.value for state in CaseState if may_move(state, wanted)))


OfferState = Literal["open", "accepted", "declined", "expired"]
# What became of a booked message (migration 0010 says what each means).
Delivery = Literal["pending", "delivered", "undelivered", "held", "kept"]


@dataclass(frozen=True)
class NewCase:
    resident_id: int | None  # None only for a recurrence of an erased resident's case
    pseudonym: str
    area_id: str | None
    category: str
    urgent: bool
    contact: str
    phone: str | None


@dataclass(frozen=True)
class CaseRecord:
    id: int
    number: str
    resident_id: int | None
    pseudonym: str
    area_id: str | None
    category: str
    urgent: bool
    contact: str
    phone: str | None
    state: CaseState
    mediator_id: int | None
    created_at: datetime
    outcome_text: str | None = None
    closed_at: datetime | None = None
    unreachable: str | None = None  # 'resident' or 'mediator': blocked the bot
    adviser_id: int | None = None
    parent_id: int | None = None  # the case this one recurred from
    urgent_at: datetime | None = None  # when it became urgent (storage.urgent)
    taken_at: datetime | None = None  # when someone took the urgent case
    basis: str = "consent"  # or 'vital_interests': registered before the consent
    no_mediation: bool = False  # 不适合调解: never bring the parties together
    purged: bool = False  # its contents were deleted after the retention period

    @property
    def is_open(self) -> bool:
        return self.state in OPEN

    def can_move_to(self, state: CaseState) -> bool:
        return may_move(self.state, state)


@dataclass(frozen=True)
class MessagePart:
    """One message of the conversation, pointing at the original for copyMessage.

    `entities` is set when a copy would carry an account (bot/features/relay.py sends the text anew
    with these instead); `contact` is a contact card as it is passed on: phone number and
    first name, never the account it names."""

    kind: str
    text: str | None
    file_id: str | None
    chat_id: int
    message_id: int
    entities: list[dict[str, Any]] | None = None
    contact: dict[str, str] | None = None


@dataclass(frozen=True)
class BookEntry:
    """One entry of a case's registration book: a message, what became of it, and the
    entry it edits if it is an edit."""

    id: int
    case_id: int
    author: str
    part: MessagePart
    at: datetime
    delivery: Delivery
    failure: str | None
    edit_of: int | None


@dataclass(frozen=True)
class EventRecord:
    case_id: int
    at: datetime
    kind: str
    actor_id: int | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class OfferRecord:
    id: int
    case_id: int
    mediator_id: int
    offered_at: datetime
    deadline: datetime | None
    state: OfferState
