"""GET /app/files/<token>: a receipt's PDF through a short-lived signed link (`bot.webapp.links`).

No launch data here: Telegram's `downloadFile` and the browser `openLink` opens fetch the URL
themselves. The token is the proof; the resident must still have the account linked. A forged
or malformed token gets 404, an expired one 401; neither says anything more.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from bot.webapp import links
from bot.webapp.api import Refused, pdf_response
from bot.webapp.auth import BUCKETS, SESSIONS, SETTINGS
from receipts.data import load_receipt
from storage.repo.accounts import get_linked_account


def routes() -> list[web.RouteDef]:
    return [web.get("/{token}", receipt_file, name="receipt_file")]


async def receipt_file(request: web.Request) -> web.Response:
    """The same bytes as the chat's document and `GET /app/api/accounts/{id}/receipt`."""
    settings = request.app[SETTINGS]
    assert settings.bot_token is not None
    try:
        grant = links.read(
            settings.bot_token.get_secret_value(),
            request.match_info["token"],
            dt.datetime.now(dt.UTC),
        )
    except links.Expired:
        raise Refused(401, "link_expired") from None
    except links.Forged:
        raise Refused(404, "not_found") from None
    allowed, _ = await request.app[BUCKETS].take(grant.resident_id)  # type: ignore[attr-defined]
    if not allowed:
        raise Refused(429, "too_many_requests")
    async with request.app[SESSIONS]() as session:
        account = await get_linked_account(session, grant.resident_id, grant.account_id)
        if account is None:
            raise Refused(404, "not_found")
        data = await load_receipt(session, account.id, grant.period)
    if data is None:
        raise Refused(404, "not_found")
    return await pdf_response(data)
