"""Placeholder: the appeals feature is being built (see the issue)."""

from aiogram import Router


def router() -> Router:
    return Router(name="appeals")
