"""The application's services, built once at start from the config and the database."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.access import AccessLog
from bot.announcements import AnnouncementService
from bot.broadcast import Broadcaster
from bot.cases import CaseService
from bot.casework import CaseworkService
from bot.clock import Clock
from bot.closing import ClosingService
from bot.config import Config
from bot.deadlines import DeadlineService
from bot.desk import DeskService
from bot.i18n import Catalogs
from bot.intake import IntakeService
from bot.menus import MenuPort, MenuService
from bot.messaging import Messenger
from bot.notify import Notifier
from bot.outbox import MessageDeliverer, Outbox, OutboxMessenger
from bot.pacing import TELEGRAM_LIMIT, SendPacer
from bot.parties import PartyService
from bot.people import PeopleService
from bot.privacy import DiscreetMessenger, PrivacyService
from bot.relay import RelayService
from bot.revisits import RevisitService
from bot.roster import Slot
from bot.routing import RoutingService
from bot.staff import StaffService
from bot.staffroster import StaffRosterService
from bot.stats import StatsService
from bot.subscriptions import SubscriptionService
from bot.timelimit import TimeLimitService
from bot.timers import Timers
from bot.urgent import UrgentService
from storage.access import AccessRepository
from storage.announcements import AnnouncementRepository, SubscriptionRepository
from storage.cases import CaseRepository
from storage.db import Database
from storage.drafts import DraftRepository
from storage.followup import FollowUpRepository
from storage.members import MemberRepository
from storage.outbox import BROADCAST, OutboxRepository
from storage.parties import PartyRepository
from storage.privacy import PrivacyRepository
from storage.relay import RelayRepository
from storage.reminders import ReminderRepository
from storage.roster import RosterRepository
from storage.staff import StaffRepository
from storage.stats import StatsRepository
from storage.urgent import UrgentRepository
from storage.users import UserRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    config: Config
    clock: Clock
    db: Database
    outbox: Outbox
    catalogs: Catalogs
    messenger: Messenger
    people: PeopleService
    routing: RoutingService
    intake: IntakeService
    cases: CaseService
    relay: RelayService
    casework: CaseworkService
    revisits: RevisitService
    timers: Timers
    staff: StaffService
    staff_roster: StaffRosterService
    stats: StatsService
    subscriptions: SubscriptionService
    announcements: AnnouncementService
    privacy: PrivacyService
    urgent: UrgentService
    access: AccessLog
    menus: MenuService
    desk: DeskService
    users: UserRepository
    parties: PartyService
    closing: ClosingService
    deadlines: DeadlineService
    time_limits: TimeLimitService

    @classmethod
    async def start(
        cls,
        config: Config,
        clock: Clock,
        catalogs: Catalogs,
        messenger: Messenger,
        menu_port: MenuPort,
    ) -> Services:
        db = await Database.open(config.storage.path)
        # One budget of Telegram sends for the whole bot (about 30 a second), conversations
        # first; the broadcaster also keeps to its own configured rate.
        outbox = Outbox(db, OutboxRepository(db), clock, catalogs, pacer=SendPacer(TELEGRAM_LIMIT))
        users, members = UserRepository(db), MemberRepository(db)
        cases, roster = CaseRepository(db), RosterRepository(db)
        reminders = ReminderRepository(db)
        timers = Timers(reminders, clock)
        await _seed_roster(roster, config)
        people = PeopleService(users, members, clock, config, catalogs)
        privacy_repo = PrivacyRepository(db)
        # What the outbox's sender calls: residents in discreet mode get a neutral first
        # line on everything the bot sends them.
        telegram = messenger  # the Bot API itself (handlers/messenger.py)
        transport = DiscreetMessenger(telegram, privacy_repo, people, clock)
        outbox.register("message", MessageDeliverer(transport))
        # Every service writes to people through the outbox: recorded first, then sent.
        messenger = OutboxMessenger(outbox)
        menus = MenuService(
            outbox=outbox,
            port=menu_port,
            members=members,
            users=users,
            people=people,
            config=config,
        )
        relay_repo = RelayRepository(db)
        relay = RelayService(
            db=db,
            cases=cases,
            relay=relay_repo,
            members=members,
            privacy=privacy_repo,
            people=people,
            outbox=outbox,
            transport=transport,
            telegram=telegram,
            clock=clock,
            config=config,
        )
        urgent = UrgentService(
            db=db,
            cases=cases,
            urgent_repo=UrgentRepository(db),
            members=members,
            users=users,
            people=people,
            relay=relay,
            timers=timers,
            messenger=messenger,
            clock=clock,
            config=config,
        )
        relay.watch = urgent  # residents' messages: copies while urgent cases wait, 🔴 marks
        routing = RoutingService(
            db=db,
            cases=cases,
            members=members,
            roster_repo=roster,
            people=people,
            relay=relay,
            timers=timers,
            messenger=messenger,
            clock=clock,
            config=config,
        )
        party_repo = PartyRepository(db)
        time_limits = TimeLimitService(
            cases=cases,
            followup=FollowUpRepository(db),
            parties=party_repo,
            members=members,
            timers=timers,
            notifier=Notifier(people, messenger),
            clock=clock,
            config=config,
        )
        revisits = RevisitService(
            db=db,
            cases=cases,
            followup=FollowUpRepository(db),
            relay_repo=relay_repo,
            members=members,
            users=users,
            routing=routing,
            people=people,
            timers=timers,
            time_limits=time_limits,
            messenger=messenger,
            clock=clock,
            config=config,
        )
        access = AccessLog(repo=AccessRepository(db), cases=cases, clock=clock, config=config)
        parties = PartyService(
            db=db,
            cases=cases,
            parties=party_repo,
            relay=relay,
            people=people,
            messenger=messenger,
            clock=clock,
            config=config,
        )
        deadlines = DeadlineService(
            cases=cases,
            parties=party_repo,
            members=members,
            revisits=revisits,
            timers=timers,
            notifier=Notifier(people, messenger),
            clock=clock,
            config=config,
        )
        closing = ClosingService(
            db=db,
            cases=cases,
            relay_repo=relay_repo,
            parties=party_repo,
            members=members,
            relay=relay,
            revisits=revisits,
            deadlines=deadlines,
            people=people,
            messenger=messenger,
            clock=clock,
            config=config,
        )
        casework = CaseworkService(
            db=db,
            cases=cases,
            relay_repo=relay_repo,
            members=members,
            relay=relay,
            revisits=revisits,
            urgent=urgent,
            timers=timers,
            people=people,
            messenger=messenger,
            access=access,
            parties=parties,
            closing=closing,
            clock=clock,
            config=config,
        )
        announcement_repo, subscription_repo = (
            AnnouncementRepository(db),
            SubscriptionRepository(db),
        )
        broadcaster = Broadcaster(
            announcements=announcement_repo,
            users=users,
            # The broadcaster keeps a row per recipient and its own retries and pacing.
            messenger=messenger.at_priority(BROADCAST, tries=1),
            clock=clock,
            config=config.announcements,
        )
        announcements = AnnouncementService(
            db=db,
            announcements=announcement_repo,
            subscriptions=subscription_repo,
            users=users,
            broadcaster=broadcaster,
            timers=timers,
            messenger=messenger,
            catalogs=catalogs,
            clock=clock,
            config=config,
        )
        intake = IntakeService(
            db=db,
            drafts=DraftRepository(db),
            cases=cases,
            users=users,
            routing=routing,
            urgent=urgent,
            clock=clock,
            config=config,
        )
        staff = StaffService(
            db=db,
            cases=cases,
            members=members,
            roster_repo=roster,
            staff_repo=StaffRepository(db),
            routing=routing,
            urgent=urgent,
            timers=timers,
            time_limits=time_limits,
            people=people,
            messenger=messenger,
            menus=menus,
            clock=clock,
            config=config,
        )
        return cls(
            config=config,
            clock=clock,
            db=db,
            outbox=outbox,
            catalogs=catalogs,
            messenger=messenger,
            people=people,
            routing=routing,
            intake=intake,
            cases=CaseService(cases, clock, config),
            relay=relay,
            casework=casework,
            revisits=revisits,
            timers=timers,
            subscriptions=SubscriptionService(subscription_repo, clock, config),
            announcements=announcements,
            staff=staff,
            staff_roster=StaffRosterService(
                db=db, roster_repo=roster, members=members, clock=clock, config=config
            ),
            stats=StatsService(stats_repo=StatsRepository(db), clock=clock, config=config),
            privacy=PrivacyService(
                db=db,
                privacy=privacy_repo,
                cases=cases,
                people=people,
                timers=timers,
                messenger=messenger,
                clock=clock,
                config=config,
            ),
            urgent=urgent,
            access=access,
            menus=menus,
            users=users,
            desk=DeskService(
                relay=relay, members=members, messenger=messenger, clock=clock, config=config
            ),
            parties=parties,
            closing=closing,
            deadlines=deadlines,
            time_limits=time_limits,
        )

    async def run_timers(self) -> None:
        """Start the sender and the one timer mechanism, then catch up on what a crash
        interrupted."""
        await self.outbox.start()
        known = [u.id for u in await self.users.many(list(self.config.staff.admins))]
        await self.menus.refresh_team(known)
        await self.revisits.ensure_digest()
        await self.time_limits.ensure_check()
        await self.privacy.start()
        await self.timers.start()
        await self.routing.resume()
        await self.urgent.resume()

    async def close(self) -> None:
        self.announcements.stop()  # a broadcast in the middle resumes at the next start
        await self.timers.stop()
        await self.outbox.stop()
        await self.db.close()


async def _seed_roster(roster: RosterRepository, config: Config) -> None:
    """The config's [[roster]] slots fill an empty roster once; after that the database rules."""
    if not config.roster or not await roster.is_empty():
        return
    await roster.add_slots(
        Slot(
            area_id=slot.area,
            weekday=slot.weekday_index,
            start=slot.start_time,
            end=slot.end_time,
            mediator_id=slot.mediator,
        )
        for slot in config.roster
    )
    log.info("roster seeded from config", extra={"slots": len(config.roster)})
