"""The billing figures kept between imports (services.billing_cache, services.statements): exact,
bounded, and dropped by a new import whichever process ran it."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update

from services import statements
from services.billing_cache import MISSING, BillingCache
from storage.demo import GOLDEN_PERIOD
from storage.models import Charge, ImportRun
from tests import factories


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _import_run(session_factory, closing: Decimal | None = None, account_id: int = 0) -> None:
    """What an import commits, from another session: changed charges and its `import_runs` row."""
    async with session_factory() as other:
        if closing is not None:
            await other.execute(
                update(Charge)
                .where(Charge.account_id == account_id, Charge.period == GOLDEN_PERIOD)
                .values(closing=closing)
            )
        other.add(ImportRun(files="charges.csv", rows=3, periods=["2020-03"]))
        await other.commit()


async def test_figures_are_exact_and_follow_each_import(session, session_factory) -> None:
    account = await factories.golden(session)
    await session.commit()
    clock = Clock()
    cache = BillingCache(recheck_seconds=1.0, clock=clock)

    first = await statements.balances(session, cache, [account.id])
    assert first[account.id].closing == Decimal("2383.29")
    month = await statements.month(session, cache, account.id, None)
    assert month is not None and month.totals.closing == Decimal("2383.29")
    await session.commit()

    await _import_run(session_factory, Decimal("100.01"), account.id)
    clock.now += 1.5
    again = await statements.balances(session, cache, [account.id])
    assert again[account.id].closing == Decimal("300.03")  # three lines of 100,01, exactly
    month = await statements.month(session, cache, account.id, None)
    assert month is not None and month.totals.closing == Decimal("300.03")


async def test_an_account_without_charges_has_no_balance_until_an_import(session) -> None:
    account = await factories.account(session)
    await session.commit()
    cache = BillingCache()
    assert await statements.balances(session, cache, [account.id]) == {account.id: None}
    assert await statements.balances(session, cache, [account.id]) == {account.id: None}
    assert await statements.month(session, cache, account.id, None) is None


async def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache = BillingCache(size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert cache.get("b") is MISSING
    assert (cache.get("a"), cache.get("c")) == (1, 3)


async def test_a_new_generation_drops_every_entry(session, session_factory) -> None:
    clock = Clock()
    cache = BillingCache(recheck_seconds=1.0, clock=clock)
    await cache.refresh(session)
    cache.put("kept", 1)
    await session.commit()
    await _import_run(session_factory)
    await cache.refresh(session)  # not due yet: within the second
    assert cache.get("kept") == 1
    clock.now += 1.0
    await cache.refresh(session)
    assert cache.get("kept") is MISSING
    cache.put("kept", 2)
    clock.now -= 3600  # the wall clock was set back: looks again, finds the same generation
    await cache.refresh(session)
    assert cache.get("kept") == 2
