"""Texts of the account card, the accounts list and the month's charges (pure functions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from storage.models import Account
from storage.periods import pay_by
from storage.repo.billing import Balance, ChargeLine, MonthCharges, Totals
from texts import fmt
from texts.fmt import esc
from texts.ru import card as t
from texts.ru import moneylines as tm
from texts.ru import payments as tp

ZERO = Decimal(0)

# Telegram wraps longer monospace lines on a phone and the columns fall apart.
MONO_WIDTH = 36
MIN_MONO_WIDTH = 26
# Telegram's limit is 4096 characters of text; tags count here, so this is conservative.
MESSAGE_LIMIT = 4000


def address(account: Account) -> str:
    apartment = account.apartment
    return fmt.address(apartment.house.address, apartment.number)


def card_text(account: Account, balance: Balance | None, pending: Decimal = ZERO) -> str:
    """The card; `pending`: paid through the bot, not booked by the billing yet."""
    organization = account.organization
    lines = [t.CARD_TITLE.format(number=esc(account.number))]
    if account.holder_name:
        lines.append(t.CARD_HOLDER.format(holder=esc(account.holder_name)))
    lines.append(t.CARD_ORGANIZATION.format(organization=esc(organization.name)))
    if organization.branch:
        lines.append(t.CARD_BRANCH.format(branch=esc(organization.branch)))
    lines.append("")
    if balance is None:
        lines.append(t.CARD_NO_CHARGES)
    else:
        if balance.closing > 0:
            lines.append(t.CARD_DEBT.format(amount=fmt.rub(balance.closing)))
            due = pay_by(balance.period, organization.due_day)
            lines.append(t.CARD_PAY_BY.format(day=fmt.day(due)))
        elif balance.closing < 0:
            lines.append(t.CARD_OVERPAYMENT.format(amount=fmt.rub(-balance.closing)))
        else:
            lines.append(t.CARD_NO_DEBT)
        lines.append(t.CARD_AS_OF.format(month=fmt.month(balance.period)))
    if pending:
        lines.append(tp.PAY_PENDING.format(amount=fmt.rub(pending)))
    lines.append("")
    lines.append(t.CARD_ADDRESS.format(address=esc(address(account))))
    if account.apartment.area is not None:
        lines.append(t.CARD_AREA.format(area=fmt.money(account.apartment.area)))
    if account.apartment.ownership_type:
        lines.append(
            t.CARD_TYPE.format(kind=esc(fmt.lower_first(account.apartment.ownership_type)))
        )
    if account.closed:
        lines.append(t.CARD_CLOSED)
    return "\n".join(lines)


def balance_phrase(balance: Balance | None) -> str:
    if balance is None:
        return t.LIST_NO_CHARGES
    if balance.closing > 0:
        return t.LIST_DEBT.format(amount=fmt.rub(balance.closing))
    if balance.closing < 0:
        return t.LIST_OVERPAYMENT.format(amount=fmt.rub(-balance.closing))
    return t.LIST_NO_DEBT


def list_text(accounts: Sequence[Account], balances: Mapping[int, Balance | None]) -> str:
    lines = [t.LIST_TITLE.format(count=fmt.count(len(accounts), *t.ACCOUNT_FORMS)), ""]
    for n, account in enumerate(accounts, 1):
        lines.append(
            t.LIST_ITEM.format(
                n=n,
                number=esc(account.number),
                address=esc(address(account)),
                balance=balance_phrase(balances.get(account.id)),
            )
        )
        lines.append("")
    lines.append(t.LIST_CHOOSE)
    return "\n".join(lines)


def list_button(account: Account) -> str:
    """A short label (buttons are narrow): the number and the apartment or the house."""
    apartment = account.apartment
    short = fmt.apartment(apartment.number) if apartment.number else apartment.house.address
    label = t.BTN_ACCOUNT.format(number=account.number, short_address=short)
    return label if len(label) <= 60 else label[:59] + "…"


# --- the month's charges -----------------------------------------------------------------------


def mono(rows: Sequence[tuple[str, str]], gap: int = 2) -> str:
    """Label-value rows in a <pre> block, values right-aligned at least `gap` spaces from their
    labels, no line over MONO_WIDTH."""
    width = max(MIN_MONO_WIDTH, *(len(label) + gap + len(value) for label, value in rows))
    width = min(width, MONO_WIDTH)
    out = []
    for label, value in rows:
        room = width - len(value) - gap
        if len(label) > room:
            label = label[: max(room - 1, 0)] + "…"
        out.append(f"{label}{' ' * (width - len(label) - len(value))}{value}")
    return "<pre>" + esc("\n".join(out)) + "</pre>"


def _amount_rows(totals: Totals | ChargeLine) -> list[tuple[str, str]]:
    rows = [
        (t.ROW_OPENING, fmt.money(totals.opening)),
        (t.ROW_CHARGED, fmt.money(totals.charged)),
    ]
    if isinstance(totals, Totals):  # пени, льготы, субсидии: each its own row, when there
        rows.extend((tm.KIND_TITLES[kind], fmt.money(amount)) for kind, amount in _extras(totals))
    rows += [
        (t.ROW_RECALCULATION, fmt.money_or_dash(totals.recalculation)),
        (t.ROW_PAID, fmt.money(totals.paid)),
        (t.ROW_TOTAL, fmt.money(totals.closing)),
    ]
    return rows


def _extras(totals: Totals) -> list[tuple[str, Decimal]]:
    sums = (
        ("penalty", totals.penalties), ("benefit", totals.benefits),
        ("subsidy", totals.subsidies),
    )  # fmt: skip
    return [(kind, amount) for kind, amount in sums if amount]


def recalc_note(line: ChargeLine) -> str | None:
    """«🔄 Перерасчёт за 01.2020: <reason> — ГВС (т/н), 141,24 ₽» when the billing said why or
    for which months (a recalculation it said nothing about is only marked)."""
    if not line.recalculation or not (line.recalc_reason or line.recalc_from):
        return None
    months = tm.span(line.recalc_from, line.recalc_to)
    return tm.RECALC_NOTE.format(
        span=tm.RECALC_SPAN.format(span=months) if months else "",
        reason=esc(line.recalc_reason or tm.RECALC_NO_REASON),
        service=tm.RECALC_SERVICE.format(
            service=esc(tm.line_label(line.kind, line.service)),
            amount=fmt.rub(line.recalculation),
        ),
    )


def _recalc_notes(month: MonthCharges) -> list[str]:
    return [note for line in month.lines if (note := recalc_note(line))]


def _marks(line: ChargeLine) -> str:
    return (t.MARK_COMMON if line.is_common else "") + (
        t.MARK_RECALCULATION if line.recalculation else ""
    )


def _tariff_line(line: ChargeLine) -> str | None:
    if not line.tariff and not line.volume:
        return None
    shown = fmt.unit(line.unit)
    unit = f" {shown}" if shown else ""
    per_unit = f"/{shown}" if shown else ""
    return t.TARIFF_LINE.format(
        tariff=fmt.tariff(line.tariff),
        per_unit=esc(per_unit),
        volume=fmt.volume(line.volume),
        unit=esc(unit),
    )


def _service_block(line: ChargeLine) -> str:
    parts = [t.SERVICE_TITLE.format(service=esc(line.service)) + _marks(line)]
    tariff = _tariff_line(line)
    if tariff:
        parts.append(tariff)
    note = recalc_note(line)
    if note:
        parts.append(f"<i>{note}</i>")
    parts.append(mono(_amount_rows(line)))
    return "\n".join(parts)


def _extras_block(month: MonthCharges, name: str) -> str | None:
    """Пени, льготы, субсидии: a line each (what the month added), apart from the services."""
    if not month.extras:
        return None
    rows = [
        (tm.line_label(line.kind, line.service), fmt.money(line.charged + line.recalculation))
        for line in month.extras
    ]
    notes = [f"<i>{note}</i>" for line in month.extras if (note := recalc_note(line))]
    return "\n".join([tm.EXTRAS_TITLE.format(month=name), mono(rows), *notes])


def _legend(month: MonthCharges) -> list[str]:
    lines = [line for group in month.groups for line in group.lines]
    legend = []
    if any(line.recalculation for line in lines):
        legend.append(t.LEGEND_RECALCULATION)
    if any(line.is_common for line in lines):
        legend.append(t.LEGEND_COMMON)
    if any(line.kind in ("benefit", "subsidy") for line in month.extras):
        legend.append(tm.LEGEND_REDUCTIONS)
    return legend


def _balance_line(closing: Decimal, due: dt.date | None = None) -> str:
    if closing > 0 and due is not None:
        return t.SUMMARY_DUE_BY.format(day=fmt.day(due), amount=fmt.rub(closing))
    if closing > 0:
        return t.SUMMARY_DUE.format(amount=fmt.rub(closing))
    if closing < 0:
        return t.SUMMARY_OVERPAID.format(amount=fmt.rub(-closing))
    return t.SUMMARY_SETTLED


def _pay_by_line(month: MonthCharges, due_day: int | None) -> str | None:
    """«К оплате до 10.04.2020» when something is due and the organization's due day is known."""
    if due_day is None or month.totals.closing <= 0:
        return None
    return t.MONTH_PAY_BY.format(day=fmt.day(pay_by(month.period, due_day)))


