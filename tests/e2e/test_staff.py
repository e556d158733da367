"""Staff tools end to end: the roster by spreadsheet, leave and swaps, mediators, the case
overview, statistics with a chart and a workbook, and who may use each of them.

The people here speak English (the source language of the messages).
"""

from __future__ import annotations

import io
import random
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image

from bot.domain.cases import MessagePart, NewCase
from bot.domain.roster import Override, Slot
from storage.cases import CaseRepository
from storage.followup import FollowUpRepository
from storage.reminders import ReminderRepository
from storage.roster import RosterRepository
from tests.e2e.conftest import ROSTER, STAFF_ID, join_team
from tests.e2e.driving import chat_menu
from tests.e2e.flows import open_case_en
from tests.harness import BotUnderTest, Person

DESK_ID = 901  # a second federation staff member, who speaks English
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = ("Area", "Weekday", "Start", "End", "Mediator", "Mediator ID")
STAFF_ONLY = "Sorry, this is only for the federation staff."
STAFF_OR_HEAD = "Sorry, this is only for the federation staff and the head of the society."


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"roster": ROSTER, "staff": {"admins": [STAFF_ID, DESK_ID]}}


@pytest.fixture
def desk(bot: BotUnderTest) -> Person:
    return bot.person(DESK_ID, "Desk", language_code="en")


@pytest.fixture
async def crew(bot: BotUnderTest, staff: Person) -> dict[str, Person]:
    """English-speaking team: 王大姐 (2001), 李阿姨 (2002) of Dongsheng, 赵嫂子 (2003) of Lianhe,
    the head 陈社长 (2100) and the legal adviser 孙律师 (2200)."""
    joined = {}
    for key, user_id, button, name in [
        ("wang", 2001, "调解员 · 东升社区", "王大姐"),
        ("li", 2002, "调解员 · 东升社区", "李阿姨"),
        ("zhao", 2003, "调解员 · 联合村", "赵嫂子"),
        ("head", 2100, "调解社社长", "陈社长"),
        ("adviser", 2200, "法律指导员", "孙律师"),
    ]:
        joined[key] = await join_team(bot, staff, user_id, button, name, language_code="en")
    return joined


async def take(mediator: Person, number: str, text: str = "Noise every night") -> None:
    await mediator.expect(f"New case {number}")
    await mediator.press("Accept")
    await mediator.expect_edit(f"You accepted case {number}")
    await mediator.expect_many(f"📨 {number}", text)


def services(bot: BotUnderTest) -> Any:
    assert bot.app is not None
    return bot.app.bot_data.services


async def send_workbook(desk: Person, sheet: Worksheet, name: str = "roster.xlsx") -> None:
    buffer = io.BytesIO()
    assert sheet.parent is not None
    sheet.parent.save(buffer)
    await desk.api.send_document(desk.id, buffer.getvalue(), name)


async def export(desk: Person) -> Worksheet:
    await desk.send("/roster export")
    document = await desk.expect("The duty roster. Edit the rows")
    csv_file = await desk.expect("The same roster as CSV.")
    assert document.kind == "document" and document.data is not None
    assert csv_file.data is not None and "李阿姨" in csv_file.data.decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(document.data)).worksheets[0]
    assert isinstance(sheet, Worksheet)
    return sheet


def row_of(sheet: Worksheet, values: tuple[object, ...]) -> int:
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if row == values:
            return number
    raise AssertionError(f"{values} not in {list(sheet.iter_rows(values_only=True))}")


# ----------------------------------------------------------------------------- the roster


async def test_roster_shows_each_areas_slots_and_this_weeks_changes(
    bot: BotUnderTest, desk: Person, crew: dict[str, Person]
) -> None:
    roster = RosterRepository(services(bot).db)
    await roster.add_override(Override(date(2026, 3, 3), 2003, "off", "lianhe"))
    await roster.add_override(Override(date(2026, 3, 20), 2001, "off", "dongsheng"))  # not now
    await desk.send("/roster")
    view = await desk.expect("Duty roster · China (Shanghai) Time")
    for line in (
        "Dongsheng Community\n• Monday 09:00–12:00 · 王大姐, 李阿姨",
        "Lianhe Village\n• Tuesday 09:00–11:30 · 赵嫂子",
        "This week (Mon, Mar 2 – Sun, Mar 8):\n• Tue, Mar 3 · 赵嫂子 · off duty all day",
    ):
        assert line in view.content, view.content
    assert "Fri, Mar 20" not in view.content
    assert view.button_data("📄 Export (Excel and CSV)") and view.button_data(
        "🗓 Add leave or a swap"
    )


