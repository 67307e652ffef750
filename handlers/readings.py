"""Placeholder: the readings feature is being built (see the issue)."""

from aiogram import Router


def router() -> Router:
    return Router(name="readings")


def free_text_router() -> Router:
    """Readings sent as plain messages outside any dialogue: after every other router."""
    return Router(name="readings_free_text")
