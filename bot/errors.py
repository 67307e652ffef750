"""Errors every layer of the bot may raise, free of Telegram (a leaf: imports nothing)."""

from __future__ import annotations


class CommandError(Exception):
    """A clear, one-line failure for the operator (no traceback)."""
