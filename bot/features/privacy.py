"""Privacy and safety: data rights, retention, discreet mode, and protection from abuse.

* /privacy says in plain words what is stored, who sees it and for how long.
* /mydata sends a resident everything stored about them, readable and as JSON.
* /forget (confirmed) erases them: profile, phone, message contents, survey comments,
  subscriptions, reminders, a draft, a block and its reason, and what the inbox and outbox
  held. Their cases stay as anonymous records for the statistics; open ones are withdrawn
  and their mediators told.
* Contents of cases closed longer than `privacy.retention_days` (messages, notes, the
  agreement, a phone number, survey comments, block reasons) and intakes abandoned longer
  than `privacy.draft_days` are purged by a daily reminder.
* Deleted text is zeroed in the database file (storage/db.py) and the WAL is truncated
  after an erasure and after the purge: it is nowhere in the files' bytes.
* Discreet mode: the first line of every message to the resident is neutral (it is what a
  phone's notification shows), and "clear this chat" deletes what Telegram still allows.
* A per-user message rate limit, and blocking by staff or the head (by case number: they
  never see who the resident is).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict, deque
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from functools import partial
from html import escape
from time import monotonic
from typing import Any

from bot.core.callbacks import PRIVACY
from bot.core.clock import Clock
from bot.core.errors import CaseNotFoundError, NotAllowedError, StaleActionError
from bot.core.i18n import _, current_locale
from bot.core.messaging import Button, Messenger, Outgoing, rows
from bot.domain.cases import CaseState
from bot.domain.people import Person
from bot.features.casework import erased_notice
from bot.features.deps import Deps, Feature
from bot.features.people import PeopleService
from storage.privacy import Block, PrivacyRepository
from storage.reminders import Reminder

log = logging.getLogger(__name__)

RETENTION_JOB = "retention:daily"
# The nightly purge goes this many cases at a time, each batch one short background
# transaction that starts only when no conversation is using the database: a message waits
# for one batch at most. Ten years of a district (bench/scale.py, which prints each batch's
# time): 20 cases take 12 ms a batch on average (40 cases 21 ms), all of it 45,000 cases in
# well under a minute.
PURGE_BATCH = 20
DELETABLE_FOR = timedelta(hours=48)  # Telegram lets a bot delete its messages this long


@dataclass(frozen=True)
class Export:
    html: bytes
    json: bytes


class PrivacyService(Feature):
    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._privacy = deps.repos.privacy
        self._recent: defaultdict[int, deque[datetime]] = defaultdict(deque)
        self._warned: dict[int, datetime] = {}
        self._blocked: set[int] = set()
        deps.timers.register("retention", self._purge)

    async def start(self) -> None:
        """Load the blocked users and make sure the daily purge is scheduled."""
        self._blocked = await self._privacy.blocked_ids()
        existing = await self._timers.row(RETENTION_JOB)
        if existing is None or existing.state in ("done", "cancelled"):
            await self._timers.at(RETENTION_JOB, "retention", self._next_purge())

    # ------------------------------------------------------------------ /privacy

    async def notice(self, person: Person) -> Outgoing:
        discreet = await self._privacy.is_discreet(person.id)
        text = _(
            "What we keep, and who sees it:\n"
            "• Your Telegram id and language, and your village or community.\n"
            "• Your cases: what you wrote, the conversation with your mediator, the outcome.\n"
            "• Only the mediator of your case and the head of the society read your messages. "
            "Mediators see a case code, never your name or account. Staff see only numbers.\n"
            "• Message contents are deleted {days} days after a case is closed.\n"
            "You can get a copy of everything, or have it erased."
        ).format(days=self._config.privacy.retention_days)
        buttons = [
            Button(_("📄 My data"), PRIVACY.pack("mydata")),
            Button(_("🗑 Erase my data"), PRIVACY.pack("forget")),
            Button(
                _("Discreet mode: off") if discreet else _("Discreet mode: on"),
                PRIVACY.pack("discreet-off" if discreet else "discreet-on"),
            ),
        ]
        if discreet:
            buttons.append(Button(_("🧹 Clear this chat"), PRIVACY.pack("clear")))
        return Outgoing(text, rows(*buttons))

    # ------------------------------------------------------------------ /mydata

    async def my_data(self, person: Person) -> Export:
        data = await self._privacy.export(person.id)
        data["exported_at"] = self._clock.now().isoformat()
        raw = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
        return Export(html=self._readable(data), json=raw)

    def _readable(self, data: dict[str, Any]) -> bytes:
        title = _("Everything the Da'asao bot keeps about you")
        sections = [(_("Profile"), data.get("profile") or {})]
        sections += [(str(case["number"]), case) for case in data["cases"]]
        sections += [
            (_("{number}, as the other party").format(number=case["number"]), case)
            for case in data.get("as_other_party", [])
        ]
        parts = [f"<h1>{escape(title)}</h1>"]
        for heading, content in sections:
            shown = json.dumps(content, ensure_ascii=False, indent=1, default=str)
            parts.append(f"<h2>{escape(heading)}</h2><pre>{escape(shown)}</pre>")
        lang = escape(current_locale().replace("_", "-"))
        body = "".join(parts)
        return (
            f'<!doctype html><html lang="{lang}"><meta charset="utf-8">'
            f"<title>{escape(title)}</title><body>{body}</body></html>"
        ).encode()

    # ------------------------------------------------------------------ /forget

    def ask_forget(self) -> Outgoing:
        return Outgoing(
            _(
                "This erases your profile, phone number, your messages, survey comments and "
                "subscriptions. Open cases are withdrawn. It cannot be undone. Erase?"
            ),
            rows(
                Button(_("Yes, erase everything"), PRIVACY.pack("forget-yes")),
                Button(_("No, keep it"), PRIVACY.pack("keep")),
                per_row=2,
            ),
        )

    async def forget(self, person: Person) -> Outgoing:
        """Erase a resident; their cases stay as anonymous counts."""
        if person.member is not None:
            raise NotAllowedError  # team members are not erased through the resident path
        case_ids = await self._privacy.case_ids_of(person.id)
        withdrawn = await self._withdraw_open(case_ids)
        for case_id in case_ids:
            await self._timers.cancel_case(case_id)
        async with self._db.transaction():
            await self._privacy.erase(person.id, case_ids)
            for case_id in case_ids:
                await self._cases.add_event(case_id, "erased", self._clock.now())
        self._blocked.discard(person.id)  # nothing is kept to know her again by
        await self._db.checkpoint()  # the erased text leaves the -wal file too
        for mediator_id, number in withdrawn:
            await self._tell(mediator_id, partial(erased_notice, number))
        log.info("resident erased", extra={"cases": len(case_ids)})
        return Outgoing(
            _("Done: everything about you has been erased. If you write again, you start afresh.")
        )

    async def _withdraw_open(self, case_ids: list[int]) -> list[tuple[int, str]]:
        told: list[tuple[int, str]] = []
        now = self._clock.now()
        for case_id in case_ids:
            case = await self._cases.get(case_id)
            if case is None or not case.is_open:
                continue
            offer = await self._cases.open_offer(case_id)
            if offer is not None:
                await self._cases.end_offer(offer.id, "declined", now, "withdrawn")
            await self._cases.close(case_id, CaseState.WITHDRAWN, None, now)
            await self._cases.add_event(case_id, "withdrawn", now, by="resident")
            for mediator_id in {case.mediator_id, offer.mediator_id if offer else None} - {None}:
                assert mediator_id is not None
                told.append((mediator_id, case.number))
        return told

    # ------------------------------------------------------------------ retention

    async def _purge(self, reminder: Reminder) -> None:
        """Everything due, in short batches, each its own transaction with its events; the
        conversations of the day go on in between."""
        now = self._clock.now()
        started = monotonic()
        await self._timers.at(RETENTION_JOB, "retention", self._next_purge())  # tomorrow first
        before = now - timedelta(days=self._config.privacy.retention_days)
        purged = 0
        batches: list[float] = []  # each batch's seconds: how long it held the database
        while True:
            batch_started = monotonic()
            batch = await self._purge_batch(before, now)
            if not batch:
                break
            batches.append(monotonic() - batch_started)
            purged += len(batch)
        await self._privacy.forget_block_reasons(before)
        drafts = await self._privacy.purge_abandoned(
            now - timedelta(days=self._config.privacy.draft_days)
        )
        await self._db.checkpoint()
        elapsed = round((monotonic() - started) * 1000)
        log.info(
            "retention purge",
            extra={
                "cases": purged,
                "drafts": drafts,
                "batches": len(batches),
                "batch_ms_mean": round(1000 * sum(batches) / len(batches)) if batches else 0,
                "batch_ms_max": round(1000 * max(batches, default=0)),
                "ms": elapsed,
            },
        )

    async def _purge_batch(self, before: datetime, now: datetime) -> list[int]:
        async with self._db.background_transaction():
            ids = await self._privacy.purge_closed_before(before, now, PURGE_BATCH)
            await self._cases.add_events([(case_id, "purged", now, None, {}) for case_id in ids])
        return ids

    def _next_purge(self) -> datetime:
        """03:00 local, the next night."""
        zone = self._config.locale.zone
        now = self._clock.now()
        local = now.astimezone(zone)
        moment = datetime.combine(local.date(), time(3), zone)
        if moment <= local:
            moment += timedelta(days=1)
        return moment.astimezone(now.tzinfo)

    # ------------------------------------------------------------------ discreet mode

    async def set_discreet(self, person: Person, on: bool) -> Outgoing:
        await self._privacy.set_discreet(person.id, on)
        if on:
            return Outgoing(
                _(
                    "Discreet mode is on. The first line of my messages will only say "
                    "that there is a new message. /privacy has a button to clear "
                    "this chat."
                )
            )
        return Outgoing(_("Discreet mode is off."))

    def offer_discreet(self) -> Outgoing:
        """On the danger path: someone may read over the resident's shoulder."""
        return Outgoing(
            _(
                "If someone else may look at your phone, discreet mode keeps the notifications "
                "neutral and lets you clear this chat."
            ),
            rows(Button(_("Discreet mode: on"), PRIVACY.pack("discreet-on"))),
        )

    async def deletable(self, person: Person) -> tuple[list[int], int]:
        """The bot's messages to this resident that can still be deleted, and how many can't."""
        since = self._clock.now() - DELETABLE_FOR
        return await self._privacy.sent_since(person.id, since)

    async def cleared(self, person: Person, deleted: int, failed: int) -> Outgoing:
        await self._privacy.forget_sent(person.id)
        text = _("Deleted {deleted} of my messages.").format(deleted=deleted)
        text += "\n" + _(
            "Messages from before discreet mode was on, and your own messages, "
            "you can delete yourself (or delete the whole chat)."
        )
        if failed:
            text += "\n" + _(
                "{count} older messages could not be deleted: Telegram only lets a "
                "bot delete its messages for 48 hours. Please delete them yourself "
                "(press and hold a message, then Delete), or delete the whole "
                "chat."
            ).format(count=failed)
        return Outgoing(text)

    # ------------------------------------------------------------------ abuse

    def allow(self, user_id: int) -> bool:
        """Below the per-minute message limit? (Counts this message.)"""
        now = self._clock.now()
        window = self._recent[user_id]
        window.append(now)
        while window and window[0] <= now - timedelta(minutes=1):
            window.popleft()
        return len(window) <= self._config.privacy.max_messages_per_minute

    def should_warn(self, user_id: int) -> bool:
        """Ask to slow down once per minute, not for every extra message."""
        now = self._clock.now()
        last = self._warned.get(user_id)
        if last is not None and now - last < timedelta(minutes=1):
            return False
        self._warned[user_id] = now
        return True

    def is_blocked(self, user_id: int) -> bool:
        return user_id in self._blocked

    async def block(self, person: Person, number: str, reason: str) -> Outgoing:
        """Staff or the head block the resident of a case, with a reason."""
        case = await self._case_for_blocking(person, number)
        assert case.resident_id is not None
        now = self._clock.now()
        await self._privacy.block(Block(case.resident_id, reason or "—", person.id), now)
        await self._cases.add_event(case.id, "blocked", now, actor_id=person.id, reason=reason)
        self._blocked.add(case.resident_id)
        return Outgoing(_("The resident of case {number} is blocked.").format(number=case.number))

    async def unblock(self, person: Person, number: str) -> Outgoing:
        case = await self._case_for_blocking(person, number)
        assert case.resident_id is not None
        if not await self._privacy.unblock(case.resident_id):
            raise StaleActionError
        await self._cases.add_event(case.id, "unblocked", self._clock.now(), actor_id=person.id)
        self._blocked.discard(case.resident_id)
        return Outgoing(
            _("The resident of case {number} can write again.").format(number=case.number)
        )

    async def _case_for_blocking(self, person: Person, number: str) -> Any:
        if not (person.is_staff or person.is_head):
            raise NotAllowedError
        case = await self._cases.get_by_number(number.strip().upper())
        if case is None or case.resident_id is None:
            raise CaseNotFoundError
        return case