async def test_export_edit_import_with_errors_fix_confirm_and_routing_follows(
    bot: BotUnderTest, desk: Person, crew: dict[str, Person]
) -> None:
    sheet = await export(desk)
    assert next(sheet.iter_rows(values_only=True)) == HEADER
    wang = row_of(sheet, ("Dongsheng Community", "Monday", "09:00", "12:00", "王大姐", 2001))
    li = row_of(sheet, ("Dongsheng Community", "Monday", "09:00", "12:00", "李阿姨", 2002))
    sheet.cell(wang, 2).value = "Wednesday"  # 王大姐 moves to Wednesdays
    sheet.cell(li, 4).value = "11:30"  # 李阿姨 leaves earlier
    sheet.append(["Lianhe Village", "Monday", "09:00", "12:00", "赵嫂子", 2003])  # and a new slot
    first_bad = sheet.max_row + 1
    for bad in (
        ["West Lake Village", "Friday", "09:00", "10:00", "赵嫂子", 2003],
        ["Lianhe Village", "Friday", "25:00", "26:00", "赵嫂子", 2003],
        ["Dongsheng Community", "Friday", "09:00", "10:00", "赵嫂子", 2003],
        ["Dongsheng Community", "Monday", "11:00", "13:00", "李阿姨", None],
        ["Dongsheng Community", "Friday", "09:00", "10:00", "张三", None],
    ):
        sheet.append(bad)
    await send_workbook(desk, sheet)
    errors = await desk.expect("I could not use this file")
    for offset, cause in enumerate(
        (
            "unknown area “West Lake Village”",
            "the start “25:00” is not a time",
            "赵嫂子 is a mediator of Lianhe Village, not of Dongsheng Community",
            f"李阿姨 is already on duty at that time in row {li}",
            "no active mediator is called “张三”",
        )
    ):
        assert f"Row {first_bad + offset}: {cause}" in errors.content, errors.content
    assert "Nothing has been changed." in errors.content
    assert await RosterRepository(services(bot).db).slots() == [
        Slot("dongsheng", 0, time(9), time(12), 2001),
        Slot("dongsheng", 0, time(9), time(12), 2002),
        Slot("lianhe", 1, time(9), time(11, 30), 2003),
    ]

    sheet.delete_rows(first_bad, 5)
    await send_workbook(desk, sheet)
    preview = await desk.expect("Changes to the roster: 2 added, 1 removed, 1 changed.")
    for line in (
        "+ Dongsheng Community · Wednesday 09:00–12:00 · 王大姐",
        "+ Lianhe Village · Monday 09:00–12:00 · 赵嫂子",
        "− Dongsheng Community · Monday 09:00–12:00 · 王大姐",
        "~ Dongsheng Community · Monday · 李阿姨: 09:00–12:00 → 09:00–11:30",
    ):
        assert line in preview.content, preview.content
    assert len(await RosterRepository(services(bot).db).slots()) == 3  # not before confirming
    await desk.press("✓ Apply these changes")
    await desk.expect_edit("The roster is updated: 2 added, 1 removed, 1 changed.")

    # Monday 09:30: 王大姐 is no longer on duty, 李阿姨 is; 赵嫂子 now sits on Mondays too.
    first = await open_case_en(bot.person(1501, language_code="en"))
    await take(crew["li"], first)
    second = await open_case_en(bot.person(1502, language_code="en"), area="Lianhe Village")
    await crew["zhao"].expect(f"New case {second}")
    await crew["wang"].expect_silence()


