"""The layers, checked: every import points down the one dependency order, with no
exemptions (docs/ARCHITECTURE.md draws it).

    core ← domain ← storage ← features ← adapters ← tools ← root

- core: bot/core/ (config, clock, i18n, logging, errors, the messaging port, callbacks)
- domain: bot/domain/ (cases and their state machine, roster, people and roles, terms)
- storage: storage/ (repositories returning domain types)
- features: bot/features/ (the use cases)
- adapters: handlers/ (Telegram; a second channel gets a folder beside it)
- tools: localapi/, playground/ (developer tools: the local Bot API server, the playground)
- root: the modules directly in bot/ (the composition root, the runner, the CLI)

Only the adapters and the root speak Telegram; the tools speak HTTP.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ("core", "domain", "storage", "features", "adapters", "tools", "root")
FOLDERS = {
    "bot/core": "core",
    "bot/domain": "domain",
    "storage": "storage",
    "bot/features": "features",
    "handlers": "adapters",
    "localapi": "tools",
    "playground": "tools",
    "bot": "root",
}
PACKAGES = {folder.replace("/", "."): layer for folder, layer in FOLDERS.items()}
SPEAK_TELEGRAM = {"adapters", "root"}


def layer_of_module(name: str) -> str | None:
    """The layer of a dotted module name of ours; None for the standard library and
    third-party packages. The longest matching package wins (bot.core before bot)."""
    for package in sorted(PACKAGES, key=len, reverse=True):
        if name == package or name.startswith(package + "."):
            return PACKAGES[package]
    return None


def layer_of_file(path: Path) -> str:
    return layer_of_module(".".join(path.relative_to(ROOT).with_suffix("").parts)) or "?"


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def violations(path: Path, layer: str | None = None) -> list[str]:
    """What `path` imports against the order (as `layer`, by default its own)."""
    layer = layer or layer_of_file(path)
    found = []
    for name in sorted(imported(path)):
        target = layer_of_module(name)
        if target is not None and ORDER.index(target) > ORDER.index(layer):
            found.append(f"{name} ({target})")
        if name.split(".")[0] == "telegram" and layer not in SPEAK_TELEGRAM:
            found.append(f"{name} (Telegram, outside the adapters)")
    return sorted(set(found))


def _sources() -> list[Path]:
    folders = sorted({ROOT / f for f in FOLDERS})
    return sorted({p for folder in folders for p in folder.rglob("*.py")})


SOURCES = _sources()


def test_every_source_file_is_in_a_layer() -> None:
    assert len(SOURCES) > 100
    assert [str(p) for p in SOURCES if layer_of_file(p) == "?"] == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path: Path) -> None:
    assert violations(path) == []


def test_the_root_is_only_what_is_directly_in_bot() -> None:
    root = sorted(p.name for p in SOURCES if layer_of_file(p) == "root")
    assert root == sorted(p.name for p in (ROOT / "bot").glob("*.py"))


def test_a_deliberate_violation_is_caught(tmp_path: Path) -> None:
    """The check above is not vacuous: a domain module importing a feature, a feature
    importing the adapters or Telegram, storage importing a tool all fail."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from bot.features.relay import RelayService\n"
        "import handlers.common\n"
        "from telegram import Update\n"
        "from playground import Playground\n",
        encoding="utf-8",
    )
    assert violations(bad, "domain") == [
        "bot.features.relay (features)",
        "bot.features.relay.RelayService (features)",
        "handlers.common (adapters)",
        "playground (tools)",
        "playground.Playground (tools)",
        "telegram (Telegram, outside the adapters)",
        "telegram.Update (Telegram, outside the adapters)",
    ]
    assert violations(bad, "storage") != []
    assert violations(bad, "root") == []  # the root sees everything


def test_lazy_imports_count_too(tmp_path: Path) -> None:
    lazy = tmp_path / "lazy.py"
    lazy.write_text("def f() -> None:\n    from handlers.feed import UpdateFeed\n")
    assert violations(lazy, "features") == [
        "handlers.feed (adapters)",
        "handlers.feed.UpdateFeed (adapters)",
    ]
