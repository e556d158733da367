"""No full scan of a large table on a hot path: the query plan of every statement the bot runs.

The permission matrix's world is built through the chat (tests/e2e/test_permissions.py:
intake, offers and their expiry, the relay both ways, closing, revisits and the survey,
handing over, blocking, a broadcast), then every staff and mediator command is typed, a
resident asks for her data, and the clock moves a year on so the nightly purge runs. Every
statement SQLite ran meanwhile (a trace on the bot's connection, values filled in) is
explained with ``EXPLAIN QUERY PLAN``; a ``SCAN`` of a LARGE table (one that grows with the
district: cases, book entries, people…) fails the test, naming the statement.

Every table must be classified: a new one fails until it is put in LARGE or SMALL. The few
scans allowed are listed in ALLOWED, each with its reason.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

from tests.e2e.driving import database, say, settled
from tests.e2e.test_permissions import CONFIG, HEAD, OWNER, STAFF, WANG, _build
from tests.harness import BotUnderTest, make_config

# Tables that grow with the district: a scan of one of them costs a year's rows.
LARGE = frozenset(
    {
        "users", "cases", "case_events", "case_messages", "case_notes", "case_access",
        "relay_map", "relay_showing", "offers", "reminders", "revisits", "surveys",
        "inbox", "outbox", "subscribers", "subscriber_areas", "subscriber_topics",
        "deliveries", "rsvps", "sent_messages", "urgent_alerts", "case_parties",
        "party_focus", "agreements", "agreement_confirmations",
    }
)  # fmt: skip
# Tables that stay small: the team, its roster and invites, its saved phrases (at most 20
# each), configuration-like rows, and rows that live only minutes or days (an intake under
# way, a message waiting for "which case?", a pending answer), which the nightly purge sweeps.
SMALL = frozenset(
    {
        "members", "invites", "roster_slots", "roster_overrides", "case_counters",
        "announcements", "announcement_runs", "user_blocks", "demo_people", "drafts",
        "held_messages", "pending_inputs", "sqlite_sequence", "saved_phrases",
    }
)  # fmt: skip
# (a fragment of the statement, why its scan is right)
ALLOWED: tuple[tuple[str, str], ...] = (
    (
        "FROM subscribers s JOIN users u ON u.id = s.user_id",
        "a broadcast's audience and /stats' subscriber counts are every active subscriber",
    ),
    (
        "SELECT s.user_id FROM subscribers s",
        "a broadcast's audience is every active subscriber (areas and topics filter them)",
    ),
    (
        "SELECT state, count(*) FROM cases GROUP BY state",
        "/overview counts every case by state: a covering scan of cases_by_state (some ms)",
    ),
)
SCAN = re.compile(r"^SCAN (\w+)")
NAMED = re.compile(
    r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(?!WHERE|SET|ON|LEFT|JOIN|INNER|"
    r"ORDER|GROUP|LIMIT|VALUES|USING|SELECT|WHEN|AND|OR|DEFAULT)(\w+))?",
    re.IGNORECASE,
)
PLANNED = ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH", "REPLACE")


def tables_named(sql: str) -> dict[str, str]:
    """Alias (or name) -> table, for every table the statement names."""
    found: dict[str, str] = {}
    for table, alias in NAMED.findall(sql):
        found[table.lower()] = table.lower()
        if alias:
            found[alias.lower()] = table.lower()
    return found


def allowed(sql: str, used: set[str]) -> bool:
    """Whether the statement's scan is one of ALLOWED (noting which, so none goes stale)."""
    flat = " ".join(sql.split())
    matched = {fragment for fragment, _why in ALLOWED if fragment in flat}
    used |= matched
    return bool(matched)


async def _drive(bot: BotUnderTest, settled_case: str) -> None:
    """Everything else a day brings: the commands, the data rights, a year on, the purge."""
    staff, wang, head, owner = (
        bot.person(i, language_code="en") for i in (STAFF, WANG, HEAD, OWNER)
    )
    for text in ("/stats", "/stats year", "/stats 2017-01-01 2026-12-31", "/overview",
                 "/mediators", "/roster", "/roster export", "/announcements"):  # fmt: skip
        await say(staff, text)
    for text in ("/cases", "/book", "/status", "/duty", "/note Called the family"):
        await say(wang, text)
    await say(head, "/overview")
    await say(head, "/access")
    await say(owner, "/mydata")
    await say(owner, "/status")
    await say(owner, "Still noisy")
    bot.clock.advance(timedelta(days=400))  # every revisit, the digest, the purge
    deadline = time.monotonic() + 60  # the purge yields to people: a loaded machine is slow
    while "purged" not in {event.kind for event in await bot.timeline(settled_case)}:
        assert time.monotonic() < deadline, "the nightly purge did not run"
        await settled(owner)
        await asyncio.sleep(0.05)


async def test_no_hot_statement_scans_a_large_table(tmp_path: Path) -> None:
    bot = BotUnderTest(make_config(tmp_path, CONFIG))
    statements: set[str] = set()
    lock = threading.Lock()

    def seen(sql: str) -> None:
        with lock:
            statements.add(sql)

    async with bot:
        db = database(bot)
        await db.trace(seen)
        refs = await _build(bot)
        await _drive(bot, refs["C"])
        await db.trace(None)
        tables = {
            str(row[0])
            for row in await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert tables <= LARGE | SMALL, f"classify these tables: {tables - LARGE - SMALL}"
        scans: list[str] = []
        used: set[str] = set()
        planned = sorted(s for s in statements if s.lstrip().upper().startswith(PLANNED))
        assert len(planned) > 200, "the trace saw too little"
        for sql in planned:
            names = tables_named(sql)
            for row in await db.fetch_all(f"EXPLAIN QUERY PLAN {sql}"):
                match = SCAN.match(str(row[3]))
                table = names.get(match.group(1).lower()) if match else None
                if table in LARGE and not allowed(sql, used):
                    scans.append(f"{row[3]}\n    in: {' '.join(sql.split())[:400]}")
    assert not scans, "full scans of large tables:\n" + "\n".join(scans)
    assert used == {fragment for fragment, _why in ALLOWED}, "an allowed scan no longer runs"