async def test_a_confirmation_is_refused_when_the_roster_changed_meanwhile(
    bot: BotUnderTest, desk: Person, crew: dict[str, Person]
) -> None:
    sheet = await export(desk)
    await send_workbook(desk, sheet)
    await desk.expect("The file matches the current roster: nothing to change.")
    li = row_of(sheet, ("Dongsheng Community", "Monday", "09:00", "12:00", "李阿姨", 2002))
    sheet.cell(li, 4).value = "11:00"
    await send_workbook(desk, sheet)
    await desk.expect("1 changed")
    sheet.cell(li, 4).value = "10:00"
    await send_workbook(desk, sheet, "roster.csv.xlsx")
    await desk.expect("1 changed")
    await desk.press("✓ Apply these changes")  # the newest: 10:00
    await desk.expect_edit("The roster is updated")
    stale = await desk.press_and_expect_answer("✓ Apply these changes")  # the older: 11:00
    assert "The roster or the file has changed since it was checked" in stale
    slots = await RosterRepository(services(bot).db).slots()
    assert Slot("dongsheng", 0, time(9), time(10), 2002) in slots
    sheet.cell(li, 4).value = "12:00"
    await send_workbook(desk, sheet)
    await desk.expect("1 changed")
    await desk.press("✗ Discard")
    await desk.expect_edit("Discarded: the roster is unchanged.")
    assert (
        Slot("dongsheng", 0, time(9), time(10), 2002)
        in await RosterRepository(services(bot).db).slots()
    )


async def test_csv_import_and_files_from_others_are_messages(
    bot: BotUnderTest, desk: Person, crew: dict[str, Person]
) -> None:
    csv_text = (
        "Area,Weekday,Start,End,Mediator,Mediator ID\r\nLianhe Village,Tue,09:00,11:30,赵嫂子,\r\n"
    )
    await desk.api.send_document(desk.id, csv_text.encode(), "roster.csv")
    preview = await desk.expect("Changes to the roster: 0 added, 2 removed, 0 changed.")
    assert "− Dongsheng Community · Monday 09:00–12:00 · 王大姐" in preview.content
    resident = bot.person(1510, language_code="en")
    await resident.api.send_document(resident.id, csv_text.encode(), "roster.csv")
    answer = await resident.expect()
    assert "Changes to the roster" not in answer.content
    await desk.api.send_document(desk.id, b"garbage", "roster.xlsx")
    await desk.expect("I cannot read this file as a roster.")


async def test_leave_and_a_swap_with_buttons(
    bot: BotUnderTest, desk: Person, crew: dict[str, Person]
) -> None:
    await desk.send("/roster")
    await desk.expect("Duty roster")
    await desk.press("🗓 Add leave or a swap")
    await desk.expect_edit("Whose duty changes?")
    await desk.press("王大姐 · Dongsheng Community")
    await desk.expect_edit("What changes for 王大姐?")
    await desk.press("Leave: off duty for a day")
    await desk.expect_edit("Which day?")
    await desk.press("Mon, Mar 2")
    await desk.expect_edit("王大姐 will be off duty all day on Mon, Mar 2.")
    await desk.press("✓ Save")
    await desk.expect_edit("Saved: 王大姐 is off duty all day on Mon, Mar 2.")
    number = await open_case_en(bot.person(1520, language_code="en"))
    await crew["li"].expect(f"New case {number}")  # 王大姐 would have been first

    await desk.send("/roster")
    view = await desk.expect("Duty roster")
    assert "• Mon, Mar 2 · 王大姐 · off duty all day" in view.content
    await desk.press("🗓 Add leave or a swap")
    await desk.expect_edit("Whose duty changes?")
    await desk.press("李阿姨 · Dongsheng Community")
    await desk.expect_edit("What changes for 李阿姨?")
    await desk.press("Swap: someone takes over a day")
    days = await desk.expect_edit("Which day?")
    labels = [b["text"] for row in days.buttons for b in row]
    assert labels == ["Mon, Mar 2", "Mon, Mar 9", "« Back"]  # only the days she is rostered
    await desk.press("Mon, Mar 9")
    await desk.expect_edit("Who takes over 李阿姨's duty on Mon, Mar 9 (09:00–12:00)?")
    await desk.press("王大姐")
    await desk.expect_edit("王大姐 takes over 李阿姨's duty on Mon, Mar 9 (09:00–12:00)")
    await desk.press("✓ Save")
    await desk.expect_edit("Saved: 王大姐 takes over 李阿姨's duty on Mon, Mar 9.")
    overrides = await RosterRepository(services(bot).db).overrides(date(2026, 3, 9))
    assert set(overrides) == {
        Override(date(2026, 3, 9), 2002, "off", "dongsheng"),
        Override(date(2026, 3, 9), 2001, "on", "dongsheng", time(9), time(12)),
    }


# ----------------------------------------------------------------------------- mediators


