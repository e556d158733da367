"""The layering rules of DESIGN.md §4, checked: services never import telegram."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The wiring, the runner and the local Bot API server speak Telegram by design.
ADAPTERS = {"bot/app.py", "bot/runner.py", "bot/cli.py"}
SERVICE_FILES = sorted(
    str(p.relative_to(ROOT))
    for folder in ("bot", "storage")
    for p in (ROOT / folder).glob("*.py")
    if str(p.relative_to(ROOT)) not in ADAPTERS
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("relative", SERVICE_FILES)
def test_services_and_storage_do_not_import_telegram(relative: str) -> None:
    assert "telegram" not in _imports(ROOT / relative)


@pytest.mark.parametrize(
    "relative", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bot/playground").glob("*.py"))
)
def test_the_playground_speaks_http_not_telegram(relative: str) -> None:
    assert not {"telegram", "handlers"} & _imports(ROOT / relative)


@pytest.mark.parametrize(
    "relative", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "storage").glob("*.py"))
)
def test_storage_does_not_import_handlers(relative: str) -> None:
    assert "handlers" not in _imports(ROOT / relative)
