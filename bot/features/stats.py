"""Statistics for the work report: /stats [period] as text, a chart image and a workbook.

Every figure is about the cases REGISTERED in the period (local dates): how many, by month,
area, category and outcome; the settlement rate; the median time from registration to the
mediator's first reply; urgent cases and the median time until someone took them; the
referrals of people at risk; their revisits and their residents' satisfaction. Counts only —
nothing identifies a resident.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit

from bot.core.config import DEFAULT_CASE_TOPICS, Config
from bot.core.errors import DomainError
from bot.core.i18n import _, current_locale
from bot.core.messaging import Button, Outgoing, rows
from bot.domain.people import Person
from bot.domain.permissions import require_staff_or_head
from bot.domain.terms import (
    CONTACTS,
    REFERRALS,
    area_name,
    category_label,
    contact_label,
    referral_label,
    state_label,
)
from bot.features.deps import Deps, Feature
from bot.features.revisits import OVERDUE_AFTER
from bot.features.staff import StaffFile, button
from bot.features.statsfiles import ChartSpec, Panel, Table, render_files
from storage.stats import (
    CaseCounts,
    CaseFact,
    OutreachFacts,
    RevisitCounts,
    RevisitFact,
    SurveyFact,
)

OUTCOMES = ("settled", "not_settled", "withdrawn", "open")
# What storage.stats.mediation counts, in the order they are shown.
MEDIATION = (
    "written",
    "oral",
    "party_joined",
    "term_performed:on_time",
    "term_performed:late",
    "term_broken",
    "judicial_card",
    "time_limit",
    "extended",
)
MAX_YEARS = 10
_KEYWORDS = {
    "this-month": ("month", "this-month", "this month", "thismonth", "本月"),
    "last-month": ("last-month", "last month", "lastmonth", "上月", "上个月"),
    "this-year": ("year", "this-year", "this year", "thisyear", "今年", "本年"),
    "last-year": ("last-year", "last year", "lastyear", "去年"),
}
PERIOD_BUTTONS = ("this-month", "last-month", "this-year", "last-year")
_RANGE_SPLIT = re.compile(r"\s*(?:\.\.|~|～|—|至|to)\s*")


class PeriodError(DomainError):
    def user_message(self) -> str:
        return _(
            "I do not understand that period. Write for example: /stats (this month), "
            "/stats last-month, /stats year, /stats 2025, /stats 2025-03, or "
            "/stats 2025-01-01 2025-06-30."
        )


@dataclass(frozen=True)
class Period:
    """Local calendar days, both inclusive."""

    first: date
    last: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: from the first day's local midnight to the day after the last."""
        start = datetime.combine(self.first, time(0), zone)
        end = datetime.combine(self.last + timedelta(days=1), time(0), zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def months(self) -> list[date]:
        """The first day of every month the period touches."""
        found, month = [], self.first.replace(day=1)
        while month <= self.last:
            found.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return found


def parse_period(words: Sequence[str], today: date) -> Period:
    """The period of `/stats [period]`; this month when nothing is given."""
    text = " ".join(words).strip().lower()
    keyword = next((k for k, aliases in _KEYWORDS.items() if text in aliases), None)
    if not text or keyword == "this-month":
        return _month(today)
    if keyword == "last-month":
        return _month(today.replace(day=1) - timedelta(days=1))
    if keyword in ("this-year", "last-year"):
        year = today.year - (keyword == "last-year")
        return Period(date(year, 1, 1), date(year, 12, 31))
    parts = [p for p in _RANGE_SPLIT.split(text.replace(" ", "..", 1)) if p]
    if len(parts) == 1:
        return _one(parts[0])
    if len(parts) == 2:
        first, last = _one(parts[0]).first, _one(parts[1]).last
        if first <= last and (last - first).days <= 366 * MAX_YEARS:
            return Period(first, last)
    raise PeriodError


def _month(day: date) -> Period:
    first = day.replace(day=1)
    return Period(first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))


def _one(text: str) -> Period:
    """2025 (a year), 2025-03 (a month) or 2025-03-08 (a day)."""
    try:
        if re.fullmatch(r"\d{4}", text) and int(text) >= 2000:
            return Period(date(int(text), 1, 1), date(int(text), 12, 31))
        if re.fullmatch(r"\d{4}-\d{1,2}", text):
            year, month = (int(p) for p in text.split("-"))
            return _month(date(year, month, 1))
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            day = date(*(int(p) for p in text.split("-")))
            return Period(day, day)
    except ValueError:
        pass
    raise PeriodError