def month_summary_text(number: str, month: MonthCharges, due_day: int | None = None) -> str:
    """The month on one screen: one line per service (what the month charged, recalculations
    included), a group line only over a group of several, then the total, payments and what is
    due. 12 services take at most 25 lines; `month_text` is the detail behind «Подробно»."""
    rows = [(t.SUMMARY_OPENING, fmt.money(month.totals.opening))]
    for group in month.groups:
        several = len(group.lines) > 1
        if several:
            rows.append((group.name, fmt.money(_for_month(group.totals))))
        for line in group.lines:
            label = t.SUMMARY_SERVICE.format(service=line.service) if several else line.service
            rows.append((label, fmt.money(_for_month(line))))
    for line in month.extras:  # пени, льготы, субсидии: never inside a service
        rows.append((tm.line_label(line.kind, line.service), fmt.money(_for_month(line))))
    rows.append((t.SUMMARY_CHARGED, fmt.money(_for_month(month.totals))))
    rows.append((t.SUMMARY_PAID, fmt.money(month.totals.paid)))
    head = t.MONTH_TITLE.format(month=fmt.month(month.period), number=esc(number))
    due = pay_by(month.period, due_day) if due_day is not None else None
    balance = _balance_line(month.totals.closing, due)
    notes = _recalc_notes(month)
    return "\n".join([head, mono(rows), balance, *notes, t.SUMMARY_DETAIL_HINT])


