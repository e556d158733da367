"""The composition root: the one module that builds every layer and joins them.

`build_services` opens the database and makes the bundle (bot/features/deps.py) and each feature
with the peers it calls; `bot/app.py` hands the result to the Telegram adapter. The
use-case tests build the same thing over a temporary database (tests/features.py).
"""

from __future__ import annotations

import logging

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.i18n import Catalogs
from bot.core.messaging import Messenger
from bot.core.pacing import BROADCAST, TELEGRAM_LIMIT, SendPacer
from bot.domain.roster import Slot
from bot.features.access import AccessLog
from bot.features.announcements import AnnouncementService
from bot.features.broadcast import Broadcaster
from bot.features.cases import CaseService
from bot.features.casework import CaseworkService
from bot.features.closing import ClosingService
from bot.features.deadlines import DeadlineService
from bot.features.deps import Deps, Repositories
from bot.features.desk import DeskService
from bot.features.intake import IntakeService
from bot.features.menus import MenuPort, MenuService
from bot.features.outbox import MessageDeliverer, Outbox, OutboxMessenger
from bot.features.parties import PartyService
from bot.features.people import PeopleService
from bot.features.privacy import DiscreetMessenger, PrivacyService
from bot.features.relay import RelayService
from bot.features.revisits import RevisitService
from bot.features.routing import RoutingService
from bot.features.services import Services
from bot.features.staff import StaffService
from bot.features.staffroster import StaffRosterService
from bot.features.stats import StatsService
from bot.features.subscriptions import SubscriptionService
from bot.features.timelimit import TimeLimitService
from bot.features.timers import Timers
from bot.features.urgent import UrgentService
from storage.db import Database
from storage.outbox import OutboxRepository
from storage.roster import RosterRepository

log = logging.getLogger(__name__)


async def build_services(
    config: Config, clock: Clock, catalogs: Catalogs, telegram: Messenger, menu_port: MenuPort
) -> Services:
    """Every feature over the configured database; `telegram` is the channel's messenger
    (handlers/messenger.py), which only the outbox's sender calls; `menu_port` sets a
    chat's command menu."""
    db = await Database.open(config.storage.path)
    repos = Repositories.over(db)
    await _seed_roster(repos.roster, config)
    deps, transport = bundle(
        db, repos, config=config, clock=clock, catalogs=catalogs, telegram=telegram
    )
    relay = RelayService(deps, transport=transport, telegram=telegram)
    urgent = UrgentService(deps, relay=relay)
    relay.watch = urgent  # residents' messages: copies while urgent cases wait, 🔴 marks
    routing = RoutingService(deps, relay=relay)
    time_limits = TimeLimitService(deps)
    revisits = RevisitService(deps, routing=routing, time_limits=time_limits)
    access = AccessLog(deps)
    parties = PartyService(deps, relay=relay)
    deadlines = DeadlineService(deps, revisits=revisits)
    closing = ClosingService(deps, relay=relay, revisits=revisits, deadlines=deadlines)
    casework = CaseworkService(
        deps,
        relay=relay,
        revisits=revisits,
        urgent=urgent,
        access=access,
        parties=parties,
        closing=closing,
    )
    announcements = AnnouncementService(deps, broadcaster=_broadcaster(deps))
    menus = MenuService(deps, port=menu_port)
    return Services(
        deps=deps,
        routing=routing,
        intake=IntakeService(deps, routing=routing, urgent=urgent),
        cases=CaseService(deps),
        relay=relay,
        casework=casework,
        revisits=revisits,
        staff=StaffService(
            deps, routing=routing, urgent=urgent, menus=menus, time_limits=time_limits
        ),
        staff_roster=StaffRosterService(deps),
        stats=StatsService(deps),
        subscriptions=SubscriptionService(deps),
        announcements=announcements,
        privacy=PrivacyService(deps),
        urgent=urgent,
        access=access,
        menus=menus,
        desk=DeskService(deps, relay=relay),
        users=repos.users,
        parties=parties,
        closing=closing,
        deadlines=deadlines,
        time_limits=time_limits,
    )


def bundle(
    db: Database,
    repos: Repositories,
    *,
    config: Config,
    clock: Clock,
    catalogs: Catalogs,
    telegram: Messenger,
) -> tuple[Deps, Messenger]:
    """The bundle, and what the outbox's sender calls (Telegram through discreet mode).
    Nothing is started: a test may build one feature over it (tests/test_stats.py)."""
    # One budget of Telegram sends for the whole bot (about 30 a second), conversations
    # first; the broadcaster also keeps to its own configured rate.
    outbox = Outbox(db, OutboxRepository(db), clock, catalogs, pacer=SendPacer(TELEGRAM_LIMIT))
    people = PeopleService(repos.users, repos.members, clock, config, catalogs)
    # Residents in discreet mode get a neutral first line on everything the bot sends them.
    transport = DiscreetMessenger(telegram, repos.privacy, people, clock)
    outbox.register("message", MessageDeliverer(transport))
    timers = Timers(repos.reminders, clock)
    # Every feature writes to people through the outbox: recorded first, then sent.
    messenger = OutboxMessenger(outbox)
    deps = Deps(db, repos, clock, config, catalogs, outbox, messenger, people, timers)
    return deps, transport


def _broadcaster(deps: Deps) -> Broadcaster:
    """The broadcaster keeps a row per recipient and its own retries and pacing."""
    return Broadcaster(
        announcements=deps.repos.announcements,
        users=deps.repos.users,
        messenger=deps.messenger.at_priority(BROADCAST, tries=1),
        clock=deps.clock,
        config=deps.config.announcements,
    )


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
