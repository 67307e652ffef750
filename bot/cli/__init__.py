"""The command line: `python -m bot` runs the bot; other commands are for operators.

Each command lives in its own module with `register(subparsers)`; every command migrates the
database first when needed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence

from bot.config import Settings, load_settings

COMMAND_MODULES = (
    "bot.cli.run",
    "bot.cli.migrate",
    "bot.cli.demo",
    "bot.cli.import_",
    "bot.cli.card",
    "bot.cli.receipt",
    "bot.cli.push",
    "bot.cli.readings",
    "bot.cli.operators",
)


class CommandError(Exception):
    """A clear, one-line failure for the operator (no traceback)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Личный кабинет абонента: Telegram bot and operators' CLI"
    )
    parser.add_argument("--webhook", action="store_true", help="serve updates over a webhook")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def configure_logging(settings: Settings) -> None:
    from bot.logging import configure

    configure(settings.log_level, settings.log_format)


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings)
    if args.command is None:
        from bot.cli.run import run_bot

        args.func = run_bot
    try:
        code = asyncio.run(args.func(args, settings))
    except CommandError as error:
        print(f"Error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code or 0)
