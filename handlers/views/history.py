"""Texts of the payments statement and the histories, and the charts' labels (pure functions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from receipts import charts
from services.statements import ChargesChart, ConsumptionChart
from storage.repo.billing import MeterSeries, MonthTotals, Page, PaymentRow, Statement
from texts import fmt
from texts.fmt import esc
from texts.ru import history as t
from texts.ru import moneylines as tm
from texts.ru import payments as tp

MAX_STATEMENT_PAYMENTS = 40


def span_name(first: dt.date, last: dt.date) -> str:
    if first == last:
        return t.SPAN_ONE.format(month=fmt.month(first))
    return t.SPAN_MANY.format(first=fmt.month(first), last=fmt.month(last))


def statement_menu_text(number: str) -> str:
    return t.STATEMENT_MENU.format(number=esc(number))


def _signed(value: Decimal) -> tuple[str, str]:
    return ("+" if value >= 0 else "−"), fmt.rub(abs(value))


def _source(source: str) -> str:
    return f" · {esc(source)}" if source else ""


def statement_text(number: str, statement: Statement, pending: Decimal | None = None) -> str:
    """The statement (billing figures); `pending`: paid through the bot, not booked yet (shown
    apart: the billing's figures add up on their own)."""
    s = statement
    lines = [
        t.STATEMENT_TITLE.format(number=esc(number), span=span_name(s.first, s.last)),
        "",
    ]
    if s.start >= 0:
        lines.append(t.STATEMENT_START_DEBT.format(amount=fmt.rub(s.start)))
    else:
        lines.append(t.STATEMENT_START_OVERPAYMENT.format(amount=fmt.rub(-s.start)))
    lines.append(t.STATEMENT_CHARGED.format(amount=fmt.rub(s.charged)))
    if s.penalties:
        lines.append(tm.STATEMENT_PENALTIES.format(amount=fmt.rub(s.penalties)))
    if s.benefits:  # negative: shown as what they take off
        lines.append(tm.STATEMENT_BENEFITS.format(amount=fmt.rub(-s.benefits)))
    if s.subsidies:
        lines.append(tm.STATEMENT_SUBSIDIES.format(amount=fmt.rub(-s.subsidies)))
    sign, amount = _signed(s.recalculation)
    lines.append(t.STATEMENT_RECALCULATION.format(sign=sign, amount=amount))
    lines.append(t.STATEMENT_PAID.format(amount=fmt.rub(s.paid)))
    if s.adjustment:
        sign, amount = _signed(s.adjustment)
        lines.append(t.STATEMENT_ADJUSTMENT.format(sign=sign, amount=amount))
    if s.end >= 0:
        lines.append(t.STATEMENT_END_DEBT.format(amount=fmt.rub(s.end)))
    else:
        lines.append(t.STATEMENT_END_OVERPAYMENT.format(amount=fmt.rub(-s.end)))
    lines.append("")
    if not s.payments:
        lines.append(t.STATEMENT_NO_PAYMENTS)
    else:
        lines.append(
            t.STATEMENT_PAYMENTS_TITLE.format(count=fmt.count(len(s.payments), *t.PAYMENT_FORMS))
        )
        shown = s.payments[-MAX_STATEMENT_PAYMENTS:]
        lines.extend(
            t.STATEMENT_PAYMENT.format(
                day=fmt.day(p.paid_on), amount=fmt.rub(p.amount), source=_source(p.source)
            )
            for p in shown
        )
        if len(s.payments) > len(shown):
            lines.append(t.STATEMENT_MORE_PAYMENTS.format(count=len(s.payments) - len(shown)))
    if s.received != s.paid:
        lines.append("")
        lines.append(
            t.STATEMENT_UNALLOCATED.format(received=fmt.rub(s.received), paid=fmt.rub(s.paid))
        )
    if pending:
        lines.append("")
        lines.append(tp.PAY_PENDING.format(amount=fmt.rub(pending)))
    return "\n".join(lines)


def history_menu_text(number: str) -> str:
    return t.HISTORY_MENU.format(number=esc(number))


def charges_history_text(number: str, page: Page[MonthTotals]) -> str:
    lines = [t.CHARGES_HISTORY_TITLE.format(number=esc(number)), ""]
    if not page.items:
        lines.append(t.CHARGES_HISTORY_EMPTY if page.page == 0 else t.PAGE_EMPTY)
        return "\n".join(lines)
    for month in page.items:
        totals = month.totals
        lines.append(
            t.CHARGES_HISTORY_LINE.format(
                month=fmt.month(month.period),
                closing=fmt.rub(totals.closing),
                charged=fmt.money(totals.charged),
                recalculation=fmt.money_or_dash(totals.recalculation),
                paid=fmt.money(totals.paid),
            )
        )
    lines.extend(["", t.CHARGES_HISTORY_HINT])
    return "\n".join(lines)


def payments_history_text(number: str, page: Page[PaymentRow]) -> str:
    lines = [t.PAYMENTS_HISTORY_TITLE.format(number=esc(number)), ""]
    if not page.items:
        lines.append(t.PAYMENTS_HISTORY_EMPTY if page.page == 0 else t.PAGE_EMPTY)
        return "\n".join(lines)
    lines.extend(
        t.PAYMENTS_HISTORY_LINE.format(
            day=fmt.day(p.paid_on),
            amount=fmt.rub(p.amount),
            source=_source(p.source),
            month=fmt.month(p.period),
        )
        for p in page.items
    )
    return "\n".join(lines)


def meter_label(series: MeterSeries) -> tuple[str, str]:
    """(label, unit) of a meter on the consumption chart."""
    resource, unit = t.RESOURCES.get(series.resource, (series.resource, ""))
    zone = f" ({t.ZONES.get(series.zone, series.zone)})" if series.zone else ""
    return t.METER_LABEL.format(resource=resource, zone=zone, serial=series.serial), unit


# --- charts ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChartPicture:
    """What to draw (`render(*args)` in the render pool gives the PNG) and how to send it."""

    render: Callable[..., bytes]
    args: tuple[Any, ...]
    caption: str
    filename: str


def charges_chart(number: str, data: ChargesChart) -> ChartPicture:
    series = [charts.BarSeries(name or t.CHART_NO_GROUP, values) for name, values in data.groups]
    labels = [fmt.month_short(p) for p in data.periods]
    caption = t.CHARGES_CHART_CAPTION.format(
        span=span_name(data.periods[0], data.periods[-1]), number=esc(number)
    )
    return ChartPicture(
        charts.stacked_bars, (t.CHARGES_CHART_TITLE, labels, series), caption, "charges.png"
    )


def consumption_chart(number: str, data: ConsumptionChart) -> ChartPicture:
    panels = []
    for meter, values in data.meters:
        label, unit = meter_label(meter)
        panels.append((charts.BarSeries(label, values), unit))
    labels = [fmt.month_short(p) for p in data.periods]
    caption = t.CONSUMPTION_CHART_CAPTION.format(
        span=span_name(data.periods[0], data.periods[-1]), number=esc(number)
    )
    return ChartPicture(
        charts.bar_panels, (t.CONSUMPTION_CHART_TITLE, labels, panels), caption, "consumption.png"
    )
