"""One router module per feature. `get_routers` gives them in the order they must match."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiogram import Router


def get_routers() -> list[Router]:
    """Fresh routers (a router can be attached to one dispatcher only), most specific first:
    the operators' chat, registration and /start, commands, the features, then readings typed as
    plain text, then the fallback.

    The feature modules are imported here, not at the top: a command-line tool that uses a
    handlers subpackage (the views) does not load aiogram and every handler with it."""
    from handlers import (
        accounts,
        appeals,
        card,
        common,
        contacts,
        history,
        operators,
        payments,
        readings,
        receipts,
        statement_pdf,
    )
    from handlers.residents import household, profile, registration

    return [
        operators.router(),
        payments.checkout_router(),
        registration.router(),
        common.router(),
        accounts.router(),
        profile.router(),
        household.router(),
        card.router(),
        payments.router(),
        history.router(),
        statement_pdf.router(),
        readings.router(),
        receipts.router(),
        appeals.router(),
        contacts.router(),
        readings.free_text_router(),
        common.fallback_router(),
    ]
