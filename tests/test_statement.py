"""The payments statement always balances: start + charges + пени + льготы + субсидии +
recalculations − payments = end (льготы and субсидии negative).

Property tests over generated billing data, through the real queries and the real text.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.views import history as view
from handlers.views import plain
from storage.models import Charge, Payment, Service
from storage.periods import add_months
from storage.repo import billing
from tests import factories

KOPECK = Decimal("0.01")
amounts = st.integers(min_value=-2_000_000, max_value=5_000_000)  # kopecks
non_negative = st.integers(min_value=0, max_value=5_000_000)
KINDS = ("", "penalty", "benefit", "subsidy")


@st.composite
def billing_history(draw: st.DrawFn) -> dict:
    """Months of consistent billing data: each line's closing = opening + charged +
    recalculation − paid, each month opens with the previous closing, and each month's
    payments add up to what was allocated to its services."""
    services = draw(st.integers(1, 3))
    # the first line a service; the others may be пени, a льгота or a субсидия (lines of their own)
    kinds = ["", *(draw(st.sampled_from(KINDS)) for _ in range(services - 1))]
    months = draw(st.integers(1, 8))
    first = dt.date(draw(st.integers(2015, 2025)), draw(st.integers(1, 12)), 1)
    openings = [draw(amounts) for _ in range(services)]
    lines = []  # (month index, service index, opening, charged, recalculation, paid, closing)
    payments = []  # (month index, day, kopecks)
    for m in range(months):
        paid_total = 0
        for s in range(services):
            charged = draw(non_negative)
            if kinds[s] in ("benefit", "subsidy"):
                charged = -charged  # they reduce the bill
            recalculation = draw(st.integers(-300_000, 300_000)) if draw(st.booleans()) else 0
            paid = draw(non_negative)
            closing = openings[s] + charged + recalculation - paid
            lines.append((m, s, openings[s], charged, recalculation, paid, closing))
            openings[s] = closing
            paid_total += paid
        if paid_total:
            parts = draw(st.integers(1, 3))
            cuts = sorted(draw(st.integers(0, paid_total)) for _ in range(parts - 1))
            for low, high in zip([0, *cuts], [*cuts, paid_total], strict=True):
                if high > low:
                    payments.append((m, draw(st.integers(1, 28)), high - low))
    span_from = draw(st.integers(0, months - 1))
    span_to = draw(st.integers(span_from, months - 1))
    return {
        "services": services, "kinds": kinds, "months": months, "first": first, "lines": lines,
        "payments": payments, "span": (span_from, span_to),
        "widen": (draw(st.integers(0, 3)), draw(st.integers(0, 3))),
    }  # fmt: skip


def rub(kopecks: int) -> Decimal:
    return (Decimal(kopecks) / 100).quantize(KOPECK)


async def store(session, data: dict, *, break_chain: int = 0) -> int:
    account = await factories.account(session)
    services = []
    for i in range(data["services"]):
        service = Service(
            organization_id=account.organization_id, code=f"s{i}", name=f"Услуга {i}",
            kind=data.get("kinds", [""] * data["services"])[i],
        )  # fmt: skip
        session.add(service)
        services.append(service)
    await session.flush()
    for m, s, opening, charged, recalculation, paid, closing in data["lines"]:
        if break_chain and m > 0 and s == 0:
            opening += break_chain  # the billing moved the balance between months
            closing += break_chain
        session.add(
            Charge(
                account_id=account.id, period=add_months(data["first"], m),
                service_id=services[s].id, opening=rub(opening), charged=rub(charged),
                recalculation=rub(recalculation), paid=rub(paid), closing=rub(closing),
            )
        )  # fmt: skip
    for m, day, kopecks in data["payments"]:
        period = add_months(data["first"], m)
        session.add(
            Payment(
                account_id=account.id, period=period, paid_on=period.replace(day=day),
                amount=rub(kopecks), source="Сбербанк",
            )
        )  # fmt: skip
    await session.flush()
    return account.id


def parse_rub(text: str) -> Decimal:
    return Decimal(text.replace("\u00a0", "").replace("₽", "").replace("−", "-").replace(",", "."))


def figures(text: str) -> dict[str, Decimal]:
    """The statement's figures as the resident reads them, signed."""
    shown = plain(text)
    out = {}
    for key, pattern, sign in (
        ("start", r"Долг на начало периода: ([^\n]+)", 1),
        ("start", r"Переплата на начало периода: ([^\n]+)", -1),
        ("charged", r"Начислено: \+ ([^\n]+)", 1),
        ("penalties", r"Пени: \+ ([^\n]+)", 1),
        ("benefits", r"Льготы: − ([^\n]+)", -1),
        ("subsidies", r"Субсидии: − ([^\n]+)", -1),
        ("paid", r"Оплачено: − ([^\n]+)", 1),
        ("end", r"Долг на конец периода: ([^\n]+)", 1),
        ("end", r"Переплата на конец периода: ([^\n]+)", -1),
    ):
        match = re.search(pattern, shown)
        if match:
            out[key] = sign * parse_rub(match.group(1))
    recalculation = re.search(r"Перерасчёты: ([+−]) ([^\n]+)", shown)
    out["recalculation"] = parse_rub(recalculation.group(2)) * (
        -1 if recalculation.group(1) == "−" else 1
    )
    adjustment = re.search(r"Корректировка сальдо: ([+−]) ([^\n]+)", shown)
    out["adjustment"] = (
        parse_rub(adjustment.group(2)) * (-1 if adjustment.group(1) == "−" else 1)
        if adjustment
        else Decimal(0)
    )
    return out


PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(data=billing_history())
async def test_statement_balances_to_the_kopeck(session, data) -> None:
    account_id = await store(session, data)
    span_from, span_to = data["span"]
    before, after = data["widen"]
    first = add_months(data["first"], span_from - (before if span_from == 0 else 0))
    last = add_months(data["first"], span_to + (after if span_to == data["months"] - 1 else 0))
    statement = await billing.statement(session, account_id, first, last)
    assert statement is not None

    in_span = [line for line in data["lines"] if span_from <= line[0] <= span_to]
    first_month = [line for line in in_span if line[0] == span_from]
    last_month = [line for line in in_span if line[0] == span_to]
    assert statement.first == add_months(data["first"], span_from)
    assert statement.last == add_months(data["first"], span_to)
    assert statement.start == rub(sum(line[2] for line in first_month))
    assert statement.end == rub(sum(line[6] for line in last_month))
    kinds = data["kinds"]
    for field, kind in (
        ("charged", ""), ("penalties", "penalty"), ("benefits", "benefit"),
        ("subsidies", "subsidy"),
    ):  # fmt: skip
        expected = rub(sum(line[3] for line in in_span if kinds[line[1]] == kind))
        assert getattr(statement, field) == expected, field
    assert statement.benefits <= 0 and statement.subsidies <= 0
    assert statement.recalculation == rub(sum(line[4] for line in in_span))
    assert statement.paid == rub(sum(line[5] for line in in_span))
    # the identity, from the data model alone: no adjustment is needed
    assert statement.adjustment == 0
    extras = statement.penalties + statement.benefits + statement.subsidies
    assert (
        statement.start + statement.charged + extras + statement.recalculation - statement.paid
        == statement.end
    )
    # the payments received are listed and add up to what was paid
    expected_payments = [p for p in data["payments"] if span_from <= p[0] <= span_to]
    assert len(statement.payments) == len(expected_payments)
    assert statement.received == statement.paid

    # and the resident reads the same balance in the message
    shown = figures(view.statement_text("123", statement))
    assert shown["start"] == statement.start and shown["end"] == statement.end
    assert shown["adjustment"] == 0
    shown_extras = sum(shown.get(k, Decimal(0)) for k in ("penalties", "benefits", "subsidies"))
    assert shown_extras == extras  # each shown on its own line when there is one
    assert (
        shown["start"] + shown["charged"] + shown_extras + shown["recalculation"] - shown["paid"]
        == shown["end"]
    )
    assert "Корректировка" not in view.statement_text("123", statement)
    await session.rollback()


@PROPERTY
@given(data=billing_history(), shift=st.integers(-100_000, 100_000).filter(bool))
async def test_statement_balances_even_when_the_billing_moved_money_between_months(
    session, data, shift
) -> None:
    """Inconsistent data (a month that does not open with the previous closing) still gives a
    balanced statement: the difference is shown as its own line, never hidden."""
    account_id = await store(session, data, break_chain=shift)
    first = data["first"]
    last = add_months(first, data["months"] - 1)
    statement = await billing.statement(session, account_id, first, last)
    assert statement is not None
    assert (
        statement.start
        + statement.charged
        + statement.penalties
        + statement.benefits
        + statement.subsidies
        + statement.recalculation
        - statement.paid
        + statement.adjustment
        == statement.end
    )
    expected = rub(shift) if data["months"] > 1 else Decimal(0)
    assert statement.adjustment == expected
    text = view.statement_text("123", statement)
    shown = figures(text)
    assert ("Корректировка сальдо" in text) == (expected != 0)
    shown_extras = sum(shown.get(k, Decimal(0)) for k in ("penalties", "benefits", "subsidies"))
    assert (
        shown["start"] + shown["charged"] + shown_extras + shown["recalculation"] - shown["paid"]
        + shown["adjustment"]
        == shown["end"]
    )  # fmt: skip
    await session.rollback()


async def test_span_without_charges_has_no_statement(session) -> None:
    account = await factories.account(session)
    assert (
        await billing.statement(session, account.id, dt.date(2020, 1, 1), dt.date(2020, 12, 1))
        is None
    )
