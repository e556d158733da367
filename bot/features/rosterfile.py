"""The duty roster as a spreadsheet: export, read back, validate every row, compare.

Staff export the weekly slots (`/roster export`), edit them in Excel or WPS, and send the
file back. Nothing here does I/O or knows Telegram: bytes come in, rows, problems and a
comparison with the current roster go out. Problems are written in the reader's language
(the locale active when they are built), one per row and cause.

Columns, by position (the header row is for people and is not read):
area · weekday · start · end · mediator (display name) · mediator ID.
An area may be given by its id or its name in any language; a weekday by its name in any
supported language or a number (1 = Monday); a mediator by name, by ID, or both — and then
they must agree. Columns after these six are not read.

An upload is bounded before it is parsed: by its bytes, by what an .xlsx unpacks to, and
while reading by real rows and columns. The dimension a sheet declares is the file's claim,
not its content: trusted, A1:XFD1048576 makes openpyxl pad every row to 16,384 cells.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Literal
from xml.parsers import expat

from babel import Locale
from babel.dates import get_day_names

from bot.core.config import AreaConfig
from bot.core.errors import DomainError
from bot.core.i18n import SUPPORTED_LOCALES, _, current_locale
from bot.core.sheets import csv_row, csv_unescape, workbook_bytes
from bot.domain.roster import Slot

MAX_ROWS = 500
MAX_UPLOAD_MB = 1  # an exported roster of MAX_ROWS slots is about 17 KB
MAX_UNPACKED_MB = 1  # all parts of an .xlsx unpacked; that roster unpacks to about 175 KB
MAX_BYTES = MAX_UPLOAD_MB * 1_000_000
MAX_UNPACKED_BYTES = MAX_UNPACKED_MB * 1_000_000
MAX_SHEET_ROWS = MAX_ROWS + 1 + 1000  # the header, the slots, and room for blank rows
MAX_ROW_CELLS = 1000  # cells in one row of the XML, empty ones too
COLUMNS = 6
MAX_PROBLEMS_SHOWN = 20
END_OF_DAY = "24:00"
DayWidth = Literal["wide", "abbreviated", "short"]
_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})(?:[:：]\d{2})?$")
_EXTRA_WEEKDAYS = {"星期天": 6, "周天": 6, "礼拜天": 6, "礼拜日": 6}
_XLSX_MAGIC = b"PK\x03\x04"
# The namespace of the rows and cells openpyxl reads (openpyxl.xml.constants.SHEET_MAIN_NS).
_SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# What openpyxl raises on a broken file: a bad checksum, bad XML (ParseError is a
# SyntaxError), a missing part or sheet, a bad value.
_BROKEN = (zipfile.BadZipFile, SyntaxError, LookupError, ValueError, OSError)


class RosterFileError(DomainError):
    """The file as a whole cannot be read as a roster."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def user_message(self) -> str:
        if self.reason == "too_big":
            return _(
                "This file is bigger than {limit} MB, far more than a roster needs. "
                "Please send the file from /roster export."
            ).format(limit=MAX_UPLOAD_MB)
        if self.reason == "too_big_unpacked":
            return _(
                "This spreadsheet unpacks to more than {limit} MB, far more than a roster "
                "needs. Please send the file from /roster export."
            ).format(limit=MAX_UNPACKED_MB)
        if self.reason == "too_wide":
            return _(
                "A row of this file has more than {limit} cells; a roster has six columns. "
                "Please send the file from /roster export."
            ).format(limit=MAX_ROW_CELLS)
        if self.reason == "too_many_rows":
            return _("The file has more than {limit} rows; a roster has far fewer.").format(
                limit=MAX_ROWS
            )
        return _(
            "I cannot read this file as a roster. Please send the .xlsx or .csv file "
            "that /roster export made, after editing it."
        )


@dataclass(frozen=True)
class MediatorRef:
    """A team member who may hold duty slots, as the file names them."""

    id: int
    name: str
    area_id: str | None
    active_mediator: bool  # an active member with the mediator role


