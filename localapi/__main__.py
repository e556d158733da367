"""`python -m localapi`: the local Bot API server in a process of its own, as Telegram is.

Prints one JSON line once it listens (token, base_url, base_file_url, control_url), then
serves until SIGTERM or SIGINT. The bot talks to it over loopback like to Telegram; a test or
a benchmark plays the users through the HTTP control API (routes in localapi/server.py).
One server is one bot's Telegram: two bots polling one server would take each other's
updates, so each gets a server of its own.

    python -m localapi --latency 0.15 --per-second 30 --burst 5 --per-chat-per-second 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import signal
from collections.abc import Sequence

from localapi.server import LocalBotApi

# What the server holds (users, chats, the messages sent) only grows. A full collection
# walks all of it, 100 ms and more with ten thousand chats: a stall that bunches the sends
# arriving meanwhile, as no network would. So what survived a while is frozen, out of the
# collector's way (cyclic garbage among it is kept: a test server lives minutes).
FREEZE_EVERY = 5.0  # seconds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m localapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--token", default="0:local")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per round trip")
    parser.add_argument("--per-second", type=float, help="flood limit overall (none if unset)")
    parser.add_argument("--per-chat-per-second", type=float, help="flood limit per chat")
    parser.add_argument("--burst", type=int, default=1, help="calls at once, overall")
    parser.add_argument("--per-chat-burst", type=int, default=1, help="calls at once, per chat")
    return parser


async def serve(args: argparse.Namespace) -> None:
    api = LocalBotApi(token=args.token)
    api.set_latency(args.latency)
    api.set_rate_limit(
        args.per_second,
        args.per_chat_per_second,
        burst=args.burst,
        per_chat_burst=args.per_chat_burst,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await api.start(args.host, args.port)
    freezer = asyncio.create_task(_freeze_what_survives())
    try:
        where = {
            "token": api.token,
            "base_url": api.base_url,
            "base_file_url": api.base_file_url,
            "control_url": api.control_url,
        }
        print(json.dumps(where), flush=True)
        await stop.wait()
    finally:
        freezer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await freezer
        await api.stop()


async def _freeze_what_survives() -> None:
    while True:
        await asyncio.sleep(FREEZE_EVERY)
        gc.collect(1)  # the young generations: quick, and most garbage is young
        gc.freeze()


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(serve(_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
