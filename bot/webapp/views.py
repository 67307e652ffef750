"""The API's JSON: the same figures as the chat's screens, money to the kopeck.

Money is an object `{"value": "2383.29", "text": "2 383,29"}`: the exact decimal for programs and
the Russian display form (non-breaking thousands space, decimal comma) for the page. Periods are
`YYYY-MM`; each carries its Russian name for headings.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bot.config import Settings
from receipts.data import ReceiptData
from services.payments import Due
from services.statements import ChargesChart, ConsumptionChart
from storage.models import Account
from storage.periods import format_period
from storage.repo.billing import Balance, ChargeGroup, ChargeLine, MonthCharges, Statement, Totals
from texts import fmt
from texts.ru import history as th
from texts.ru import moneylines as tm
from texts.ru.readings import meter_name

CENT = Decimal("0.01")
Json = dict[str, Any]


def money(value: Decimal) -> Json:
    return {"value": str(value.quantize(CENT)), "text": fmt.money(value)}


def number(value: Decimal, text: str) -> Json:
    return {"value": str(value), "text": text}


def period(value: dt.date | None) -> Json | None:
    if value is None:
        return None
    return {"value": format_period(value), "text": fmt.month(value)}


def balance(value: Balance | None) -> Json | None:
    if value is None:
        return None
    return {"period": period(value.period), "closing": money(value.closing)}


def account(item: Account, found: Balance | None) -> Json:
    apartment = item.apartment
    return {
        "id": item.id,
        "number": item.number,
        "address": fmt.address(apartment.house.address, apartment.number),
        "organization": item.organization.name,
        "closed": bool(item.closed),
        "balance": balance(found),
    }


def totals(value: Totals | ChargeLine) -> Json:
    out = {
        "opening": money(value.opening),
        "charged": money(value.charged),
        "recalculation": money(value.recalculation),
        "paid": money(value.paid),
        "closing": money(value.closing),
    }
    if isinstance(value, Totals):  # `charged` is the services'; these are apart
        out["penalties"] = money(value.penalties)
        out["benefits"] = money(value.benefits)  # negative
        out["subsidies"] = money(value.subsidies)  # negative
    return out


def recalc(value: ChargeLine) -> Json | None:
    """A recalculation's reason and the months it corrects, when the billing gave them."""
    if not value.recalculation or not (value.recalc_reason or value.recalc_from):
        return None
    months = None
    if value.recalc_from is not None:
        last = value.recalc_to or value.recalc_from
        months = {
            "first": format_period(value.recalc_from),
            "last": format_period(last),
            "text": tm.span(value.recalc_from, last),
        }
    return {"reason": value.recalc_reason, "period": months}


def line(value: ChargeLine) -> Json:
    return {
        "service": value.service,
        "kind": value.kind or "service",  # penalty, benefit, subsidy: a line of its own
        "label": tm.line_label(value.kind, value.service),
        "unit": fmt.unit(value.unit),
        "common": value.is_common,  # ОДН
        "recalculated": value.recalculation != 0,
        "recalc": recalc(value),
        "tariff": number(value.tariff, fmt.tariff(value.tariff)),
        "volume": number(value.volume, fmt.volume(value.volume)),
        **totals(value),
    }


def group(value: ChargeGroup) -> Json:
    return {
        "name": value.name,
        "lines": [line(x) for x in value.lines],
        "totals": totals(value.totals),
    }


def month(account_id: int, value: MonthCharges) -> Json:
    return {
        "account_id": account_id,
        "period": period(value.period),
        "previous": period(value.previous),
        "next": period(value.next),
        "groups": [group(g) for g in value.groups],
        "extras": [line(x) for x in value.extras],  # пени, льготы, субсидии
        "totals": totals(value.totals),
        "to_pay": money(max(value.totals.closing, Decimal(0))),
    }


def statement(account_id: int, value: Statement) -> Json:
    return {
        "account_id": account_id,
        "first": period(value.first),
        "last": period(value.last),
        "start": money(value.start),
        "charged": money(value.charged),
        "penalties": money(value.penalties),
        "benefits": money(value.benefits),
        "subsidies": money(value.subsidies),
        "recalculation": money(value.recalculation),
        "paid": money(value.paid),
        "adjustment": money(value.adjustment),
        "end": money(value.end),
        "received": money(value.received),
        "payments": [
            {
                "date": {"value": p.paid_on.isoformat(), "text": fmt.day(p.paid_on)},
                "period": period(p.period),
                "amount": money(p.amount),
            }
            for p in value.payments
        ],
    }


def pay(settings: Settings, due: Due) -> Json:
    """How this bot takes payments ("invoice": a card payment in Telegram; "chat": the chat's
    «💳 Оплатить» screen with the QR) and what is due."""
    return {
        "mode": "invoice" if settings.payments_enabled else "chat",
        "due": money(due.amount),
        "pending": money(due.pending),
        "period": period(due.period),
        "min": money(settings.payments_min_rub),
        "max": money(settings.payments_max_rub),
    }


def receipts(account_id: int, periods: list[dt.date], pay: Json | None = None) -> Json:
    return {"account_id": account_id, "periods": [period(p) for p in periods], "pay": pay}


def receipt_summary(value: ReceiptData) -> Json:
    return {"period": period(value.period), "to_pay": money(value.to_pay)}


def charges_chart(account_id: int, value: ChargesChart | None) -> Json:
    if value is None:
        return {"account_id": account_id, "periods": [], "series": []}
    return {
        "account_id": account_id,
        "periods": [period(p) for p in value.periods],
        "series": [
            {"name": name or th.CHART_NO_GROUP, "unit": "₽", "values": [money(v) for v in values]}
            for name, values in value.groups
        ],
    }


def consumption_chart(account_id: int, value: ConsumptionChart | None) -> Json:
    if value is None:
        return {"account_id": account_id, "periods": [], "series": []}
    series = []
    for meter, values in value.meters:
        unit = th.RESOURCES.get(meter.resource, ("", ""))[1]
        series.append(
            {
                "name": f"{meter_name(meter.resource, meter.zone)} № {meter.serial}",
                "unit": unit,
                "values": [None if v is None else number(v, fmt.volume(v)) for v in values],
            }
        )
    return {
        "account_id": account_id,
        "periods": [period(p) for p in value.periods],
        "series": series,
    }
