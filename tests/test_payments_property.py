"""Whatever mix of payments made through the bot and payments the billing imported, the
statement still balances to the kopeck and no payment is counted twice: each bot payment is either
still pending or booked by exactly one billing payment, never both."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import delete

from bot.config import Settings
from services import payments
from services.payments import Booked, Made
from storage.models import BotPayment, Payment
from storage.repo import billing
from tests import factories

PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DAY0 = dt.date(2020, 4, 1)
MARCH, FEBRUARY = dt.date(2020, 3, 1), dt.date(2020, 2, 1)
WINDOW = 7

# (kopecks: odd, so no unrelated billing payment has the same amount; day; how the billing books
# it: None = not yet, ("id", delay) = with the charge id, ("match", delay) = without it)
bot_payment = st.tuples(
    st.integers(5_000, 500_000).map(lambda k: k * 2 + 1),
    st.integers(0, 20),
    st.one_of(
        st.none(),
        st.tuples(st.just("id"), st.integers(-1, 30)),
        st.tuples(st.just("match"), st.integers(-1, WINDOW)),
    ),
)
other_payment = st.tuples(st.integers(100, 500_000).map(lambda k: k * 2), st.integers(0, 30))


def _money(kopecks: int) -> Decimal:
    return Decimal(kopecks) / 100


@pytest.fixture
async def golden_id(session) -> int:
    account = await factories.golden(session)
    await session.commit()
    return account.id


@PROPERTY
@given(made=st.lists(bot_payment, max_size=8), others=st.lists(other_payment, max_size=5))
async def test_bot_and_billing_payments_are_each_counted_once(
    session, golden_id, made, others
) -> None:
    config = Settings(_env_file=None, payments_secret=SecretStr("s"), payments_match_days=WINDOW)
    await session.execute(delete(BotPayment))
    await session.execute(delete(Payment).where(Payment.source == "prop"))
    account_id = golden_id
    before = await billing.statement(session, account_id, FEBRUARY, MARCH)
    assert before is not None

    unbooked = Decimal(0)
    booked_total = Decimal(0)
    for n, (kopecks, day, booking) in enumerate(made):
        paid_on = DAY0 + dt.timedelta(days=day)
        charge = f"charge-{n}"
        session.add(
            BotPayment(
                account_id=account_id, period=MARCH, amount=_money(kopecks),
                telegram_charge_id=charge, paid_at=dt.datetime.combine(paid_on, dt.time(9)),
            )
        )  # fmt: skip
        if booking is None:
            unbooked += _money(kopecks)
            continue
        how, delay = booking
        session.add(
            Payment(
                account_id=account_id, period=MARCH, amount=_money(kopecks), source="prop",
                paid_on=paid_on + dt.timedelta(days=delay),
                charge_id=charge if how == "id" else None,
            )
        )  # fmt: skip
        booked_total += _money(kopecks)
    for kopecks, day in others:
        session.add(
            Payment(
                account_id=account_id, period=MARCH, amount=_money(kopecks), source="prop",
                paid_on=DAY0 + dt.timedelta(days=day),
            )
        )  # fmt: skip
        booked_total += _money(kopecks)
    await session.flush()

    statement = await billing.statement(session, account_id, FEBRUARY, MARCH)
    pending = await payments.pending_payments(session, config, account_id)

    # the billing's figures still balance to the kopeck, untouched by the bot's payments
    assert statement.adjustment == before.adjustment
    assert (
        statement.start + statement.charged + statement.recalculation - statement.paid
        + statement.adjustment
        == statement.end
    )  # fmt: skip
    # every payment counted once: what the billing received plus what is pending
    assert statement.received == before.received + booked_total
    assert sum((p.amount for p in pending), Decimal(0)) == unbooked
    assert len(pending) == sum(1 for _, _, booking in made if booking is None)
    await session.rollback()


@settings(max_examples=300, deadline=None)
@given(
    made=st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(0, 15), st.booleans()),
        max_size=10,
    ),
    booked=st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(0, 30), st.integers(-1, 12)),
        max_size=10,
    ),
)
def test_matching_books_each_bot_payment_at_most_once(made, booked) -> None:
    views = [
        Made(i, account, Decimal(amount), DAY0 + dt.timedelta(days=day), f"c{i}")
        for i, (account, amount, day, _) in enumerate(made)
    ]
    rows = [
        Booked(
            100 + j, account, Decimal(amount), DAY0 + dt.timedelta(days=day),
            f"c{ref}" if ref >= 0 else None,
        )
        for j, (account, amount, day, ref) in enumerate(booked)
    ]  # fmt: skip
    matched = payments.match(views, rows, WINDOW)
    assert len(set(matched.values())) == len(matched)  # no billing payment books two
    by_id = {b.id: b for b in rows}
    for made_id, booked_id in matched.items():
        m, b = views[made_id], by_id[booked_id]
        assert m.account_id == b.account_id
        if b.charge_id:
            assert b.charge_id == m.charge_id
        else:
            assert m.amount == b.amount and -1 <= (b.day - m.day).days <= WINDOW
