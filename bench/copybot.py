"""The relay benchmark's baseline: a bare python-telegram-bot copy bot, in a process of its own.

    python -m bench.copybot --token 0:local --base-url http://127.0.0.1:8081/bot \\
        --partners '{"300000": 400000, "400000": 300000}'

Every private message from a known sender is copied (``copyMessage``) to that sender's fixed
partner chat: one ``getUpdates`` and one ``copyMessage`` per message, the least a relay can
do. PTB's defaults otherwise, polling as ``bot run`` polls (bot/runner.py), except that
updates are handled concurrently, as Da'asao handles different chats' (bot/app.py): one at a
time, a bot relays at most one message per round trip, and at 150 ms its queue, not its
cost, would set the latency. Runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


def _copier(partners: Mapping[int, int]) -> MessageHandler[ContextTypes.DEFAULT_TYPE, None]:
    async def copy_to_partner(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        partner = partners.get(message.chat_id) if message is not None else None
        if message is not None and partner is not None:
            await context.bot.copy_message(partner, message.chat_id, message.message_id)

    return MessageHandler(filters.ChatType.PRIVATE, copy_to_partner)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.copybot", description=__doc__)
    parser.add_argument("--token", required=True)
    parser.add_argument("--base-url", required=True, help="ends in /bot, as PTB wants it")
    parser.add_argument("--partners", required=True, help='JSON {"sender": partner chat, …}')
    return parser


def serve(argv: Sequence[str] | None = None) -> None:
    """Poll until SIGINT or SIGTERM (PTB's run_polling stops on both)."""
    args = _parser().parse_args(argv)
    partners = {int(sender): int(chat) for sender, chat in json.loads(args.partners).items()}
    app = (
        Application.builder()
        .token(args.token)
        .base_url(args.base_url)
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(_copier(partners))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    serve()
