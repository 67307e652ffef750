"""The command line: `python -m bot` runs the bot; other commands are for operators.

Each command lives in its own module with `register(subparsers)`, listed in COMMANDS; every
command migrates the database first when needed. Only the commands that talk to Telegram load
aiogram, inside the command: `--help`, an import or an export start without it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.cli import (
    card,
    demo,
    import_,
    imports,
    migrate,
    operators,
    payments,
    push,
    readings,
    receipt,
    run,
    try_,
)
from bot.config import Settings, load_settings
from bot.errors import CommandError

__all__ = ["CommandError", "build_parser", "main"]

COMMANDS = (
    run, try_, migrate, demo, import_, imports, card, receipt, push, readings, operators,
    payments,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Личный кабинет абонента: Telegram bot and operators' CLI"
    )
    parser.add_argument("--webhook", action="store_true", help="serve updates over a webhook")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
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
        args.func = run.run_bot
    try:
        code = asyncio.run(args.func(args, settings))
    except CommandError as error:
        print(f"Error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code or 0)
