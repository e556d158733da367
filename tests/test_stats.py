"""Statistics (bot.features.stats, bot.features.statsfiles): periods, the figures, the chart and the
workbook."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from matplotlib.ft2font import FT2Font
from openpyxl import load_workbook
from PIL import Image

from bench.district import district
from bench.scale import TINY
from bot.core.clock import FakeClock
from bot.core.i18n import Catalogs
from bot.features.deps import Repositories
from bot.features.stats import (
    Figures,
    Labels,
    Period,
    PeriodError,
    StatsService,
    compute,
    outreach_figures,
    parse_period,
)
from bot.features.statsfiles import (
    CJK_FAMILY,
    CJK_FONT_FILE,
    ChartSpec,
    Panel,
    RenderError,
    Table,
    font_files,
    missing_glyphs,
    render_chart,
    render_files,
    render_workbook,
)
from bot.wiring import bundle
from storage.db import Database
from storage.stats import CaseFact, OutreachFacts, RevisitFact, StatsRepository, SurveyFact
from tests.features import RecordingMessenger
from tests.harness import make_config, zh
from tests.inert import assert_inert_xlsx

# The tiny district registers a case every 31 days, so that some Februaries hold none,
# depending on the day the test runs; this one registers one every 9 days.
STATS_DISTRICT = dataclasses.replace(TINY, cases=400)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


# ----------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("words", "first", "last"),
    [
        ([], date(2026, 3, 1), date(2026, 3, 31)),
        (["month"], date(2026, 3, 1), date(2026, 3, 31)),
        (["本月"], date(2026, 3, 1), date(2026, 3, 31)),
        (["last-month"], date(2026, 2, 1), date(2026, 2, 28)),
        (["last", "month"], date(2026, 2, 1), date(2026, 2, 28)),
        (["上个月"], date(2026, 2, 1), date(2026, 2, 28)),
        (["year"], date(2026, 1, 1), date(2026, 12, 31)),
        (["今年"], date(2026, 1, 1), date(2026, 12, 31)),
        (["last-year"], date(2025, 1, 1), date(2025, 12, 31)),
        (["2024"], date(2024, 1, 1), date(2024, 12, 31)),
        (["2024-02"], date(2024, 2, 1), date(2024, 2, 29)),
        (["2025-12"], date(2025, 12, 1), date(2025, 12, 31)),
        (["2025-01-15", "2025-03-31"], date(2025, 1, 15), date(2025, 3, 31)),
        (["2025-01-15..2025-03-31"], date(2025, 1, 15), date(2025, 3, 31)),
        (["2025-01", "to", "2025-03"], date(2025, 1, 1), date(2025, 3, 31)),
        (["2025-05-04"], date(2025, 5, 4), date(2025, 5, 4)),
    ],
)
def test_periods(words: list[str], first: date, last: date) -> None:
    assert parse_period(words, TODAY) == Period(first, last)


@pytest.mark.parametrize(
    "words",
    [
        ["soon"],
        ["2025-13"],
        ["2025-02-30"],
        ["2025-03-01", "2025-01-01"],
        ["1999"],
        ["a", "b", "c"],
    ],
)
def test_periods_that_make_no_sense_are_refused(words: list[str]) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(words, TODAY)
    assert "/stats 2025" in caught.value.user_message()


def test_a_period_is_local_days_in_utc_and_knows_its_months() -> None:
    period = Period(date(2025, 11, 15), date(2026, 1, 10))
    start, end = period.bounds(SHANGHAI)
    assert start == datetime(2025, 11, 14, 16, tzinfo=UTC)
    assert end == datetime(2026, 1, 10, 16, tzinfo=UTC)
    assert period.months() == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)]


# ----------------------------------------------------------------------------- figures


def _case(
    n: int, day: date, spec: tuple[str | None, str, str], reply_minutes: int | None
) -> CaseFact:
    area, category, state = spec
    created = datetime.combine(day, datetime.min.time(), SHANGHAI).astimezone(UTC) + timedelta(
        hours=10
    )
    reply = created + timedelta(minutes=reply_minutes) if reply_minutes is not None else None
    return CaseFact(n, created, area, category, state, reply)


CASES = [
    _case(1, date(2025, 1, 5), ("dongsheng", "family", "settled"), 30),
    _case(2, date(2025, 1, 20), ("dongsheng", "neighbours", "settled"), 90),
    _case(3, date(2025, 3, 1), ("lianhe", "family", "not_settled"), 45),
    _case(4, date(2025, 3, 2), (None, "rights", "withdrawn"), None),
    _case(5, date(2025, 12, 31), ("lianhe", "mystery", "accepted"), 600),
]
REVISITS = [
    RevisitFact(1, 1, NOW - timedelta(days=30), "holding", scheduled=False),
    RevisitFact(1, 2, NOW - timedelta(days=3), None, scheduled=False),  # overdue
    RevisitFact(2, 1, NOW - timedelta(days=1), None, scheduled=False),  # sent, not overdue yet
    RevisitFact(2, 2, None, None, scheduled=True),  # still to come
    RevisitFact(3, 1, NOW - timedelta(days=9), None, scheduled=True),  # "remind me tomorrow"
    RevisitFact(5, 1, NOW - timedelta(days=9), "recurred", scheduled=False),
]
SURVEYS = [
    SurveyFact(1, 5, True),
    SurveyFact(2, 4, True),
    SurveyFact(3, 2, False),
    SurveyFact(4, None, None),
]


def _figures() -> Figures:
    period = Period(date(2025, 1, 1), date(2025, 12, 31))
    return compute(period, SHANGHAI, (CASES, REVISITS, SURVEYS), NOW, ["dongsheng", "lianhe"])


def test_figures_count_the_periods_cases() -> None:
    figures = _figures()
    assert figures.total == 5
    months = dict(figures.by_month)
    assert len(months) == 12 and months[date(2025, 1, 1)] == 2 and months[date(2025, 12, 1)] == 1
    assert figures.by_area == (("dongsheng", 2), ("lianhe", 2), (None, 1))
    assert dict(figures.by_category)["other"] == 1  # an unknown category counts as other
    assert figures.by_outcome == (
        ("settled", 2),
        ("not_settled", 1),
        ("withdrawn", 1),
        ("open", 1),
    )
    assert figures.settlement_rate == pytest.approx(2 / 3)
    assert figures.first_reply_median == timedelta(minutes=67.5)
    assert figures.first_replies == 4
    revisits = figures.revisits
    assert (revisits.done, revisits.holding, revisits.recurred) == (2, 1, 1)
    assert (revisits.pending, revisits.overdue) == (3, 1)
    satisfaction = figures.satisfaction
    assert satisfaction.answers == 3 and satisfaction.average == pytest.approx(11 / 3)
    assert satisfaction.distribution == (0, 1, 0, 1, 1)
    assert (satisfaction.resolved, satisfaction.unresolved) == (2, 1)
    assert figures.outreach is None


def test_no_cases_no_division_by_zero() -> None:
    figures = compute(Period(date(2025, 1, 1), date(2025, 1, 31)), SHANGHAI, ([], [], []), NOW, [])
    assert figures.total == 0 and figures.settlement_rate is None
    assert figures.first_reply_median is None and figures.satisfaction.average is None
    with Catalogs().using("en"):
        labels = Labels(make_config(Path("/tmp")), figures)
        text = labels.text()
        chart = render_chart(labels.chart())
    assert "Cases registered: 0" in text and "Settlement rate: —" in text
    assert Image.open(io.BytesIO(chart.png)).size[0] >= 800


def test_text_and_workbook_say_the_same(tmp_path: Path) -> None:
    with Catalogs().using("en"):
        labels = Labels(make_config(tmp_path), _figures())
        text = labels.text()
        data = render_workbook(labels.tables())
    for line in (
        "Cases registered: 5",
        "By area: Dongsheng Community 2 · Lianhe Village 2 · area not given 1",
        "Outcomes: settled 2 · not settled 1 · withdrawn 1 · still open 1",
        "Settlement rate: 67% (settled among settled and not settled)",
        "From registration to the mediator's first message to the resident: 1 hr 8 min "
        "(median of 4 cases)",
        "How they asked to meet: Chat here 5 · A phone call 0 · "
        "Visit the desk during office hours 0 · A home visit 0",
        "Revisits: 2 done (1 holding, 1 came back, 0 not reached) · 3 pending · 1 overdue",
        "Satisfaction: average 3.7 of 5 from 3 answers",
        "Mediation: written agreements 0 · oral agreements 0 · other parties who joined 0 · "
        "terms performed on time 0 · terms performed late 0 · terms broken 0 · "
        "judicial-confirmation cards sent 0 · cases over the time limit 0 · cases extended 0",
    ):
        assert line in text, (line, text)
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == [
        "Summary",
        "By month",
        "By area",
        "By category",
        "Outcomes",
        "How they asked to meet",
        "Referrals",
        "Mediation",
        "Revisits",
        "Satisfaction",
    ]
    summary = dict(workbook["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["Cases registered"] == 5
    assert summary["Settlement rate (%)"] == 66.7
    assert summary["Median hours from registration to the mediator's first message"] == 1.12
    assert summary["Cases that median covers"] == 4
    assert summary["Average satisfaction (1 to 5)"] == 3.67
    assert list(workbook["Outcomes"].iter_rows(values_only=True))[1] == ("settled", 2)
    assert list(workbook["Satisfaction"].iter_rows(values_only=True))[1:] == [
        ("1", 0),
        ("2", 1),
        ("3", 0),
        ("4", 1),
        ("5", 1),
    ]


def test_urgent_cases_violence_and_referrals_are_counted(tmp_path: Path) -> None:
    day = date(2025, 6, 1)
    cases = [
        dataclasses.replace(
            _case(10 + n, day, ("lianhe", "violence", "accepted"), None),
            urgent=True,
            urgent_at=created,
            taken_at=created + timedelta(minutes=minutes),
        )
        for n, (created, minutes) in enumerate(
            (_case(0, day, ("lianhe", "x", "new"), None).created_at, m) for m in (4, 12, 30)
        )
    ]
    untaken = dataclasses.replace(
        _case(20, day, (None, "violence", "offered"), None), urgent=True, urgent_at=NOW
    )
    figures = compute(
        Period(date(2025, 6, 1), date(2025, 6, 30)),
        SHANGHAI,
        ([*cases, untaken, _case(21, day, ("lianhe", "family", "settled"), 10)], [], []),
        NOW,
        ["lianhe"],
        referrals={"police": 2, "hotline": 1, "made-up": 5},
    )
    assert (figures.urgent, figures.urgent_taken) == (4, 3)
    assert figures.urgent_take_median == timedelta(minutes=12)
    assert dict(figures.by_category)["violence"] == 4  # its own category, not "other"
    assert dict(figures.by_category)["other"] == 0
    assert figures.referrals == (
        ("police", 2),
        ("court", 0),
        ("shelter", 0),
        ("hotline", 1),
        ("hospital", 0),
    )
    with Catalogs().using("zh_CN"):
        labels = Labels(make_config(tmp_path), figures)
        text = labels.text()
        data = render_workbook(labels.tables())
    urgent = "🔴 Urgent cases: {count} · median time until taken: {time} ({taken} taken)"
    assert zh(urgent, count=4, time="12分钟", taken=3) in text, text
    referred = ((zh("Police"), 2), (zh("Court"), 0), (zh("Shelter"), 0))
    referred += ((zh("12338 hotline"), 1), (zh("Hospital"), 0))
    counts = " · ".join(f"{label} {n}" for label, n in referred)
    assert zh("Referrals: {counts}", counts=counts) in text, text
    assert "家庭暴力与人身安全 4" in text  # the configured category's name
    workbook = load_workbook(io.BytesIO(data))
    summary = dict(workbook[zh("Summary")].iter_rows(min_row=2, values_only=True))
    assert summary[zh("Urgent cases")] == 4
    assert summary[zh("Median minutes until an urgent case was taken")] == 12


def test_workbook_sheet_names_are_valid_and_unique() -> None:
    long = "A very long title: with [forbidden] characters / and more words"
    data = render_workbook([Table(long, ("x",), ((1,),)), Table(long, ("x",), ((2,),))])
    names = load_workbook(io.BytesIO(data)).sheetnames
    assert len(names) == 2 and len(set(names)) == 2
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)


def test_workbook_keeps_text_as_text_and_numbers_as_numbers() -> None:
    table = Table(
        "=Sheet",
        ("=Name", "Change"),
        (('=HYPERLINK("//x")', -3), ("-5%", -0.5), ("@x", None), ("#N/A", 2), ("+1", 0)),
    )
    data = render_workbook([table])
    assert assert_inert_xlsx(data) == 5  # the header and four names; "#N/A" starts safely
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert [(c.value, c.data_type) for c in sheet["B"][1:3]] == [(-3, "n"), (-0.5, "n")]
    assert (sheet["A5"].value, sheet["A5"].data_type) == ("#N/A", "s")


# ----------------------------------------------------------------------------- the chart


def test_chart_draws_chinese_with_the_shipped_cjk_font(tmp_path: Path) -> None:
    """Screenshot-free: which font draws the labels, that it has every glyph, the size."""
    with Catalogs().using("zh_CN"):
        spec = Labels(make_config(tmp_path), _figures()).chart()
    texts = [spec.title, spec.subtitle]
    for panel in spec.panels:
        texts += [panel.title, *panel.labels]
    chinese = "".join(t for t in texts if any("\u4e00" <= c <= "\u9fff" for c in t))
    assert "东升社区" in chinese and "婚姻家庭" in chinese and "年" in chinese
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart = render_chart(spec)
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert Path(chart.fonts[CJK_FAMILY]) == CJK_FONT_FILE
    cjk_glyphs = FT2Font(str(CJK_FONT_FILE)).get_charmap()
    assert all(ord(c) in cjk_glyphs for c in chinese if "\u4e00" <= c <= "\u9fff")
    assert missing_glyphs("".join(texts)) == set()
    image = Image.open(io.BytesIO(chart.png))
    image.verify()
    assert image.format == "PNG" and image.size == (chart.width, chart.height)
    assert chart.width >= 800


def test_rendering_warns_about_a_missing_glyph_so_silence_means_all_were_drawn() -> None:
    """The negative control of the check above: a glyph no font has does warn."""
    spec = ChartSpec("\U0001f198", "subtitle", (Panel("p", ("a",), (1,)),))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_chart(spec)
    assert [w for w in caught if "missing from font" in str(w.message)]


def test_glyph_check_notices_what_no_font_has() -> None:
    assert missing_glyphs("调解 ok") == set()
    assert missing_glyphs("\U0001f198") == {"\U0001f198"}  # 🆘: neither font has it


def test_the_latin_font_alone_would_miss_chinese_glyphs() -> None:
    """The check above means something: without the CJK font, Chinese has no glyphs."""
    latin = FT2Font(font_files()["DejaVu Sans"]).get_charmap()
    assert ord("调") not in latin


def test_a_chart_with_many_months_still_renders() -> None:
    panel = Panel("By month", tuple(f"2025-{m:02d}" for m in range(1, 25)), tuple(range(24)))
    chart = render_chart(ChartSpec("title", "subtitle", (panel,)))
    assert Image.open(io.BytesIO(chart.png)).size[0] == chart.width


def test_outreach_is_ordered_with_everything_last() -> None:
    figures = outreach_figures(OutreachFacts({"*": 5, "lianhe": 2, "dongsheng": 3}, {}, 1, 4))
    assert figures.subscribers_by_area == (("dongsheng", 3), ("lianhe", 2), ("*", 5))
    assert (figures.announcements_sent, figures.rsvps) == (1, 4)


def test_the_database_counts_what_compute_counts_from_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/stats counts in SQL (ten years are too many cases to load); the figures are the same
    as compute() makes from every case's facts, on a seeded district, over every period."""
    monkeypatch.setenv("DAASAO_BENCH_CACHE", str(tmp_path / "cache"))

    async def both() -> list[tuple[Figures, Figures]]:
        await district(STATS_DISTRICT, tmp_path / "district.sqlite3")
        db = await Database.open(tmp_path / "district.sqlite3")
        try:
            repo = StatsRepository(db)
            config = make_config(tmp_path)  # its two areas: the seeded others come after them
            now = datetime.now(UTC)
            deps, _sender = bundle(
                db,
                Repositories.over(db),
                config=config,
                clock=FakeClock(now),
                catalogs=Catalogs(default=config.locale.default),
                telegram=RecordingMessenger(),
            )
            service = StatsService(deps)
            zone = config.locale.zone
            found = []
            periods = (
                Period(date(now.year - 9, 1, 1), date(now.year, 12, 31)),
                Period(date(now.year, 1, 1), date(now.year, 12, 31)),
                Period(date(now.year - 3, 2, 1), date(now.year - 3, 2, 28)),
                Period(date(now.year - 5, 3, 15), date(now.year - 1, 5, 10)),  # part months
            )
            for period in periods:
                start, end = period.bounds(zone)
                cases = await repo.cases(start, end)
                assert cases, "the seeded district has cases in every period"
                facts = (cases, await repo.revisits(start, end), await repo.surveys(start, end))
                counted = await service.figures(period)
                from_facts = compute(
                    period,
                    zone,
                    facts,
                    now,
                    [a.id for a in config.areas],
                    topic_ids=[t.id for t in config.case_topics],
                    outreach=counted.outreach,  # not counted from facts
                    referrals=dict(counted.referrals),
                    mediation=dict(counted.mediation),
                )
                found.append((counted, from_facts))
            return found
        finally:
            await db.close()

    for counted, from_facts in asyncio.run(both()):
        assert counted == from_facts
        assert counted.first_reply_median is not None and counted.total > 0


async def test_the_files_are_made_in_a_child_process_the_same_as_here(tmp_path: Path) -> None:
    with Catalogs().using("en"):
        labels = Labels(make_config(tmp_path), _figures())
        spec, tables = labels.chart(), labels.tables()
    chart, page, workbook = await render_files(spec, tables)
    assert chart.png == render_chart(spec).png
    assert page.png == render_chart(spec, page=True).png
    assert Image.open(io.BytesIO(page.png)).size == (page.width, page.height)
    assert (
        load_workbook(io.BytesIO(workbook)).sheetnames
        == load_workbook(io.BytesIO(render_workbook(tables))).sheetnames
    )


async def test_a_child_that_fails_is_an_error_not_an_empty_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Catalogs().using("en"):
        labels = Labels(make_config(tmp_path), _figures())
    monkeypatch.setattr("sys.executable", "/bin/false")
    with pytest.raises(RenderError):
        await render_files(labels.chart(), labels.tables())
