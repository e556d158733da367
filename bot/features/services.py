"""The features, as one object the channel adapters hold (built by bot/wiring.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.i18n import Catalogs
from bot.core.messaging import Messenger
from bot.features.access import AccessLog
from bot.features.announcements import AnnouncementService
from bot.features.cases import CaseService
from bot.features.casework import CaseworkService
from bot.features.closing import ClosingService
from bot.features.deadlines import DeadlineService
from bot.features.deps import Deps
from bot.features.desk import DeskService
from bot.features.intake import IntakeService
from bot.features.menus import MenuService
from bot.features.outbox import Outbox
from bot.features.parties import PartyService
from bot.features.people import PeopleService
from bot.features.privacy import PrivacyService
from bot.features.relay import RelayService
from bot.features.revisits import RevisitService
from bot.features.routing import RoutingService
from bot.features.staff import StaffService
from bot.features.staffroster import StaffRosterService
from bot.features.stats import StatsService
from bot.features.subscriptions import SubscriptionService
from bot.features.timelimit import TimeLimitService
from bot.features.timers import Timers
from bot.features.urgent import UrgentService
from storage.db import Database
from storage.users import UserRepository

T = TypeVar("T")


class FromDeps(Generic[T]):
    """A part of the bundle read as an attribute of Services: `services.clock` is
    `services.deps.clock`."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, services: Services, owner: type | None = None) -> T:
        return cast(T, getattr(services.deps, self._name))


@dataclass(frozen=True)
class Services:
    deps: Deps
    routing: RoutingService
    intake: IntakeService
    cases: CaseService
    relay: RelayService
    casework: CaseworkService
    revisits: RevisitService
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

    # The bundle's parts the adapters use, by their short names (read through to `deps`).
    config = FromDeps[Config]()
    clock = FromDeps[Clock]()
    db = FromDeps[Database]()
    outbox = FromDeps[Outbox]()
    catalogs = FromDeps[Catalogs]()
    messenger = FromDeps[Messenger]()
    people = FromDeps[PeopleService]()
    timers = FromDeps[Timers]()

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

    async def stop(self) -> None:
        """Stop the timers and the sender while the channel can still send: a reminder or
        a row in flight finishes instead of waiting for a connection that is gone."""
        self.announcements.stop()  # a broadcast in the middle resumes at the next start
        await self.timers.stop()
        await self.outbox.stop()

    async def close(self) -> None:
        await self.stop()  # again, harmless: for a caller that did not stop first
        await self.db.close()
