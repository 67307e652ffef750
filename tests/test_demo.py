"""Demo data: the golden account exactly, believable and consistent generated accounts."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main as cli_main
from storage.demo import (
    GOLDEN_LINES,
    GOLDEN_NUMBER,
    GOLDEN_PERIOD,
    GOLDEN_TOTALS,
    DatabaseNotEmpty,
    fill_demo,
)
from storage.models import Account, Charge, House, Meter, Payment, Reading, Service
from storage.periods import add_months

TODAY = dt.date(2026, 1, 15)


async def golden_march(session: AsyncSession) -> dict[str, Charge]:
    rows = (
        await session.execute(
            select(Service.code, Charge)
            .join(Charge, Charge.service_id == Service.id)
            .join(Account, Charge.account_id == Account.id)
            .where(Account.number == GOLDEN_NUMBER, Charge.period == GOLDEN_PERIOD)
        )
    ).all()
    return {code: charge for code, charge in rows}


async def test_demo_holds_the_golden_numbers_and_consistent_accounts(session: AsyncSession) -> None:
    summary = await fill_demo(session, 25, today=TODAY)
    await session.commit()
    assert summary.golden_number == GOLDEN_NUMBER
    assert summary.counts["accounts"] == 25
    assert await session.scalar(select(func.count()).select_from(Account)) == 25

    march = await golden_march(session)
    assert set(march) == {line.code for line in GOLDEN_LINES}
    for line in GOLDEN_LINES:
        charge = march[line.code]
        assert (charge.tariff, charge.volume, charge.opening, charge.charged) == (
            line.tariff, line.volume, line.opening, line.charged,
        )  # fmt: skip
        assert (charge.recalculation, charge.paid, charge.closing) == (
            line.recalculation, line.paid, line.total,
        )  # fmt: skip
    assert sum(c.closing for c in march.values()) == GOLDEN_TOTALS["total"] == D("2383.29")

    charges = (await session.execute(select(Charge).order_by(Charge.period))).scalars().all()
    chains: dict[tuple[int, int], list[Charge]] = defaultdict(list)
    for charge in charges:
        assert charge.closing == (
            charge.opening + charge.charged + charge.recalculation - charge.paid
        ), charge.id
        chains[(charge.account_id, charge.service_id)].append(charge)
    first = add_months(GOLDEN_PERIOD, -23)
    for chain in chains.values():
        assert [c.period for c in chain] == [add_months(first, m) for m in range(24)]
        for previous, following in itertools.pairwise(chain):
            assert following.opening == previous.closing
    assert max(c.period for c in charges) == GOLDEN_PERIOD
    assert any(c.recalculation != 0 for c in charges if c.account_id != march["heating"].account_id)

    services = (await session.execute(select(Service))).scalars().all()
    names = {s.name for s in services}
    assert {"ХВС", "ГВС (т/н)", "Водоотведение", "Отопление", "Содержание жилья"} <= names
    assert {"Электроэнергия (день)", "Электроэнергия (ночь)"} <= names
    assert {s.name for s in services if s.is_common} == {"ХВС ОДН", "Электроэнергия ОДН"}
    per_account = defaultdict(set)
    for charge in charges:
        per_account[charge.account_id].add(charge.service_id)
    assert sum(1 for ids in per_account.values() if len(ids) == len(services)) == 24

    # payments match what the charges say was paid, month by month
    paid = defaultdict(D)
    for charge in charges:
        paid[(charge.account_id, charge.period)] += charge.paid
    payments = (await session.execute(select(Payment))).scalars().all()
    assert payments
    for payment in payments:
        assert payment.paid_on.replace(day=1) == payment.period
        assert payment.amount == paid[(payment.account_id, payment.period)]

    meters = (await session.execute(select(Meter))).scalars().all()
    assert {(m.resource, m.zone) for m in meters} >= {
        ("cold_water", ""), ("hot_water", ""), ("electricity", "day"), ("electricity", "night"),
    }  # fmt: skip
    due = [m.verification_due for m in meters if m.verification_due]
    assert any(d < TODAY for d in due), "some verification already past"
    assert any(TODAY <= d <= TODAY + dt.timedelta(days=31) for d in due), "some due soon"

    # readings: every month, and the cold water volume charged is what the meter moved
    readings = (await session.execute(select(Reading))).scalars().all()
    by_meter = defaultdict(list)
    for reading in readings:
        by_meter[reading.meter_id].append(reading)
    assert all(len(values) == 24 for values in by_meter.values())
    hvs_service = next(s.id for s in services if s.code == "hvs")
    cold = {m.account_id: m.id for m in meters if m.code == "hvs"}
    volume = {(c.account_id, c.period): c.volume for c in charges if c.service_id == hvs_service}
    for account_id, meter_id in cold.items():
        series = sorted(by_meter[meter_id], key=lambda r: r.period)
        for previous, following in itertools.pairwise(series):
            assert following.value - previous.value == volume[(account_id, following.period)]

    accounts = (await session.execute(select(Account))).scalars().all()
    phones = [a.phone for a in accounts if a.phone]
    assert 1 < len(phones) < len(accounts) and len(set(phones)) == len(phones)
    assert all(p.startswith("+7") and len(p) == 12 for p in phones)
    houses = (await session.execute(select(House))).scalars().all()
    assert len(houses) >= 2 and all(h.address.startswith("г. Хабаровск, ") for h in houses)
    assert len({h.address for h in houses}) == len(houses)


async def test_demo_with_one_account_is_the_golden_one(session: AsyncSession) -> None:
    summary = await fill_demo(session, 1)
    await session.commit()
    assert summary.counts["accounts"] == 1
    numbers = (await session.execute(select(Account.number))).scalars().all()
    assert numbers == [GOLDEN_NUMBER]


async def test_demo_refuses_a_database_with_data(session: AsyncSession) -> None:
    await fill_demo(session, 3)
    await session.commit()
    with pytest.raises(DatabaseNotEmpty):
        await fill_demo(session, 3)


def run_cli(capsys, monkeypatch, db_url: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        cli_main(list(args))
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


async def count_accounts(db_url: str) -> int:
    from storage.db import create_engine

    engine = create_engine(db_url)
    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(Account))
    await engine.dispose()
    return int(count or 0)


def test_cli_demo_makes_n_accounts_and_refuses_to_run_twice(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    import asyncio

    code, out, err = run_cli(capsys, monkeypatch, db_url, "demo", "--accounts", "7")
    assert code == 0, err
    assert "accounts: 7" in out
    assert f"golden account (figure 5 of the seed): {GOLDEN_NUMBER}" in out
    assert "periods 2018-04 … 2020-03" in out
    assert asyncio.run(count_accounts(db_url)) == 7

    code, out, err = run_cli(capsys, monkeypatch, db_url, "demo")
    assert code == 0, err
    assert out.splitlines()[0] == (
        "The demo data is already in this database (7 accounts, the golden one 00000000): "
        "nothing to do."
    )
    assert "python -m bot try" in out
    assert asyncio.run(count_accounts(db_url)) == 7

    code, _, err = run_cli(capsys, monkeypatch, db_url, "demo", "--accounts", "0")
    assert code == 2 and "--accounts must be at least 1" in err


SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_demo_on_the_samples_database_says_where_the_demo_goes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    """Issue 16 point 17: the demo and the samples meet; each command says what to do."""
    import asyncio

    code, _, err = run_cli(
        capsys, monkeypatch, db_url, "import", str(SAMPLES), "--progress", "none"
    )
    assert code == 0, err
    code, out, err = run_cli(capsys, monkeypatch, db_url, "demo")
    assert code == 2 and not out
    assert 'the database already has data: uk-amur (ООО "УК Амурская"), 6 accounts' in err
    assert "DATABASE_URL=sqlite+aiosqlite:///demo.sqlite3 python -m bot demo" in err
    assert "Traceback" not in err
    assert asyncio.run(count_accounts(db_url)) == 6


def test_importing_the_samples_into_the_demo_explains_in_russian(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    import asyncio

    code, _, err = run_cli(capsys, monkeypatch, db_url, "demo", "--accounts", "3")
    assert code == 0, err
    for dry_run in ((), ("--dry-run",)):
        code, out, err = run_cli(
            capsys, monkeypatch, db_url, "import", str(SAMPLES), "--progress", "none", *dry_run
        )
        assert code == 1 and "Загружено" not in out
        lines = err.strip().splitlines()
        assert "Не загружено: 5 ошибок в 5 файлах; в базе ничего не изменилось." in lines
        assert lines[-3].startswith(
            'В этой базе — демонстрационные данные (python -m bot demo, организация АО "ДЭК", '
            "код dek)."
        )
        assert (
            lines[-2]
            == "  DATABASE_URL=sqlite+aiosqlite:///samples.sqlite3 python -m bot import samples/"
        )
        assert lines[-1] == "Данные для демонстрационной организации загружайте с --org dek."
    assert asyncio.run(count_accounts(db_url)) == 3


def test_a_failed_import_into_another_database_has_no_demo_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "organizations.csv"
    bad.write_text("code;name;inn\nx;Икс;12\n", encoding="utf-8")
    code, _, err = run_cli(capsys, monkeypatch, db_url, "import", str(bad), "--progress", "none")
    assert code == 1
    assert "демонстрационные" not in err
