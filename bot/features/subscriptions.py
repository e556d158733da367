"""Residents choose which event notices they get: areas and topics, and stop any time."""

from __future__ import annotations

from bot.core.callbacks import SUBSCRIBE
from bot.core.i18n import _, current_locale
from bot.core.messaging import Button, Outgoing, rows
from bot.domain.people import Person
from bot.features.deps import Deps, Feature
from storage.announcements import Subscription


class SubscriptionService(Feature):
    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._subs = deps.repos.subscriptions

    async def menu(self, person: Person) -> Outgoing:
        """/subscribe: tick areas and topics; nothing ticked means all of them."""
        current = await self._subs.get(person.id)
        if current is None or not current.active:
            current = await self._activate(person)
        return self._menu(current)

    async def toggle(self, person: Person, kind: str, value: str) -> Outgoing:
        current = await self._subs.get(person.id) or await self._activate(person)
        areas, topics = set(current.areas), set(current.topics)
        if kind == "a" and self._config.area(value):
            areas ^= {value}
        elif kind == "t" and value in {t.id for t in self._config.announcements.topics}:
            topics ^= {value}
        elif kind == "all":
            areas, topics = set(), set()
        updated = Subscription(person.id, True, frozenset(areas), frozenset(topics))
        await self._subs.save(updated, self._clock.now())
        return self._menu(updated)

    async def unsubscribe(self, person: Person) -> Outgoing:
        """Stops everything at once; /subscribe starts again."""
        current = await self._subs.get(person.id)
        if current is not None and current.active:
            stopped = Subscription(person.id, False, current.areas, current.topics)
            await self._subs.save(stopped, self._clock.now())
        return Outgoing(_("You will get no more event notices. Send /subscribe to start again."))

    async def offer_once(self, person: Person) -> Outgoing | None:
        """Asked once, at /start; never again, whatever the answer."""
        if person.role != "resident" or await self._subs.offered(person.id):
            return None
        await self._subs.mark_offered(person.id, self._clock.now())
        buttons = rows(
            Button(_("Yes, choose topics"), SUBSCRIBE.pack("offer", "yes")),
            Button(_("No, thanks"), SUBSCRIBE.pack("offer", "no")),
            per_row=2,
        )
        return Outgoing(
            _(
                "By the way: the women's federation organises events, health checks and legal "
                "lectures. Would you like to hear about them here?"
            ),
            buttons,
        )

    async def _activate(self, person: Person) -> Subscription:
        """(Re)subscribe, keeping earlier choices; a first subscription gets everything."""
        previous = await self._subs.get(person.id)
        areas = previous.areas if previous else frozenset()
        topics = previous.topics if previous else frozenset()
        subscription = Subscription(person.id, True, areas, topics)
        await self._subs.save(subscription, self._clock.now())
        return subscription

    def _menu(self, current: Subscription) -> Outgoing:
        locale = current_locale()

        def mark(on: bool) -> str:
            return "✓ " if on else "· "

        buttons = [
            Button(
                mark(area.id in current.areas) + area.name.text(locale),
                SUBSCRIBE.pack("a", area.id),
            )
            for area in self._config.areas
        ]
        buttons += [
            Button(
                mark(topic.id in current.topics) + topic.name.text(locale),
                SUBSCRIBE.pack("t", topic.id),
            )
            for topic in self._config.announcements.topics
        ]
        buttons.append(Button(_("Everything"), SUBSCRIBE.pack("all")))
        buttons.append(Button(_("Save my choice ✓"), SUBSCRIBE.pack("done")))
        text = _(
            "You will get the federation's event notices here. Tick the areas and topics you "
            "care about; with nothing ticked you get all of them. /unsubscribe stops them."
        )
        return Outgoing(text, rows(*buttons, per_row=2))

    @staticmethod
    def declined() -> Outgoing:
        return Outgoing(_("All right, no event notices. /subscribe if you change your mind."))

    async def done(self, person: Person) -> Outgoing:
        """Saved: what she will get, in words, so that she knows what she chose."""
        current = await self._subs.get(person.id)
        if current is None or not current.active:
            return Outgoing(_("All right, no event notices. /subscribe if you change your mind."))
        return Outgoing(
            _(
                "Saved. You will get notices of {what} here. /unsubscribe stops them any time."
            ).format(what=self._chosen(current))
        )

    def _chosen(self, current: Subscription) -> str:
        locale = current_locale()
        areas = [a.name.text(locale) for a in self._config.areas if a.id in current.areas]
        topics = [
            t.name.text(locale) for t in self._config.announcements.topics if t.id in current.topics
        ]
        where = _(", ").join(areas) if areas else _("every village and community")
        about = _(", ").join(topics) if topics else _("every topic")
        return _("{topics} in {areas}").format(topics=about, areas=where)
