"""The Mini App's JSON API under /app/api/: a thin layer over the chat's services.

Every route runs behind `bot.webapp.auth.authenticate` (valid launch data of a registered
resident, within the rate). An account id the resident has not linked gets the same 404 as one
that does not exist; malformed ids and periods get 400 before any query.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiohttp import web

from bot.webapp import links, views
from bot.webapp.auth import RESIDENT_ID, SETTINGS, TELEGRAM_ID, Handler, error, session_of
from handlers.payments import invoice_fields, pay_screen
from receipts.data import ReceiptData, load_receipt, receipt_filename, receipt_periods
from receipts.pool import run_cpu
from receipts.render import receipt_pdf
from services import payments, statements
from services.billing_cache import BillingCache
from storage.models import Account
from storage.periods import int_to_period
from storage.repo.accounts import get_linked_account, linked_accounts

log = logging.getLogger("bot.webapp")

CACHE = web.AppKey("billing_cache", BillingCache)
BOT = web.AppKey("bot", Bot)  # absent when the app is served without a bot (some tests)
MAX_INT64 = 2**63 - 1
_ID = re.compile(r"[1-9][0-9]{0,18}")
_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})")
NO_STORE = {"Cache-Control": "no-store"}


class Refused(Exception):
    """A request the API answers with an error status and code only."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as refused:
        return error(refused.status, refused.code)
    except web.HTTPException:
        raise
    except Exception as failure:  # never a traceback (nor the data in its message) to anyone
        log.error("webapp %s failed: %s", request.match_info.route.name, type(failure).__name__)
        return error(500, "internal")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/accounts", accounts, name="accounts"),
        web.get("/accounts/{account_id}/month", month, name="month"),
        web.get("/accounts/{account_id}/statement", statement, name="statement"),
        web.get("/accounts/{account_id}/receipts", receipts, name="receipts"),
        web.get("/accounts/{account_id}/receipt", receipt, name="receipt"),
        web.post("/accounts/{account_id}/receipt_link", receipt_link, name="receipt_link"),
        web.post("/accounts/{account_id}/invoice", invoice, name="invoice"),
        web.post("/accounts/{account_id}/pay_in_chat", pay_in_chat, name="pay_in_chat"),
        web.get("/accounts/{account_id}/charts/charges", charges_chart, name="charges_chart"),
        web.get("/accounts/{account_id}/charts/consumption", consumption_chart, name="consumption"),
    ]


# --- parsing: 400 before any query ----------------------------------------------------------------


def parse_id(text: str) -> int:
    if not _ID.fullmatch(text) or int(text) > MAX_INT64:
        raise Refused(400, "bad_account_id")
    return int(text)


def parse_period(text: str | None, *, required: bool = True) -> dt.date | None:
    if text is None and not required:
        return None
    match = _PERIOD.fullmatch(text or "")
    if match is None:
        raise Refused(400, "bad_period")
    try:
        return int_to_period(int(match.group(1)) * 100 + int(match.group(2)))
    except ValueError:
        raise Refused(400, "bad_period") from None


def parse_months(text: str | None) -> int:
    if text is None:
        return statements.CHART_MONTHS
    if text not in {str(n) for n in statements.CHART_SPANS}:
        raise Refused(400, "bad_months")
    return int(text)


async def account_of(request: web.Request) -> Account:
    """The account the path names, if this resident has linked it (else 404, as for none)."""
    account_id = parse_id(request.match_info["account_id"])
    account = await get_linked_account(session_of(request), request[RESIDENT_ID], account_id)
    if account is None:
        raise Refused(404, "not_found")
    return account


def reply(data: views.Json) -> web.Response:
    return web.json_response(data, headers=NO_STORE)


# --- routes ---------------------------------------------------------------------------------------


async def accounts(request: web.Request) -> web.Response:
    session = session_of(request)
    items = await linked_accounts(session, request[RESIDENT_ID])
    found = await statements.balances(session, request.app[CACHE], [a.id for a in items])
    return reply({"accounts": [views.account(a, found.get(a.id)) for a in items]})


async def month(request: web.Request) -> web.Response:
    period = parse_period(request.query.get("period"), required=False)
    account = await account_of(request)
    charges = await statements.month(session_of(request), request.app[CACHE], account.id, period)
    if charges is None:
        raise Refused(404, "no_charges")
    return reply(views.month(account.id, charges))


async def statement(request: web.Request) -> web.Response:
    first = parse_period(request.query.get("from"))
    last = parse_period(request.query.get("to"))
    assert first is not None and last is not None
    if first > last or statements.MAX_SPAN_MONTHS < (
        (last.year - first.year) * 12 + last.month - first.month + 1
    ):
        raise Refused(400, "bad_range")
    account = await account_of(request)
    found = await statements.statement_between(session_of(request), account.id, first, last)
    if found is None:
        raise Refused(404, "no_charges")
    return reply(views.statement(account.id, found))