def offer_discreet() -> Outgoing:
    """On the danger path: someone may read over the resident's shoulder."""
    return Outgoing(
        _(
            "If someone else may look at your phone, discreet mode keeps the notifications "
            "neutral and lets you clear this chat."
        ),
        rows(Button(_("Discreet mode: on"), PRIVACY.pack("discreet-on"))),
    )


def neutral_first_line() -> str:
    """What a discreet resident's notification shows: nothing about the content."""
    return _("📩 New message")


class DiscreetMessenger:
    """Wraps the messenger for residents in discreet mode: a neutral first line on every
    message (what a phone's notification shows), and a note of what was sent so that
    "clear this chat" can delete it. Everyone else is passed straight through."""

    def __init__(
        self,
        inner: Messenger,
        privacy: PrivacyRepository,
        people: PeopleService,
        clock: Clock,
    ) -> None:
        self._inner = inner
        self._privacy = privacy
        self._people = people
        self._clock = clock

    async def send(
        self, chat_id: int, message: Outgoing, *, reply_to: int | None = None
    ) -> int | None:
        if not await self._privacy.is_discreet(chat_id):
            return await self._inner.send(chat_id, message, reply_to=reply_to)
        # The neutral line goes first: the entities' offsets would no longer fit the text.
        neutral = replace(message, text=await self._neutral(chat_id, message.text), entities=())
        return await self._remember(
            chat_id, await self._inner.send(chat_id, neutral, reply_to=reply_to)
        )

    async def send_document(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None:
        if not await self._privacy.is_discreet(chat_id):
            return await self._inner.send_document(chat_id, file_name, data, caption)
        neutral = await self._neutral(chat_id, caption)
        return await self._remember(
            chat_id, await self._inner.send_document(chat_id, file_name, data, neutral)
        )

    async def send_photo_file(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None:
        if not await self._privacy.is_discreet(chat_id):
            return await self._inner.send_photo_file(chat_id, file_name, data, caption)
        neutral = await self._neutral(chat_id, caption)
        return await self._remember(
            chat_id, await self._inner.send_photo_file(chat_id, file_name, data, neutral)
        )

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> None:
        if await self._privacy.is_discreet(chat_id):
            message = replace(message, text=await self._neutral(chat_id, message.text))
        await self._inner.edit(chat_id, message_id, message)

    async def copy(
        self,
        from_chat_id: int,
        message_id: int,
        to_chat_id: int,
        *,
        reply_to: int | None = None,
        caption: str | None = None,
        protect: bool = False,
    ) -> int | None:
        if not await self._privacy.is_discreet(to_chat_id):
            return await self._inner.copy(
                from_chat_id,
                message_id,
                to_chat_id,
                reply_to=reply_to,
                caption=caption,
                protect=protect,
            )
        neutral = await self._neutral(to_chat_id, caption or "")
        copied = await self._inner.copy(
            from_chat_id,
            message_id,
            to_chat_id,
            reply_to=reply_to,
            caption=neutral,
            protect=protect,
        )
        return await self._remember(to_chat_id, copied)

    async def send_contact(
        self,
        chat_id: int,
        phone: str,
        first_name: str,
        *,
        reply_to: int | None = None,
        protect: bool = False,
    ) -> int | None:
        sent = await self._inner.send_contact(
            chat_id, phone, first_name, reply_to=reply_to, protect=protect
        )
        if await self._privacy.is_discreet(chat_id):
            return await self._remember(chat_id, sent)
        return sent

    async def edit_copy(
        self, chat_id: int, message_id: int, *, text: str | None, caption: str | None
    ) -> None:
        if await self._privacy.is_discreet(chat_id):
            text = await self._neutral(chat_id, text) if text is not None else None
            caption = await self._neutral(chat_id, caption) if caption is not None else None
        await self._inner.edit_copy(chat_id, message_id, text=text, caption=caption)

    async def delete(self, chat_id: int, message_id: int) -> bool:
        return await self._inner.delete(chat_id, message_id)

    async def set_buttons(
        self, chat_id: int, message_id: int, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> None:
        await self._inner.set_buttons(chat_id, message_id, buttons)

    async def _neutral(self, chat_id: int, text: str) -> str:
        async with self._people.speaking_to(chat_id):
            first = neutral_first_line()
        return f"{first}\n\n{text}".rstrip()

    async def _remember(self, chat_id: int, message_id: int | None) -> int | None:
        if message_id is not None:
            await self._privacy.remember_sent(chat_id, message_id, self._clock.now())
        return message_id
