"""The roster as a spreadsheet (bot.features.rosterfile): export, read back, validate, compare."""

from __future__ import annotations

import contextlib
import io
import re
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from datetime import time
from time import perf_counter

import pytest
from openpyxl import Workbook, load_workbook

from bot.core.config import AreaConfig, Localized
from bot.core.i18n import Catalogs
from bot.domain.roster import Slot
from bot.features.rosterfile import (
    MAX_BYTES,
    MAX_ROW_CELLS,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    MediatorRef,
    RosterBook,
    RosterFileError,
    compare,
    export_rows,
    fingerprint,
    parse,
    parse_clock,
    read_table,
    to_csv,
    to_xlsx,
)
from tests.inert import assert_inert_csv, assert_inert_xlsx

AREAS = (
    AreaConfig("dongsheng", Localized("东升社区", "Dongsheng Community"), Localized("周二")),
    AreaConfig("lianhe", Localized("联合村", "Lianhe Village"), Localized("周三")),
)
BOOK = RosterBook(
    AREAS,
    (
        MediatorRef(2001, "王大姐", "dongsheng", True),
        MediatorRef(2002, "李阿姨", "dongsheng", True),
        MediatorRef(2003, "赵嫂子", "lianhe", True),
        MediatorRef(2004, "李阿姨", "lianhe", True),  # a second 李阿姨, in another area
        MediatorRef(2100, "陈社长", None, False),  # the head: no duty slots
        MediatorRef(2200, "孙大姐", "dongsheng", False),  # deactivated
    ),
)
SLOTS = [
    Slot("dongsheng", 0, time(9), time(12), 2001),
    Slot("dongsheng", 0, time(9), time(12), 2002),
    Slot("dongsheng", 3, time(14), time.max, 2001),
    Slot("lianhe", 1, time(9), time(11, 30), 2003),
]