async def receipts(request: web.Request) -> web.Response:
    account = await account_of(request)
    session, settings = session_of(request), request.app[SETTINGS]
    periods = await receipt_periods(session, account.id)
    due = await payments.due(session, settings, account.id)
    return reply(views.receipts(account.id, periods, views.pay(settings, due)))


async def receipt(request: web.Request) -> web.Response:
    """The receipt's PDF: the very bytes the chat sends as a document."""
    period = parse_period(request.query.get("period"))
    assert period is not None
    account = await account_of(request)
    data = await load_receipt(session_of(request), account.id, period)
    if data is None:
        raise Refused(404, "no_receipt")
    return await pdf_response(data)


async def pdf_response(data: ReceiptData) -> web.Response:
    """The receipt's PDF, rendered off the loop exactly as the chat's document is."""
    pdf = await run_cpu(receipt_pdf, data)
    name = receipt_filename(data.account_number, data.period)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            **NO_STORE,
            "Content-Disposition": f'inline; filename="{name}"',
            "Referrer-Policy": "no-referrer",
        },
    )


async def charges_chart(request: web.Request) -> web.Response:
    months = parse_months(request.query.get("months"))
    account = await account_of(request)
    chart = await statements.charges_chart(session_of(request), account.id, months)
    return reply(views.charges_chart(account.id, chart))


async def consumption_chart(request: web.Request) -> web.Response:
    months = parse_months(request.query.get("months"))
    account = await account_of(request)
    chart = await statements.consumption_chart(session_of(request), account.id, months)
    return reply(views.consumption_chart(account.id, chart))


async def receipt_link(request: web.Request) -> web.Response:
    """A link to the receipt's PDF that works without the launch data for a few minutes (see
    `bot.webapp.links`), relative to the page: `files/<token>`."""
    period = parse_period(request.query.get("period"))
    assert period is not None
    account = await account_of(request)
    if period not in await receipt_periods(session_of(request), account.id):
        raise Refused(404, "no_receipt")
    settings = request.app[SETTINGS]
    assert settings.bot_token is not None
    now = dt.datetime.now(dt.UTC)
    token = links.issue(
        settings.bot_token.get_secret_value(), request[RESIDENT_ID], account.id, period, now
    )
    return reply(
        {
            "url": f"files/{token}",
            "file_name": receipt_filename(account.number, period),
            "expires_in": int(links.LIFETIME.total_seconds()),
        }
    )


async def requested_amount(request: web.Request) -> Decimal | None:
    """The amount of a pay request's JSON body (`{"amount": "1500.50"}`); None when not given."""
    try:
        body = await request.json() if request.can_read_body else {}
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "bad_request") from None
    if not isinstance(body, dict):
        raise Refused(400, "bad_request")
    given = body.get("amount")
    if given is None:
        return None
    amount = payments.parse_amount(given) if isinstance(given, str) else None
    if amount is None:
        raise Refused(400, "bad_amount")
    return amount


async def invoice(request: web.Request) -> web.Response:
    """An invoice link for `Telegram.WebApp.openInvoice`: the chat's invoice (signed payload,
    limits), for the amount given or the amount due. 409 when the bot takes no card payments."""
    settings = request.app[SETTINGS]
    account = await account_of(request)
    bot = request.app.get(BOT)
    if not settings.payments_enabled or bot is None:
        raise Refused(409, "payments_off")
    amount = await requested_amount(request)
    session = session_of(request)
    if amount is None:
        amount = (await payments.due(session, settings, account.id)).amount
    if not payments.within_limits(settings, amount):
        raise Refused(400, "amount_out_of_limits")
    found = await payments.invoice(session, settings, account, amount)
    url = await bot.create_invoice_link(**invoice_fields(settings, found))
    return reply({"url": url, "amount": views.money(amount)})


async def pay_in_chat(request: web.Request) -> web.Response:
    """Paying handed back to the chat: the bot sends the account's «💳 Оплатить» screen (the QR,
    and the amounts when card payments are on) to the resident's chat; the page then closes."""
    account = await account_of(request)
    bot = request.app.get(BOT)
    if bot is None:
        raise Refused(503, "unavailable")
    text, markup = await pay_screen(session_of(request), request.app[SETTINGS], account)
    try:
        await bot.send_message(request[TELEGRAM_ID], text, reply_markup=markup)
    except TelegramAPIError as failure:  # blocked the bot, flood limits: the page says so
        log.warning("webapp: the pay screen was not sent: %s", type(failure).__name__)
        raise Refused(502, "not_sent") from None
    return reply({"sent": True})