async def test_deactivating_a_mediator_passes_on_her_open_cases(
    bot: BotUnderTest, desk: Person, crew: dict[str, Person]
) -> None:
    wang, li = crew["wang"], crew["li"]
    await li.send("/duty off")
    await li.expect("You are off duty")
    kept = bot.person(1530, language_code="en")
    accepted = await open_case_en(kept)
    await take(wang, accepted)
    await kept.expect("王大姐 has taken your case")
    offered = await open_case_en(bot.person(1531, language_code="en"))
    await wang.expect(f"New case {offered}")
    await li.send("/duty roster")
    await li.expect("You follow the duty roster")

    assert "cases" in await chat_menu(bot, wang.id, has="cases")  # hers, before
    await desk.send("/mediators")
    listing = await desk.expect("👥 Mediators (4)")
    assert (
        "• 王大姐 · Dongsheng Community · mediator · on duty now (roster) · open cases: 2"
        in listing.content
    )
    assert "• 陈社长 · area not given · head" in listing.content
    assert "孙律师" not in listing.content
    await desk.press("王大姐")
    await desk.expect_edit("• 王大姐 · Dongsheng Community")
    await desk.press("Deactivate")
    await desk.expect_edit("Deactivate 王大姐? Their open cases (2) go to other mediators")
    await desk.press("Yes, deactivate")
    summary = await desk.expect_edit("王大姐 is deactivated.")
    for line in (
        "Open cases passed on: 2",
        f"• {accepted}: offered to 李阿姨",
        f"• {offered}: offered to 李阿姨",
        "Weekly duty slots removed: 1; planned roster changes removed: 0",
    ):
        assert line in summary.content, summary.content

    await li.expect(f"New case {accepted}")
    await li.expect(f"New case {offered}")
    await kept.expect(f"Your mediator for case {accepted} is no longer available.")
    await wang.expect("You are no longer on the Da'asao mediators' team")
    assert await chat_menu(bot, wang.id, has=None) == {}  # back to the residents' menu
    await wang.send("/cases")
    await wang.expect("Sorry, this is only for the mediation desk's team.")
    slots = await RosterRepository(services(bot).db).slots()
    assert all(s.mediator_id != 2001 for s in slots)
    assert "released" in [e.kind for e in await bot.timeline(accepted)]
    await desk.send("/mediators")
    assert "王大姐" not in (await desk.expect("👥 Mediators (3)")).content


async def test_making_a_mediator_head(
    bot: BotUnderTest, desk: Person, crew: dict[str, Person]
) -> None:
    zhao = crew["zhao"]
    before = await chat_menu(bot, zhao.id, has="cases")
    assert before["cases"] == "My cases" and "reassign" not in before
    await desk.send("/mediators")
    await desk.expect("Mediators")
    await desk.press("赵嫂子")
    await desk.expect_edit("• 赵嫂子 · Lianhe Village")
    await desk.press("Make head of the society")
    await desk.expect_edit("Make 赵嫂子 a head of the society?")
    await desk.press("Yes, make head")
    await desk.expect_edit("赵嫂子 is now a head of the society. Weekly duty slots removed: 1")
    await zhao.expect("You are now a head of the Da'asao mediation society")
    assert {"reassign", "overview", "stats"} <= set(await chat_menu(bot, zhao.id, has="reassign"))
    await zhao.send("/overview")
    await zhao.expect("Case overview")
    await zhao.expect("Open cases (0):")


# ----------------------------------------------------------------------------- overview