# --------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class RevisitFigures:
    done: int
    holding: int
    recurred: int
    unreachable: int
    pending: int
    overdue: int


@dataclass(frozen=True)
class SatisfactionFigures:
    answers: int
    average: float | None
    distribution: tuple[int, int, int, int, int]  # how many gave 1, 2, 3, 4, 5
    resolved: int
    unresolved: int


@dataclass(frozen=True)
class OutreachFigures:
    """Subscribers by area and topic (ids; "*" = all of them), announcements and RSVPs."""

    subscribers_by_area: tuple[tuple[str, int], ...]
    subscribers_by_topic: tuple[tuple[str, int], ...]
    announcements_sent: int
    rsvps: int
    subscribers: int = 0
    events: int = 0  # sendings with "I'll come" buttons
    attended: int = 0
    events_counted: int = 0  # events whose attendance was recorded (/attendance)


@dataclass(frozen=True)
class Figures:
    period: Period
    total: int
    by_month: tuple[tuple[date, int], ...]
    by_area: tuple[tuple[str | None, int], ...]
    by_category: tuple[tuple[str, int], ...]
    by_outcome: tuple[tuple[str, int], ...]
    by_contact: tuple[tuple[str, int], ...]  # chat, phone, office (desk visits), home visits
    settlement_rate: float | None  # settled among settled and not settled
    first_reply_median: timedelta | None
    first_replies: int  # cases with a reply, the median's basis
    urgent: int
    urgent_taken: int  # urgent cases someone took, the median's basis
    urgent_take_median: timedelta | None  # from becoming urgent to being taken
    referrals: tuple[tuple[str, int], ...]
    revisits: RevisitFigures
    satisfaction: SatisfactionFigures
    outreach: OutreachFigures | None
    mediation: tuple[tuple[str, int], ...] = ()  # MEDIATION keys, in that order


DEFAULT_TOPIC_IDS = tuple(topic.id for topic in DEFAULT_CASE_TOPICS)


def compute(
    period: Period,
    zone: ZoneInfo,
    facts: tuple[Sequence[CaseFact], Sequence[RevisitFact], Sequence[SurveyFact]],
    now: datetime,
    area_ids: Sequence[str],
    *,
    topic_ids: Sequence[str] = DEFAULT_TOPIC_IDS,
    outreach: OutreachFigures | None = None,
    referrals: Mapping[str, int] | None = None,
    mediation: Mapping[str, int] | None = None,
) -> Figures:
    """Count the facts of the period's cases (pure: no database, no clock)."""
    cases, revisits, surveys = facts
    return figures_of(
        period,
        count_cases(cases, month_bounds(period, zone)),
        count_revisits(revisits, now - OVERDUE_AFTER),
        _satisfaction(surveys),
        area_ids,
        topic_ids=topic_ids,
        outreach=outreach,
        referrals=referrals,
        mediation=mediation,
    )


