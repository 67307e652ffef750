"""Imports as versions: invisible while loading, published at once, undone byte for byte.

A SIGKILL of `python -m bot import` while it loads or before its publishing transaction commits
leaves the old data visible, after that commit the new; the next start deletes what a killed
load left, the accounts, apartments and houses it created included; `undo-import`
restores the rows of the periods an import touched exactly as they were; `imports` lists them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.config import Settings
from services import imports
from storage.importer import import_files
from storage.importer.bulk import BATCH
from storage.models import (
    Account,
    Apartment,
    Charge,
    House,
    ImportRun,
    Meter,
    Payment,
    PublishedPeriod,
    Reading,
    ReceiptDelivery,
    Resident,
    Service,
)
from storage.repo import versions
from tests import kill_point
from tests.test_import import ROOT, VARIANTS, run_cli, snapshot, write, write_set


async def cli(*args):  # type: ignore[no-untyped-def]
    """`run_cli` in a thread: the command runs its own event loop."""
    return await asyncio.to_thread(run_cli, *args)


async def visible_rows(engine: AsyncEngine) -> dict[str, list[tuple]]:
    """Every column of every row readers see (ids included), in id order."""
    async with engine.connect() as conn:
        charges = await conn.execute(
            select(Charge.__table__).where(versions.visible(Charge)).order_by(Charge.id)
        )
        payments = await conn.execute(
            select(Payment.__table__)
            .where(versions.visible(Payment, versions.PAYMENTS))
            .order_by(Payment.id)
        )
        readings = await conn.execute(select(Reading.__table__).order_by(Reading.id))
        return {
            "charges": [tuple(r) for r in charges],
            "payments": [tuple(r) for r in payments],
            "readings": [tuple(r) for r in readings],
        }


async def stored_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            model.__tablename__: await conn.scalar(select(func.count()).select_from(model))
            for model in (Charge, Payment, Reading)
        }


async def published_periods(engine: AsyncEngine) -> dict[tuple[str, dt.date], int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(PublishedPeriod.kind, PublishedPeriod.period, PublishedPeriod.import_id)
        )
        return {(kind, period): import_id for kind, period, import_id in rows}


async def runs(engine: AsyncEngine) -> list[tuple[int, str]]:
    async with engine.connect() as conn:
        return [
            tuple(r)
            for r in await conn.execute(
                select(ImportRun.id, ImportRun.status).order_by(ImportRun.id)
            )
        ]


def march_correction(directory: Path) -> list[Path]:
    """A second import: March of 20010001 again, a payment of March, a reading of March."""
    directory.mkdir()
    return [
        write(
            directory / "charges.csv",
            "account;period;service;tariff;volume;opening;charged;recalculation;paid;closing\n"
            "20010001;2020-03;heating;2756,37;0,5;774,98;1378,19;0;774,98;1378,19\n",
        ),
        write(
            directory / "payments.csv",
            "account;date;amount;period;source\n20010001;2020-03-28;100,00;2020-03;касса\n",
        ),
    ]


async def test_undo_restores_the_periods_byte_for_byte(
    engine: AsyncEngine, db_url: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    before = await visible_rows(engine)
    summary, _ = await import_files(engine, march_correction(tmp_path / "fix"))
    changed = await visible_rows(engine)
    assert changed != before
    assert summary.counts["charges"] == {"new": 1, "replaced": 2}

    code, out, err = await cli(capsys, monkeypatch, db_url, "imports")
    assert code == 0, err
    assert f"№ {summary.import_run_id}" in out and "опубликована" in out
    assert "fix/charges.csv, " in out and "fix/payments.csv" in out and "03.2020" in out

    code, out, err = await cli(
        capsys, monkeypatch, db_url, "undo-import", str(summary.import_run_id), "--yes"
    )
    assert code == 0, err
    assert "Квитанции за эти периоды уже получили 0 жителей." in out
    assert f"Загрузка № {summary.import_run_id} отменена" in out
    assert await visible_rows(engine) == before
    # the undone version's rows are gone, not only hidden
    assert await stored_counts(engine) == {
        "charges": len(before["charges"]),
        "payments": len(before["payments"]),
        "readings": len(before["readings"]),
    }
    # twice: refused, nothing changes
    code, _, err = await cli(
        capsys, monkeypatch, db_url, "undo-import", str(summary.import_run_id), "--yes"
    )
    assert code == 1 and "уже отменена" in err
    code, _, err = await cli(capsys, monkeypatch, db_url, "undo-import", "999", "--yes")
    assert code == 1 and "такой загрузки нет" in err
    assert await visible_rows(engine) == before


async def test_undo_says_who_got_receipts_and_refuses_a_replaced_import(
    engine: AsyncEngine, db_url: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    first, _ = await import_files(engine, march_correction(tmp_path / "fix"))
    async with AsyncSession(engine) as session:
        account = await session.scalar(select(Account).where(Account.number == "20010001"))
        assert account is not None
        for telegram_id in (501, 502):
            resident = Resident(telegram_id=telegram_id, chat_id=telegram_id)
            session.add(resident)
            await session.flush()
            session.add(
                ReceiptDelivery(
                    account_id=account.id,
                    period=dt.date(2020, 3, 1),
                    resident_id=resident.id,
                    channel="telegram",
                    status="sent",
                )
            )
        await session.commit()
    second, _ = await import_files(engine, march_correction(tmp_path / "fix2"))
    code, _, err = await cli(capsys, monkeypatch, db_url, "undo-import", str(first.import_run_id))
    assert code == 1
    assert f"уже заменены загрузкой № {second.import_run_id}" in err

    monkeypatch.setattr("sys.stdin", _Input("нет\n"))
    code, out, _ = await cli(capsys, monkeypatch, db_url, "undo-import", str(second.import_run_id))
    assert code == 1
    assert "уже получили 2 жителя" in out and "Ничего не изменено." in out
    assert (second.import_run_id, "published") in await runs(engine)

    monkeypatch.setattr("sys.stdin", _Input("да\n"))
    code, out, _ = await cli(capsys, monkeypatch, db_url, "undo-import", str(second.import_run_id))
    assert code == 0, out
    # now the first can be undone too
    done = await imports.undo(engine, first.import_run_id, operator_id=77)
    assert done.ok and done.periods == ["2020-03"] and done.residents_with_receipts == 2


class _Input:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)

    def readline(self) -> str:
        return self.lines.pop(0) if self.lines else ""


async def test_replaced_versions_are_kept_for_the_undo_window_then_deleted(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    before = await stored_counts(engine)
    summary, _ = await import_files(engine, march_correction(tmp_path / "fix"))
    settings = Settings(import_undo_days=30)
    await imports.cleanup(engine, settings)
    kept = await stored_counts(engine)
    assert kept["charges"] > before["charges"]  # both versions of March
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=31), tick=False):
        assert await imports.cleanup(engine, settings) > 0
        refused = await imports.undo(engine, summary.import_run_id, settings=settings)
    assert not refused.ok and "30 дн." in refused.reason
    after = await stored_counts(engine)
    # only the versions readers see are left
    async with engine.connect() as conn:
        seen = await conn.scalar(select(func.count()).where(versions.visible(Charge)))
    assert after["charges"] == seen < kept["charges"]


async def test_preview_shows_the_change_against_the_published_data(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    before = await visible_rows(engine)
    found = await imports.preview(engine, march_correction(tmp_path / "fix"))
    assert found.ok and found.rows == 2
    (march,) = found.changes
    assert march.period == 202003
    assert march.accounts_added == 0
    assert march.accounts_before == march.accounts_after
    # 20010001's March charged (two lines) becomes the file's one line of 1 378,19
    async with engine.connect() as conn:
        total = await conn.scalar(
            select(func.sum(Charge.charged)).where(
                Charge.period == dt.date(2020, 3, 1), versions.visible(Charge)
            )
        )
        mine = await conn.scalar(
            select(func.sum(Charge.charged))
            .join(Account, Account.id == Charge.account_id)
            .where(
                Charge.period == dt.date(2020, 3, 1),
                Account.number == "20010001",
                versions.visible(Charge),
            )
        )
    assert march.charged_before == int(total * 100)
    assert march.charged_after == int((total - mine) * 100) + 137819
    assert await visible_rows(engine) == before  # nothing applied

    bad = write(tmp_path / "bad.csv", "account;period;service;charged\n20010001;2020-13;hvs;1\n")
    refused = await imports.preview(engine, [bad])
    assert not refused.ok and refused.problem_count == 1
    assert str(refused.problems[0]) == f"{bad}:2: «period» = «2020-13»: такого месяца нет"


# --- SIGKILL --------------------------------------------------------------------------------


def write_big(directory: Path, accounts: int, periods: int, readings: int) -> None:
    directory.mkdir()
    write(directory / "houses.csv", "org;code;address\namur;big;г. Хабаровск, ул. Большая, д. 1\n")
    write(
        directory / "apartments.csv",
        "org;house;number\n" + "".join(f"amur;big;{a}\n" for a in range(accounts)),
    )
    write(
        directory / "accounts.csv",
        "org;account;house;apartment\n"
        + "".join(f"amur;9{a:07d};big;{a}\n" for a in range(accounts)),
    )
    lines = ["org;Л/С;Период;Услуга;Тариф;Объём;Начислено;Итого\n"]
    for a in range(accounts):
        for p in range(periods):
            for service in ("hvs", "heating", "hvs_odn"):
                lines.append(f"amur;9{a:07d};{p % 12 + 1:02d}.{2000 + p // 12};{service};"
                             f"32,86;1,5;{a % 997},{p % 100:02d};{a % 997},{p % 100:02d}\n")  # fmt: skip
    write(directory / "charges.csv", "".join(lines), encoding="cp1251")
    if readings:
        write(
            directory / "meters.csv",
            "org;account;code;resource\n"
            + "".join(f"amur;9{a:07d};m1;cold_water\n" for a in range(accounts)),
        )
        rows = [
            f"amur;9{a:07d};m1;{2000 + p // 12}-{p % 12 + 1:02d};{100 + p}\n"
            for a in range(accounts)
            for p in range(readings)
        ]
        write(directory / "readings.csv", "org;account;meter;period;value\n" + "".join(rows))


async def _import_and_kill(
    db_url: str, directory: Path, when: Callable[[str], bool], point: str | None = None
) -> list[str]:
    """`python -m bot import DIRECTORY`, SIGKILLed when a line of its stderr satisfies `when`,
    or, with `point`, stopped by `tests.kill_point` exactly there and then killed."""
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=db_url, LOG_LEVEL="WARNING")
    runner = ["-m", "tests.kill_point", point] if point else ["-m", "bot"]
    if point:
        when = lambda line: line.startswith(kill_point.MARK)  # noqa: E731
    process = await asyncio.create_subprocess_exec(
        sys.executable, *runner, "import", str(directory), "--progress", "lines",
        stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, env=env, cwd=ROOT,
    )  # fmt: skip
    assert process.stderr is not None
    seen = []
    while line := (await process.stderr.readline()).decode():
        seen.append(line)
        if when(line):
            process.kill()  # SIGKILL: no clean-up of any kind
            break
    await asyncio.wait_for(process.wait(), timeout=120)
    assert process.returncode == -signal.SIGKILL, "".join(seen[-20:])
    return seen


def _loading_past_two_batches(line: str) -> bool:
    if line.startswith("загрузка: ") and "/" in line:
        return int(line.split()[1].split("/")[0]) >= 2 * BATCH
    return False


BILLING = ("charges", "payments", "readings")
REFERENCE = (House, Apartment, Account, Service, Meter)


async def billing(engine: AsyncEngine) -> dict[str, list[tuple]]:
    """The billing data residents see."""
    found = await snapshot(engine)
    return {kind: found[kind] for kind in BILLING}


async def reference_rows(engine: AsyncEngine) -> dict[str, list[tuple]]:
    """Every row of the reference tables an import creates rows in, ids included."""
    async with engine.connect() as conn:
        return {
            model.__tablename__: [
                tuple(r) for r in await conn.execute(select(model.__table__).order_by(model.id))
            ]
            for model in REFERENCE
        }


async def _state(engine: AsyncEngine) -> dict:
    return {
        "billing": await billing(engine),
        "stored": await stored_counts(engine),
        "reference": await reference_rows(engine),
    }


async def _killed_run(engine: AsyncEngine, status: str) -> int:
    """The last run, which must be in `status`; its id."""
    await engine.dispose()
    (killed_id, found) = (await runs(engine))[-1]
    assert found == status
    return killed_id


async def _assert_gone_after_next_start(engine: AsyncEngine, killed_id: int, before: dict):
    """The killed import's own reference rows are marked as its; the next start's clean-up
    deletes everything it wrote: the database holds what it held before it."""
    created = {
        table: [row for row in rows if row not in before["reference"][table]]
        for table, rows in (await reference_rows(engine)).items()
    }
    assert created["accounts"], "the kill came after the load wrote the new accounts"
    async with engine.connect() as conn:
        for model in REFERENCE:
            ids = [row[0] for row in created[model.__tablename__]]
            owners = await conn.scalars(select(model.import_id).where(model.id.in_(ids)))
            assert set(owners) <= {killed_id}
    await imports.cleanup(engine, Settings())  # what the next start does
    assert (killed_id, "failed") in await runs(engine)
    assert await _state(engine) == before
    if engine.dialect.name == "sqlite":
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA integrity_check")).scalar() == "ok"


async def test_an_import_killed_while_loading_is_invisible_and_cleaned_up(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    before = await _state(engine)
    write_big(tmp_path / "big", accounts=2000, periods=20, readings=0)  # 120 000 charge rows
    await _import_and_kill(db_url, tmp_path / "big", _loading_past_two_batches)
    killed_id = await _killed_run(engine, "loading")
    assert await billing(engine) == before["billing"]
    await _assert_gone_after_next_start(engine, killed_id, before)
    # and it takes the next import
    again = write(tmp_path / "again.csv", "account;period;service;charged\n20010002;2020-04;hvs;10,00\n")  # fmt: skip
    summary, _ = await import_files(engine, [again])
    assert summary.counts["charges"]["new"] == 1


async def test_an_import_killed_before_its_publish_commits_shows_the_old_version(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    before = await _state(engine)
    published = await published_periods(engine)
    write_big(tmp_path / "big", accounts=2000, periods=1, readings=24)
    await _import_and_kill(db_url, tmp_path / "big", lambda _: False, "before-publish-commit")
    killed_id = await _killed_run(engine, "loading")
    # every statement of the publishing transaction had run: none of it is there
    assert await published_periods(engine) == published
    assert await billing(engine) == before["billing"]
    assert (await stored_counts(engine))["readings"] == before["stored"]["readings"]
    await _assert_gone_after_next_start(engine, killed_id, before)


async def test_an_import_killed_after_its_publish_commits_shows_the_new_version(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    before = await _state(engine)
    write_big(tmp_path / "big", accounts=2000, periods=1, readings=24)
    await _import_and_kill(db_url, tmp_path / "big", lambda _: False, "after-publish-commit")
    killed_id = await _killed_run(engine, "published")
    assert (await published_periods(engine))[("charges", dt.date(2000, 1, 1))] == killed_id
    after = await billing(engine)
    new_charges = [row for row in after["charges"] if row not in before["billing"]["charges"]]
    assert len(new_charges) == 2000 * 3 and {row[1] for row in new_charges} == {dt.date(2000, 1, 1)}
    assert len(after["readings"]) == len(before["billing"]["readings"]) + 2000 * 24
    await imports.cleanup(engine, Settings())  # the next start keeps a published import
    assert await billing(engine) == after
    # and undo takes it all back, the accounts, apartments and meters it created included
    assert (await imports.undo(engine, killed_id)).ok
    assert await _state(engine) == before


async def test_the_card_cache_generation_moves_on_publish_and_undo(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    from services.billing_cache import BillingCache

    cache = BillingCache(recheck_seconds=0)
    await import_files(engine, write_set(tmp_path / "base", VARIANTS["semicolon-utf8-comma"]))
    async with AsyncSession(engine) as session:
        await cache.refresh(session)
        cache.put("k", 1)
        await cache.refresh(session)
        assert cache.get("k") == 1
    summary, _ = await import_files(engine, march_correction(tmp_path / "fix"))
    async with AsyncSession(engine) as session:
        await cache.refresh(session)
        assert cache.get("k") != 1
        cache.put("k", 2)
    assert (await imports.undo(engine, summary.import_run_id)).ok
    async with AsyncSession(engine) as session:
        await cache.refresh(session)
        assert cache.get("k") != 2