@pytest.fixture(params=["en", "zh_CN"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    with Catalogs().using(request.param):
        yield str(request.param)


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Area", "Weekday", "Start", "End", "Mediator", "Mediator ID"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _parse_rows(rows: list[list[object]]) -> tuple[list[Slot], list[str]]:
    parsed = parse(read_table("roster.xlsx", _xlsx(rows)), BOOK)
    return list(parsed.slots), list(parsed.problems)


# ----------------------------------------------------------------------------- round trips


def test_xlsx_export_reads_back_to_the_same_slots(locale: str) -> None:
    data = to_xlsx(export_rows(SLOTS, BOOK), BOOK)
    parsed = parse(read_table("roster.xlsx", data), BOOK)
    assert parsed.problems == ()
    assert sorted(parsed.slots, key=repr) == sorted(SLOTS, key=repr)


def test_csv_export_reads_back_and_opens_in_excel_as_utf8(locale: str) -> None:
    data = to_csv(export_rows(SLOTS, BOOK))
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to show Chinese
    parsed = parse(read_table("roster.csv", data), BOOK)
    assert parsed.problems == ()
    assert sorted(parsed.slots, key=repr) == sorted(SLOTS, key=repr)


def test_export_is_in_the_readers_language_with_a_sheet_of_valid_values() -> None:
    with Catalogs().using("zh_CN"):
        data = to_xlsx(export_rows(SLOTS, BOOK), BOOK)
    workbook = load_workbook(io.BytesIO(data))
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert rows[1] == ("东升社区", "星期一", "09:00", "12:00", "王大姐", 2001)
    assert ("东升社区", "星期四", "14:00", "24:00", "王大姐", 2001) in rows
    reference = [r for r in workbook.worksheets[1].iter_rows(values_only=True)]
    assert ("赵嫂子", 2003, "联合村") in reference
    assert all("陈社长" not in r for r in reference)  # only those who may hold slots


# Names a mediator could give herself, and an area name, that a spreadsheet would run.
RISKY_NAMES = ('=HYPERLINK("//x")', "+86 王", "-李-", "@赵", "=1+1")
RISKY_BOOK = RosterBook(
    (AreaConfig("dongsheng", Localized("=东升社区", "-Dongsheng"), Localized("周二")), AREAS[1]),
    tuple(MediatorRef(3001 + n, name, "dongsheng", True) for n, name in enumerate(RISKY_NAMES)),
)
RISKY_SLOTS = [Slot("dongsheng", n, time(9), time(12), 3001 + n) for n in range(len(RISKY_NAMES))]


def test_exports_keep_names_that_look_like_formulas_as_text(locale: str) -> None:
    rows = export_rows(RISKY_SLOTS, RISKY_BOOK)
    xlsx, text = to_xlsx(rows, RISKY_BOOK), to_csv(rows)
    # Each name on the roster and on the sheet of valid values; the area's name on each slot,
    # beside each mediator there, and once in its list of areas.
    assert assert_inert_xlsx(xlsx) == 2 * len(RISKY_NAMES) + len(RISKY_SLOTS) + len(RISKY_NAMES) + 1
    workbook = load_workbook(io.BytesIO(xlsx))
    reference = workbook.worksheets[1]["A2"]
    assert (reference.value, reference.data_type) == ('=HYPERLINK("//x")', "s")
    assert [c.data_type for c in workbook.worksheets[0]["F"][1:]] == ["n"] * len(RISKY_SLOTS)
    lines = assert_inert_csv(text)
    assert (lines[1][4], lines[1][5]) == ("'" + RISKY_NAMES[0], "3001")
    for name, data in (("roster.xlsx", xlsx), ("roster.csv", text)):
        parsed = parse(read_table(name, data), RISKY_BOOK)
        assert parsed.problems == ()
        assert sorted(parsed.slots, key=repr) == sorted(RISKY_SLOTS, key=repr)


def test_chinese_excel_csv_in_gb18030_is_read() -> None:
    text = "区域,星期,开始,结束,调解员,编号\r\n联合村,周二,9:00,11:30,赵嫂子,\r\n"
    parsed = parse(read_table("排班.csv", text.encode("gb18030")), BOOK)
    assert parsed.problems == ()
    assert parsed.slots == (Slot("lianhe", 1, time(9), time(11, 30), 2003),)


def test_what_excel_stores_for_times_and_numbers_is_understood() -> None:
    slots, problems = _parse_rows(
        [
            ["dongsheng", 1, time(9, 0), 0.5, None, 2001.0],  # a time cell, a fraction of a day
            ["Lianhe Village", "tue", "9：30", "24:00", "赵嫂子", "2003"],  # full-width colon
            [" 东升社区 ", "Sunday", "08:00", "10:00", "李阿姨", 2002],
        ]
    )
    assert problems == []
    assert slots == [
        Slot("dongsheng", 0, time(9), time(12), 2001),
        Slot("lianhe", 1, time(9, 30), time.max, 2003),
        Slot("dongsheng", 6, time(8), time(10), 2002),
    ]


def test_blank_rows_are_skipped_and_an_empty_file_means_no_slots() -> None:
    slots, problems = _parse_rows([[None] * 6, ["", "", "", "", "", ""]])
    assert (slots, problems) == ([], [])


# ----------------------------------------------------------------------------- problems


def test_every_row_problem_is_reported_with_its_row_number() -> None:
    _slots, problems = _parse_rows(
        [
            ["西湖村", "周一", "09:00", "12:00", "王大姐", 2001],  # row 2
            ["东升社区", "Funday", "09:00", "12:00", "王大姐", 2001],  # row 3
            ["东升社区", "周一", "25:00", "9 am", "王大姐", 2001],  # row 4
            ["东升社区", "周二", "12:00", "09:00", "王大姐", 2001],  # row 5
            ["东升社区", "周二", "09:00", "12:00", "张三", None],  # row 6
            ["东升社区", "周二", "09:00", "12:00", "王大姐", 2002],  # row 7
            ["东升社区", "周二", "09:00", "12:00", "李阿姨", None],  # row 8
            ["东升社区", "周二", "09:00", "12:00", "赵嫂子", 2003],  # row 9
            ["东升社区", "周二", "09:00", "12:00", None, 2100],  # row 10
            ["东升社区", "周二", "09:00", "12:00", "孙大姐", None],  # row 11
            [None, "周二", None, "12:00", "王大姐", 2001],  # row 12
            ["东升社区", "周三", "09:00", "12:00", "王大姐", 2001],  # row 13
            ["东升社区", "周三", "11:00", "13:00", "王大姐", 2001],  # row 14
        ]
    )
    expected = [
        "Row 2: unknown area “西湖村”.",
        "Row 3: unknown weekday “Funday”.",
        "Row 4: the start “25:00” is not a time like 09:00.",
        "Row 4: the end “9 am” is not a time like 09:00.",
        "Row 5: the end 09:00 must be later than the start 12:00.",
        "Row 6: no active mediator is called “张三”.",
        "Row 7: the name “王大姐” and the ID 2002 belong to different people",
        "Row 8: several mediators are called “李阿姨”; please give the ID.",
        "Row 9: 赵嫂子 is a mediator of Lianhe Village, not of Dongsheng Community.",
        "Row 10: no active mediator has the ID 2100.",
        "Row 11: no active mediator is called “孙大姐”.",
        "Row 12: the area is missing.",
        "Row 12: the start is missing.",
        "Row 14: 王大姐 is already on duty at that time in row 13.",
    ]
    assert len(problems) == len(expected), problems
    for problem, wanted in zip(problems, expected, strict=True):
        assert problem.startswith(wanted), (problem, wanted)


def test_problems_are_written_in_the_readers_language() -> None:
    catalogs = Catalogs()
    with catalogs.using("zh_CN"):
        translated = catalogs.get("zh_CN").ugettext("Row {row}: unknown area “{value}”.")
        _slots, problems = _parse_rows([["西湖村", "周一", "09:00", "12:00", "王大姐", 2001]])
    assert problems == [translated.format(row=2, value="西湖村")]


def test_touching_slots_do_not_overlap() -> None:
    slots, problems = _parse_rows(
        [
            ["东升社区", "周一", "09:00", "12:00", "王大姐", 2001],
            ["东升社区", "周一", "12:00", "14:00", "王大姐", 2001],
        ]
    )
    assert problems == [] and len(slots) == 2


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("roster.xlsx", b"not a spreadsheet at all", "unreadable"),
        ("roster.pdf", b"%PDF-1.4", "unreadable"),
        ("roster.csv", b"\xff\xfe\x00\xd8" * 10, "unreadable"),
        ("roster.xlsx", b"x" * 1_000_001, "too_big"),
    ],
)
def test_files_that_are_no_roster_are_refused_as_a_whole(
    name: str, data: bytes, reason: str
) -> None:
    with pytest.raises(RosterFileError) as caught:
        read_table(name, data)
    assert caught.value.reason == reason
    assert caught.value.user_message()