@dataclass(frozen=True)
class RosterBook:
    """What the file refers to: the configured areas and the team's members."""

    areas: Sequence[AreaConfig]
    mediators: Sequence[MediatorRef]

    def area_label(self, area_id: str) -> str:
        area = next((a for a in self.areas if a.id == area_id), None)
        return area.name.text(current_locale()) if area else area_id

    def mediator_name(self, mediator_id: int) -> str:
        ref = next((m for m in self.mediators if m.id == mediator_id), None)
        return ref.name if ref and ref.name else str(mediator_id)


@dataclass(frozen=True)
class ParsedRoster:
    """The slots read from a file, or the problems that stop it from being used."""

    slots: tuple[Slot, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """One slot that keeps its area, weekday and mediator but gets new times."""

    old: Slot
    new: Slot


@dataclass(frozen=True)
class RosterDiff:
    added: tuple[Slot, ...]
    removed: tuple[Slot, ...]
    changed: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


# --------------------------------------------------------------------------- export


def header() -> list[str]:
    """The column titles, in the reader's language."""
    return [
        _("Area"),
        _("Weekday"),
        _("Start"),
        _("End"),
        _("Mediator"),
        _("Mediator ID"),
    ]


def export_rows(slots: Iterable[Slot], book: RosterBook) -> list[list[str | int]]:
    """One row per slot, sorted by area (in config order), weekday and start."""
    order = {area.id: index for index, area in enumerate(book.areas)}
    days = weekday_names()
    ordered = sorted(
        slots, key=lambda s: (order.get(s.area_id, len(order)), s.weekday, s.start, s.mediator_id)
    )
    return [
        [
            book.area_label(s.area_id),
            days[s.weekday],
            clock_text(s.start),
            clock_text(s.end),
            book.mediator_name(s.mediator_id),
            s.mediator_id,
        ]
        for s in ordered
    ]


def to_xlsx(rows: Sequence[Sequence[str | int]], book: RosterBook) -> bytes:
    """The roster as a workbook: the slots to edit, and a second sheet of valid values."""
    # openpyxl is imported when a file is made, not at start (see bot/features/statsfiles.py).
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _sheet_title(_("Roster"))
    _write_table(sheet, header(), rows)
    sheet.freeze_panes = "A2"
    reference = workbook.create_sheet(_sheet_title(_("Valid values")))
    _write_table(
        reference,
        [_("Mediator"), _("Mediator ID"), _("Area")],
        [
            [m.name, m.id, book.area_label(m.area_id) if m.area_id else ""]
            for m in book.mediators
            if m.active_mediator
        ],
    )
    first_free = reference.max_row + 2
    reference.cell(row=first_free, column=1, value=_("Areas")).font = Font(bold=True)
    for offset, area in enumerate(book.areas, start=1):
        reference.cell(row=first_free + offset, column=1, value=area.name.text(current_locale()))
        reference.cell(row=first_free + offset, column=2, value=area.id)
    return workbook_bytes(workbook)  # names are text, never formulas (bot/core/sheets.py)


def to_csv(rows: Sequence[Sequence[str | int]]) -> bytes:
    """The roster as CSV, UTF-8 with a byte order mark so that Excel shows Chinese right."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(csv_row(header()))
    writer.writerows(csv_row(row) for row in rows)
    return text.getvalue().encode("utf-8-sig")


def _write_table(sheet: Any, titles: Sequence[str], rows: Sequence[Sequence[str | int]]) -> None:
    from openpyxl.styles import Font

    sheet.append(list(titles))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    for index, title in enumerate(titles, start=1):
        longest = max([len(str(title)), *(len(str(r[index - 1])) for r in rows if len(r) >= index)])
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(
            max(10, longest * 2 + 2), 40
        )


def _sheet_title(title: str) -> str:
    """Excel allows 31 characters and none of []:*?/\\ in a sheet's name."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Sheet"


# --------------------------------------------------------------------------- reading


def read_table(file_name: str, data: bytes) -> list[tuple[int, list[Any]]]:
    """The data rows of an .xlsx or .csv file as (row number, cells); the header is skipped."""
    if len(data) > MAX_BYTES:
        raise RosterFileError("too_big")
    if file_name.lower().endswith(".xlsx") or data.startswith(_XLSX_MAGIC):
        rows = _xlsx_rows(data)
    elif file_name.lower().endswith(".csv"):
        rows = _csv_rows(data)
    else:
        raise RosterFileError("unreadable")
    numbered = [(number, cells) for number, cells in enumerate(rows, start=1) if number > 1]
    filled = [(n, cells) for n, cells in numbered if any(_blank(c) is not None for c in cells)]
    if len(filled) > MAX_ROWS:
        raise RosterFileError("too_many_rows")
    return filled


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_archive(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, *_BROKEN) as error:
        raise RosterFileError("unreadable") from error
    try:
        sheet = workbook.worksheets[0]
        # Explicit limits, so that openpyxl never pads rows to the declared dimension.
        return _bounded(
            sheet.iter_rows(max_row=MAX_SHEET_ROWS + 1, max_col=COLUMNS, values_only=True)
        )
    except _BROKEN as error:
        raise RosterFileError("unreadable") from error
    finally:
        workbook.close()


def _check_archive(data: bytes) -> None:
    """What the .xlsx unpacks to, before openpyxl reads any of it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # zipfile stops at the sizes of the zip's directory (and then fails the
            # checksum): a small file cannot unpack to more than it declares.
            if sum(item.file_size for item in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise RosterFileError("too_big_unpacked")
            for item in archive.infolist():
                _check_row_widths(archive, item)
    except (zipfile.BadZipFile, OSError) as error:
        raise RosterFileError("unreadable") from error


def _check_row_widths(archive: zipfile.ZipFile, item: zipfile.ZipInfo) -> None:
    """openpyxl holds a whole row in memory before it drops the cells past `max_col`, so
    the cells of each row are counted first, by expat, which keeps none of them. Every part
    is looked at: a sheet may have any name the workbook's relations give it."""
    parser = expat.ParserCreate(namespace_separator=" ")
    cells = 0

    def start(name: str, _attributes: dict[str, str]) -> None:
        nonlocal cells
        if name == f"{_SHEET_NS} row":
            cells = 0
        elif name == f"{_SHEET_NS} c":
            cells += 1
            if cells > MAX_ROW_CELLS:
                raise RosterFileError("too_wide")

    parser.StartElementHandler = start
    try:
        with archive.open(item) as part:
            parser.ParseFile(part)
    except expat.ExpatError:
        pass  # not XML, or broken before any wide row: openpyxl stops at the same place


def _csv_rows(data: bytes) -> list[list[Any]]:
    """UTF-8 (with or without BOM) or GB18030, which Chinese Excel uses for "CSV"."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RosterFileError("unreadable")
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel()  # type: ignore[assignment]
    try:
        return _bounded(csv.reader(io.StringIO(text), dialect))
    except csv.Error as error:  # a NUL, a field longer than csv.field_size_limit()
        raise RosterFileError("unreadable") from error


def _bounded(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """The first COLUMNS cells of each row; a file longer than MAX_SHEET_ROWS rows (blank
    ones too) is refused rather than cut short, which would drop the slots at its end."""
    kept: list[list[Any]] = []
    for row in rows:
        if len(kept) == MAX_SHEET_ROWS:
            raise RosterFileError("too_many_rows")
        kept.append(list(row[:COLUMNS]))
    return kept


# --------------------------------------------------------------------------- validation


def parse(table: Sequence[tuple[int, Sequence[Any]]], book: RosterBook) -> ParsedRoster:
    """Check every row; slots only when no row has a problem."""
    slots: list[tuple[int, Slot]] = []
    problems: list[str] = []
    for number, cells in table:
        slot, found = _parse_row(number, list(cells) + [None] * 6, book)
        problems += found
        if slot is not None:
            problems += _overlaps(number, slot, slots, book)
            slots.append((number, slot))
    if problems:
        return ParsedRoster((), tuple(problems))
    return ParsedRoster(tuple(slot for _n, slot in slots), ())


def _parse_row(number: int, cells: list[Any], book: RosterBook) -> tuple[Slot | None, list[str]]:
    problems: list[str] = []
    area_id = _area(number, cells[0], book, problems)
    weekday = _weekday(number, cells[1], problems)
    start = _clock(number, cells[2], _("start"), problems, allow_end_of_day=False)
    end = _clock(number, cells[3], _("end"), problems, allow_end_of_day=True)
    mediator = _mediator(number, cells[4], cells[5], book, problems)
    if start is not None and end is not None and not start < end:
        problems.append(
            _("Row {row}: the end {end} must be later than the start {start}.").format(
                row=number, end=clock_text(end), start=clock_text(start)
            )
        )
    if mediator is not None and area_id is not None and mediator.area_id != area_id:
        problems.append(
            _("Row {row}: {name} is a mediator of {their_area}, not of {area}.").format(
                row=number,
                name=mediator.name,
                their_area=book.area_label(mediator.area_id) if mediator.area_id else "—",
                area=book.area_label(area_id),
            )
        )
    if problems or area_id is None or weekday is None or start is None or end is None:
        return None, problems
    assert mediator is not None
    return Slot(area_id, weekday, start, end, mediator.id), []


def _missing(number: int, column: str) -> str:
    return _("Row {row}: the {column} is missing.").format(row=number, column=column)


def _area(number: int, value: Any, book: RosterBook, problems: list[str]) -> str | None:
    text = _blank(value)
    if text is None:
        problems.append(_missing(number, _("area")))
        return None
    wanted = _fold(text)
    for area in book.areas:
        if wanted in {_fold(area.id), _fold(area.name.zh_CN), _fold(area.name.en)}:
            return area.id
    problems.append(_("Row {row}: unknown area “{value}”.").format(row=number, value=text))
    return None


def _weekday(number: int, value: Any, problems: list[str]) -> int | None:
    text = _blank(value)
    if text is None:
        problems.append(_missing(number, _("weekday")))
        return None
    if text.isdigit() and 1 <= int(text) <= 7:
        return int(text) - 1
    found = _weekday_lookup().get(_fold(text))
    if found is None:
        problems.append(_("Row {row}: unknown weekday “{value}”.").format(row=number, value=text))
    return found


def _clock(
    number: int, value: Any, column: str, problems: list[str], *, allow_end_of_day: bool
) -> time | None:
    if _blank(value) is None:
        problems.append(_missing(number, column))
        return None
    moment = parse_clock(value, allow_end_of_day=allow_end_of_day)
    if moment is None:
        problems.append(
            _("Row {row}: the {column} “{value}” is not a time like 09:00.").format(
                row=number, column=column, value=_blank(value)
            )
        )
    return moment


def _mediator(
    number: int, name_cell: Any, id_cell: Any, book: RosterBook, problems: list[str]
) -> MediatorRef | None:
    name, ident = _blank(name_cell), _blank(id_cell)
    if ident is not None:
        return _mediator_by_id(number, name, ident, book, problems)
    if name is None:
        problems.append(_missing(number, _("mediator")))
        return None
    named = [m for m in book.mediators if m.active_mediator and _fold(m.name) == _fold(name)]
    if len(named) > 1:
        problems.append(
            _("Row {row}: several mediators are called “{name}”; please give the ID.").format(
                row=number, name=name
            )
        )
        return None
    if not named:
        problems.append(
            _("Row {row}: no active mediator is called “{name}”.").format(row=number, name=name)
        )
        return None
    return named[0]


def _mediator_by_id(
    number: int, name: str | None, ident: str, book: RosterBook, problems: list[str]
) -> MediatorRef | None:
    ref = next((m for m in book.mediators if str(m.id) == _integer_text(ident)), None)
    if ref is None or not ref.active_mediator:
        problems.append(
            _("Row {row}: no active mediator has the ID {value}.").format(row=number, value=ident)
        )
        return None
    if name is not None and _fold(name) != _fold(ref.name):
        problems.append(
            _(
                "Row {row}: the name “{name}” and the ID {value} belong to different "
                "people; correct one of them or leave the name empty."
            ).format(row=number, name=name, value=ident)
        )
        return None
    return ref


def _overlaps(
    number: int, slot: Slot, earlier: Sequence[tuple[int, Slot]], book: RosterBook
) -> list[str]:
    """A mediator cannot sit at two desks (or twice at one) at the same time."""
    return [
        _("Row {row}: {name} is already on duty at that time in row {other}.").format(
            row=number, name=book.mediator_name(slot.mediator_id), other=other_number
        )
        for other_number, other in earlier
        if other.mediator_id == slot.mediator_id
        and other.weekday == slot.weekday
        and slot.start < other.end
        and other.start < slot.end
    ]


# --------------------------------------------------------------------------- values


def parse_clock(value: Any, *, allow_end_of_day: bool) -> time | None:
    """A wall-clock time from a cell: text like 9:00, or what Excel stores for a time."""
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, float) and 0 <= value < 1:
        minutes = round(value * 24 * 60)
        return time(minutes // 60, minutes % 60) if minutes < 1440 else None
    text = _blank(value)
    match = _TIME.match(text or "")
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if allow_end_of_day and (hours, minutes) == (24, 0):
        return time.max
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


def clock_text(moment: time) -> str:
    """09:00; the end of the day is 24:00."""
    return END_OF_DAY if moment == time.max else moment.strftime("%H:%M")


def weekday_names(width: DayWidth = "wide") -> dict[int, str]:
    """Monday = 0 … Sunday = 6, in the reader's language."""
    names = get_day_names(width, locale=Locale.parse(current_locale()))
    return {int(day): str(name) for day, name in names.items()}


def _weekday_lookup() -> dict[str, int]:
    """Every way of writing a weekday in every supported language."""
    found = {_fold(name): day for name, day in _EXTRA_WEEKDAYS.items()}
    for locale in SUPPORTED_LOCALES:
        widths: tuple[DayWidth, ...] = ("wide", "abbreviated", "short")
        for width in widths:
            for day, name in get_day_names(width, locale=Locale.parse(locale)).items():
                found[_fold(str(name))] = int(day)
    return found


def _blank(value: Any) -> str | None:
    """A cell's text, stripped; None for an empty cell."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = csv_unescape(str(value).strip()).strip()  # the apostrophe of `to_csv`
    return text or None


def _integer_text(text: str) -> str:
    """Excel may turn 2001 into 2001.0; compare ids as integers written plainly."""
    try:
        return str(int(float(text)))
    except ValueError:
        return text


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


# --------------------------------------------------------------------------- comparing


def compare(current: Iterable[Slot], wanted: Iterable[Slot]) -> RosterDiff:
    """What applying `wanted` would change; a slot that only moves in time is "changed"."""
    old, new = Counter(current), Counter(wanted)
    removed = sorted((old - new).elements(), key=_slot_key)
    added = sorted((new - old).elements(), key=_slot_key)
    changed: list[Change] = []
    for slot in list(removed):
        partner = next((a for a in added if _same_seat(a, slot)), None)
        if partner is not None:
            changed.append(Change(slot, partner))
            removed.remove(slot)
            added.remove(partner)
    return RosterDiff(tuple(added), tuple(removed), tuple(changed))


def fingerprint(current: Iterable[Slot], wanted: Iterable[Slot]) -> str:
    """A short digest of both rosters: a confirmation applies exactly what was shown."""
    digest = hashlib.sha256()
    for group in (current, wanted):
        for slot in sorted(group, key=_slot_key):
            digest.update(repr(_slot_key(slot)).encode())
        digest.update(b"|")
    return digest.hexdigest()[:16]


def _same_seat(a: Slot, b: Slot) -> bool:
    return (a.area_id, a.weekday, a.mediator_id) == (b.area_id, b.weekday, b.mediator_id)


def _slot_key(slot: Slot) -> tuple[str, int, str, str, int]:
    return (
        slot.area_id,
        slot.weekday,
        clock_text(slot.start),
        clock_text(slot.end),
        slot.mediator_id,
    )
