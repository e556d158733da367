"""Run every benchmark in this package: `python -m bench.run_all` (what `make bench` does).

A benchmark is any module of `bench` with a `main(argv)` function; each runs with its
defaults, one after the other.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType
from typing import Any

import bench

SKIP = {"run_all", "copybot"}  # copybot serves until stopped: the relay bench runs it


def bench_modules() -> list[ModuleType]:
    """The benchmark modules of the package, by name."""
    names = sorted(info.name for info in pkgutil.iter_modules(bench.__path__))
    modules = [importlib.import_module(f"bench.{name}") for name in names if name not in SKIP]
    return [module for module in modules if callable(getattr(module, "main", None))]


def main() -> dict[str, Any]:
    """Run each benchmark's main with its defaults; return their figures by module name."""
    results: dict[str, Any] = {}
    for module in bench_modules():
        name = module.__name__.removeprefix("bench.")
        print(f"== {name}", flush=True)
        run: Callable[[list[str]], Any] = module.main
        results[name] = run([])
    return results


if __name__ == "__main__":
    main()
