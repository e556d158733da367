"""Who may do what: every command and every kind of button, tried by every role.

One world is built per module (through the chat, as people would): a resident (the owner)
with an accepted case A, a case B offered to 王大姐 and a settled case C whose revisit card
and survey are out; another resident whose case E waits for the head (王大姐's offer of it
expired) and whose case F 王大姐 handed over to the head; a resident blocked by staff, whose
case G 王大姐 had accepted (she keeps /privacy, /mydata, /forget and their buttons, and
nothing else); two announcements; a message of the owner held until she says which case it
is for. Then each cell of the matrix below is
one test: the role tries the action — typed, or pressed (the real button when their chat
shows it, else forged from their newest message) — and

* allowed: it is not refused (and changes what it must);
* not allowed: a clear refusal (an alert on the button or a message), and the database is
  exactly as before;
* either way: the press is answered, no exception escapes a handler, and the bot makes no
  call the Bot API rejects.

A cell that changed the database restores the world (the bot restarts on a copy of it).
Stale (closed, handed over, expired, taken) and malformed callback data are rows too.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.casework import CaseNotFoundError, NothingToWithdrawError
from bot.errors import InviteError, NotAllowedError, StaleActionError
from bot.i18n import Catalogs
from bot.localapi.state import BotMessage
from bot.parties import PartyLinkError
from bot.relay import CaseClosedError, CaseNotYoursError, NoCaseChosenError
from bot.staff import StaffOnlyError, StaffOrHeadOnlyError
from bot.urgent import NoMediationError, TakenError
from tests.e2e.driving import (
    CASE_NUMBER,
    Snapshot,
    Watcher,
    arrives,
    buttons,
    changed_tables,
    choose,
    count,
    database,
    messages,
    press_any,
    say,
    settled,
    snapshot,
)
from tests.harness import BotUnderTest, Person, make_config

STAFF, OWNER, RESIDENT, STRANGER, BLOCKED = 901, 1001, 1002, 1003, 1004
WANG, LI, HEAD, ADVISER = 2001, 2002, 2100, 2200
ROLES = ("stranger", "owner", "resident", "wang", "li", "head", "adviser", "staff", "blocked")
IDS = dict(
    zip(ROLES, (STRANGER, OWNER, RESIDENT, WANG, LI, HEAD, ADVISER, STAFF, BLOCKED), strict=True)
)

EVERYONE = frozenset(ROLES) - {"blocked"}  # a blocked resident is refused nearly everything
WITH_RIGHTS = EVERYONE | {"blocked"}  # …but keeps her data rights
NOBODY: frozenset[str] = frozenset()
OWNER_ONLY = frozenset({"owner"})
WANG_ONLY, HEAD_ONLY = frozenset({"wang"}), frozenset({"head"})
CASE_TEAM = frozenset({"wang", "head"})  # 王大姐 is the mediator of A, B and C
MEDIATORS = frozenset({"wang", "li", "head"})
STAFF_ONLY = frozenset({"staff"})
STAFF_OR_HEAD = frozenset({"staff", "head"})
SUBSCRIBED = WITH_CASES = frozenset({"owner", "resident"})
NOT_TEAM = frozenset({"stranger", "owner", "resident", "staff"})  # may ask for help

CONFIG: dict[str, Any] = {
    "staff": {"admins": [STAFF]},
    "revisits": {"offsets_days": [1, 30], "survey_after_days": 1},
    "privacy": {"max_messages_per_minute": 600},  # hundreds of tries in one (fake) minute
    "desk": {"phrases": ["See you on Thursday"]},
}


def _refusals() -> tuple[str, ...]:
    """What the bot says when it refuses, in English (the source language)."""
    errors = [
        NotAllowedError(),
        StaleActionError(),
        CaseNotYoursError(),
        CaseClosedError(),
        NoCaseChosenError(),
        CaseNotFoundError(),
        NothingToWithdrawError(),
        StaffOnlyError(),
        StaffOrHeadOnlyError(),
        InviteError("unknown"),
        TakenError("王大姐"),  # 我来接手 on a case she has
        NoMediationError(),
        PartyLinkError(),
    ]
    with Catalogs(default="en").using("en"):
        return (
            *(e.user_message() for e in errors),
            "That language is not available.",
            "Sorry, your messages cannot be received now.",  # to a blocked resident
        )


REFUSALS = _refusals()


@dataclass(frozen=True)
class Action:
    """One row of the matrix: what is tried, and who may."""

    name: str
    do: str  # a typed message, or "press <callback data>"; {placeholders} from the world
    allowed: frozenset[str]
    prep: tuple[str, ...] = ()  # tried first by everyone (a selection, a press); not judged
    changes: frozenset[str] = frozenset()  # tables an allowed try must change

    def steps(self, refs: dict[str, Any]) -> tuple[list[str], str]:
        return [p.format(**refs) for p in self.prep], self.do.format(**refs)


def row(
    name: str,
    do: str,
    allowed: frozenset[str],
    *prep: str,
    changes: tuple[str, ...] = (),
) -> Action:
    return Action(name, do, allowed, prep, frozenset(changes))


SELECT_A = "/case {A}"
COMMANDS = [
    row("start", "/start", EVERYONE),
    row("help", "/help", EVERYONE),
    row("language", "/language", EVERYONE),
    row("status", "/status", EVERYONE),
    row("cancel", "/cancel", EVERYONE),
    row("privacy", "/privacy", WITH_RIGHTS),
    row("mydata", "/mydata", WITH_RIGHTS),
    row("forget", "/forget", WITH_RIGHTS),
    row("subscribe", "/subscribe", EVERYONE),
    row("unsubscribe", "/unsubscribe", EVERYONE),
    row("withdraw", "/withdraw", WITH_CASES),
    row("invite", "/invite", STAFF_ONLY),
    row("join-unknown-invite", "/start join-NotARealToken", NOBODY),
    row("duty", "/duty", MEDIATORS),
    row("duty-on", "/duty on", MEDIATORS),
    row("cases", "/cases", MEDIATORS),
    row("case", SELECT_A, CASE_TEAM),
    row("case-unknown", "/case QJS-1999-9999", NOBODY),
    row("case-huge-id", "/case 99999999999999999999999", NOBODY),
    row("case-odd-digits", "/case ²³", NOBODY),
    row("note", "/note a private remark", CASE_TEAM, SELECT_A, changes=("case_notes",)),
    row("close", "/close", CASE_TEAM, SELECT_A),
    row("transfer", "/transfer", CASE_TEAM, SELECT_A),
    row("transfer-numbered", "/transfer {A}", CASE_TEAM),
    row("reassign", "/reassign {A}", CASE_TEAM),
    row("consult", "/consult", CASE_TEAM, SELECT_A, changes=("pending_inputs",)),
    row("book", "/book {A}", CASE_TEAM),
    row("care", "/care", CASE_TEAM, SELECT_A),
    # The other party (bot/parties.py): an invite link, whom messages go to, a link's use.
    row("party", "/party", CASE_TEAM, SELECT_A, changes=("case_parties", "case_events")),
    row("talk", "/talk", CASE_TEAM, SELECT_A),
    row("extend", "/extend", CASE_TEAM, SELECT_A, changes=("case_events",)),
    row("party-unknown-link", "/start party-NotARealToken", NOBODY),
    row("reopen", "/reopen {C}", CASE_TEAM, changes=("cases",)),
    row("close-numbered", "/close {A}", CASE_TEAM),
    row("close-someone-elses", "/close {F}", HEAD_ONLY),  # F is the head's now
    row("note-numbered", "/note {A} a private remark", CASE_TEAM, changes=("case_notes",)),
    row("phrases", "/phrases", MEDIATORS),
    row("phrases-add", "/phrases add See you soon", MEDIATORS, changes=("saved_phrases",)),
    row("capacity", "/capacity", MEDIATORS),
    row("capacity-set", "/capacity 3", MEDIATORS, changes=("members",)),
    row("announce", "/announce", STAFF_ONLY, changes=("announcements",)),
    row("announcements", "/announcements", STAFF_ONLY),
    row("attendance", "/attendance {sent} 12", STAFF_ONLY, changes=("announcement_runs",)),
    row("roster", "/roster", STAFF_OR_HEAD),
    row("mediators", "/mediators", STAFF_ONLY),
    row("overview", "/overview", STAFF_OR_HEAD),
    row("stats", "/stats", STAFF_OR_HEAD),
    row("block", "/block {A} abuse", STAFF_OR_HEAD, changes=("user_blocks",)),
    row("unblock", "/unblock {A}", STAFF_OR_HEAD, "/block {A} abuse"),
    # Who read a case: no contents, so staff may see it too (bot/access.py).
    row("access", "/access {A}", STAFF_OR_HEAD),
]
BUTTONS = [
    row("language-button", "press lang:en", EVERYONE, "/language"),
    # A resident with a case open chooses a new matter; the team's matters are not cases.
    row("new-matter", "press in:new:go", NOT_TEAM - {"staff"}, changes=("drafts",)),
    row("unknown-command", "/foobar", EVERYONE),  # answered, never passed on
    row("offer-accept", "press of:{offer_B}:accept", WANG_ONLY, changes=("offers", "cases")),
    row("offer-decline", "press of:{offer_B}:decline", WANG_ONLY),
    row("offer-decline-reason", "press of:{offer_B}:no-busy", WANG_ONLY),
    row("offer-decline-confirm", "press of:{offer_B}:yes-busy", WANG_ONLY, changes=("offers",)),
    row("offer-to-head", "press of:{offer_E}:accept", HEAD_ONLY, changes=("offers", "cases")),
    row("select-button", "press cs:{A_id}", CASE_TEAM),
    # Every outcome first shows what will happen (bot/closing.py); only ✓ 确认 closes.
    row("close-withdrawn", "press cl:{A_id}:withdrawn", CASE_TEAM, changes=("pending_inputs",)),
    row("close-settled", "press cl:{A_id}:settled", CASE_TEAM),
    row("agreement-form", "press af:{A_id}:written", CASE_TEAM, changes=("pending_inputs",)),
    row(
        "close-confirm",
        "press cf:{A_id}:ok",
        CASE_TEAM,
        "press cl:{A_id}:withdrawn",
        changes=("cases", "case_events"),
    ),
    row("close-cancel", "press cf:{A_id}:cancel", CASE_TEAM, "press cl:{A_id}:withdrawn"),
    # The owner of settled case C confirms its (oral) agreement; nobody else can.
    row("agreement-confirm", "press ac:{C_id}", OWNER_ONLY, changes=("agreement_confirmations",)),
    row("agreement-of-open-case", "press ac:{A_id}", NOBODY),
    row("hand-over", "press tr:{A_id}:{li}", CASE_TEAM, changes=("pending_inputs",)),
    row(
        "hand-over-confirm",
        "press tc:{A_id}:yes",
        CASE_TEAM,
        SELECT_A,
        "press tr:{A_id}:{li}",
        "Moving away",
        changes=("cases",),
    ),
    row(
        "hand-over-change",
        "press tc:{A_id}:edit",
        CASE_TEAM,
        SELECT_A,
        "press tr:{A_id}:{li}",
        "Moving away",
        changes=(),
    ),
    row(
        "hand-over-cancel",
        "press tc:{A_id}:no",
        CASE_TEAM,
        SELECT_A,
        "press tr:{A_id}:{li}",
        "Moving away",
        changes=(),
    ),
    row("recall", "press rc:{recall}", WANG_ONLY, changes=("case_events",)),
    row("member-which-case", "press rm:{held}:{A_id}", NOBODY),  # none of hers is waiting
    row("phrase", "press ph:s:0", CASE_TEAM, changes=("case_messages",)),
    row("withdraw-accepted", "press wd:{A_id}", OWNER_ONLY, changes=("cases",)),
    row("withdraw-offered", "press wd:{B_id}", OWNER_ONLY, changes=("cases", "offers")),
    row("which-case", "press rl:{held}:{A_id}", OWNER_ONLY, changes=("held_messages",)),
    row("own-card", "press rk:{held}:{A_id}:yes", NOBODY),  # nobody's card is waiting
    row("revisit", "press rv:{C_id}:1:holding", CASE_TEAM, changes=("revisits",)),
    row("survey", "press sv:{C_id}:rate:5", OWNER_ONLY, changes=("surveys",)),
    row("subscribe-button", "press sub:a:dongsheng", EVERYONE),
    row("unsubscribe-button", "press unsub", EVERYONE),
    row("rsvp", "press rsvp:{run}:yes", SUBSCRIBED, changes=("rsvps",)),
    row(
        "compose",
        "press an:audience:a-dongsheng",
        STAFF_ONLY,
        "/announce",
        "Yoga on Sunday",
        changes=("announcements",),
    ),
    row("announcement-report", "press am:report:{sent}", STAFF_ONLY),
    row("announcement-cancel", "press am:cancel:{later}", STAFF_ONLY, changes=("announcements",)),
    row("mydata-button", "press pv:mydata", WITH_RIGHTS),
    row("discreet-button", "press pv:discreet-on", WITH_RIGHTS),
    row("keep-button", "press pv:keep", WITH_RIGHTS),
    # Team members are not erased through the residents' path; staff in the config have no
    # member record, and their own data (a language, a case of their own) is theirs to erase.
    row("erase-button", "press pv:forget-yes", WITH_RIGHTS - {"wang", "li", "head", "adviser"}),
    # A blocked resident's own case: her presses are refused like anyone else's.
    row("withdraw-blocked-case", "press wd:{G_id}", NOBODY),
    row("select-blocked-case", "press cs:{G_id}", CASE_TEAM),
    row("invite-button", "press inv:mediator:dongsheng", STAFF_ONLY, changes=("invites",)),
    row("duty-button", "press duty:roster", MEDIATORS),
    row("staff-mediators", "press st:ml", STAFF_ONLY),
    row("staff-deactivate", "press st:mD:{li}", STAFF_ONLY, changes=("members",)),
    row("staff-export", "press st:rx", STAFF_OR_HEAD),
    # Someone in danger: anyone but the team may raise the alarm (their waiting case, or a
    # new one, becomes urgent); the head takes any waiting case; the care panel is the team's.
    row("sos", "press ur:sos", NOT_TEAM, changes=("cases", "urgent_alerts")),
    row("alarm", "press ur:alarm", NOT_TEAM, changes=("cases", "urgent_alerts")),
    row("consent-after", "press ur:consent:yes", EVERYONE),
    row("take-waiting", "press ur:take:{B_id}", HEAD_ONLY, changes=("cases", "offers")),
    row("care-card", "press ur:card:{A_id}:police", CASE_TEAM, changes=("case_events",)),
    row("care-referral", "press ur:ref:{A_id}:court", CASE_TEAM, changes=("case_events",)),
    row("care-minor", "press ur:minor:{A_id}", CASE_TEAM, changes=("case_events",)),
    row("care-flag", "press ur:flag:{A_id}", CASE_TEAM, changes=("cases",)),
    row("talk-resident", "press tk:{A_id}:resident", CASE_TEAM, changes=("party_focus",)),
    # Nobody was invited to case A: no party to talk to, no link opened, nobody to end.
    row("talk-party", "press tk:{A_id}:party", NOBODY),
    row("party-join", "press pj:{A_id}:yes", NOBODY),
    row("party-decline", "press pj:{A_id}:no", NOBODY),
    row("party-end", "press pe:{A_id}", NOBODY),
]
STALE = [  # buttons that were real once
    row("consent-without-intake", "press in:consent:yes", NOBODY),  # not a new intake
    row("submit-without-intake", "press in:summary:confirm", NOBODY),  # a second submit
    row("change-without-intake", "press in:summary:edit", NOBODY),
    row("notice-cancel-too-early", "press an:confirm:cancel", NOBODY, "/announce"),
    row("notice-edit-too-early", "press an:confirm:edit", NOBODY, "/announce"),
    row("offer-expired", "press of:{offer_E_expired}:accept", NOBODY),
    row("offer-taken", "press of:{offer_A}:accept", NOBODY),
    row("close-closed-case", "press cl:{C_id}:settled", NOBODY),
    row("withdraw-closed-case", "press wd:{C_id}", NOBODY),
    row("handed-over-case", "press cl:{F_id}:withdrawn", HEAD_ONLY, changes=("pending_inputs",)),
    row("confirm-nothing-waiting", "press cf:{A_id}:ok", NOBODY),
    # C's agreement is oral, without terms: no term card was ever sent, none was broken.
    row("term-not-asked", "press tf:{C_id}:1:done", NOBODY),
    row("extension-not-asked", "press ex:{A_id}:0:yes", NOBODY),
    row("broken-term-reopen", "press tb:{C_id}:1:reopen", NOBODY),
    row("broken-term-revisit", "press tb:{C_id}:1:revisit", NOBODY),
    row("revisit-not-due", "press rv:{C_id}:2:holding", NOBODY),
    row("survey-of-open-case", "press sv:{A_id}:rate:1", NOBODY),
    row("take-accepted", "press ur:take:{A_id}", NOBODY),
    row("take-closed", "press ur:take:{C_id}", NOBODY),
    row("clear-unflagged", "press ur:clear:{A_id}", NOBODY),
    row("hand-over-unconfirmed", "press tc:{A_id}:yes", NOBODY),  # no note was written
    row("phrase-gone", "press ph:m:1", NOBODY),
]
MALFORMED = [  # known prefixes, data the bot never made
    row("offer-verb", "press of:{offer_B}:steal", NOBODY),
    row("close-outcome", "press cl:{A_id}:burnt", NOBODY),
    row("hand-over-to-resident", "press tr:{A_id}:{owner}", NOBODY),
    row("case-id-too-big", "press cs:99999999999999999999999", NOBODY),
    row("rsvp-odd-digits", "press rsvp:²:yes", NOBODY),
    row("hand-over-odd-digits", "press tr:{A_id}:²", NOBODY),
    row("privacy-verb", "press pv:erase-everyone", NOBODY),
    row("language-code", "press lang:xx", NOBODY),
    row("invite-role", "press inv:emperor:", NOBODY),
    row("duty-mode", "press duty:forever", NOBODY),
    row("staff-id", "press st:mD:¹", NOBODY),
    row("survey-step", "press sv:{C_id}:rate:99", NOBODY),
    row("care-card-kind", "press ur:card:{A_id}:poison", NOBODY),
    row("care-verb", "press ur:steal:{A_id}", NOBODY),
    row("take-odd-digits", "press ur:take:²", NOBODY),
    row("party-answer", "press pj:{A_id}:maybe", NOBODY),
    row("agreement-form-kind", "press af:{A_id}:sung", NOBODY),
    row("confirm-verb", "press cf:{A_id}:burn", NOBODY),
    row("term-answer", "press tf:{C_id}:1:explode", NOBODY),
    row("talk-whom", "press tk:{A_id}:everyone", NOBODY),
    row("unknown-prefix", "press zz:{A_id}", NOBODY),
    row("no-prefix", "press hello", NOBODY),
    row("hand-over-verb", "press tc:{A_id}:steal", NOBODY),
    row("phrase-kind", "press ph:x:0", NOBODY),
    row("decline-confirm-reason", "press of:{offer_B}:yes-bribe", NOBODY),
    row("recall-odd-digits", "press rc:²", NOBODY),
]
MATRIX = [*COMMANDS, *BUTTONS, *STALE, *MALFORMED]


# ---------------------------------------------------------------------------------- world


@dataclass
class World:
    bot: BotUnderTest
    people: dict[str, Person]
    refs: dict[str, Any]
    baseline: Path
    watcher: Watcher
    baseline_snapshot: Snapshot = field(default_factory=dict)

    async def restore(self) -> None:
        """Back to the world as it was built: restart the bot on a copy of that database."""
        await self.bot.stop()
        path = Path(self.bot.config.storage.path)
        for extra in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            extra.unlink(missing_ok=True)
        shutil.copyfile(self.baseline, path)
        await self.bot.start()
        assert self.bot.app is not None
        self.watcher.attach(self.bot.app)


async def _join(bot: BotUnderTest, staff: Person, user_id: int, invite: str, name: str) -> Person:
    """Staff invite (the button for the role); the new member opens the link, gives a name."""
    member = bot.person(user_id, f"Real{user_id}", language_code="en")
    await say(staff, "/invite")
    link = next(m for m in await choose(staff, invite) if "start=join-" in m.content)
    payload = re.search(r"start=(join-[\w-]+)", link.content)
    assert payload is not None
    await say(member, f"/start {payload.group(1)}")
    await say(member, name)
    return member


async def _intake(resident: Person, text: str) -> str:
    """A whole intake by buttons (Dongsheng, neighbours, chat here); returns the number."""
    answers = await say(resident, "找大阿嫂")
    if any("in:new:go" in buttons(m) for m in answers):  # a case open: a new matter
        answers = await choose(resident, "in:new:go")
    if any("in:consent:yes" in buttons(m) for m in answers):
        await choose(resident, "in:consent:yes")
    await choose(resident, "in:area:dongsheng")
    await choose(resident, "in:category:neighbours")
    await choose(resident, "in:sensitive:yes")
    await say(resident, text)
    await choose(resident, "in:describe:done")
    await choose(resident, "in:contact:chat")
    answers = await choose(resident, "in:summary:confirm")
    found = [match.group(0) for m in answers if (match := CASE_NUMBER.search(m.content))]
    assert found, [m.content for m in answers]
    return found[0]


async def _offer(mediator: Person, number: str) -> str:
    """The accept data of the offer card of this case (the card has arrived by now)."""
    for message in reversed(messages(mediator)):
        if number in message.content:
            accept = [d for d in buttons(message) if d.startswith("of:") and d.endswith("accept")]
            if accept:
                return accept[0]
    raise AssertionError(f"no offer of {number} for {mediator.id}")


async def _compose(staff: Person, text: str, *, later: str | None = None) -> None:
    """/announce: everyone; now with RSVP, or at a later time without."""
    await say(staff, "/announce")
    await say(staff, text)
    await choose(staff, "an:audience:next")
    if later is None:
        for data in ("an:time:now", "an:rsvp:yes", "an:event:skip"):
            await choose(staff, data)
    else:
        await choose(staff, "an:time:later")
        await say(staff, later)
        for data in ("an:repeat:once", "an:rsvp:no"):
            await choose(staff, data)
    await choose(staff, "an:confirm:yes")


def _with_button(prefix: str) -> Callable[[BotMessage], bool]:
    return lambda message: any(data.startswith(prefix) for data in buttons(message))


async def _build(bot: BotUnderTest) -> dict[str, Any]:
    """The world of the module docstring, through the chat; returns the references."""
    staff = bot.person(STAFF, "Desk", language_code="en")
    owner = bot.person(OWNER, "Owner", language_code="en")
    resident = bot.person(RESIDENT, "Other", language_code="en")
    stranger = bot.person(STRANGER, "Stranger", language_code="en")
    blocked = bot.person(BLOCKED, "Blocked", language_code="en")
    wang = await _join(bot, staff, WANG, "inv:mediator:dongsheng", "王大姐")
    li = await _join(bot, staff, LI, "inv:mediator:dongsheng", "李阿姨")
    head = await _join(bot, staff, HEAD, "inv:head:", "陈社长")
    await _join(bot, staff, ADVISER, "inv:adviser:", "孙律师")
    await say(wang, "/duty on")  # every new case goes to 王大姐
    await say(li, "/duty off")
    for person in (owner, resident):
        await say(person, "/subscribe")
    await say(stranger, "/help")  # a stranger: nothing but a first hello

    refs: dict[str, Any] = {"E": await _intake(resident, "The dog barks all night")}
    refs["C"] = await _intake(owner, "Noise from upstairs")
    await choose(wang, await _offer(wang, refs["C"]))
    await say(wang, "/close")
    c_id = await _case_id(bot, refs["C"])
    await choose(wang, f"cl:{c_id}:settled")
    await choose(wang, f"af:{c_id}:oral")
    await say(wang, "No drilling after 22:00")
    await choose(wang, f"cf:{c_id}:ok")

    # A day later: 王大姐's offer of E has expired and it waits for the head; C's first
    # revisit card and survey are out.
    since = {person.id: count(person) for person in (wang, head, owner)}
    bot.clock.advance(timedelta(days=1, minutes=30))
    await arrives(head, _with_button("of:"), since[head.id], what="the offer of E")
    await arrives(wang, _with_button("rv:"), since[wang.id], what="the revisit card")
    await arrives(owner, _with_button("sv:"), since[owner.id], what="the survey")

    refs["F"] = await _intake(resident, "Wall between our gardens")
    await choose(wang, await _offer(wang, refs["F"]))
    await say(wang, "/transfer")
    await choose(wang, f"tr:{await _case_id(bot, refs['F'])}:{HEAD}")
    await say(wang, "The head knows the family")
    await choose(wang, f"tc:{await _case_id(bot, refs['F'])}:yes")

    refs["A"] = await _intake(owner, "Smoke from the barbecue")
    await choose(wang, await _offer(wang, refs["A"]))
    refs["G"] = await _intake(blocked, "You are all useless")
    await choose(wang, await _offer(wang, refs["G"]))
    await say(staff, f"/block {refs['G']} insults")
    await say(wang, f"/case {refs['A']}")  # 王大姐 talks in A again, as before G came
    since_wang = count(wang)
    await say(wang, "Hello, I am on it")  # its copy gets a quiet line with 撤回
    recall = await arrives(wang, _with_button("rc:"), since_wang, what="the recall button")
    refs["recall"] = next(d for d in buttons(recall) if d.startswith("rc:")).split(":")[1]
    refs["B"] = await _intake(owner, "Parking in front of my door")
    await _offer(wang, refs["B"])  # left open

    held = await say(owner, "About the smoke again")  # two open cases: which one is it for?
    refs["held"] = next(d for m in held for d in buttons(m) if d.startswith("rl:")).split(":")[1]

    since_owner = count(owner)
    await _compose(staff, "Health check on Saturday")
    await arrives(owner, _with_button("rsvp:"), since_owner, what="the announcement")
    await _finished_broadcast(bot)  # the run is done once its report is written, just after
    await _compose(staff, "Legal lecture in April", later="2026-04-01 09:00")
    return {**refs, **await _ids(bot, refs)}


async def _finished_broadcast(bot: BotUnderTest, timeout: float = 20.0) -> None:
    """Until the broadcast that reached everyone is marked done."""
    async with asyncio.timeout(timeout):
        while not await database(bot).fetch_one("SELECT 1 FROM announcements WHERE state = 'done'"):
            await asyncio.sleep(0.05)


async def _case_id(bot: BotUnderTest, number: str) -> int:
    found = await database(bot).fetch_one("SELECT id FROM cases WHERE number = ?", (number,))
    assert found is not None, number
    return int(found[0])


async def _ids(bot: BotUnderTest, refs: dict[str, Any]) -> dict[str, Any]:
    """Database ids behind the world's buttons."""
    db = database(bot)
    ids: dict[str, Any] = {f"{key}_id": await _case_id(bot, refs[key]) for key in "ABCEFG"}

    async def offer(case: str, state: str, mediator: int) -> int:
        found = await db.fetch_one(
            "SELECT id FROM offers WHERE case_id = ? AND state = ? AND mediator_id = ?",
            (ids[f"{case}_id"], state, mediator),
        )
        assert found is not None, (case, state, mediator)
        return int(found[0])

    ids |= {
        "offer_A": await offer("A", "accepted", WANG),
        "offer_B": await offer("B", "open", WANG),
        "offer_E": await offer("E", "open", HEAD),
        "offer_E_expired": await offer("E", "expired", WANG),
    }
    run = await db.fetch_one("SELECT id FROM announcement_runs ORDER BY id LIMIT 1")
    sent = await db.fetch_one("SELECT id FROM announcements WHERE state = 'done'")
    later = await db.fetch_one("SELECT id FROM announcements WHERE state = 'scheduled'")
    assert run is not None and sent is not None and later is not None
    ids |= {"run": run[0], "sent": sent[0], "later": later[0]}
    return ids | {"li": LI, "owner": OWNER}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder = tmp_path_factory.mktemp("permissions")
    bot = BotUnderTest(make_config(folder, CONFIG))
    async with bot:
        refs = await _build(bot)
        people = {role: bot.person(user_id, language_code="en") for role, user_id in IDS.items()}
        for user_id in IDS.values():  # re-registered, but each of them has written before
            bot.api.user(user_id).started = True
        baseline = folder / "baseline.sqlite3"
        await database(bot).fetch_one(f"VACUUM INTO '{baseline}'")
        built = World(bot, people, refs, baseline, Watcher(bot.api))
        assert bot.app is not None
        built.watcher.attach(bot.app)
        built.baseline_snapshot = await snapshot(database(bot))
        yield built


