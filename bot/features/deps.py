"""The dependency bundle: what every feature may use, built once by the composition root.

A feature (a use-case service) takes the bundle and, by keyword, only the peer features it
really calls: `RoutingService(deps, relay=relay)`. It reaches the repositories as
`deps.repos.cases`, the clock, the config and the messenger as `deps.clock`…, and writes to
someone other than the person at hand with `deps.tell` (in that person's language).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.i18n import Catalogs
from bot.core.messaging import Outgoing
from bot.features.notify import Notifier
from bot.features.outbox import Outbox, OutboxMessenger
from bot.features.people import PeopleService
from bot.features.timers import Timers
from storage.access import AccessRepository
from storage.announcements import AnnouncementRepository, SubscriptionRepository
from storage.cases import CaseRepository
from storage.db import Database
from storage.drafts import DraftRepository
from storage.followup import FollowUpRepository
from storage.members import MemberRepository
from storage.parties import PartyRepository
from storage.privacy import PrivacyRepository
from storage.relay import RelayRepository
from storage.reminders import ReminderRepository
from storage.roster import RosterRepository
from storage.staff import StaffRepository
from storage.stats import StatsRepository
from storage.urgent import UrgentRepository
from storage.users import UserRepository


@dataclass(frozen=True)
class Repositories:
    """One of each repository, all over the same database (they keep no state)."""

    access: AccessRepository
    announcements: AnnouncementRepository
    cases: CaseRepository
    drafts: DraftRepository
    followup: FollowUpRepository
    members: MemberRepository
    parties: PartyRepository
    privacy: PrivacyRepository
    relay: RelayRepository
    reminders: ReminderRepository
    roster: RosterRepository
    staff: StaffRepository
    stats: StatsRepository
    subscriptions: SubscriptionRepository
    urgent: UrgentRepository
    users: UserRepository

    @classmethod
    def over(cls, db: Database) -> Repositories:
        return cls(
            access=AccessRepository(db),
            announcements=AnnouncementRepository(db),
            cases=CaseRepository(db),
            drafts=DraftRepository(db),
            followup=FollowUpRepository(db),
            members=MemberRepository(db),
            parties=PartyRepository(db),
            privacy=PrivacyRepository(db),
            relay=RelayRepository(db),
            reminders=ReminderRepository(db),
            roster=RosterRepository(db),
            staff=StaffRepository(db),
            stats=StatsRepository(db),
            subscriptions=SubscriptionRepository(db),
            urgent=UrgentRepository(db),
            users=UserRepository(db),
        )


@dataclass(frozen=True)
class Deps:
    """The bundle. `messenger` is the outbox's: recorded first, then sent."""

    db: Database
    repos: Repositories
    clock: Clock
    config: Config
    catalogs: Catalogs
    outbox: Outbox
    messenger: OutboxMessenger
    people: PeopleService
    timers: Timers

    async def tell(self, user_id: int, render: Callable[[], str | Outgoing]) -> int | None:
        """Write to `user_id` in her language (see bot.features.notify.Notifier)."""
        return await Notifier(self.people, self.messenger).tell(user_id, render)


class Feature:
    """Base of the use-case services: the bundle's parts under the names they use."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._db = deps.db
        self._clock = deps.clock
        self._config = deps.config
        self._messenger = deps.messenger
        self._people = deps.people
        self._timers = deps.timers
        self._tell = deps.tell
        self._cases = deps.repos.cases
        self._members = deps.repos.members
        self._users = deps.repos.users
