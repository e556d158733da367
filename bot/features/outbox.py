"""Every message the bot sends is an outbox row first; a sender delivers the rows.

A use case writes its rows in its own transaction (with the state change or the book entry
that causes them), so nothing is sent that was not recorded first, and nothing recorded is
lost: after a crash, rows still queued go out, and a row that was being sent goes again
(at most one duplicate per chat). The sender delivers each chat's rows one at a time, in
order (urgent alerts, then conversations and reminders, then broadcasts: the priorities of
bot/core/pacing.py), different chats side by side.
Network trouble and flood limits are retried; a refusal (the person blocked the bot, the
message is too long, that kind of message is not allowed) is final and is handed to the
row's deliverer, which tells whoever must know.

Rows name their `purpose`: the deliverer registered for it sends the row and records the
result (the relay maps its copies; `message` rows answer whoever is waiting for them).
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from bot.core.clock import Clock
from bot.core.i18n import Catalogs, current_locale
from bot.core.messaging import (
    Button,
    DeliveryRefused,
    Messenger,
    Outgoing,
    TransientDeliveryError,
    buttons_from_json,
    buttons_to_json,
    outgoing_from_json,
    outgoing_to_json,
)
from bot.core.pacing import CONVERSATION, SendPacer, self_paced
from storage.db import Database, StorageFailure, replayed_after_a_crash
from storage.outbox import OutboxRepository, OutboxRow

log = logging.getLogger(__name__)

IN_FLIGHT = 32  # chats served at once: a broadcast's 16 in flight leave room for talk
MAX_BACKOFF = 30.0  # seconds between retries of a message Telegram could not take now
UNEXPECTED_ATTEMPTS = 5  # an error we do not know is retried this often, then refused
EARLY_RESULTS = 1000
# Telegram takes about one message a second in one chat. A 429 for a chat that had one less
# than this ago is that chat's limit, not the bot's: only that chat waits, not every sender
# (an urgent alert to someone else must not stall behind a mediator's "→ case" line).
CHAT_INTERVAL = 1.0
SENT_AT_KEPT = 1000  # chats whose last send time is kept before the quiet ones are forgotten


class Deliverer(Protocol):
    async def deliver(self, row: OutboxRow) -> Any:
        """Send the row; raises TransientDeliveryError or DeliveryRefused."""
        ...

    async def delivered(self, row: OutboxRow, result: Any) -> None:
        """Record the result; runs in the transaction that deletes the row."""
        ...

    async def refused(self, row: OutboxRow, error: DeliveryRefused) -> None:
        """Telegram will never take it: tell whoever must know (in the same transaction)."""
        ...


class Outbox:
    def __init__(
        self,
        db: Database,
        repo: OutboxRepository,
        clock: Clock,
        catalogs: Catalogs,
        *,
        pacer: SendPacer | None = None,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self._db = db
        # The bot's one budget of Telegram sends, shared with the broadcaster: a lower
        # priority number goes first, so conversations overtake a running broadcast.
        self._pacer = pacer
        self._catalogs = catalogs
        self._repo = repo
        self._clock = clock
        self._in_flight = in_flight
        self._deliverers: dict[str, Deliverer] = {}
        self._waiters: dict[int, asyncio.Future[Any]] = {}
        # Results of rows that finished before their caller began to wait (or whose caller
        # is gone after a restart): kept a while, the oldest forgotten first.
        self._early: OrderedDict[int, tuple[Any, BaseException | None]] = OrderedDict()
        # What is still to send, per chat, the most pressing first: the rows as they were
        # written, kept here from their commit until Telegram has them. At start they are
        # read back from the table, which holds every row until it is done.
        self._queues: dict[int, list[tuple[int, int, OutboxRow]]] = {}
        self._busy: dict[int, asyncio.Task[None]] = {}
        self._sent_at: dict[int, float] = {}  # when each chat's last row went (loop time)
        self._running = False

    def register(self, purpose: str, deliverer: Deliverer) -> None:
        self._deliverers[purpose] = deliverer

    async def put(
        self,
        chat_id: int,
        purpose: str,
        payload: dict[str, Any],
        *,
        priority: int = CONVERSATION,
        data: bytes | None = None,
        case_id: int | None = None,
        book_id: int | None = None,
    ) -> int:
        """Queue a row (inside the caller's transaction, if any); sent after the commit.

        The language of the moment goes with it: what the sender still words (a keyboard's
        label, a neutral first line) is in the recipient's language, as the rest is.
        """
        payload = {**payload, "locale": current_locale()}
        row_id = await self._repo.add(
            chat_id,
            purpose,
            payload,
            self._clock.now(),
            priority=priority,
            data=data,
            case_id=case_id,
            book_id=book_id,
        )
        row = OutboxRow(row_id, chat_id, priority, purpose, payload, data, case_id, book_id)
        self._db.after_commit(lambda: self._enqueue(row))
        return row_id

    async def queue_message(
        self, chat_id: int, message: Outgoing, *, reply_to: int | None = None
    ) -> None:
        """A message to someone, queued with the caller's transaction (nobody waits for it)."""
        await self.put(chat_id, "message", send_payload(message, reply_to))

    async def put_and_wait(
        self, chat_id: int, payload: dict[str, Any], priority: int, data: bytes | None = None
    ) -> Any:
        """Queue a `message` row and wait until Telegram has it; its result, or the refusal."""
        # A row whose caller does its work again after a crash (an update not yet marked
        # handled is handled again; a claimed reminder fires again) is left to that caller
        # at the next start: sending it as well would send it twice.
        payload = {**payload, "wait": True, "redo": _redone.get() or replayed_after_a_crash()}
        row_id = await self.put(chat_id, "message", payload, priority=priority, data=data)
        if row_id not in self._early:
            future = asyncio.get_running_loop().create_future()
            self._waiters[row_id] = future
            return await future
        result, error = self._early.pop(row_id)  # the sender was quicker than this task
        if error is not None:
            raise error
        return result

    async def start(self) -> None:
        """Send what a previous run left: a row that was on its way when the process
        stopped goes again (at most one per chat)."""
        left = await self._repo.waiting_rows()
        redone = [row for row in left if row.payload.get("redo")]
        for row in redone:  # their callers send them again themselves
            await self._repo.done(row.id)
        if left:
            log.info(
                "outbox rows from before the restart",
                extra={"rows": len(left) - len(redone), "redone_by_callers": len(redone)},
            )
        self._running = True
        for row in left:
            if not row.payload.get("redo"):
                self._enqueue(row)

    async def stop(self) -> None:
        """Stop taking rows; what is being sent now finishes (or goes again at next start)."""
        self._running = False
        workers = list(self._busy.values())
        if workers:
            _, pending = await asyncio.wait(workers, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for future in self._waiters.values():
            future.cancel()

    def _enqueue(self, row: OutboxRow) -> None:
        heapq.heappush(self._queues.setdefault(row.chat_id, []), (row.priority, row.id, row))
        self._dispatch()

    def _dispatch(self) -> None:
        """Serve the most pressing chats that wait, as many as may be served at once."""
        while self._running and len(self._busy) < self._in_flight:
            waiting = [
                (queue[0][:2], chat_id)
                for chat_id, queue in self._queues.items()
                if queue and chat_id not in self._busy
            ]
            if not waiting:
                return
            _, chat_id = min(waiting)
            # A fresh context: the worker serves whoever comes next to this chat, not the
            # task that happened to queue the first row.
            self._busy[chat_id] = asyncio.create_task(
                self._serve(chat_id), context=contextvars.Context()
            )

    async def _serve(self, chat_id: int) -> None:
        """Send one chat's rows in order until none is left."""
        queue = self._queues[chat_id]
        try:
            while queue and self._running:
                _, _, row = heapq.heappop(queue)
                await self._send(row)
        finally:
            del self._busy[chat_id]
            if not queue:
                self._queues.pop(chat_id, None)
            self._dispatch()

    async def _send(self, row: OutboxRow) -> None:
        deliverer = self._deliverers[row.purpose]
        result, refusal = await self._attempt(row, deliverer)
        if isinstance(refusal, DeliveryRefused):
            await self._finish(row, lambda: deliverer.refused(row, refusal))
        elif isinstance(refusal, TransientDeliveryError):
            await self._finish(row, _nothing)  # handed back to the one who waits
        else:
            await self._finish(row, lambda: deliverer.delivered(row, result))
        if row.payload.get("wait"):
            self._answer(row.id, result, refusal)

    async def _attempt(
        self, row: OutboxRow, deliverer: Deliverer
    ) -> tuple[Any, DeliveryRefused | TransientDeliveryError | None]:
        """Send until Telegram takes the row or refuses it for good."""
        attempt = 0
        while True:
            attempt += 1
            try:
                if self._pacer is not None:
                    await self._pacer.take(row.priority)
                with self._speaking(row):
                    result = await deliverer.deliver(row)
                self._sent_to(row.chat_id)
                return result, None
            except TransientDeliveryError as error:
                if self._pacer is not None and error.retry_after > 0 and not self._chat_limit(row):
                    self._pacer.pause(error.retry_after)  # Telegram's limit is the bot's
                if attempt >= row.payload.get("tries", attempt + 1):
                    return None, error  # its sender keeps its own retries (broadcasts)
                await asyncio.sleep(_backoff(error.retry_after, attempt))
            except DeliveryRefused as error:
                return None, error
            except Exception as error:  # a bug or an unknown answer: bounded retries
                if attempt >= UNEXPECTED_ATTEMPTS:
                    log.exception("outbox row refused after repeated failures")
                    return None, DeliveryRefused("rejected")
                log.warning("outbox send failed", extra={"error": type(error).__name__})
                await asyncio.sleep(_backoff(0, attempt))

    def _sent_to(self, chat_id: int) -> None:
        now = asyncio.get_running_loop().time()
        self._sent_at[chat_id] = now
        if len(self._sent_at) > SENT_AT_KEPT:  # forget chats quiet for longer than a second
            self._sent_at = {c: t for c, t in self._sent_at.items() if now - t < CHAT_INTERVAL}

    def _chat_limit(self, row: OutboxRow) -> bool:
        """Whether a 429 for this row is its chat's own limit: a row went there just now."""
        last = self._sent_at.get(row.chat_id)
        return last is not None and asyncio.get_running_loop().time() - last < CHAT_INTERVAL

    @contextmanager
    def _speaking(self, row: OutboxRow) -> Iterator[None]:
        """In the row's language; a row whose sender keeps its own retries is told of a 429
        at once (bot/core/pacing.py `self_paced`)."""
        with self._catalogs.using(row.payload.get("locale", self._catalogs.default)):
            if "tries" in row.payload:
                with self_paced():
                    yield
            else:
                yield

    async def _finish(
        self, row: OutboxRow, record: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        """Record the outcome and delete the row, together; the message is out already, so
        a storage failure here is retried until it goes through."""
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._db.transaction():
                    await record()
                    await self._repo.done(row.id)
                return
            except StorageFailure as error:
                log.error("outbox result not recorded yet", extra={"reason": error.reason})
                await asyncio.sleep(_backoff(0, attempt))
            except Exception:  # a bug in recording: the message is out; do not send it twice
                log.exception("outbox result could not be recorded")
                await self._repo.done(row.id)
                return

    def _answer(self, row_id: int, result: Any, error: BaseException | None) -> None:
        future = self._waiters.pop(row_id, None)
        if future is None:
            self._early[row_id] = (result, error)
            while len(self._early) > EARLY_RESULTS:
                self._early.popitem(last=False)
            return
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


_redone: contextvars.ContextVar[bool] = contextvars.ContextVar("redone", default=False)


@contextmanager
def redone_after_a_crash() -> Iterator[None]:
    """What is sent in here is sent again by the caller after a crash (a reminder whose claim
    a crash left is fired again at the next start): the outbox does not send it a second
    time."""
    token = _redone.set(True)
    try:
        yield
    finally:
        _redone.reset(token)


def send_payload(message: Outgoing, reply_to: int | None) -> dict[str, Any]:
    """A `message` row that sends `message` (MessageDeliverer reads it back)."""
    return {"op": "send", "message": outgoing_to_json(message), "reply_to": reply_to}


async def _nothing() -> None:
    """No result to record."""


def _backoff(retry_after: float, attempt: int) -> float:
    return min(MAX_BACKOFF, max(float(retry_after), 0.25 * 2.0 ** min(attempt, 8)))


class MessageDeliverer:
    """Rows of purpose `message`: one call of the messenger each."""

    def __init__(self, messenger: Messenger) -> None:
        self._messenger = messenger

    async def deliver(self, row: OutboxRow) -> Any:
        p, chat = row.payload, row.chat_id
        op = p["op"]
        if op == "send":
            return await self._messenger.send(
                chat, outgoing_from_json(p["message"]), reply_to=p["reply_to"]
            )
        if op == "document":
            assert row.data is not None
            return await self._messenger.send_document(chat, p["file_name"], row.data, p["caption"])
        if op == "photo_file":
            assert row.data is not None
            return await self._messenger.send_photo_file(
                chat, p["file_name"], row.data, p["caption"]
            )
        if op == "edit":
            await self._messenger.edit(chat, p["message_id"], outgoing_from_json(p["message"]))
            return None
        if op == "copy":
            return await self._messenger.copy(
                p["from_chat"],
                p["message_id"],
                chat,
                reply_to=p["reply_to"],
                caption=p["caption"],
                protect=p.get("protect", False),
            )
        if op == "contact":
            return await self._messenger.send_contact(
                chat, p["phone"], p["first_name"], reply_to=p["reply_to"], protect=p["protect"]
            )
        if op == "delete":
            return await self._messenger.delete(chat, p["message_id"])
        if op == "edit_copy":
            await self._messenger.edit_copy(
                chat, p["message_id"], text=p["text"], caption=p["caption"]
            )
            return None
        if op == "buttons":
            buttons = buttons_from_json(p["buttons"])
            await self._messenger.set_buttons(chat, p["message_id"], buttons)
            return None
        raise ValueError(f"unknown outbox operation {op!r}")

    async def delivered(self, row: OutboxRow, result: Any) -> None:
        """Nothing to record: whoever queued it is waiting for the result."""

    async def refused(self, row: OutboxRow, error: DeliveryRefused) -> None:
        """The waiting caller gets the refusal."""


class OutboxMessenger:
    """The `Messenger` the services use: each call is an outbox row, sent in order with
    the chat's other rows, and answered once Telegram has it."""

    def __init__(
        self, outbox: Outbox, priority: int = CONVERSATION, tries: int | None = None
    ) -> None:
        self._outbox = outbox
        self._priority = priority
        self._tries = tries

    def at_priority(self, priority: int, tries: int | None = None) -> OutboxMessenger:
        """The same outbox at another priority; with `tries`, passing trouble is handed
        back after that many attempts (to a caller with retries of its own)."""
        return OutboxMessenger(self._outbox, priority, tries)

    async def _call(self, chat_id: int, payload: dict[str, Any], data: bytes | None = None) -> Any:
        if self._tries is not None:
            payload = {**payload, "tries": self._tries}
        return await self._outbox.put_and_wait(chat_id, payload, self._priority, data)

    async def send(
        self, chat_id: int, message: Outgoing, *, reply_to: int | None = None
    ) -> int | None:
        result: int | None = await self._call(chat_id, send_payload(message, reply_to))
        return result

    async def send_document(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None:
        payload = {"op": "document", "file_name": file_name, "caption": caption}
        result: int | None = await self._call(chat_id, payload, data)
        return result

    async def send_photo_file(
        self, chat_id: int, file_name: str, data: bytes, caption: str
    ) -> int | None:
        payload = {"op": "photo_file", "file_name": file_name, "caption": caption}
        result: int | None = await self._call(chat_id, payload, data)
        return result

    async def edit(self, chat_id: int, message_id: int, message: Outgoing) -> None:
        payload = {"op": "edit", "message_id": message_id, "message": outgoing_to_json(message)}
        await self._call(chat_id, payload)

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
        payload = {
            "op": "copy",
            "from_chat": from_chat_id,
            "message_id": message_id,
            "reply_to": reply_to,
            "caption": caption,
            "protect": protect,
        }
        result: int | None = await self._call(to_chat_id, payload)
        return result

    async def send_contact(
        self,
        chat_id: int,
        phone: str,
        first_name: str,
        *,
        reply_to: int | None = None,
        protect: bool = False,
    ) -> int | None:
        payload = {
            "op": "contact",
            "phone": phone,
            "first_name": first_name,
            "reply_to": reply_to,
            "protect": protect,
        }
        result: int | None = await self._call(chat_id, payload)
        return result

    async def delete(self, chat_id: int, message_id: int) -> bool:
        result: bool = await self._call(chat_id, {"op": "delete", "message_id": message_id})
        return result

    async def edit_copy(
        self, chat_id: int, message_id: int, *, text: str | None, caption: str | None
    ) -> None:
        payload = {"op": "edit_copy", "message_id": message_id, "text": text, "caption": caption}
        await self._call(chat_id, payload)

    async def set_buttons(
        self, chat_id: int, message_id: int, buttons: tuple[tuple[Button, ...], ...] = ()
    ) -> None:
        payload = {"op": "buttons", "message_id": message_id, "buttons": buttons_to_json(buttons)}
        await self._call(chat_id, payload)
