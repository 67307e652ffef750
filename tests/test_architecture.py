"""The layers' rules, checked on the source (docs/architecture.md): arrows go one way
(bot → handlers → services → storage), handlers never commit nor import another feature's
handlers, services and storage speak no Telegram, and no function grows past 60 lines."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("bot", "handlers", "keyboards", "services", "storage", "receipts", "texts", "metrics")
MAX_FUNCTION_LINES = 60
# Data and schema, not logic: long by nature.
# The fake Bot API's HTML tokenizer is one flat state machine, as Telegram's (it lived under
# tests/ until `python -m bot try` needed it in the package).
LONG_ALLOWED = ("storage/migrations/", "storage/demo.py")


def sources(*packages: str) -> Iterator[Path]:
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def top(module: str) -> str:
    return module.split(".", 1)[0]


FORBIDDEN = {
    # layer: top-level packages of ours it must not import (bot.config is the settings leaf)
    "storage": {"handlers", "services", "keyboards", "receipts", "bot"},
    "services": {"handlers", "keyboards", "aiogram"},
    "receipts": {"handlers", "keyboards"},
    "keyboards": {"handlers", "services"},
    "texts": {"handlers", "services", "storage", "keyboards", "receipts", "bot", "aiogram"},
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_arrows_go_one_way(layer: str) -> None:
    wrong = []
    for path in sources(layer):
        for module in imported_modules(path):
            if module == "bot.config" or module.startswith("bot.config."):
                continue
            if top(module) in FORBIDDEN[layer]:
                wrong.append(f"{relative(path)} imports {module}")
    assert wrong == []


def feature_of(path: Path) -> str:
    parts = path.relative_to(ROOT / "handlers").parts
    return parts[0].removesuffix(".py")


# Shared by several features, routers of none: the toolkit, the gates, the views, and `posting`
# (the operators' chat's Telegram side: the appeals feature posts, the operators' chat answers).
SHARED_HANDLER_MODULES = {"ui", "access", "filters", "views", "posting", "__init__"}


def test_no_handler_imports_another_features_handlers() -> None:
    wrong = []
    for path in sources("handlers"):
        own = feature_of(path)
        for module in imported_modules(path):
            if not module.startswith("handlers."):
                continue
            other = module.split(".")[1]
            if other in SHARED_HANDLER_MODULES or other == own or own == "__init__":
                continue
            if (ROOT / "handlers" / other).is_dir() or (ROOT / "handlers" / f"{other}.py").exists():
                wrong.append(f"{relative(path)} imports {module}")
    assert wrong == []


def test_handlers_never_commit() -> None:
    wrong = [
        relative(path)
        for path in sources("handlers")
        if ".commit(" in path.read_text(encoding="utf-8")
    ]
    assert wrong == []


def test_repositories_never_commit() -> None:
    wrong = [
        relative(path)
        for path in sources("storage/repo")
        if ".commit(" in path.read_text(encoding="utf-8")
    ]
    assert wrong == []


def test_no_function_over_sixty_lines() -> None:
    long = []
    for path in sources(*LAYERS):
        name = relative(path)
        if name.startswith(LONG_ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{name}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def test_handlers_are_module_level_functions() -> None:
    """Routers register module-level handlers; no handler is a closure inside `router()`."""
    nested = []
    for path in sources("handlers"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(function):
                if inner is function or not isinstance(inner, ast.AsyncFunctionDef):
                    continue
                if inner.decorator_list:
                    nested.append(f"{relative(path)}:{inner.lineno} {inner.name}")
    assert nested == []
