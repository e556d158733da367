"""Updates from Telegram into the inbox, then to the handlers: nothing fetched is lost.

python-telegram-bot's own Updater confirms fetched updates with its next getUpdates at
once, so whatever was fetched but not yet handled when the process dies is gone. Here the
bot owns the loop: a batch is stored in the inbox (one commit) before the next getUpdates
moves the offset past it, and in webhook mode Telegram gets its 200 only after the insert.
At start, what a crash left unhandled is handled first, in order per chat. An update is
marked handled by the first transaction of its use case (storage/db.py), or right after.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.core.clock import Clock
from bot.core.config import WebhookConfig
from bot.core.i18n import Catalogs, _, negotiate
from storage.db import StorageFailure, handled_by_commit, handling
from storage.inbox import InboxRepository
from storage.timefmt import to_db

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # seconds a getUpdates call waits for news
STORE_ATTEMPTS = 6  # each waits up to the busy timeout: ~30 s before giving up on a batch
PRUNE_EVERY = 300.0  # seconds between prunings of handled updates
KEEP_HANDLED = timedelta(hours=1)
MAX_WEBHOOK_BODY = 1 << 20  # Telegram's updates are a few KB; refuse anything near 1 MB

AnyApp = Application[Any, Any, Any, Any, Any, Any]


class UpdateFeed:
    def __init__(
        self,
        app: AnyApp,
        inbox: InboxRepository,
        clock: Clock,
        catalogs: Catalogs,
        *,
        poll_timeout: int = POLL_TIMEOUT,
        store_attempts: int = STORE_ATTEMPTS,
    ) -> None:
        self._app = app
        self._inbox = inbox
        self._clock = clock
        self._catalogs = catalogs
        self._poll_timeout = poll_timeout
        self._store_attempts = store_attempts
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self._secret: str | None = None

    # ------------------------------------------------------------------ starting, stopping

    async def start_polling(self) -> None:
        await self._app.bot.delete_webhook()
        await self._replay()
        self._loops.append(asyncio.create_task(self._poll(), name="getUpdates"))
        self._loops.append(asyncio.create_task(self._prune_often(), name="inbox-prune"))

    async def start_webhook(self, hook: WebhookConfig) -> None:
        await self._replay()
        server = web.Application(client_max_size=MAX_WEBHOOK_BODY)
        server.router.add_post("/" + hook.path.lstrip("/"), self._on_webhook)
        self._secret = hook.secret_token
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, hook.listen, hook.port).start()
        await self._app.bot.set_webhook(
            hook.url, secret_token=hook.secret_token, allowed_updates=Update.ALL_TYPES
        )
        self._loops.append(asyncio.create_task(self._prune_often(), name="inbox-prune"))

    async def stop(self, grace: float = 5.0) -> None:
        """Stop fetching; updates being handled get `grace` seconds (the rest are handled
        at the next start: they are in the inbox)."""
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # ------------------------------------------------------------------ fetching

    async def _replay(self) -> None:
        rows = await self._inbox.unhandled()
        if rows:
            log.info("handling updates a restart interrupted", extra={"updates": len(rows)})
        for row in rows:
            self._spawn(row.payload)

    async def _poll(self) -> None:
        offset = (await self._inbox.last_update_id() or -1) + 1
        failures = 0
        while True:
            try:
                raw = await self._get_updates(offset)
                failures = 0
            except (InvalidToken, Conflict):
                raise  # wrong token, or another instance polling: nothing to retry
            except (NetworkError, TelegramError) as error:
                failures += 1
                log.warning("getUpdates failed", extra={"error": type(error).__name__})
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            updates = [u for u in raw if isinstance(u, dict) and _update_id(u) is not None]
            if not updates:
                continue
            for update in await self._store(updates):
                self._spawn(update)
            offset = max(_update_id(u) or 0 for u in updates) + 1

    async def _get_updates(self, offset: int) -> list[Any]:
        # The raw JSON, not PTB's parsed updates: one update PTB cannot parse must not stall
        # the batch. Bot API method names are case-insensitive; this spelling is not one of
        # PTB's own method names, which do_api_request would warn about.
        result = await self._app.bot.do_api_request(
            "GetUpdates",
            api_kwargs={
                "offset": offset,
                "timeout": self._poll_timeout,
                "allowed_updates": Update.ALL_TYPES,
            },
            read_timeout=self._poll_timeout + 10,
        )
        return result if isinstance(result, list) else []

    async def store(self, updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep a batch in the inbox; the ones not seen before (for the webhook)."""
        return await self._inbox.store(updates, self._clock.now())

    async def _store(self, updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep the batch, waiting out a locked database or a full disk for a while; in the
        end, whoever wrote is told their message was not taken, so they can send it again."""
        for attempt in range(1, self._store_attempts + 1):
            try:
                return await self.store(updates)
            except StorageFailure as error:
                log.error("updates not stored", extra={"reason": error.reason, "try": attempt})
                if attempt < self._store_attempts:
                    await asyncio.sleep(1.0)
        for update in updates:
            await self._tell_not_taken(update)
        return []

    async def _tell_not_taken(self, update: dict[str, Any]) -> None:
        """Said straight to Telegram: the outbox cannot take a row either."""
        sender = _private_sender(update)
        if sender is None:
            return
        chat_id, language_code = sender
        locale = negotiate(None, language_code, self._catalogs.default)
        with self._catalogs.using(locale):
            text = _(
                "Sorry, your message could not be taken just now: our records are having "
                "trouble. Nothing was saved. Please send it again in a few minutes."
            )
        try:
            await self._app.bot.send_message(chat_id, text)
        except TelegramError as error:
            log.warning("could not tell a sender", extra={"error": type(error).__name__})

    # ------------------------------------------------------------------ handling

    def _spawn(self, data: dict[str, Any]) -> None:
        task = asyncio.create_task(self._handle(data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, data: dict[str, Any]) -> None:
        update_id = _update_id(data)
        assert update_id is not None
        try:
            update = Update.de_json(data, self._app.bot)
        except Exception as error:  # whatever its parsers meet: AttributeError, OverflowError…
            # Logged without the update: it may carry names and text. Any error: one
            # that escaped here would leave the update unhandled, replayed at every start.
            log.warning(
                "update skipped: it could not be read",
                extra={"update_id": update_id, "error": type(error).__name__},
            )
            await self._mark(update_id)
            return
        await self._app.update_processor.process_update(update, self._process(update))

    async def _process(self, update: Update) -> None:
        with handling(update.update_id, to_db(self._clock.now())):
            await self._app.process_update(update)
            marked = handled_by_commit()
        if not marked:
            await self._mark(update.update_id)

    async def _mark(self, update_id: int) -> None:
        try:
            await self._inbox.mark_handled(update_id, self._clock.now())
        except StorageFailure as error:  # handled again at the next start: at most twice
            log.error("update not marked handled", extra={"reason": error.reason})

    async def _prune_often(self) -> None:
        while True:
            try:
                await self._inbox.prune(self._clock.now() - KEEP_HANDLED)
            except StorageFailure as error:
                log.warning("inbox not pruned", extra={"reason": error.reason})
            await asyncio.sleep(PRUNE_EVERY)

    # ------------------------------------------------------------------ webhook

    async def _on_webhook(self, request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        if self._secret and secret != self._secret:
            return web.Response(status=403)
        try:
            data = json.loads(await request.read())
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413)
        except ValueError:
            return web.Response(status=400, text="malformed JSON")
        if not isinstance(data, dict) or _update_id(data) is None:
            return web.Response(status=400, text="not an update")
        try:
            fresh = await self.store([data])
        except StorageFailure as error:
            # Telegram delivers it again later: nothing is lost meanwhile.
            log.error("webhook update not stored", extra={"reason": error.reason})
            return web.Response(status=503)
        for update in fresh:
            self._spawn(update)
        return web.Response(status=200)


def _update_id(data: dict[str, Any]) -> int | None:
    value = data.get("update_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _private_sender(update: dict[str, Any]) -> tuple[int, str | None] | None:
    """The chat and language of whoever sent a private message in this update's JSON."""
    for key in ("message", "edited_message"):
        message = update.get(key)
        if not isinstance(message, dict):
            continue
        chat, sender = message.get("chat"), message.get("from")
        if isinstance(chat, dict) and chat.get("type") == "private" and isinstance(sender, dict):
            chat_id = chat.get("id")
            if isinstance(chat_id, int):
                language = sender.get("language_code")
                return chat_id, language if isinstance(language, str) else None
    return None
