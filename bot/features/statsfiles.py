"""The statistics as files: a chart image (matplotlib) and a workbook (openpyxl).

Both take labels that are already in the reader's language; nothing here knows what the
numbers mean. The chart is drawn twice: for a phone (one column of panels, 1080 px wide,
large type) and for a document page (A4 landscape at 150 dpi, 1754 × 1240 px, the panels in
a grid of three columns), for the work report. Chinese labels need a CJK font: the bot
ships Droid Sans Fallback (Apache License 2.0, see bot/features/fonts/) and draws Latin text with
DejaVu Sans, which comes with matplotlib; matplotlib falls back from one to the other glyph
by glyph.
"""

from __future__ import annotations

import asyncio
import io
import pickle
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.sheets import workbook_bytes

# matplotlib and openpyxl are imported where a file is made, not at start: they double the
# bot's start-up time and memory, and most days nobody asks for /stats. The bot itself makes
# the files in a child process (render_files), so they never load into it at all.
if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from openpyxl.worksheet.worksheet import Worksheet

FONT_DIR = Path(__file__).resolve().parent / "fonts"
CJK_FONT_FILE = FONT_DIR / "DroidSansFallbackFull.ttf"
CJK_FAMILY = "Droid Sans Fallback"
LATIN_FAMILY = "DejaVu Sans"  # bundled with matplotlib
FONT_FAMILIES = (LATIN_FAMILY, CJK_FAMILY)
WIDTH_PX = 1080
DPI = 100
PANEL_HEIGHT_PX = 330
HEADER_HEIGHT_PX = 150
PAGE_PX = (1754, 1240)  # A4 landscape at 150 dpi: fits a report's page, margins included
PAGE_DPI = 150
PAGE_COLUMNS = 3
BAR_COLOUR = "#c2185b"
_STYLE: dict[Any, Any] = {
    "font.family": list(FONT_FAMILIES),
    "font.size": 17,
    "axes.titlesize": 21,
    "axes.titleweight": "normal",  # the CJK font has no bold face
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.labelsize": 16,
    "ytick.labelsize": 16,
}
_PAGE_STYLE: dict[Any, Any] = {
    **_STYLE,
    "font.size": 10,
    "axes.titlesize": 12,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
}
_drawing = threading.Lock()  # matplotlib's font registry and rc settings are process-wide

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    """One table of the report: a sheet of the workbook."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Panel:
    """One bar chart of the image."""

    title: str
    labels: tuple[str, ...]
    values: tuple[int, ...]
    horizontal: bool = False


@dataclass(frozen=True)
class ChartSpec:
    title: str
    subtitle: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Chart:
    png: bytes
    width: int
    height: int
    fonts: dict[str, str]  # family → the font file matplotlib drew it with


# --------------------------------------------------------------------------- fonts


def font_files() -> dict[str, str]:
    """The font file behind each family of the chart's font list (registering ours first)."""
    from matplotlib import font_manager

    _register_fonts()
    return {
        family: str(
            font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
        )
        for family in FONT_FAMILIES
    }


def missing_glyphs(text: str) -> set[str]:
    """Characters of `text` that no font of the chart's font list can draw."""
    covered: set[int] = set()
    for path in font_files().values():
        covered |= _charmap(path)
    return {c for c in text if not c.isspace() and ord(c) not in covered}


@cache
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(path).get_charmap())


def _register_fonts() -> None:
    from matplotlib import font_manager

    path = str(CJK_FONT_FILE)
    if not any(entry.fname == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)


# --------------------------------------------------------------------------- the chart


def render_chart(spec: ChartSpec, *, page: bool = False) -> Chart:
    """A PNG of the panels with the title on top: one under the other for a phone, or
    (`page`) in a landscape grid for a document page."""
    import matplotlib

    dpi = PAGE_DPI if page else DPI
    with _drawing, matplotlib.rc_context(_PAGE_STYLE if page else _STYLE):
        fonts = font_files()
        figure = _page_figure(spec) if page else _figure(spec)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi)
        width, height = (round(v) for v in figure.get_size_inches() * dpi)
    return Chart(buffer.getvalue(), width, height, fonts)


