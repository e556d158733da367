"""`daasao` / `python -m bot`: run the bot, check a config file, migrate the database, remove
the playground's demo data."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.core.config import Config, ConfigError, load_config
from bot.core.logs import setup_logging

EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(Path(args.config))
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(args.log_level or config.logging.level, secret=config.telegram.token)
    command: int = args.command(config)
    return command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daasao", description=__doc__)
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for name, handler, help_text in (
        ("run", _run, "start the bot (no token: against the local playground API)"),
        ("check-config", _check_config, "validate a config file and exit"),
        ("migrate", _migrate, "apply pending database migrations and exit"),
    ):
        sub = commands.add_parser(name, help=help_text)
        if name == "check-config":
            sub.add_argument("config", nargs="?", default="config.toml", help="config file")
        else:
            sub.add_argument("--config", default="config.toml", help="config file")
        sub.set_defaults(command=handler)
    demo = commands.add_parser("demo", help="the playground's demo data")
    actions = demo.add_subparsers(required=True, metavar="ACTION")
    remove = actions.add_parser("remove", help="delete exactly the demo data and exit")
    remove.add_argument("--config", default="config.toml", help="config file")
    remove.set_defaults(command=_demo_remove)
    return parser


def _run(config: Config) -> int:
    from telegram.error import InvalidToken

    from bot.runner import serve
    from playground import PlaygroundError
    from storage.db import SchemaTooNewError

    try:
        asyncio.run(serve(config))
    except SchemaTooNewError as error:
        print(f"database error: {error}", file=sys.stderr)
        return 1
    except PlaygroundError as error:
        print(f"playground error: {error}", file=sys.stderr)
        return 1
    except InvalidToken:
        # PTB's message quotes the token: say what to check instead.
        print(
            "telegram error: the token was rejected; check telegram.token or DAASAO_TOKEN",
            file=sys.stderr,
        )
        return 1
    return 0


def _check_config(config: Config) -> int:
    print(f"config ok: {len(config.areas)} areas, mode {config.telegram.mode}")
    return 0


def _migrate(config: Config) -> int:
    from storage.db import Database, SchemaTooNewError

    async def migrate() -> int:
        try:
            db = await Database.open(config.storage.path)
        except SchemaTooNewError as error:
            print(f"database error: {error}", file=sys.stderr)
            return 1
        version = await db.schema_version()
        await db.close()
        print(f"database at schema version {version}: {config.storage.path}")
        return 0

    return asyncio.run(migrate())


def _demo_remove(config: Config) -> int:
    from playground.demo import remove
    from storage.db import Database, SchemaTooNewError

    async def remove_demo() -> int:
        try:
            db = await Database.open(config.storage.path)
        except SchemaTooNewError as error:
            print(f"database error: {error}", file=sys.stderr)
            return 1
        try:
            removed = await remove(db)
        finally:
            await db.close()
        if not removed.people:
            print(f"no demo data in {config.storage.path}")
        else:
            print(
                f"demo data removed from {config.storage.path}: {removed.people} people, "
                f"{removed.cases} cases and everything that belonged to them"
            )
        return 0

    return asyncio.run(remove_demo())
