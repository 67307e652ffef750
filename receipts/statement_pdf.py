"""The account statement PDF («Выписка по лицевому счёту»): the organization's details, the
payer, one table of the chosen months (opening balance, charges, recalculations, payments,
closing balance) with the span's totals, and the payments received.

Drawn with the receipt's page and helpers (`receipts.pdf`): the same fonts and look. Unlike the
receipt it may run over several pages (up to `services.statements.MAX_SPAN_MONTHS` months and
their payments); the table's header repeats on each page. No aiogram or SQLAlchemy imports:
this runs in the render pool's worker processes.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from receipts.pdf import (
    CONTENT_W,
    HEADER_GRAY,
    MARGIN,
    PAGE_H,
    RECEIPT_CHARSET,
    Page,
    fit,
    payee_lines,
)
from receipts.statement_content import StatementDocument, span_name
from texts import fmt
from texts.ru import receipts as tr
from texts.ru import statement_pdf as t

ROW_H = 5.0
HEADER_H = 8.0
MONTH_W = 34.0
PAYMENT_WIDTHS = (30.0, 36.0, 84.0, 40.0)
BOTTOM = PAGE_H - MARGIN


def _needs_full_font(document: StatementDocument) -> bool:
    payee = document.payee
    values: Iterable[str] = [
        document.account_number,
        document.holder,
        document.address,
        *(getattr(payee, name) for name in payee.__slots__),
        *(payment.source for payment in document.payments),
    ]
    return any(ord(char) not in RECEIPT_CHARSET for value in values for char in value)


def render_statement(document: StatementDocument) -> bytes:
    """The statement as PDF bytes. A module-level function of picklable data: runs in the pool."""
    pdf = Page(full_fonts=_needs_full_font(document))
    pdf.set_title(t.PDF_TITLE.format(number=document.account_number))
    _header(pdf, document)
    _parties(pdf, document)
    _months(pdf, document)
    _balance(pdf, document)
    _payments(pdf, document)
    pdf.font(7)  # closes a bold state still open
    return bytes(pdf.output())


def _line(
    pdf: Page, text: str, height: float = 4.0, *, size: float = 8, bold: bool = False
) -> None:
    pdf.font(size, bold=bold)
    pdf.set_x(MARGIN)
    pdf.say(CONTENT_W, height, fit(pdf, text, CONTENT_W))
    pdf.set_xy(MARGIN, pdf.get_y() + height)


def _section(pdf: Page, title: str) -> None:
    pdf.ln(2)
    pdf.font(8, bold=True)
    pdf.set_x(MARGIN)
    pdf.say(CONTENT_W, 5, title, border="B")
    pdf.ln(6)


def _header(pdf: Page, document: StatementDocument) -> None:
    pdf.set_xy(MARGIN, MARGIN)
    _line(pdf, t.PDF_TITLE.format(number=document.account_number), 7, size=13, bold=True)
    _line(pdf, t.PDF_SPAN.format(span=span_name(document.first, document.last)), 6, size=11)
    _line(pdf, t.PDF_MADE_ON.format(day=fmt.day(document.made_on)), 5, size=8)


def _parties(pdf: Page, document: StatementDocument) -> None:
    payee = document.payee
    _section(pdf, t.PDF_ORGANIZATION)
    _line(pdf, payee.name, 4.5, size=9, bold=True)
    for line in payee_lines(payee, bank_in_one_line=True):
        _line(pdf, line)
    _section(pdf, tr.PDF_PAYER)
    for label, value in (
        (t.PDF_ACCOUNT, document.account_number),
        (t.PDF_HOLDER, document.holder),
        (t.PDF_ADDRESS, document.address),
    ):
        pdf.font(8)
        pdf.set_x(MARGIN)
        pdf.say(28, 4.5, label)
        pdf.font(8, bold=True)
        pdf.say(CONTENT_W - 28, 4.5, fit(pdf, value, CONTENT_W - 28))
        pdf.set_xy(MARGIN, pdf.get_y() + 4.5)


def _room(pdf: Page, height: float) -> bool:
    return pdf.get_y() + height <= BOTTOM


def _row(
    pdf: Page,
    values: tuple[str, ...],
    widths: tuple[float, ...],
    aligns: str,
    height: float = ROW_H,
    *,
    fill: int | None = None,
) -> None:
    """One table row with its rules, each column aligned by its letter in `aligns` (L, C, R)."""
    y = pdf.get_y()
    if fill is not None:
        pdf.boxes([(MARGIN, y, sum(widths), height)], gray=fill)
    x = MARGIN
    cells = []
    for value, width, align in zip(values, widths, aligns, strict=True):
        pdf.put(x, y, width, height, value, align)
        cells.append((x, y, width, height))
        x += width
    pdf.boxes(cells)
    pdf.set_xy(MARGIN, y + height)


def _table_header(pdf: Page, labels: tuple[str, ...], widths: tuple[float, ...]) -> None:
    pdf.font(6.5, bold=True)
    _row(pdf, labels, widths, "C" * len(labels), HEADER_H, fill=HEADER_GRAY)
    pdf.font(7.5)


def _rows(
    pdf: Page,
    rows: Iterable[tuple[str, ...]],
    labels: tuple[str, ...],
    widths: tuple[float, ...],
    aligns: str,
) -> None:
    """Rows under a header that repeats on every new page."""
    if not _room(pdf, HEADER_H + ROW_H):
        pdf.add_page()
    _table_header(pdf, labels, widths)
    for values in rows:
        if not _room(pdf, ROW_H):
            pdf.add_page()
            _table_header(pdf, labels, widths)
        _row(pdf, values, widths, aligns)


def _months(pdf: Page, document: StatementDocument) -> None:
    _section(pdf, t.PDF_TABLE)
    width = (CONTENT_W - MONTH_W) / len(document.columns)
    widths = (MONTH_W, *(width for _ in document.columns))
    labels = (t.PDF_MONTH, *(t.COLUMNS.get(key, key) for key in document.columns))
    aligns = "L" + "R" * len(document.columns)
    rows = (
        (fmt.month(month.period), *_amounts(document.columns, month.amounts))
        for month in document.months
    )
    _rows(pdf, rows, labels, widths, aligns)
    if not _room(pdf, ROW_H):
        pdf.add_page()
    pdf.font(7.5, bold=True)
    totals = (t.PDF_TOTAL, *_amounts(document.columns, document.totals))
    _row(pdf, totals, widths, aligns, fill=HEADER_GRAY)
    pdf.font(7.5)


def _amounts(columns: tuple[str, ...], amounts: tuple[Decimal, ...]) -> tuple[str, ...]:
    """A recalculation of nothing is a dash, as on the receipt; balances and sums show 0,00."""
    return tuple(
        fmt.money_or_dash(value) if key == "recalculation" else fmt.money(value)
        for key, value in zip(columns, amounts, strict=True)
    )


def _balance(pdf: Page, document: StatementDocument) -> None:
    if not _room(pdf, 20):
        pdf.add_page()
    pdf.ln(1)
    notes = [t.PDF_NOTE_SIGN]
    if document.adjustment:
        notes.append(t.PDF_ADJUSTMENT.format(amount=fmt.money(document.adjustment)))
    _line(pdf, " ".join(notes), 4, size=7)
    end = document.end
    if end > 0:
        balance = t.PDF_END_DEBT.format(amount=fmt.rub(end))
    elif end < 0:
        balance = t.PDF_END_OVERPAYMENT.format(amount=fmt.rub(-end))
    else:
        balance = t.PDF_END_SETTLED
    pdf.ln(1)
    _line(pdf, balance, 6, size=11, bold=True)


def _payments(pdf: Page, document: StatementDocument) -> None:
    if not _room(pdf, 20):
        pdf.add_page()
    _section(pdf, t.PDF_PAYMENTS)
    if not document.payments:
        _line(pdf, t.PDF_NO_PAYMENTS, 4.5)
        return
    rows = (
        (
            fmt.day(payment.paid_on),
            fmt.money(payment.amount),
            fit(pdf, payment.source, PAYMENT_WIDTHS[2]),
            fmt.month(payment.period),
        )
        for payment in document.payments
    )
    _rows(pdf, rows, t.PDF_PAYMENT_COLUMNS, PAYMENT_WIDTHS, "LRLL")