def month_bounds(period: Period, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """Each month of the period as [start, end) in UTC, from local midnights."""
    starts = [datetime.combine(m, time(0), zone) for m in period.months()]
    ends = [
        *starts[1:],
        datetime.combine((period.months()[-1] + timedelta(days=32)).replace(day=1), time(0), zone),
    ]
    return [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in zip(starts, ends, strict=True)]


def count_cases(
    cases: Sequence[CaseFact], months: Sequence[tuple[datetime, datetime]]
) -> CaseCounts:
    """What `StatsRepository.case_counts` counts in the database, counted from facts."""
    replies = [_us(c.first_reply_at - c.created_at) for c in cases if c.first_reply_at]
    taken = [
        _us(c.taken_at - (c.urgent_at or c.created_at)) for c in cases if c.urgent and c.taken_at
    ]
    return CaseCounts(
        total=len(cases),
        by_month={a: sum(1 for c in cases if a <= c.created_at < b) for a, b in months},
        by_area=dict(Counter(c.area_id for c in cases)),
        by_category=dict(Counter(c.category for c in cases)),
        by_state=dict(Counter(c.state for c in cases)),
        by_contact=dict(Counter(c.contact for c in cases)),
        urgent=sum(1 for c in cases if c.urgent),
        first_replies=_middle(replies),
        urgent_taken=_middle(taken),
    )


def _us(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def _middle(values: Sequence[int]) -> tuple[int, ...]:
    """How many, then the middle one or two of the sorted values (as the database gives)."""
    if not values:
        return (0,)
    ordered, n = sorted(values), len(values)
    return (n, *ordered[(n - 1) // 2 : (n - 1) // 2 + 2 - n % 2])


def count_revisits(revisits: Sequence[RevisitFact], cutoff: datetime) -> RevisitCounts:
    """What `StatsRepository.revisit_counts` counts in the database, counted from facts."""
    answers = Counter(r.answer for r in revisits if r.answer)
    overdue = sum(
        1 for r in revisits if not r.answer and not r.scheduled and r.sent_at and r.sent_at < cutoff
    )
    return RevisitCounts(
        total=len(revisits),
        answers={a: answers[a] for a in ("holding", "recurred", "unreachable")},
        overdue=overdue,
    )


def figures_of(
    period: Period,
    cases: CaseCounts,
    revisits: RevisitCounts,
    satisfaction: SatisfactionFigures,
    area_ids: Sequence[str],
    *,
    topic_ids: Sequence[str] = DEFAULT_TOPIC_IDS,
    outreach: OutreachFigures | None = None,
    referrals: Mapping[str, int] | None = None,
    mediation: Mapping[str, int] | None = None,
) -> Figures:
    """The figures from the counts (pure)."""
    areas = Counter(cases.by_area)
    categories: Counter[str] = Counter()
    for category, n in cases.by_category.items():
        categories[category if category in topic_ids else "other"] += n
    outcomes: Counter[str] = Counter()
    for state, n in cases.by_state.items():
        outcomes[state if state in OUTCOMES[:3] else "open"] += n
    contacts = Counter(cases.by_contact)
    closed = outcomes["settled"] + outcomes["not_settled"]
    referred = referrals or {}
    extra_areas = [a for a in areas if a not in area_ids]
    months = dict(zip(period.months(), cases.by_month.values(), strict=True))
    return Figures(
        period=period,
        total=cases.total,
        by_month=tuple((m, months[m]) for m in period.months()),
        by_area=tuple((a, areas[a]) for a in [*area_ids, *sorted(extra_areas, key=str)]),
        by_category=tuple((c, categories[c]) for c in topic_ids),
        by_outcome=tuple((o, outcomes[o]) for o in OUTCOMES),
        by_contact=tuple((k, contacts[k]) for k in CONTACTS),
        settlement_rate=outcomes["settled"] / closed if closed else None,
        first_reply_median=_median(cases.first_replies),
        first_replies=cases.first_replies[0],
        urgent=cases.urgent,
        urgent_taken=cases.urgent_taken[0],
        urgent_take_median=_median(cases.urgent_taken),
        referrals=tuple((r, referred.get(r, 0)) for r in REFERRALS),
        revisits=_revisit_figures(revisits),
        satisfaction=satisfaction,
        outreach=outreach,
        mediation=tuple((key, (mediation or {}).get(key, 0)) for key in MEDIATION),
    )


def outreach_figures(facts: OutreachFacts) -> OutreachFigures:
    """Subscribers by area and topic (largest first, "*" last), announcements and RSVPs."""

    def ordered(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(counts.items(), key=lambda kv: (kv[0] == "*", -kv[1], kv[0])))

    return OutreachFigures(
        subscribers_by_area=ordered(facts.by_area),
        subscribers_by_topic=ordered(facts.by_topic),
        announcements_sent=facts.sent,
        rsvps=facts.rsvps,
        subscribers=facts.subscribers,
        events=facts.events,
        attended=facts.attended,
        events_counted=facts.events_counted,
    )


def _median(middle: Sequence[int]) -> timedelta | None:
    """From (how many, the middle one or two in µs): as `statistics.median` of the seconds."""
    if not middle[0]:
        return None
    return timedelta(seconds=statistics.median(us / 1_000_000 for us in middle[1:]))


def _revisit_figures(revisits: RevisitCounts) -> RevisitFigures:
    done = sum(revisits.answers.values())
    return RevisitFigures(
        done=done,
        holding=revisits.answers["holding"],
        recurred=revisits.answers["recurred"],
        unreachable=revisits.answers["unreachable"],
        pending=revisits.total - done - revisits.overdue,
        overdue=revisits.overdue,
    )


def _satisfaction(surveys: Sequence[SurveyFact]) -> SatisfactionFigures:
    ratings = [s.rating for s in surveys if s.rating is not None]
    counts = Counter(ratings)
    return SatisfactionFigures(
        answers=len(ratings),
        average=sum(ratings) / len(ratings) if ratings else None,
        distribution=(counts[1], counts[2], counts[3], counts[4], counts[5]),
        resolved=sum(1 for s in surveys if s.resolved is True),
        unresolved=sum(1 for s in surveys if s.resolved is False),
    )


# --------------------------------------------------------------------------- the service


@dataclass(frozen=True)
class StatsFiles:
    chart: StaffFile  # for the phone
    page_chart: StaffFile  # for a document page
    workbook: StaffFile


@dataclass(frozen=True)
class StatsReport:
    """The figures as text, ready at once, and what the files are drawn from: the text goes
    out first and the charts (a second or more to draw) follow it, see `StatsService.files`."""

    text: Outgoing
    name: str  # the files' name, without extension
    spec: ChartSpec
    tables: tuple[Table, ...]
    captions: tuple[str, str, str]  # chart, page chart, workbook (in the reader's language)


class StatsService(Feature):
    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._repo = deps.repos.stats

    async def report(self, person: Person, words: Sequence[str]) -> StatsReport:
        """/stats [period]: the figures as a short text; the chart and workbook to follow."""
        require_staff_or_head(person)
        zone = self._config.locale.zone
        period = parse_period(words, self._clock.now().astimezone(zone).date())
        figures = await self.figures(period)
        labels = Labels(self._config, figures)
        return StatsReport(
            text=Outgoing(labels.text(), _period_buttons()),
            name=f"stats-{period.first.isoformat()}-{period.last.isoformat()}",
            spec=labels.chart(),
            tables=tuple(labels.tables()),
            captions=(
                _("Statistics {period}").format(period=labels.period),
                _("The same chart in landscape, sized for a page of the work report."),
                _("Statistics {period}: one sheet per table, for the work report.").format(
                    period=labels.period
                ),
            ),
        )

    async def files(self, report: StatsReport) -> StatsFiles:
        """The report's charts and workbook, drawn in a child process: the bot's other
        conversations go on meanwhile, and its memory stays its own."""
        chart, page, workbook = await render_files(report.spec, report.tables)
        chart_caption, page_caption, workbook_caption = report.captions
        return StatsFiles(
            chart=StaffFile(f"{report.name}.png", chart.png, chart_caption),
            page_chart=StaffFile(f"{report.name}-page.png", page.png, page_caption),
            workbook=StaffFile(f"{report.name}.xlsx", workbook, workbook_caption),
        )

    async def figures(self, period: Period) -> Figures:
        zone = self._config.locale.zone
        start, end = period.bounds(zone)
        # Counted by the database: ten years are 50,000 cases, too many to load (compute()
        # counts the same from facts; tests/test_stats.py checks they agree).
        cases = await self._repo.case_counts(start, end, month_bounds(period, zone))
        cutoff = self._clock.now() - OVERDUE_AFTER
        revisits = await self._repo.revisit_counts(start, end, cutoff)
        satisfaction = _satisfaction(await self._repo.surveys(start, end))
        area_ids = [a.id for a in self._config.areas]
        outreach = outreach_figures(await self._repo.outreach(start, end))
        referrals = await self._repo.referrals(start, end)
        return figures_of(
            period,
            cases,
            revisits,
            satisfaction,
            area_ids,
            topic_ids=[t.id for t in self._config.case_topics],
            outreach=outreach,
            referrals=referrals,
            mediation=await self._repo.mediation(start, end),
        )


def _period_buttons() -> tuple[tuple[Button, ...], ...]:
    labels = {
        "this-month": _("This month"),
        "last-month": _("Last month"),
        "this-year": _("This year"),
        "last-year": _("Last year"),
    }
    return rows(*(button(labels[k], "sp", k) for k in PERIOD_BUTTONS), per_row=2)


# --------------------------------------------------------------------------- in words


class Labels:
    """The figures in the reader's language: text, chart panels, workbook tables."""

    def __init__(self, config: Config, figures: Figures) -> None:
        self._config = config
        self.figures = figures
        self._locale = Locale.parse(current_locale())
        first, last = figures.period.first, figures.period.last
        self.period = f"{self._date(first)} – {self._date(last)}"

    # -- series -----------------------------------------------------------------------

    def months(self) -> list[tuple[str, int]]:
        one_year = len({m.year for m, _n in self.figures.by_month}) == 1
        skeleton = "MMM" if one_year else "yMMM"
        return [
            (format_skeleton(skeleton, datetime.combine(m, time()), locale=self._locale), n)
            for m, n in self.figures.by_month
        ]

    def areas(self) -> list[tuple[str, int]]:
        return [(area_name(self._config, a), n) for a, n in self.figures.by_area]

    def categories(self) -> list[tuple[str, int]]:
        return [(category_label(self._config, c), n) for c, n in self.figures.by_category]

    def contacts(self) -> list[tuple[str, int]]:
        return [(contact_label(k), n) for k, n in self.figures.by_contact]

    def outcomes(self) -> list[tuple[str, int]]:
        return [(self.outcome(o), n) for o, n in self.figures.by_outcome]

    @staticmethod
    def outcome(outcome: str) -> str:
        return _("still open") if outcome == "open" else state_label(outcome)

    def ratings(self) -> list[tuple[str, int]]:
        return [
            (str(stars), n) for stars, n in enumerate(self.figures.satisfaction.distribution, 1)
        ]

    # -- text -------------------------------------------------------------------------

    def text(self) -> str:
        f = self.figures
        lines = [
            _("📊 Statistics {period}").format(period=self.period),
            _("Cases registered: {count}").format(count=f.total),
        ]
        if len(f.by_month) > 1:
            lines.append(_("By month: {counts}").format(counts=_pairs(self.months())))
        lines += [
            _("By area: {counts}").format(counts=_pairs(self.areas())),
            _("By category: {counts}").format(counts=_pairs(self.categories())),
            _("Outcomes: {counts}").format(counts=_pairs(self.outcomes())),
            _("How they asked to meet: {counts}").format(counts=_pairs(self.contacts())),
            self._rate_line(),
            self._reply_line(),
            self._urgent_line(),
            _("Referrals: {counts}").format(counts=_pairs(self.referrals())),
            _("Mediation: {counts}").format(counts=_pairs(self.mediation())),
            self._revisit_line(),
            *self._satisfaction_lines(),
            *self._outreach_lines(),
        ]
        return "\n".join(lines)

    def _rate_line(self) -> str:
        rate = self.figures.settlement_rate
        if rate is None:
            return _("Settlement rate: — (no case settled or not settled yet)")
        return _("Settlement rate: {rate} (settled among settled and not settled)").format(
            rate=format_percent(rate, locale=self._locale)
        )

    def _reply_line(self) -> str:
        median = self.figures.first_reply_median
        if median is None:
            return _(
                "From registration to the mediator's first message to the resident: — "
                "(no mediator has written yet)"
            )
        return _(
            "From registration to the mediator's first message to the resident: {time} "
            "(median of {count} cases)"
        ).format(time=self.duration(median), count=self.figures.first_replies)

    def _urgent_line(self) -> str:
        f = self.figures
        if f.urgent_take_median is None:
            return _("🔴 Urgent cases: {count}").format(count=f.urgent)
        return _(
            "🔴 Urgent cases: {count} · median time until taken: {time} ({taken} taken)"
        ).format(count=f.urgent, time=self.duration(f.urgent_take_median), taken=f.urgent_taken)

    def mediation(self) -> list[tuple[str, int]]:
        labels = {
            "written": _("written agreements"),
            "oral": _("oral agreements"),
            "party_joined": _("other parties who joined"),
            "term_performed:on_time": _("terms performed on time"),
            "term_performed:late": _("terms performed late"),
            "term_broken": _("terms broken"),
            "judicial_card": _("judicial-confirmation cards sent"),
            "time_limit": _("cases over the time limit"),
            "extended": _("cases extended"),
        }
        return [(labels[key], n) for key, n in self.figures.mediation]

    def referrals(self) -> list[tuple[str, int]]:
        return [(referral_label(r), n) for r, n in self.figures.referrals]

    def _revisit_line(self) -> str:
        r = self.figures.revisits
        return _(
            "Revisits: {done} done ({holding} holding, {recurred} came back, "
            "{unreachable} not reached) · {pending} pending · {overdue} overdue"
        ).format(
            done=r.done,
            holding=r.holding,
            recurred=r.recurred,
            unreachable=r.unreachable,
            pending=r.pending,
            overdue=r.overdue,
        )

    def _satisfaction_lines(self) -> list[str]:
        s = self.figures.satisfaction
        if s.average is None:
            return [_("Satisfaction: no answers yet")]
        stars = " · ".join(f"{'★' * n}{' '}{count}" for n, count in enumerate(s.distribution, 1))
        return [
            _("Satisfaction: average {average} of 5 from {count} answers").format(
                average=self.decimal(s.average), count=s.answers
            ),
            stars,
            _("Resolved, the residents say: {yes} yes, {no} not yet").format(
                yes=s.resolved, no=s.unresolved
            ),
        ]

    def _outreach_lines(self) -> list[str]:
        o = self.figures.outreach
        if o is None:
            return []
        areas, topics = self._outreach_named(o)
        return [
            _("Subscribers: {count}").format(count=o.subscribers),
            _("Subscribers by area: {counts}").format(counts=_pairs(areas)),
            _("Subscribers by topic: {counts}").format(counts=_pairs(topics)),
            _("Announcements sent: {count} · RSVPs: {rsvps}").format(
                count=o.announcements_sent, rsvps=o.rsvps
            ),
            _(
                "Events held: {events} · people who came: {attended} (counted at {counted} "
                "of them; /attendance records it)"
            ).format(events=o.events, attended=o.attended, counted=o.events_counted),
        ]

    # -- chart ------------------------------------------------------------------------

    def chart(self) -> ChartSpec:
        def panel(title: str, pairs: list[tuple[str, int]], horizontal: bool) -> Panel:
            labels, values = zip(*pairs, strict=True) if pairs else ((), ())
            return Panel(title, tuple(labels), tuple(values), horizontal)

        return ChartSpec(
            title=_("Da'asao mediation: cases registered ({count})").format(
                count=self.figures.total
            ),
            subtitle=self.period,
            panels=(
                panel(_("By month"), self.months(), horizontal=False),
                panel(_("By area"), self.areas(), horizontal=True),
                panel(_("By category"), self.categories(), horizontal=True),
                panel(_("Outcomes"), self.outcomes(), horizontal=True),
                panel(_("How they asked to meet"), self.contacts(), horizontal=True),
                panel(_("Satisfaction (1 to 5)"), self.ratings(), horizontal=False),
            ),
        )

    # -- workbook ---------------------------------------------------------------------

    def tables(self) -> list[Table]:
        count = _("Cases")
        tables = [
            self._summary(),
            Table(_("By month"), (_("Month"), count), _rows(self.months())),
            Table(_("By area"), (_("Area"), count), _rows(self.areas())),
            Table(_("By category"), (_("Category"), count), _rows(self.categories())),
            Table(_("Outcomes"), (_("Outcome"), count), _rows(self.outcomes())),
            Table(_("How they asked to meet"), (_("Way"), count), _rows(self.contacts())),
            Table(_("Referrals"), (_("Referred to"), _("Count")), _rows(self.referrals())),
            Table(_("Mediation"), (_("What"), _("Count")), _rows(self.mediation())),
            self._revisit_table(),
            Table(_("Satisfaction"), (_("Rating"), _("Answers")), _rows(self.ratings())),
        ]
        return tables + self._outreach_tables()

    def _summary(self) -> Table:
        f = self.figures
        median = f.first_reply_median
        hours = round(median.total_seconds() / 3600, 2) if median is not None else None
        average = round(f.satisfaction.average, 2) if f.satisfaction.average is not None else None
        rate = round(f.settlement_rate * 100, 1) if f.settlement_rate is not None else None
        taken = f.urgent_take_median
        taken_minutes = round(taken.total_seconds() / 60, 1) if taken is not None else None
        contacts, outcomes = dict(f.by_contact), dict(f.by_outcome)
        o = f.outreach
        values: list[tuple[str, str | int | float | None]] = [
            (_("Period"), self.period),
            (_("Cases registered"), f.total),
            (_("Settled"), outcomes["settled"]),
            (_("Not settled"), outcomes["not_settled"]),
            (_("Withdrawn"), outcomes["withdrawn"]),
            (_("Still open"), outcomes["open"]),
            (_("Settlement rate (%)"), rate),
            (_("Desk visits (office hours) asked for"), contacts["office"]),
            (_("Home visits asked for"), contacts["home"]),
            (_("Median hours from registration to the mediator's first message"), hours),
            (_("Cases that median covers"), f.first_replies),
            (_("Urgent cases"), f.urgent),
            (_("Median minutes until an urgent case was taken"), taken_minutes),
            (_("Revisits done"), f.revisits.done),
            (_("Revisits: the agreement holds"), f.revisits.holding),
            (_("Revisits pending"), f.revisits.pending),
            (_("Revisits overdue"), f.revisits.overdue),
            (_("Satisfaction answers"), f.satisfaction.answers),
            (_("Average satisfaction (1 to 5)"), average),
        ]
        if o is not None:
            values += [
                (_("Subscribers"), o.subscribers),
                (_("Announcements sent"), o.announcements_sent),
                (_("Events held"), o.events),
                (_("RSVPs (I'll come)"), o.rsvps),
                (_("People who came"), o.attended),
                (_("Events whose attendance was counted"), o.events_counted),
            ]
        table = tuple((label, value) for label, value in values)
        return Table(_("Summary"), (_("Figure"), _("Value")), table)

    def _revisit_table(self) -> Table:
        r = self.figures.revisits
        pairs = [
            (_("Done"), r.done),
            (_("Done: holding"), r.holding),
            (_("Done: the dispute came back"), r.recurred),
            (_("Done: could not reach them"), r.unreachable),
            (_("Pending"), r.pending),
            (_("Overdue"), r.overdue),
        ]
        return Table(_("Revisits"), (_("Revisits"), _("Count")), _rows(pairs))

    def _outreach_tables(self) -> list[Table]:
        o = self.figures.outreach
        if o is None:
            return []
        subscribers = _("Subscribers")
        areas, topics = self._outreach_named(o)
        return [
            Table(_("Subscribers by area"), (_("Area"), subscribers), _rows(areas)),
            Table(_("Subscribers by topic"), (_("Topic"), subscribers), _rows(topics)),
        ]

    def _outreach_named(
        self, o: OutreachFigures
    ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """Area and topic ids as the reader calls them."""
        topics = {t.id: t.name.text(current_locale()) for t in self._config.announcements.topics}
        every = _("all of them")
        areas = [
            (every if a == "*" else area_name(self._config, a), n) for a, n in o.subscribers_by_area
        ]
        named = [(every if t == "*" else topics.get(t, t), n) for t, n in o.subscribers_by_topic]
        return areas, named

    # -- numbers ----------------------------------------------------------------------

    def duration(self, span: timedelta) -> str:
        """Hours and minutes, e.g. "2小时5分钟" / "2 hr 5 min"; "under a minute" below one."""
        if span < timedelta(seconds=30):
            return _("under a minute")
        minutes = round(span.total_seconds() / 60)
        hours, minutes = divmod(minutes, 60)
        parts = []
        if hours:
            parts.append(format_unit(hours, "duration-hour", length="short", locale=self._locale))
        if minutes or not hours:
            parts.append(
                format_unit(minutes, "duration-minute", length="short", locale=self._locale)
            )
        return ("" if self._locale.language == "zh" else " ").join(parts)  # 1小时15分钟

    def decimal(self, value: float) -> str:
        return format_decimal(value, format="0.0", locale=self._locale)

    def _date(self, day: date) -> str:
        return format_date(day, "medium", locale=self._locale)


def _pairs(pairs: Sequence[tuple[str, int]]) -> str:
    return " · ".join(f"{label} {count}" for label, count in pairs) or "—"


def _rows(pairs: Sequence[tuple[str, int]]) -> tuple[tuple[str | int, ...], ...]:
    return tuple((label, count) for label, count in pairs)
