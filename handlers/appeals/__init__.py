"""Residents' appeals: writing one (`compose`: account → topic → text → photos → confirm) and the
correspondence (`threads`: the list, each thread, adding a message, closing)."""

from __future__ import annotations

from aiogram import Router

from handlers.access import registered_only
from handlers.appeals import compose, threads, unlinked
from handlers.appeals.albums import albums


def router() -> Router:
    r = registered_only(Router(name="appeals"))
    unlinked.register(r)
    compose.register(r)
    threads.register(r)
    r.shutdown.register(albums.settled)  # albums being collected get their answer first
    return r