def test_too_many_rows_are_refused() -> None:
    rows: list[list[object]] = [["东升社区", "周一", "09:00", "10:00", "王大姐", 2001]] * (
        MAX_ROWS + 1
    )
    with pytest.raises(RosterFileError, match="too_many_rows"):
        read_table("roster.xlsx", _xlsx(rows))


# ----------------------------------------------------------------------------- bounded uploads

SHEET = "xl/worksheets/sheet1.xml"
MAX_PEAK = 20_000_000  # bytes of Python memory that reading any upload may take


def _rezip(data: bytes, part: str, change: Callable[[bytes], bytes]) -> bytes:
    """The same .xlsx with one part rewritten, as someone crafting a file would."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            body = source.read(item.filename)
            target.writestr(
                item.filename,
                change(body) if item.filename == part else body,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return out.getvalue()


def _whole_grid(data: bytes) -> bytes:
    """The sheet claims Excel's whole grid, A1:XFD1048576, whatever it holds."""
    return _rezip(
        data,
        SHEET,
        lambda xml: re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD1048576"', xml),
    )


def _more_cells(xml_rows: bytes) -> Callable[[bytes], bytes]:
    return lambda xml: xml.replace(b"</sheetData>", xml_rows + b"</sheetData>")


def _read_measured(name: str, data: bytes) -> tuple[str, int, float]:
    """How read_table ends (the refusal's reason, or "read"), its memory peak, its time."""
    outcome = "read"
    tracemalloc.start()
    try:
        read_table(name, data)
    except RosterFileError as refused:
        outcome = refused.reason
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    started = perf_counter()  # timed again without tracemalloc, which slows Python down
    with contextlib.suppress(RosterFileError):
        read_table(name, data)
    return outcome, peak, perf_counter() - started