# ---------------------------------------------------------------------------------- matrix


@dataclass(frozen=True)
class Outcome:
    texts: list[str]  # the alert on the button, and the messages in answer
    answered: bool
    changed: set[str]  # tables the try itself changed
    after: Snapshot

    @property
    def refused(self) -> bool:
        return any(refusal in text for text in self.texts for refusal in REFUSALS)


async def attempt(world: World, role: str, action: Action) -> Outcome:
    """The role tries the action (after its preparation); what came back, what changed."""
    person, api, db = world.people[role], world.bot.api, database(world.bot)
    prep, do = action.steps(world.refs)
    if prep:
        for step in prep:
            if step.startswith("press "):  # a button the role may or may not have
                await press_any(person, step.removeprefix("press "))
                await settled(person)
            else:
                await person.send(step)
        await settled(person)
        await _sent(db)  # a prepared message's copy is mapped before the try, not during it
    before, since, query = await snapshot(db), count(person), None
    if do.startswith("press "):
        query = await press_any(person, do.removeprefix("press "))
    else:
        await person.send(do)
    await settled(person)
    texts, answered = [m.content for m in messages(person, since)], True
    if query is not None:
        record = api.callback_answer(query)
        assert record is not None
        answered = record.answered
        texts.append(record.text or "")
    after = await snapshot(db)
    return Outcome(texts, answered, changed_tables(before, after), after)