async def test_overview_counts_without_contents_and_the_head_gets_the_case_list(
    bot: BotUnderTest, desk: Person, crew: dict[str, Person]
) -> None:
    wang, li = crew["wang"], crew["li"]
    resident = bot.person(1540, "Xiuying", username="xiuying", language_code="en")
    accepted = await open_case_en(resident, text="My mother-in-law secret")
    await take(wang, accepted, text="My mother-in-law secret")
    waiting = await open_case_en(bot.person(1541, language_code="en"))
    await li.expect(f"New case {waiting}")
    cases = CaseRepository(services(bot).db)
    case = await cases.get_by_number(accepted)
    assert case is not None
    sent = bot.clock.now() - timedelta(days=3)
    await FollowUpRepository(services(bot).db).revisit_sent(case.id, 1, sent)

    await desk.send("/overview")
    overview = await desk.expect("📋 Case overview")
    for line in (
        "All cases by state: waiting for a mediator 1 · with a mediator 1",
        "Open cases by area: Dongsheng Community 2 · Lianhe Village 0",
        "Open cases by category: Marriage and family 0 · Neighbours 2",
        f"Oldest unanswered offers:\n• {waiting} · Dongsheng Community · offered to 李阿姨 at",
        f"Overdue revisits:\n• {accepted} revisit 1 · 王大姐 · asked at",
    ):
        assert line in overview.content, overview.content
    for secret in ("secret", "Xiuying", "xiuying", "1540", case.pseudonym):
        assert secret not in overview.content
    await desk.expect_silence()

    await crew["head"].send("/overview")
    await crew["head"].expect("📋 Case overview")
    listing = await crew["head"].expect("Open cases (2):")
    assert f"• {accepted} · Dongsheng Community · Neighbours · with a mediator · 王大姐" in (
        listing.content
    )
    assert f"• {waiting} · Dongsheng Community · Neighbours · waiting for a mediator · 李阿姨" in (
        listing.content
    )
    assert "secret" not in listing.content and case.pseudonym not in listing.content


# ----------------------------------------------------------------------------- statistics


@dataclass
class Seeded:
    total: int
    months: Counter[int]
    areas: Counter[str | None]
    outcomes: Counter[str]
    reply_minutes: list[int]
    revisits_done: int
    revisits_pending: int
    revisits_overdue: int
    ratings: list[int]


async def seed_year(bot: BotUnderTest, rng: random.Random) -> Seeded:
    """Cases of 2025 written straight into the database, counted here independently."""
    db = services(bot).db
    cases, followup = CaseRepository(db), FollowUpRepository(db)
    reminders = ReminderRepository(db)
    now = bot.clock.now()
    seeded = Seeded(0, Counter(), Counter(), Counter(), [], 0, 0, 0, [])
    for n in range(37):
        local = datetime(2025, 1, 1, 9, tzinfo=SHANGHAI) + timedelta(
            days=rng.randrange(365), hours=rng.randrange(10)
        )
        area = rng.choice(["dongsheng", "dongsheng", "lianhe", None])
        state = rng.choice(["settled", "settled", "not_settled", "withdrawn", "accepted"])
        created = local.astimezone(UTC)
        async with db.transaction():
            case = await cases.create(
                NewCase(None, f"R-{n:04d}", area, "family", False, "chat", None),
                "QJS",
                2025,
                created,
            )
        await db.execute(  # straight in: a seeded case skips the moves that led there
            "UPDATE cases SET state = ?, mediator_id = 2001 WHERE id = ?", (state, case.id)
        )
        seeded.total += 1
        seeded.months[local.month] += 1
        seeded.areas[area] += 1
        seeded.outcomes[state] += 1
        if rng.random() < 0.8:
            minutes = rng.randrange(5, 2000)
            part = MessagePart("text", "hello", None, 2001, 10_000 + n)
            await cases.add_message(case.id, "mediator", part, created + timedelta(minutes=minutes))
            seeded.reply_minutes.append(minutes)
        if state == "settled":
            await followup.revisit_sent(case.id, 1, now - timedelta(days=40))
            if rng.random() < 0.7:
                await followup.revisit_answered(case.id, 1, "holding", now - timedelta(days=39))
                seeded.revisits_done += 1
            else:
                seeded.revisits_overdue += 1
            due = now + timedelta(days=20)
            await reminders.add(f"revisit:{case.id}:2", "revisit", due, now, case_id=case.id, ref=2)
            seeded.revisits_pending += 1
        if state in ("settled", "not_settled") and rng.random() < 0.6:
            rating = rng.randint(1, 5)
            await followup.survey_rating(case.id, rating, now)
            seeded.ratings.append(rating)
    # Cases outside 2025 are not counted.
    for outside in (datetime(2024, 12, 31, 15, 59, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)):
        async with db.transaction():
            await cases.create(
                NewCase(None, "R-9999", "lianhe", "family", False, "chat", None),
                "QJS",
                outside.year,
                outside,
            )
    return seeded


def _duration(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} hr {rest} min" if hours and rest else f"{hours} hr" if hours else f"{rest} min"