def test_a_sheet_declaring_the_whole_grid_is_refused_cheaply() -> None:
    data = _whole_grid(_xlsx([["东升社区", "周一", "09:00"]] * 1600))
    assert len(data) < 30_000
    outcome, peak, seconds = _read_measured("roster.xlsx", data)
    assert outcome == "too_many_rows"
    assert peak < MAX_PEAK  # it was 198 MB, each row padded to 16,384 cells
    assert seconds < 1.0


def test_the_declared_dimension_is_not_trusted(locale: str) -> None:
    data = _whole_grid(to_xlsx(export_rows(SLOTS, BOOK), BOOK))
    tracemalloc.start()
    try:
        table = read_table("roster.xlsx", data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK
    assert all(len(cells) == 6 for _number, cells in table)
    assert sorted(parse(table, BOOK).slots, key=repr) == sorted(SLOTS, key=repr)


def test_a_roster_as_long_as_allowed_round_trips() -> None:
    mediators = [(2001, "dongsheng"), (2002, "dongsheng"), (2003, "lianhe"), (2004, "lianhe")]
    slots = [
        Slot(area, day, time(hour), time(hour + 1) if hour < 23 else time.max, mediator)
        for mediator, area in mediators
        for day in range(7)
        for hour in range(24)
    ][:MAX_ROWS]
    rows = export_rows(slots, BOOK)
    xlsx, text = to_xlsx(rows, BOOK), to_csv(rows)
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        assert sum(i.file_size for i in archive.infolist()) < MAX_UNPACKED_BYTES / 4
    assert len(xlsx) < MAX_BYTES / 20 and len(text) < MAX_BYTES / 20
    for name, data in (("roster.xlsx", xlsx), ("roster.csv", text)):
        parsed = parse(read_table(name, data), BOOK)
        assert parsed.problems == ()
        assert sorted(parsed.slots, key=repr) == sorted(slots, key=repr)


@pytest.mark.parametrize(
    ("crafted", "reason"),
    [
        (  # one stray cell in the grid's last row: 1,048,575 rows to fill in before it
            _rezip(_xlsx([]), SHEET, _more_cells(b'<row r="1048576"><c r="XFD1048576"/></row>')),
            "too_many_rows",
        ),
        (  # one row wider than any roster, which openpyxl would hold whole in memory
            _rezip(_xlsx([]), SHEET, _more_cells(b"<row>" + b"<c/>" * 80_000 + b"</row>")),
            "too_wide",
        ),
        (  # a few KB that unpack to megabytes
            _rezip(_xlsx([]), SHEET, lambda xml: xml + b" " * 3_000_000),
            "too_big_unpacked",
        ),
        (  # a sheet whose XML breaks off
            _rezip(_xlsx([["东升社区"]]), SHEET, lambda xml: xml[: len(xml) // 2]),
            "unreadable",
        ),
    ],
)
def test_crafted_workbooks_are_refused_before_they_cost_much(crafted: bytes, reason: str) -> None:
    assert len(crafted) < 20_000
    outcome, peak, seconds = _read_measured("roster.xlsx", crafted)
    assert (outcome, peak < MAX_PEAK, seconds < 1.0) == (reason, True, True)


def test_a_csv_of_a_million_lines_is_refused_cheaply() -> None:
    outcome, peak, seconds = _read_measured("roster.csv", b"\n" * (MAX_BYTES - 1))
    assert (outcome, peak < MAX_PEAK, seconds < 1.0) == ("too_many_rows", True, True)


def test_a_zip_that_unpacks_to_more_than_it_declares_is_refused() -> None:
    data = bytearray(_rezip(_xlsx([["东升社区"]]), SHEET, lambda xml: xml + b" " * 500_000))
    directory = data.rfind(b"PK\x01\x02")  # the last entry's sizes, here and in its header
    while directory != -1:
        name_length = int.from_bytes(data[directory + 28 : directory + 30], "little")
        if data[directory + 46 : directory + 46 + name_length] == SHEET.encode():
            header = int.from_bytes(data[directory + 42 : directory + 46], "little")
            data[directory + 24 : directory + 28] = (1000).to_bytes(4, "little")
            data[header + 22 : header + 26] = (1000).to_bytes(4, "little")
        directory = data.rfind(b"PK\x01\x02", 0, directory)
    outcome, peak, _seconds = _read_measured("roster.xlsx", bytes(data))
    assert (outcome, peak < MAX_PEAK) == ("unreadable", True)


@pytest.mark.parametrize(
    ("reason", "limit"),
    [
        ("too_big", "1 MB"),
        ("too_big_unpacked", "1 MB"),
        ("too_wide", str(MAX_ROW_CELLS)),
        ("too_many_rows", str(MAX_ROWS)),
    ],
)
def test_a_refusal_says_the_limit_in_the_readers_language(
    locale: str, reason: str, limit: str
) -> None:
    text = RosterFileError(reason).user_message()
    assert limit in text
    assert ("/roster" in text) or reason == "too_many_rows"
    assert any("\u4e00" <= c <= "\u9fff" for c in text) == (locale == "zh_CN")


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("09:00", False, time(9)),
        ("9:05", False, time(9, 5)),
        ("09:00:00", False, time(9)),
        ("24:00", True, time.max),
        ("24:00", False, None),
        ("23:60", False, None),
        ("noon", False, None),
        (0.75, False, time(18)),
        (1.5, False, None),
    ],
)
def test_clock_values(value: object, end: bool, expected: time | None) -> None:
    assert parse_clock(value, allow_end_of_day=end) == expected


# ----------------------------------------------------------------------------- comparing


def test_compare_tells_added_removed_and_changed_apart() -> None:
    wanted = [
        Slot("dongsheng", 0, time(8, 30), time(12), 2001),  # changed times
        Slot("dongsheng", 0, time(9), time(12), 2002),  # kept
        Slot("lianhe", 1, time(9), time(11, 30), 2003),  # kept
        Slot("lianhe", 4, time(9), time(11), 2003),  # added
    ]  # Thursday of 2001: removed
    diff = compare(SLOTS, wanted)
    assert diff.added == (Slot("lianhe", 4, time(9), time(11), 2003),)
    assert diff.removed == (Slot("dongsheng", 3, time(14), time.max, 2001),)
    assert [(c.old.start, c.new.start) for c in diff.changed] == [(time(9), time(8, 30))]
    assert compare(SLOTS, list(reversed(SLOTS))).empty


def test_fingerprint_follows_both_rosters_but_not_their_order() -> None:
    base = fingerprint(SLOTS, SLOTS[:2])
    assert base == fingerprint(list(reversed(SLOTS)), list(reversed(SLOTS[:2])))
    assert base != fingerprint(SLOTS, SLOTS[:3])
    assert base != fingerprint(SLOTS[:3], SLOTS[:2])
    assert len(base) == 16
