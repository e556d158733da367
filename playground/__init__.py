"""The playground: the whole system on one machine, in a browser, with no Telegram account.

`make run` without a token starts it (see `bot.runner`): the project's local Bot API server
stands in for Telegram, the real bot runs against it, and a web page shows phone-sized chats
of demo people (`playground.demo`) with a clock that can jump ahead. Nothing of the bot
knows it is in a playground: it gets ordinary Telegram updates over HTTP.
"""

from __future__ import annotations

import dataclasses

from bot.core.clock import MovableClock
from bot.core.config import Config
from localapi.server import LocalBotApi
from playground.demo import CASES, DEMO_PEOPLE, seed
from playground.web import PlaygroundWeb
from storage.db import Database

__all__ = ["Playground", "PlaygroundError"]


class PlaygroundError(RuntimeError):
    """The playground cannot start, for a reason its user can fix (a port in use)."""


class Playground:
    """The local Bot API, the demo data, the movable clock and the web page, started together."""

    def __init__(self, config: Config, api: LocalBotApi, clock: MovableClock) -> None:
        self.clock = clock
        self.api = api
        self.web = PlaygroundWeb(api, clock, config, DEMO_PEOPLE)
        self.seeded = False
        telegram = dataclasses.replace(
            config.telegram,
            token=api.token,
            mode="polling",
            base_url=api.base_url,
            base_file_url=api.base_file_url,
        )
        self.config = dataclasses.replace(config, telegram=telegram)
        """The configuration the bot runs with: pointed at the local Bot API."""

    @classmethod
    async def open(cls, config: Config) -> Playground:
        """Start the local Bot API and the page, and seed the demo data if it is missing."""
        clock = MovableClock()
        api = LocalBotApi(now=clock.now)
        host = config.playground.host
        try:
            await api.start(host, config.playground.api_port)
        except OSError as error:
            raise _cannot_listen(host, config.playground.api_port, "api_port", error) from None
        playground = cls(config, api, clock)
        try:
            await playground._prepare(config)
        except BaseException:
            await playground.close()
            raise
        return playground

    async def _prepare(self, config: Config) -> None:
        database = await Database.open(config.storage.path)
        try:
            self.seeded = await seed(database, config, self.clock.now())
        finally:
            await database.close()
        for person in DEMO_PEOPLE:
            self.api.add_user(
                person.id, person.first_name, language_code=person.language, started=True
            )
        host, port = config.playground.host, config.playground.port
        try:
            await self.web.start(host, port)
        except OSError as error:
            raise _cannot_listen(host, port, "port", error) from None

    async def close(self) -> None:
        await self.web.stop()
        await self.api.stop()

    def banner(self) -> str:
        control = self.api.control_url
        demo = "seeded now" if self.seeded else "kept from an earlier run"
        return (
            "No Telegram token configured: running the playground against the local Bot API "
            "server.\n"
            f"  Playground:  {self.web.url}   <- open this page in a browser\n"
            f"  Bot API:     {self.api.base_url}<token>/<method>\n"
            f"  Control API: {control}\n"
            f"  Demo data ({demo}): {len(DEMO_PEOPLE)} people, {len(CASES)} closed cases; "
            "remove it with: daasao demo remove --config <config file>\n"
            "  Or talk to the bot as demo resident 1001 and read its answers with curl:\n"
            f'    curl -s -X POST {control}/users/1001/send -d \'{{"text": "/start"}}\'\n'
            f"    curl -s {control}/chats/1001/messages\n"
            "  Stop with Ctrl+C."
        )


def _cannot_listen(host: str, port: int, key: str, error: OSError) -> PlaygroundError:
    reason = error.strerror or str(error)
    return PlaygroundError(
        f"cannot listen on {host}:{port} ({reason}); free the port or set playground.{key}"
    )
