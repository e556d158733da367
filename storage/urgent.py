"""Urgent cases: their marks on the case, the alerts sent about them, and the take.

An urgent case waits in state 'offered' with no mediator (and no offer row: it is offered
to many people at once) until someone takes it; `take` is a compare-and-set, so of two
people pressing at the same moment exactly one gets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.cases import WAITING_STATES, CaseRecord, CaseState, sources
from storage.cases import CaseRepository, _case
from storage.db import Database
from storage.timefmt import from_db, to_db

# What a take may move to 'accepted': a waiting case (the table allows each of them).
TAKEABLE = tuple(state for state in sources(CaseState.ACCEPTED) if state in WAITING_STATES)


@dataclass(frozen=True)
class Alert:
    """One card about an urgent case in someone's chat."""

    case_id: int
    user_id: int
    message_id: int
    round: int
    can_take: bool
    sent_at: datetime


class UrgentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def mark_registered(
        self, case_id: int, now: datetime, *, urgent: bool, basis: str, no_mediation: bool
    ) -> None:
        """A new case's urgency, legal basis and care flag (in the registering transaction)."""
        await self._db.execute(
            """UPDATE cases SET urgent_at = ?, basis = ?, no_mediation = ?, updated_at = ?
               WHERE id = ?""",
            (to_db(now) if urgent else None, basis, int(no_mediation), to_db(now), case_id),
        )

    async def make_urgent(self, case_id: int, now: datetime) -> None:
        """A waiting case becomes urgent: nobody has it, everyone is alerted."""
        await self._db.execute(
            """UPDATE cases SET urgent = 1, urgent_at = ?, no_mediation = 1, state = 'offered',
                                mediator_id = NULL, updated_at = ?
               WHERE id = ?""",
            (to_db(now), to_db(now), case_id),
        )

    async def wait_for_taker(self, case_id: int, now: datetime) -> None:
        await CaseRepository(self._db).set_state(case_id, CaseState.OFFERED, None, now)

    async def take(self, case_id: int, mediator_id: int, now: datetime) -> bool:
        """Give a case nobody has yet to `mediator_id`; False when someone was faster."""
        changed = await self._db.execute(
            f"""UPDATE cases SET state = 'accepted', mediator_id = ?, taken_at = ?,
                                 updated_at = ?
                WHERE id = ? AND state IN {TAKEABLE}""",
            (mediator_id, to_db(now), to_db(now), case_id),
        )
        return changed == 1

    async def set_no_mediation(self, case_id: int, flag: bool, now: datetime) -> None:
        await self._db.execute(
            "UPDATE cases SET no_mediation = ?, updated_at = ? WHERE id = ?",
            (int(flag), to_db(now), case_id),
        )

    async def add_alert(self, alert: Alert) -> None:
        await self._db.execute(
            """INSERT INTO urgent_alerts (case_id, user_id, message_id, round, can_take, sent_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (
                alert.case_id,
                alert.user_id,
                alert.message_id,
                alert.round,
                int(alert.can_take),
                to_db(alert.sent_at),
            ),
        )

    async def alerts(self, case_id: int) -> list[Alert]:
        rows = await self._db.fetch_all(
            "SELECT * FROM urgent_alerts WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [
            Alert(
                case_id=int(row["case_id"]),
                user_id=int(row["user_id"]),
                message_id=int(row["message_id"]),
                round=int(row["round"]),
                can_take=bool(row["can_take"]),
                sent_at=from_db(row["sent_at"]),
            )
            for row in rows
        ]

    async def was_alerted(self, case_id: int, user_id: int) -> bool:
        """Whether this person got a card with 我来接手 for the case."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM urgent_alerts WHERE case_id = ? AND user_id = ? AND can_take = 1",
            (case_id, user_id),
        )
        return row is not None

    async def last_round(self, case_id: int) -> int:
        row = await self._db.fetch_one(
            "SELECT max(round) FROM urgent_alerts WHERE case_id = ?", (case_id,)
        )
        return int(row[0]) if row and row[0] is not None else -1

    async def waiting(self, user_id: int | None = None) -> list[CaseRecord]:
        """Urgent cases nobody has taken yet, oldest first: all, or those `user_id` may take
        (alerted about them)."""
        rows = await self._db.fetch_all(
            f"""SELECT * FROM cases WHERE urgent = 1 AND state IN {WAITING_STATES}
                AND (? IS NULL OR id IN (SELECT case_id FROM urgent_alerts
                                         WHERE user_id = ? AND can_take = 1))
                ORDER BY coalesce(urgent_at, created_at), id""",
            (user_id, user_id),
        )
        return [_case(row) for row in rows]

    async def count_events(self, case_id: int, kind: str) -> int:
        """How many events of this kind the case's timeline has."""
        row = await self._db.fetch_one(
            "SELECT count(*) FROM case_events WHERE case_id = ? AND kind = ?", (case_id, kind)
        )
        return int(row[0]) if row else 0

    async def event_details(self, case_id: int, kind: str, key: str) -> list[str]:
        """One value of the detail of each event of this kind (which cards, which referrals)."""
        rows = await self._db.fetch_all(
            """SELECT json_extract(detail, '$.' || ?) FROM case_events
               WHERE case_id = ? AND kind = ? ORDER BY id""",
            (key, case_id, kind),
        )
        return [str(row[0]) for row in rows if row[0] is not None]