async def _sent(db: Any) -> None:
    """Wait until the outbox is empty: each row's result is recorded as it goes."""
    for _ in range(200):
        row = await db.fetch_one("SELECT count(*) FROM outbox")
        if row is not None and row[0] == 0:
            return
        await asyncio.sleep(0.01)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", MATRIX, ids=[a.name for a in MATRIX])
async def test_matrix(world: World, action: Action, role: str) -> None:
    errors, api_errors = len(world.watcher.errors), len(world.bot.api.errors)
    dirty = True
    try:
        outcome = await attempt(world, role, action)
        dirty = outcome.after != world.baseline_snapshot
        where = f"{action.name} by {role}: {outcome.texts}"
        assert outcome.answered, f"the press was never answered: {where}"
        if role in action.allowed:
            assert not outcome.refused, f"refused: {where}"
            missing = action.changes - outcome.changed
            assert not missing, f"{sorted(missing)} did not change: {where}"
        else:
            assert outcome.refused, f"not refused: {where}"
            assert not outcome.changed, f"{sorted(outcome.changed)} changed: {where}"
        assert not world.watcher.unexpected(errors), f"handler failed: {where}"
        assert world.bot.api.errors[api_errors:] == [], f"Bot API refused a call: {where}"
    finally:
        if dirty:
            await world.restore()


