"""One router module per feature. `get_routers` gives them in the order they must match."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    accounts,
    appeals,
    card,
    common,
    history,
    operators,
    readings,
    receipts,
)
from handlers.residents import profile, registration


def get_routers() -> list[Router]:
    """Fresh routers (a router can be attached to one dispatcher only), most specific first:
    the operators' chat, registration and /start, commands, the features, then readings typed as
    plain text, then the fallback."""
    return [
        operators.router(),
        registration.router(),
        common.router(),
        accounts.router(),
        profile.router(),
        card.router(),
        history.router(),
        readings.router(),
        receipts.router(),
        appeals.router(),
        readings.free_text_router(),
        common.fallback_router(),
    ]