def _page_figure(spec: ChartSpec) -> Figure:
    from matplotlib.figure import Figure

    width, height = PAGE_PX
    figure = Figure(figsize=(width / PAGE_DPI, height / PAGE_DPI), layout="constrained")
    figure.suptitle(f"{spec.title} · {spec.subtitle}", fontsize=15)
    lines = -(-len(spec.panels) // PAGE_COLUMNS)
    axes = figure.subplots(lines, PAGE_COLUMNS, squeeze=False).flatten()
    for ax, panel in zip(axes, spec.panels, strict=False):
        _draw_panel(ax, panel, label_size=9)
    for ax in axes[len(spec.panels) :]:
        ax.set_axis_off()  # an empty cell of the grid
    return figure


def _figure(spec: ChartSpec) -> Figure:
    from matplotlib.figure import Figure

    height = HEADER_HEIGHT_PX + PANEL_HEIGHT_PX * len(spec.panels)
    figure = Figure(figsize=(WIDTH_PX / DPI, height / DPI), dpi=DPI, layout="constrained")
    figure.suptitle(f"{spec.title}\n{spec.subtitle}", fontsize=25)
    axes = figure.subplots(len(spec.panels), 1, squeeze=False)[:, 0]
    for ax, panel in zip(axes, spec.panels, strict=True):
        _draw_panel(ax, panel)
    return figure


def _draw_panel(ax: Axes, panel: Panel, label_size: int = 15) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_title(panel.title, loc="left")
    positions = list(range(len(panel.values)))
    if panel.horizontal:
        bars = ax.barh(positions, panel.values, color=BAR_COLOUR)
        ax.set_yticks(positions, panel.labels)
        ax.invert_yaxis()  # the first row on top, as in the table
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0, max([*panel.values, 1]) * 1.15)
    else:
        bars = ax.bar(positions, panel.values, color=BAR_COLOUR)
        ax.set_xticks(positions, panel.labels, rotation=90 if len(positions) > 12 else 0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max([*panel.values, 1]) * 1.2)
    ax.bar_label(bars, padding=3, fontsize=label_size)


# --------------------------------------------------------------------------- the workbook


def render_workbook(tables: Sequence[Table]) -> bytes:
    """One sheet per table: headers in bold on the first row, numbers as numbers, text as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    first = workbook.active
    assert first is not None
    workbook.remove(first)
    used: set[str] = set()
    for table in tables:
        sheet = workbook.create_sheet(_unique_title(table.title, used))
        sheet.append(list(table.headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(list(row))
        _fit_columns(sheet, table)
    return workbook_bytes(workbook)  # text stays text, never a formula (bot/core/sheets.py)


def _unique_title(title: str, used: set[str]) -> str:
    """Excel: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.casefold() in used:
        suffix = f" {n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.casefold())
    return name


def _fit_columns(sheet: Worksheet, table: Table) -> None:
    from openpyxl.utils import get_column_letter

    for index, header in enumerate(table.headers):
        texts = [str(header), *(str(r[index]) for r in table.rows if index < len(r))]
        width = max(_display_width(t) for t in texts) + 2
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(max(width, 8), 60)


def _display_width(text: str) -> int:
    """Chinese characters take two columns in a spreadsheet."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


# --------------------------------------------------------------------------- the child


class RenderError(RuntimeError):
    """The child process that draws the files failed."""


async def render_files(spec: ChartSpec, tables: Sequence[Table]) -> tuple[Chart, Chart, bytes]:
    """The phone chart, the page chart and the workbook, made in a short-lived child
    process: drawing takes ~80 MB (matplotlib, its fonts, two figures) that a long-running
    bot would otherwise keep for good; the child gives it back when it exits."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,  # labels only, but nothing of it belongs in logs
    )
    out, _ = await child.communicate(pickle.dumps((spec, tuple(tables))))
    if child.returncode != 0:
        raise RenderError(f"the drawing process exited with {child.returncode}")
    chart, page, workbook = pickle.loads(out)  # from our own child: trusted
    return chart, page, workbook


def _child() -> None:
    spec, tables = pickle.load(sys.stdin.buffer)
    made = (render_chart(spec), render_chart(spec, page=True), render_workbook(tables))
    pickle.dump(made, sys.stdout.buffer)


if __name__ == "__main__":
    # Through the module's own name, so that the pickled classes are the importable ones.
    from bot.features.statsfiles import _child as child

    child()