async def test_stats_for_a_seeded_year_match_an_independent_count(
    bot: BotUnderTest, desk: Person
) -> None:
    seeded = await seed_year(bot, random.Random(2025))
    settled, not_settled = seeded.outcomes["settled"], seeded.outcomes["not_settled"]
    rate = round(100 * settled / (settled + not_settled))
    median = statistics.median(seeded.reply_minutes)
    average = sum(seeded.ratings) / len(seeded.ratings)
    area_names = {
        "dongsheng": "Dongsheng Community",
        "lianhe": "Lianhe Village",
        None: "area not given",
    }

    await desk.send("/stats 2025")
    text = (await desk.expect("📊 Statistics Jan 1, 2025 – Dec 31, 2025", timeout=30)).content
    open_count = seeded.outcomes["accepted"]
    for line in (
        f"Cases registered: {seeded.total}",
        "By month: "
        + " · ".join(
            f"{m} {seeded.months[i]}"
            for i, m in enumerate(
                [
                    "Jan",
                    "Feb",
                    "Mar",
                    "Apr",
                    "May",
                    "Jun",
                    "Jul",
                    "Aug",
                    "Sep",
                    "Oct",
                    "Nov",
                    "Dec",
                ],
                start=1,
            )
        ),
        "By area: "
        + " · ".join(f"{area_names[a]} {seeded.areas[a]}" for a in ("dongsheng", "lianhe", None)),
        f"Outcomes: settled {settled} · not settled {not_settled} · "
        f"withdrawn {seeded.outcomes['withdrawn']} · still open {open_count}",
        f"Settlement rate: {rate}%",
        "From registration to the mediator's first message to the resident: "
        f"{_duration(median)} (median of {len(seeded.reply_minutes)} cases)",
        f"Revisits: {seeded.revisits_done} done ({seeded.revisits_done} holding, 0 came back, "
        f"0 not reached) · {seeded.revisits_pending} pending · {seeded.revisits_overdue} overdue",
        f"Satisfaction: average {average:.1f} of 5 from {len(seeded.ratings)} answers",
    ):
        assert line in text, (line, text)

    photo = await desk.expect("Statistics Jan 1, 2025 – Dec 31, 2025")
    assert photo.kind == "photo" and photo.data is not None
    image = Image.open(io.BytesIO(photo.data))
    image.verify()
    assert image.format == "PNG" and image.size[0] >= 800

    page = await desk.expect("landscape, sized for a page of the work report")
    assert page.kind == "document" and page.data is not None
    assert Image.open(io.BytesIO(page.data)).size == (1754, 1240)
    document = await desk.expect("one sheet per table")
    assert document.kind == "document" and document.data is not None
    workbook = load_workbook(io.BytesIO(document.data))
    summary = dict(workbook["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["Cases registered"] == seeded.total
    assert summary["Settled"] == settled
    assert summary["Settlement rate (%)"] == round(100 * settled / (settled + not_settled), 1)
    assert summary["Median hours from registration to the mediator's first message"] == round(
        median / 60, 2
    )
    assert summary["Cases that median covers"] == len(seeded.reply_minutes)
    assert summary["Revisits done"] == seeded.revisits_done
    assert summary["Revisits pending"] == seeded.revisits_pending
    assert summary["Revisits overdue"] == seeded.revisits_overdue
    assert summary["Satisfaction answers"] == len(seeded.ratings)
    assert summary["Average satisfaction (1 to 5)"] == round(average, 2)
    months = list(workbook["By month"].iter_rows(min_row=2, values_only=True))
    assert [count for _month, count in months] == [seeded.months[m] for m in range(1, 13)]
    areas = dict(workbook["By area"].iter_rows(min_row=2, values_only=True))
    assert areas == {area_names[a]: seeded.areas[a] for a in ("dongsheng", "lianhe", None)}
    ratings = dict(workbook["Satisfaction"].iter_rows(min_row=2, values_only=True))
    assert ratings == {str(r): seeded.ratings.count(r) for r in range(1, 6)}

    await desk.press("Last year")  # the same period, from the buttons under the text
    again = await desk.expect("📊 Statistics Jan 1, 2025 – Dec 31, 2025", timeout=30)
    assert f"Cases registered: {seeded.total}" in again.content
    await desk.expect_many("Statistics", "landscape", "one sheet per table")
    await desk.send("/stats someday")
    await desk.expect("I do not understand that period.")


async def test_when_the_charts_cannot_be_made_the_figures_still_come_and_she_is_told(
    bot: BotUnderTest, desk: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.executable", "/bin/false")  # the drawing process dies at once
    await desk.send("/stats")
    await desk.expect("📊 Statistics", timeout=30)
    await desk.expect("The charts and the workbook could not be made just now", timeout=30)
    await desk.expect_silence(0.3)  # and no half-made file after it


# ----------------------------------------------------------------------------- access

COMMANDS = {
    "/roster": ("Duty roster", STAFF_OR_HEAD),
    "/roster export": ("The duty roster. Edit the rows", STAFF_OR_HEAD),
    "/mediators": ("Mediators (", STAFF_ONLY),
    "/overview": ("Case overview", STAFF_OR_HEAD),
    "/stats": ("📊 Statistics", STAFF_OR_HEAD),
    "/invite": ("Whom do you want to invite?", STAFF_ONLY),
}
FOLLOW_UPS = {  # what an allowed command sends after its first message
    ("/roster export", "staff"): ("The same roster as CSV.",),
    ("/roster export", "head"): ("The same roster as CSV.",),
    ("/stats", "staff"): ("Statistics", "landscape", "one sheet per table"),
    ("/stats", "head"): ("Statistics", "landscape", "one sheet per table"),
    ("/overview", "head"): ("Open cases (",),
}
ALLOWED = {
    "/roster": {"staff", "head"},
    "/roster export": {"staff", "head"},
    "/mediators": {"staff"},
    "/overview": {"staff", "head"},
    "/stats": {"staff", "head"},
    "/invite": {"staff"},
}


@pytest.mark.parametrize("command", list(COMMANDS))
async def test_each_staff_command_against_each_role(
    bot: BotUnderTest, desk: Person, crew: dict[str, Person], command: str
) -> None:
    people = {
        "resident": bot.person(1600, language_code="en"),
        "mediator": crew["wang"],
        "head": crew["head"],
        "adviser": crew["adviser"],
        "staff": desk,
    }
    allowed_text, refusal = COMMANDS[command]
    for role, person in people.items():
        person.skip_all()
        await person.send(command)
        reply = await person.expect()
        expected = allowed_text if role in ALLOWED[command] else refusal
        assert expected in reply.content, (command, role, reply.content)
        await person.expect_many(*FOLLOW_UPS.get((command, role), ()))
        await person.expect_silence(0.1)


STAFF_BUTTONS = [
    "rc:0123456789abcdef",
    "rd",
    "x",
    "ol",
    "ok:2001",
    "od:2001:l",
    "oy:2001:l:20260302",
    "oc:2001:20260302:2002",
    "oa:2001:l:20260302:0",
    "ml",
    "mm:2001",
    "md:2001",
    "mD:2001",
    "mh:2001",
    "mH:2001",
]
STAFF_OR_HEAD_BUTTONS = ["rx", "sp:this-year"]


async def test_forged_staff_buttons_are_refused_on_the_server(
    bot: BotUnderTest, desk: Person, crew: dict[str, Person]
) -> None:
    people = {
        "resident": bot.person(1601, language_code="en"),
        "mediator": crew["wang"],
        "head": crew["head"],
        "adviser": crew["adviser"],
    }
    for role, person in people.items():
        await person.send("/help")
        message = await person.expect()
        for data in STAFF_BUTTONS + STAFF_OR_HEAD_BUTTONS:
            query = await bot.api.press_button(
                person.id, message.message_id, f"st:{data}", forged=True
            )
            text = await person.callback_answer(query)
            if role == "head" and data in STAFF_OR_HEAD_BUTTONS:
                assert text == "", (role, data, text)
            elif data in STAFF_OR_HEAD_BUTTONS:
                assert text == STAFF_OR_HEAD, (role, data, text)
            else:
                assert text == STAFF_ONLY, (role, data, text)
    assert await RosterRepository(services(bot).db).overrides(date(2026, 3, 2)) == []
    members = services(bot).people
    assert (await members.seen(2001, "en")).is_mediator  # nobody was deactivated


async def test_help_shows_staff_their_tools(bot: BotUnderTest, desk: Person) -> None:
    await desk.send("/help")
    text = (await desk.expect("/invite")).content
    for command in ("/mediators", "/roster", "/overview", "/stats"):
        assert command in text