def _for_month(amounts: Totals | ChargeLine) -> Decimal:
    """What the month itself charged: the charge and any recalculation (and for a total, its
    пени, льготы and субсидии)."""
    if isinstance(amounts, Totals):
        return amounts.month
    return amounts.charged + amounts.recalculation


def month_text(number: str, month: MonthCharges, due_day: int | None = None) -> str:
    """The month's charges in detail, grouped as the billing groups them, readable on a phone;
    with the organization's `due_day`, the date the month's bill is due."""
    name = fmt.month(month.period)
    head = t.MONTH_TITLE.format(month=name, number=esc(number))
    several = len(month.groups) > 1
    blocks = [head]
    for group in month.groups:
        section = [t.GROUP_TITLE.format(group=esc(group.name), month=name)]
        section.extend(_service_block(line) for line in group.lines)
        if several:
            section.append(
                t.GROUP_TOTAL_TITLE.format(group=esc(group.name))
                + "\n"
                + mono(_amount_rows(group.totals))
            )
        blocks.append("\n\n".join(section))
    extras = _extras_block(month, name)
    if extras:
        blocks.append(extras)
    totals = t.MONTH_TOTAL_TITLE.format(month=name) + "\n" + mono(_amount_rows(month.totals))
    pay_by_line = _pay_by_line(month, due_day)
    if pay_by_line:  # its own paragraph: the totals' block stays label-value rows only
        totals += "\n\n" + pay_by_line
    blocks.append(totals)
    legend = _legend(month)
    tail = "\n".join([*legend, t.MONTH_PDF_HINT])
    blocks.append(tail)
    text = "\n\n".join(blocks)
    if len(text) <= MESSAGE_LIMIT:
        return text
    return _short_month_text(head, name, month, totals, tail)


def _short_month_text(head: str, name: str, month: MonthCharges, totals: str, tail: str) -> str:
    """When the full layout would not fit one message: each service's total only."""
    blocks = [head, t.MONTH_SHORTENED]
    for group in month.groups:
        lines = [t.GROUP_TITLE.format(group=esc(group.name), month=name)]
        lines.extend(
            t.MONTH_SHORT_LINE.format(
                service=esc(line.service), marks=_marks(line), total=fmt.money(line.closing)
            )
            for line in group.lines
        )
        blocks.append("\n".join(lines))
    if month.extras:  # пени, льготы, субсидии
        blocks.append(
            "\n".join(
                t.MONTH_SHORT_LINE.format(
                    service=esc(tm.line_label(line.kind, line.service)), marks=_marks(line),
                    total=fmt.money(line.charged + line.recalculation),
                )
                for line in month.extras
            )
        )  # fmt: skip
    notes = "\n".join(_recalc_notes(month))  # why each recalculation was made: kept when short
    if notes:
        blocks.append(notes)
    blocks.extend([totals, tail])
    text = "\n\n".join(blocks)
    if len(text) <= MESSAGE_LIMIT:
        return text
    return "\n\n".join(part for part in (head, notes, totals, tail) if part)


def no_month_text(period_name: str | None) -> str:
    """A month without charges (or a malformed one, when `period_name` is None)."""
    return t.NO_DATA_MONTH.format(month=period_name) if period_name else t.NO_DATA
