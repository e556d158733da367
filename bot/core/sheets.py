"""Spreadsheet files that stay data: no text the bot writes can run as a formula.

Excel, WPS and LibreOffice read a cell that starts with = + - @ (or a tab or carriage
return) as a formula, so a mediator called =HYPERLINK("//x") would be a live link in the
roster export. Every workbook goes through `workbook_bytes`, which stores each text cell
as text, with the quote prefix Excel sets when a cell is typed after an apostrophe; CSV
has no types, so such text gets a leading apostrophe (`csv_row`), which the roster reader
removes again (`csv_unescape`). Numbers stay numbers, negative ones too.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook

# The full-width forms too: Chinese input methods type them, and a spreadsheet program
# may read them as the ASCII ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
CsvValue = str | int | float | None


def is_risky(text: str) -> bool:
    """Text that a spreadsheet program could take for a formula."""
    return text.startswith(FORMULA_STARTS)


def workbook_bytes(workbook: Workbook) -> bytes:
    """The saved workbook, every text cell of every sheet made plain text first."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # openpyxl made "=…" a formula and "#N/A" an error
                    if is_risky(cell.value):
                        cell.quotePrefix = True
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_row(values: Iterable[CsvValue]) -> list[CsvValue]:
    """A row for csv.writer: risky text behind an apostrophe, everything else as it is."""
    return [f"'{v}" if isinstance(v, str) and is_risky(v) else v for v in values]


def csv_unescape(text: str) -> str:
    """What `csv_row` wrote, back as it was: the apostrophe goes only before risky text."""
    return text[1:] if text.startswith("'") and is_risky(text[1:]) else text
