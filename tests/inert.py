"""Checks that a spreadsheet the bot wrote is inert: no formula, no risky text left bare.

The list of risky starts is the test's own, not bot.core.sheets': a check that borrowed the
code's list would pass whatever the code forgot.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

from openpyxl import load_workbook

RISKY = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
RANGE = re.compile(r"(?:'[^']+'|[^\s!'\"]+)!\$?[A-Z]+\$?\d+:\$?[A-Z]+\$?\d+")
FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s>/]")


def assert_inert_xlsx(data: bytes) -> int:
    """Fails on any formula cell or bare risky text; returns how many risky texts it saw."""
    risky = 0
    workbook = load_workbook(io.BytesIO(data))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                where = (sheet.title, cell.coordinate, cell.value)
                assert cell.data_type not in {"f", "e"}, where  # no formula, no "#N/A" error
                if isinstance(cell.value, str) and cell.value.startswith(RISKY):
                    assert cell.data_type == "s" and cell.quotePrefix, where
                    risky += 1
        # A list validation must point at cells, never carry the names inline.
        for validation in sheet.data_validations.dataValidation:
            for formula in (validation.formula1, validation.formula2):
                assert formula is None or RANGE.fullmatch(formula), (sheet.title, formula)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not FORMULA_ELEMENT.search(archive.read(name)), name
    return risky


def assert_inert_csv(data: bytes) -> list[list[str]]:
    """Fails on a field that starts like a formula and is no plain number; returns the rows."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for row in rows:
        for field in row:
            assert not field.startswith(RISKY) or NUMBER.fullmatch(field), (field, row)
    return rows
