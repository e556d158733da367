"""The bot as a child process (`python -m bot run`), for tests that stop or kill it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def bot_env() -> dict[str, str]:
    """The test's environment without DAASAO_TOKEN (the config decides), unbuffered."""
    env = {k: v for k, v in os.environ.items() if k != "DAASAO_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def bot_process(
    config: Path, out: Path, err: Path, stop_timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m bot run` in the background, output to files; killed if still alive."""
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            cwd=REPO,
            env=bot_env(),
            stdout=stdout,
            stderr=stderr,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=stop_timeout)
