"""The facts statistics are counted from: cases registered in a period and their follow-up.

Anonymous by construction: no resident, no pseudonym, no message text is read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database
from storage.timefmt import from_db, to_db

_IN_PERIOD = "SELECT id FROM cases WHERE created_at >= ? AND created_at < ?"
# Every revisit of the period's cases, sent or still scheduled (the period's bounds twice).
_REVISITS = f"""SELECT case_id, n, max(sent_at) AS sent_at, max(answer) AS answer,
                       max(scheduled) AS scheduled FROM (
                    SELECT case_id, n, sent_at, answer, 0 AS scheduled FROM revisits
                    WHERE case_id IN ({_IN_PERIOD})
                    UNION ALL
                    SELECT case_id, ref, NULL, NULL, 1 FROM reminders
                    WHERE kind = 'revisit' AND state IN ('pending', 'claimed')
                      AND case_id IN ({_IN_PERIOD})
                ) GROUP BY case_id, n"""


@dataclass(frozen=True)
class CaseFact:
    id: int
    created_at: datetime
    area_id: str | None
    category: str
    state: str
    first_reply_at: datetime | None  # the mediator's first message in the case
    urgent: bool = False
    urgent_at: datetime | None = None  # when it became urgent
    taken_at: datetime | None = None  # when someone took it (urgent cases)
    contact: str = "chat"  # how she asked to be met: chat, phone, office (desk), home


@dataclass(frozen=True)
class RevisitFact:
    """One revisit of a case: sent or only scheduled, answered or not."""

    case_id: int
    n: int
    sent_at: datetime | None
    answer: str | None
    scheduled: bool  # a reminder for it is still to fire (first time, or "remind me tomorrow")


@dataclass(frozen=True)
class SurveyFact:
    case_id: int
    rating: int | None
    resolved: bool | None


@dataclass(frozen=True)
class OutreachFacts:
    """Active subscribers now (no area or topic ticked = all of them), and the period's
    announcements sent and "I'll come" answers."""

    by_area: dict[str, int]  # area id, or "*" for everyone subscribed to all areas
    by_topic: dict[str, int]  # topic id, or "*"
    sent: int
    rsvps: int
    subscribers: int = 0  # active subscribers, each counted once
    events: int = 0  # sendings of announcements with "I'll come" buttons: events held
    attended: int = 0  # people who came, over the events whose attendance was recorded
    events_counted: int = 0  # events whose attendance was recorded


@dataclass(frozen=True)
class CaseCounts:
    """The period's cases counted (by the database, or from `CaseFact`s for the tests); the
    medians' two middle durations in microseconds, as `statistics.median` takes them."""

    total: int
    by_month: dict[datetime, int]  # each month's local start (as given) → cases
    by_area: dict[str | None, int]
    by_category: dict[str, int]
    by_state: dict[str, int]
    by_contact: dict[str, int]
    urgent: int
    first_replies: tuple[int, ...]  # how many, then the middle one or two (µs)
    urgent_taken: tuple[int, ...]  # the same for urgent cases someone took


@dataclass(frozen=True)
class RevisitCounts:
    total: int  # revisits sent or scheduled
    answers: dict[str, int]  # holding, recurred, unreachable
    overdue: int  # sent before the cut-off, unanswered, not rescheduled


# Microseconds since 1970 of a stored moment (storage/timefmt.py: always microseconds, UTC).
_US = "(unixepoch({0}) * 1000000 + CAST(substr({0}, 21, 6) AS INTEGER))"


class StatsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def outreach(self, start: datetime, end: datetime) -> OutreachFacts:
        active = (
            "SELECT s.user_id FROM subscribers s JOIN users u ON u.id = s.user_id "
            "WHERE s.active = 1 AND u.blocked_at IS NULL"
        )
        by_area = await self._db.fetch_all(
            f"""SELECT coalesce(a.area_id, '*'), count(*) FROM ({active}) s
                LEFT JOIN subscriber_areas a ON a.user_id = s.user_id GROUP BY 1"""
        )
        by_topic = await self._db.fetch_all(
            f"""SELECT coalesce(t.topic_id, '*'), count(*) FROM ({active}) s
                LEFT JOIN subscriber_topics t ON t.user_id = s.user_id GROUP BY 1"""
        )
        runs = await self._db.fetch_all(
            """SELECT id FROM announcement_runs
               WHERE state = 'sent' AND finished_at >= ? AND finished_at < ?""",
            (to_db(start), to_db(end)),
        )
        run_ids = [int(r[0]) for r in runs]
        marks = ",".join("?" * len(run_ids)) or "NULL"
        rsvps = await self._db.fetch_one(
            f"SELECT count(*) FROM rsvps WHERE answer = 'yes' AND run_id IN ({marks})",
            run_ids,
        )
        subscribers = await self._db.fetch_one(f"SELECT count(*) FROM ({active})")
        events = await self._db.fetch_one(
            f"""SELECT count(*), coalesce(sum(r.attended), 0), count(r.attended)
                FROM announcement_runs r JOIN announcements a ON a.id = r.announcement_id
                WHERE a.rsvp = 1 AND r.id IN ({marks})""",
            run_ids,
        )
        assert subscribers is not None and events is not None
        return OutreachFacts(
            by_area={str(r[0]): int(r[1]) for r in by_area},
            by_topic={str(r[0]): int(r[1]) for r in by_topic},
            sent=len(run_ids),
            rsvps=int(rsvps[0]) if rsvps else 0,
            subscribers=int(subscribers[0]),
            events=int(events[0]),
            attended=int(events[1]),
            events_counted=int(events[2]),
        )

    async def cases(self, start: datetime, end: datetime) -> list[CaseFact]:
        """Cases registered in [start, end), with the time of the mediator's first reply."""
        rows = await self._db.fetch_all(
            """SELECT c.id, c.created_at, c.area_id, c.category, c.state,
                      (SELECT min(m.at) FROM case_messages m
                       WHERE m.case_id = c.id AND m.author = 'mediator') AS first_reply,
                      c.urgent, c.urgent_at, c.taken_at, c.contact
               FROM cases c WHERE c.created_at >= ? AND c.created_at < ? ORDER BY c.id""",
            (to_db(start), to_db(end)),
        )
        return [
            CaseFact(
                id=int(row[0]),
                created_at=from_db(row[1]),
                area_id=row[2],
                category=str(row[3]),
                state=str(row[4]),
                first_reply_at=from_db(row[5]) if row[5] else None,
                urgent=bool(row[6]),
                urgent_at=from_db(row[7]) if row[7] else None,
                taken_at=from_db(row[8]) if row[8] else None,
                contact=str(row[9]),
            )
            for row in rows
        ]

    async def case_counts(
        self, start: datetime, end: datetime, months: Sequence[tuple[datetime, datetime]]
    ) -> CaseCounts:
        """`cases` counted in the database: a few rows each, however long the period (ten
        years are 50,000 cases). `months`: each month's [start, end) in UTC."""
        period = (to_db(start), to_db(end))
        where = "c.created_at >= ? AND c.created_at < ?"

        async def by(column: str) -> dict[Any, int]:
            rows = await self._db.fetch_all(
                f"SELECT {column}, count(*) FROM cases c WHERE {where} GROUP BY 1", period
            )
            return {row[0]: int(row[1]) for row in rows}

        # Every month's count in one statement, an index range each (clipped to the period).
        bounds = ",".join("(?, ?)" for _ in months)
        clipped = (to_db(moment) for a, b in months for moment in (max(a, start), min(b, end)))
        rows = (
            await self._db.fetch_all(
                f"""WITH b(lo, hi) AS (VALUES {bounds})
                    SELECT (SELECT count(*) FROM cases c
                            WHERE c.created_at >= b.lo AND c.created_at < b.hi) FROM b""",
                tuple(clipped),
            )
            if months
            else []
        )
        by_month = {a: int(row[0]) for (a, _), row in zip(months, rows, strict=True)}
        first_reply = (
            "(SELECT min(m.at) FROM case_messages m "
            "WHERE m.case_id = c.id AND m.author = 'mediator')"
        )
        taken_from = "coalesce(c.urgent_at, c.created_at)"
        by_state = await by("c.state")
        urgent = await self._db.fetch_one(
            f"SELECT count(*) FROM cases c WHERE {where} AND c.urgent", period
        )
        return CaseCounts(
            total=sum(by_state.values()),
            by_month=by_month,
            by_area=await by("c.area_id"),
            by_category=await by("c.category"),
            by_state=by_state,
            by_contact=await by("c.contact"),
            urgent=int(urgent[0]) if urgent else 0,
            first_replies=await self._middle(
                f"SELECT {_US.format(first_reply)} - {_US.format('c.created_at')} AS d "
                f"FROM cases c WHERE {where}",
                period,
            ),
            urgent_taken=await self._middle(
                f"SELECT {_US.format('c.taken_at')} - {_US.format(taken_from)} AS d "
                f"FROM cases c WHERE {where} AND c.urgent AND c.taken_at IS NOT NULL",
                period,
            ),
        )

    async def _middle(self, durations: str, params: tuple[str, ...]) -> tuple[int, ...]:
        """How many durations `durations` selects (as d, NULL for none), then the middle one
        or two: one pass, each duration computed once (MATERIALIZED), ranked by a window."""
        rows = await self._db.fetch_all(
            f"""WITH r AS MATERIALIZED ({durations})
                SELECT d, n FROM (SELECT d, row_number() OVER (ORDER BY d) AS k,
                                         count(*) OVER () AS n FROM r WHERE d IS NOT NULL)
                WHERE k IN ((n + 1) / 2, n / 2 + 1) ORDER BY d""",
            params,
        )
        return (int(rows[0][1]), *(int(row[0]) for row in rows)) if rows else (0,)

    async def revisit_counts(
        self, start: datetime, end: datetime, cutoff: datetime
    ) -> RevisitCounts:
        """`revisits` counted in the database; overdue: sent before `cutoff`, unanswered and
        not scheduled again."""
        period = (to_db(start), to_db(end))
        row = await self._db.fetch_one(
            f"""SELECT count(*), coalesce(sum(answer = 'holding'), 0),
                       coalesce(sum(answer = 'recurred'), 0),
                       coalesce(sum(answer = 'unreachable'), 0),
                       coalesce(sum(answer IS NULL AND NOT scheduled AND sent_at < ?), 0)
                FROM ({_REVISITS})""",
            (to_db(cutoff), *period, *period),
        )
        assert row is not None
        return RevisitCounts(
            total=int(row[0]),
            answers={"holding": int(row[1]), "recurred": int(row[2]), "unreachable": int(row[3])},
            overdue=int(row[4]),
        )

    async def mediation(self, start: datetime, end: datetime) -> dict[str, int]:
        """The period's cases as mediation goes: agreements by form, other parties who
        joined, terms performed (on time or late) and broken, judicial-confirmation cards,
        cases flagged over the time limit and extensions agreed."""
        period = (to_db(start), to_db(end))
        forms = await self._db.fetch_all(
            f"""SELECT form, count(*) FROM agreements WHERE case_id IN ({_IN_PERIOD})
                GROUP BY form""",
            period,
        )
        events = await self._db.fetch_all(
            f"""SELECT kind || CASE WHEN kind = 'term_performed'
                                    THEN CASE WHEN json_extract(detail, '$.on_time')
                                              THEN ':on_time' ELSE ':late' END
                                    ELSE '' END,
                       count(DISTINCT CASE WHEN kind IN ('time_limit', 'extended')
                                           THEN case_id ELSE id END)
                FROM case_events
                WHERE case_id IN ({_IN_PERIOD}) AND kind IN ('party_joined', 'term_performed',
                      'term_broken', 'judicial_card', 'time_limit', 'extended')
                GROUP BY 1""",
            period,
        )
        found = {str(row[0]): int(row[1]) for row in forms}
        found.update({str(row[0]): int(row[1]) for row in events})
        return found

    async def referrals(self, start: datetime, end: datetime) -> dict[str, int]:
        """Referrals recorded for the period's cases (police, court, shelter, …), by kind."""
        rows = await self._db.fetch_all(
            f"""SELECT json_extract(detail, '$.to'), count(*) FROM case_events
                WHERE kind = 'referral' AND case_id IN ({_IN_PERIOD}) GROUP BY 1""",
            (to_db(start), to_db(end)),
        )
        return {str(row[0]): int(row[1]) for row in rows if row[0] is not None}

    async def revisits(self, start: datetime, end: datetime) -> list[RevisitFact]:
        """Every revisit of the period's cases: those sent, and those still scheduled."""
        period = (to_db(start), to_db(end))
        rows = await self._db.fetch_all(f"{_REVISITS} ORDER BY case_id, n", period + period)
        return [
            RevisitFact(
                case_id=int(row[0]),
                n=int(row[1]),
                sent_at=from_db(row[2]) if row[2] else None,
                answer=row[3],
                scheduled=bool(row[4]),
            )
            for row in rows
        ]

    async def surveys(self, start: datetime, end: datetime) -> list[SurveyFact]:
        rows = await self._db.fetch_all(
            f"""SELECT case_id, rating, resolved FROM surveys
                WHERE case_id IN ({_IN_PERIOD}) ORDER BY case_id""",
            (to_db(start), to_db(end)),
        )
        return [
            SurveyFact(
                case_id=int(row[0]),
                rating=int(row[1]) if row[1] is not None else None,
                resolved=None if row[2] is None else bool(row[2]),
            )
            for row in rows
        ]
