"""The account statement («Выписка по лицевому счёту») as plain, picklable data: what its PDF
shows, and nothing that imports the database layer (a render worker unpickles it).

The figures come from `services.statements` (the chat's and the Mini App's statement), so the
document and the screens agree to the kopeck. Its table is generic on purpose: `columns` names
the per-month figures (keys of `texts.ru.statement_pdf.COLUMNS`) and each month carries its
amounts in that order, so a figure the statement gains (пени, льготы) is one more key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from receipts.content import Payee
from texts import fmt


@dataclass(frozen=True, slots=True)
class StatementMonth:
    period: dt.date
    amounts: tuple[Decimal, ...]  # aligned with StatementDocument.columns


@dataclass(frozen=True, slots=True)
class StatementPayment:
    paid_on: dt.date
    period: dt.date
    amount: Decimal
    source: str


@dataclass(frozen=True, slots=True)
class StatementDocument:
    account_number: str
    holder: str
    address: str
    payee: Payee
    first: dt.date  # the first and the last month with charges in the chosen span
    last: dt.date
    columns: tuple[str, ...]
    months: tuple[StatementMonth, ...]  # oldest first
    totals: tuple[Decimal, ...]  # the span's row: opening of the first, sums, closing of the last
    end: Decimal  # the balance after the span: > 0 debt, < 0 overpayment
    adjustment: Decimal  # what the billing moved between months by other means (usually 0)
    payments: tuple[StatementPayment, ...]
    made_on: dt.date


def span_name(first: dt.date, last: dt.date) -> str:
    """`декабрь 2019 — март 2020`, or the one month."""
    if first == last:
        return fmt.month(first)
    return f"{fmt.month(first)} — {fmt.month(last)}"


def statement_pdf(document: StatementDocument) -> bytes:
    """`receipts.statement_pdf.render_statement`, imported when first called: what the bot hands
    to the render pool, so that the bot process itself never loads fpdf (its workers render)."""
    from receipts.statement_pdf import render_statement

    return render_statement(document)