def test_the_matrix_names_every_command_and_button_kind() -> None:
    """New commands and buttons must get a row: compare with the handlers' own lists."""
    from bot.app import COMMANDS as MENU

    typed = {a.do.split()[0] for a in MATRIX if a.do.startswith("/")}
    pressed = {re.split(r"[:]", a.do.removeprefix("press "))[0] for a in MATRIX}
    assert {f"/{name}" for name, _describe in MENU} <= typed
    assert {
        "/invite", "/duty", "/cases", "/case", "/note", "/close", "/reopen", "/transfer",
        "/reassign", "/consult", "/book", "/announce", "/announcements", "/roster",
        "/mediators", "/overview", "/stats", "/block", "/unblock", "/mydata", "/forget",
        "/unsubscribe", "/care", "/access", "/party", "/talk", "/extend", "/attendance",
        "/phrases", "/capacity",
    } <= typed  # fmt: skip
    assert {
        "in", "lang", "of", "cs", "cl", "tr", "wd", "rl", "rv", "sv", "sub", "unsub", "rsvp",
        "an", "am", "pv", "inv", "duty", "st", "ur", "rk", "pj", "pe", "tk",
        "af", "cf", "ac", "tf", "tb", "ex", "rc", "rm", "tc", "ph",
    } <= pressed  # fmt: skip
