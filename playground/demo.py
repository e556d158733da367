"""Demo data for the playground: people, a weekly roster, subscribers, a few closed cases.

Everything is written with the repositories the bot itself uses, in one transaction, and
every demo person is listed in `demo_people`, so `daasao demo remove` deletes exactly the
demo data (see `storage.demo`). Names, cases and texts are invented; agreements and the
notice start with 【演示】 ("demo").

The dates are chosen so that the playground's clock buttons show the timers at work: a
resident's satisfaction survey, a mediator's revisit reminder and a scheduled notice to the
subscribers fall due at the next revisit hour (within "+1 day"); the weekly digest and the
notice's event reminder within "+1 week".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.core.config import Config
from bot.domain.cases import CaseState, NewCase
from bot.domain.people import Role
from bot.domain.roster import Slot
from storage.announcements import AnnouncementRepository, Subscription, SubscriptionRepository
from storage.cases import CaseRepository
from storage.db import Database
from storage.demo import DemoRepository, Removed
from storage.followup import FollowUpRepository
from storage.members import MemberRepository
from storage.reminders import ReminderRepository
from storage.roster import RosterRepository
from storage.users import UserRepository

DEMO_MARK = "【演示】"


@dataclass(frozen=True)
class DemoPerson:
    """A demo Telegram user of the local Bot API and their place in the society."""

    id: int
    role: Role
    first_name: str  # the Telegram profile name: only the local Bot API knows it
    language: str  # the Telegram client's language_code
    display_name: str = ""  # what residents see of a team member
    area: int | None = None  # index into config.areas (wraps around)
    duty_on: bool = False  # switched duty on: always takes cases of the area

    @property
    def english(self) -> bool:
        return self.language.startswith("en")

    def area_id(self, config: Config) -> str | None:
        if self.area is None:
            return None
        return config.areas[self.area % len(config.areas)].id


# The first resident is new to the bot (privacy notice, area, …); the others have a history.
RESIDENTS = (
    DemoPerson(1001, "resident", "丽娟", "zh-hans", area=0),
    DemoPerson(1002, "resident", "阿芳", "zh-hans", area=0),
    DemoPerson(1003, "resident", "小梅", "zh-hans", area=1),
    DemoPerson(1004, "resident", "Maria", "en", area=0),
    DemoPerson(1005, "resident", "秀英", "zh-hans", area=2),
)
# Twelve mediators, three in each of the first two areas (the playground's featured ones).
MEDIATORS = (
    DemoPerson(2001, "mediator", "王秀兰", "zh-hans", "王大姐", area=0, duty_on=True),
    DemoPerson(2002, "mediator", "李桂芳", "zh-hans", "李阿姨", area=0),
    DemoPerson(2003, "mediator", "张丽", "zh-hans", "张嫂子", area=0),
    DemoPerson(2004, "mediator", "周敏", "en", "周大姐", area=1, duty_on=True),
    DemoPerson(2005, "mediator", "陈美华", "zh-hans", "陈阿姨", area=1),
    DemoPerson(2006, "mediator", "刘芳", "zh-hans", "刘嫂子", area=1),
    DemoPerson(2007, "mediator", "杨红", "zh-hans", "杨大姐", area=2),
    DemoPerson(2008, "mediator", "赵玉梅", "zh-hans", "赵阿姨", area=2),
    DemoPerson(2009, "mediator", "黄静", "zh-hans", "黄大姐", area=3),
    DemoPerson(2010, "mediator", "吴霞", "zh-hans", "吴嫂子", area=3),
    DemoPerson(2011, "mediator", "徐凤英", "zh-hans", "徐阿姨", area=4),
    DemoPerson(2012, "mediator", "孙琴", "zh-hans", "孙大姐", area=4),
)
TEAM = (
    DemoPerson(3001, "staff", "小周", "zh-hans"),
    DemoPerson(3002, "staff", "Grace", "en"),
    DemoPerson(2100, "head", "戚文娟", "zh-hans", "戚社长"),
    DemoPerson(2200, "adviser", "林晓", "zh-hans", "林律师"),
)
DEMO_PEOPLE = RESIDENTS + MEDIATORS + TEAM
SUBSCRIBERS = (1002, 1004, 1005)
ANNOUNCER = 3001
ANNOUNCEMENT = (
    "妇女维权法律讲座：讲《民法典》婚姻家庭编和《妇女权益保障法》，律师现场答疑。"
    "地点：社区服务中心二楼，欢迎带家人一起来。"
)
EVENT_AFTER = timedelta(days=3)  # the lecture is three days after the notice goes out


@dataclass(frozen=True)
class DemoCase:
    """A closed case, closed `days_ago`, or so that its `due_soon` follow-up is due next."""

    resident: int
    mediator: int
    category: str
    outcome: str  # settled | not_settled
    agreement: str
    days_ago: int | None = None  # closed that many days ago; None: see `due_soon`
    due_soon: str = ""  # "survey" or "revisit": that follow-up falls due next


CASES = (
    DemoCase(
        1003,
        2004,
        "family",
        "settled",
        "夫妻约定每周日一起商量家里的开支，婆婆不再插手小两口的事。",
        due_soon="survey",
    ),
    DemoCase(
        1002,
        2001,
        "neighbours",
        "settled",
        "楼上装修只在工作日 8:00–18:00 进行，施工时间表贴在楼道里。",
        due_soon="revisit",
    ),
    DemoCase(
        1005,
        2007,
        "inheritance",
        "not_settled",
        "兄妹对老宅继承分歧较大，已引导到法律援助工作站和法院诉前调解。",
        days_ago=12,
    ),
    DemoCase(1004, 2002, "rights", "settled", "工厂同意补发拖欠的产假工资。", days_ago=40),
)


async def seed(db: Database, config: Config, now: datetime) -> bool:
    """Write the demo data once; False when it is there already (or was kept on purpose)."""
    demo = DemoRepository(db)
    if await demo.people():
        return False
    async with db.transaction():
        for person in DEMO_PEOPLE:
            await _person(db, config, person, now)
        await RosterRepository(db).add_slots(_slots(config))
        await _subscribers(db, config, now)
        for case in CASES:
            await _closed_case(db, config, case, now)
        await _scheduled_announcement(db, config, now)
    return True


async def remove(db: Database) -> Removed:
    """Delete exactly the demo data."""
    return await DemoRepository(db).remove_all()


async def _person(db: Database, config: Config, person: DemoPerson, now: datetime) -> None:
    users, members = UserRepository(db), MemberRepository(db)
    await users.upsert_seen(person.id, person.language, now)
    await DemoRepository(db).add(person.id, person.role, now)
    if person.role == "resident":
        return
    await members.save(person.id, person.role, person.area_id(config), now)
    await members.set_display_name(person.id, person.display_name)
    if person.duty_on:
        await members.set_duty_mode(person.id, "on")


def _slots(config: Config) -> list[Slot]:
    """Two weekly duty slots per mediator, spread over Monday to Saturday."""
    slots: list[Slot] = []
    for i, mediator in enumerate(MEDIATORS):
        area = mediator.area_id(config)
        assert area is not None
        slots.append(Slot(area, i % 6, time(9), time(11, 30), mediator.id))
        slots.append(Slot(area, (i + 3) % 6, time(14), time(17), mediator.id))
    return slots


async def _subscribers(db: Database, config: Config, now: datetime) -> None:
    subs = SubscriptionRepository(db)
    topics = [topic.id for topic in config.announcements.topics]
    for n, user_id in enumerate(SUBSCRIBERS):
        person = next(p for p in RESIDENTS if p.id == user_id)
        area = person.area_id(config)
        areas = frozenset({area}) if area and n != 1 else frozenset()
        chosen = frozenset(topics[:2]) if n == 1 else frozenset()
        await subs.save(Subscription(user_id, True, areas, chosen), now)
        await subs.mark_offered(user_id, now)


async def _scheduled_announcement(db: Database, config: Config, now: datetime) -> None:
    """A notice staff scheduled for the next revisit hour, with RSVP: "+1 day" sends it."""
    repo = AnnouncementRepository(db)
    send_at = datetime.combine(
        _next_revisit_day(config, now), time(config.revisits.local_hour), config.locale.zone
    )
    draft = await repo.create_draft(ANNOUNCER, "text", now)
    await repo.update(
        draft.id,
        state="scheduled",
        step=None,
        text=DEMO_MARK + ANNOUNCEMENT,
        first_at=send_at,
        rsvp=True,
        event_offset=int(EVENT_AFTER.total_seconds() // 60),
    )
    run = await repo.add_run(draft.id, 1, send_at)
    job = f"announce:{run.id}"
    await ReminderRepository(db).add(job, "announce", send_at, now, ref=run.id)


async def _closed_case(db: Database, config: Config, case: DemoCase, now: datetime) -> None:
    cases = CaseRepository(db)
    resident = next(p for p in RESIDENTS if p.id == case.resident)
    mediator = next(p for p in MEDIATORS if p.id == case.mediator)
    closed = _closed_at(config, case, now)
    opened = closed - timedelta(days=6, hours=5)
    area = mediator.area_id(config)
    users = UserRepository(db)
    await users.consent(resident.id, opened)
    assert area is not None  # mediators always have one
    await users.remember_area(resident.id, area, opened)
    new = NewCase(resident.id, f"R-{5000 + resident.id}", area, case.category, False, "chat", None)
    year = opened.astimezone(config.locale.zone).year
    record = await cases.create(new, config.routing.case_prefix, year, opened)
    await _timeline(
        cases, record.id, mediator.id, opened=opened, closed=closed, outcome=case.outcome
    )
    await cases.close(record.id, CaseState(case.outcome), DEMO_MARK + case.agreement, closed)
    await _follow_up(db, config, case, case_id=record.id, closed=closed, now=now)


def _closed_at(config: Config, case: DemoCase, now: datetime) -> datetime:
    """Afternoon of the closing day, so that the follow-up falls due as described."""
    zone = config.locale.zone
    if case.days_ago is not None:
        day = now.astimezone(zone).date() - timedelta(days=case.days_ago)
    else:
        days = config.revisits.survey_after_days
        if case.due_soon == "revisit":
            days = config.revisits.offsets_days[0]
        day = _next_revisit_day(config, now) - timedelta(days=days)
    return datetime.combine(day, time(15), zone)


def _next_revisit_day(config: Config, now: datetime) -> date:
    """The next day whose revisit hour is still ahead."""
    local = now.astimezone(config.locale.zone)
    if local.time() < time(config.revisits.local_hour):
        return local.date()
    return local.date() + timedelta(days=1)


def _at_local_hour(config: Config, closed: datetime, days: int) -> datetime:
    """As the revisit service schedules it: `days` after closing, at the revisit hour."""
    zone = config.locale.zone
    day = closed.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, time(config.revisits.local_hour), zone)


async def _timeline(
    cases: CaseRepository,
    case_id: int,
    mediator_id: int,
    *,
    opened: datetime,
    closed: datetime,
    outcome: str,
) -> None:
    offered, accepted = opened + timedelta(minutes=1), opened + timedelta(minutes=18)
    await cases.add_event(case_id, "registered", opened, by="resident", urgent=False)
    offer = await cases.add_offer(case_id, mediator_id, offered, offered + timedelta(minutes=30))
    await cases.add_event(case_id, "offered", offered, mediator=mediator_id)
    await cases.end_offer(offer.id, "accepted", accepted)
    await cases.set_state(case_id, CaseState.ACCEPTED, mediator_id, accepted)
    await cases.add_event(case_id, "accepted", accepted, actor_id=mediator_id)
    await cases.add_event(case_id, "closed", closed, actor_id=mediator_id, outcome=outcome)


async def _follow_up(
    db: Database, config: Config, case: DemoCase, *, case_id: int, closed: datetime, now: datetime
) -> None:
    """What the follow-up left: reminders still ahead, revisits and surveys done before now."""
    reminders, followup = ReminderRepository(db), FollowUpRepository(db)
    survey_due = _at_local_hour(config, closed, config.revisits.survey_after_days)
    if survey_due > now:
        await reminders.add(f"survey:{case_id}", "survey", survey_due, closed, case_id=case_id)
    else:
        await followup.survey_rating(case_id, 5 if case.outcome == "settled" else 3, survey_due)
        await followup.survey_resolved(case_id, case.outcome == "settled", survey_due)
    if case.outcome != "settled":
        return
    for n, days in enumerate(config.revisits.offsets_days, start=1):
        due = _at_local_hour(config, closed, days)
        if due > now:
            job = f"revisit:{case_id}:{n}"
            await reminders.add(job, "revisit", due, closed, case_id=case_id, ref=n)
        else:  # the mediator went back, and the agreement held
            await followup.revisit_sent(case_id, n, due)
            await followup.revisit_answered(case_id, n, "holding", due + timedelta(hours=3))
