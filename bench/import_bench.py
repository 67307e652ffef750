"""Benchmark: importing charges from CSV into SQLite, next to raw sqlite3 executemany.

    python bench/import_bench.py [--rows 1000000] [--months 12] [--rounds 2] [--keep DIR]
    python bench/import_bench.py --rows 2400000 --months 1     # a 200 000-account month
    python bench/import_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/postgres

Generates a charges CSV as billing systems export it (`;`, cp1251, decimal comma; 12 services
per account and month) with its reference files, then, in `--rounds` rounds that alternate which
goes first (so that the shared machine's changing load falls on both alike):
  1. imports everything into a fresh SQLite file through our importer (`storage.importer`), in a
     child process whose peak memory (VmHWM) is measured;
  2. the baseline: the same charge rows, already parsed into tuples of stored integers, inserted
     with plain `sqlite3` `executemany` into a fresh database of the same schema.
  3. during the import, a concurrent writer: another process saving a resident's reading every
     ~50 ms through the bot's own repository and session (`storage.repo.readings.add_version`,
     commit), recording how long each write took. Target: none over 1 s, none failed.
Target: at least 0.2 of the baseline's rows per CPU second (medians of the rounds; wall time is
printed too) and peak memory under 300 MB.

With --database-url (a PostgreSQL server and a user that may create databases) both run on
PostgreSQL instead, in scratch databases `import_bench` and `import_bench_baseline` made there;
the baseline is then asyncpg's `executemany` of the same parsed rows.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVICES = (
    ("hvs", "ХВС", "куб.м", "3286"), ("gvs", "ГВС", "куб.м", "19846"),
    ("sewage", "Водоотведение", "куб.м", "2745"), ("heating", "Отопление", "Гкал", "275637"),
    ("el_day", "Электроэнергия (день)", "кВт·ч", "476"),
    ("el_night", "Электроэнергия (ночь)", "кВт·ч", "238"),
    ("maint", "Содержание жилья", "кв.м", "3120"), ("hvs_odn", "ХВС ОДН", "куб.м", "3286"),
    ("el_odn", "Электроэнергия ОДН", "кВт·ч", "476"), ("trash", "Обращение с ТКО", "чел", "15318"),
    ("gas", "Газоснабжение", "куб.м", "789"), ("repair", "Капитальный ремонт", "кв.м", "1215"),
)  # fmt: skip
MONTHS = 12  # --months


def comma(kopecks: int, scale: int = 2) -> str:
    sign = "-" if kopecks < 0 else ""
    whole, frac = divmod(abs(kopecks), 10**scale)
    return f"{sign}{whole},{frac:0{scale}d}"


def generate(directory: Path, rows: int, months: int = MONTHS) -> int:
    """Reference files and the charges file; the number of charge rows written."""
    accounts = max(1, rows // (months * len(SERVICES)))
    rnd = random.Random(42)

    def write(name: str, header: list[str], body, encoding: str = "utf-8") -> None:
        with (directory / name).open("w", encoding=encoding, newline="") as f:
            out = csv.writer(f, delimiter=";", lineterminator="\r\n")
            out.writerow(header)
            out.writerows(body)

    # `code;name` alone would fit services too: the header alone decides the kind
    write(
        "organizations.csv",
        ["code", "name", "timezone"],
        [["bench", "ООО Бенчмарк", "Europe/Moscow"]],
    )
    houses = max(1, accounts // 100)
    write(
        "houses.csv",
        ["code", "address"],
        ([f"h{h}", f"ул. Тестовая, д. {h}"] for h in range(houses)),
    )
    write(
        "apartments.csv", ["house", "number", "area"],
        ([f"h{a % houses}", str(a), "45,20"] for a in range(accounts)),
    )  # fmt: skip
    write(
        "accounts.csv", ["account", "house", "apartment", "holder"],
        ([f"{a:08d}", f"h{a % houses}", str(a), "Иванов И. И."] for a in range(accounts)),
    )  # fmt: skip
    write(
        "services.csv", ["code", "name", "unit"], ([code, name, unit] for code, name, unit, _ in SERVICES)
    )  # fmt: skip

    def charges():
        count = 0
        for a in range(accounts):
            for m in range(months):
                period = f"{m + 1:02d}.2019"
                for code, _, _, tariff in SERVICES:
                    if count == rows:
                        return
                    volume = rnd.randint(1, 99999)
                    opening = rnd.randint(0, 500000)
                    charged = int(tariff) * volume // 10000
                    recalc = rnd.choice((0, 0, 0, 0, -1234, 5678))
                    paid = rnd.randint(0, opening)
                    closing = opening + charged + recalc - paid
                    yield [
                        f"{a:08d}", period, code, comma(int(tariff)), comma(volume, 4),
                        comma(opening), comma(charged), comma(recalc) if recalc else "",
                        comma(paid), comma(closing),
                    ]  # fmt: skip
                    count += 1

    header = ["Л/С", "Период", "Услуга", "Тариф", "Объём", "На начало", "Начислено",
              "Перерасчёт", "Оплачено", "Итого"]  # fmt: skip
    write("charges.csv", header, charges(), encoding="cp1251")
    return min(rows, accounts * months * len(SERVICES))


def fresh_database(path: Path) -> str:
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    return url


def writer(url: str, ready, stop, out) -> None:  # type: ignore[no-untyped-def]
    """The bot's side: a reading saved every ~50 ms through the bot's repository and session,
    each one timed (the wait for the write lock included) until `stop`; the waits to `out`."""
    import datetime as dt
    from decimal import Decimal

    from sqlalchemy import select

    from storage.db import create_engine, create_session_factory
    from storage.models import Account, Apartment, House, Meter, Organization
    from storage.repo.readings import add_version

    async def main() -> dict:
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            org = Organization(code="bench", name="ООО Бенчмарк")
            house = House(organization=org, code="writer", address="ул. Писателя, д. 1")
            apartment = Apartment(house=house, number="1")
            account = Account(organization=org, apartment=apartment, number="writer01")
            meter = Meter(code="w1", resource="cold_water")
            session.add_all([org, house, apartment, account])
            await session.flush()
            meter.account_id = account.id
            session.add(meter)
            await session.commit()
            meter_id = meter.id
        ready.set()
        waits, failures, value, slow = [], 0, 0, []
        while not stop.is_set():
            value += 1
            started = time.perf_counter()
            try:
                async with sessions() as session:
                    await add_version(
                        session, meter_id=meter_id, period=dt.date(2019, 1, 1),
                        value=Decimal(value), taken_on=dt.date(2019, 1, 20),
                        resident_id=None, update_id=None,
                    )  # fmt: skip
                    await session.commit()
            except Exception:  # a failed write is the figure counted
                failures += 1
            waits.append(time.perf_counter() - started)
            if waits[-1] > 0.5:
                slow.append((round(time.time(), 1), round(waits[-1], 2)))
            await asyncio.sleep(0.05)
        async with sessions() as session:  # the writer's rows are all there
            from storage.models import Reading

            saved = len((await session.scalars(select(Reading.id))).all())
        await engine.dispose()
        waits.sort()
        return {
            "writes": len(waits), "failed": failures, "saved": saved,
            "max_wait": waits[-1] if waits else 0.0,
            "p99_wait": waits[int(len(waits) * 0.99)] if waits else 0.0,
            "slow": slow[:20],
        }  # fmt: skip

    out.put(asyncio.run(main()))


def run_with_writer(directory: Path, url: str) -> tuple[float, float, float, dict]:
    """`run_child` while a concurrent writer saves readings; its figures as the fourth item."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready, stop, out = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=writer, args=(url, ready, stop, out))
    process.start()
    if not ready.wait(60):
        raise SystemExit("the concurrent writer did not start")
    time.sleep(0.5)  # a few writes before the import starts
    try:
        seconds, cpu, peak_mb = run_child(directory, url)
    finally:
        stop.set()
    figures = out.get(timeout=120)
    process.join(30)
    return seconds, cpu, peak_mb, figures


def child(directory: Path, url: str) -> None:
    """Run the import in this (child) process; print the seconds it took as JSON."""
    from storage.db import create_engine
    from storage.importer import Progress, import_files

    files = sorted(directory.glob("*.csv"))

    class Stages(Progress):
        def start(self, stage: str, total: int | None, unit: str) -> None:
            print(f"{time.time():.1f} stage {stage}", file=sys.stderr, flush=True)

    async def main() -> tuple[float, float]:
        engine = create_engine(url)
        started, cpu = time.perf_counter(), time.process_time()
        print(f"{time.time():.1f} import starts", file=sys.stderr, flush=True)
        await import_files(engine, files, Stages())
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        await engine.dispose()
        return elapsed, cpu

    seconds, cpu = asyncio.run(main())
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program: VmHWM (the rusage
    figure also counts the pages of the parent it was forked from, which the baseline's parsed
    rows make large)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(directory: Path, url: str) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak RSS in MB) of the import in a child process."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", str(directory), url],
        stdout=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    output = process.stdout.read()
    if process.wait():
        raise SystemExit(f"the import failed (exit code {process.returncode})")
    result = json.loads(output)
    return result["seconds"], result["cpu"], result["peak_mb"]


def parse_for_baseline(
    directory: Path, accounts: dict[str, int], services: dict[str, int]
) -> list[tuple]:
    """The charge rows as the stored tuples, with the ids of the references already loaded."""
    from storage.importer.values import money, period, quantity

    rows = []
    with (directory / "charges.csv").open(encoding="cp1251", newline="") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader)
        for acc, per, svc, tariff, volume, opening, charged, recalc, paid, closing in reader:
            rows.append((
                accounts[acc], period(per), services[svc], quantity(tariff), quantity(volume),
                money(opening), money(charged), money(recalc), money(paid), money(closing),
            ))  # fmt: skip
    return rows


def baseline(directory: Path, work: Path) -> tuple[float, float, int]:
    """(seconds, CPU seconds, rows) of raw sqlite3 executemany of the parsed rows."""
    database = work / "baseline.sqlite3"
    url = fresh_database(database)
    run_child(references_only(directory, work), url)
    connection = sqlite3.connect(database)
    accounts = dict(connection.execute("SELECT number, id FROM accounts"))
    services = dict(connection.execute("SELECT code, id FROM services"))
    connection.close()
    rows = parse_for_baseline(directory, accounts, services)
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    started, cpu = time.perf_counter(), time.process_time()
    connection.executemany(
        "INSERT INTO charges (account_id, period, service_id, tariff, volume, opening, charged, "
        "recalculation, paid, closing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    connection.commit()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    connection.close()
    return elapsed, cpu, len(rows)


def references_only(directory: Path, work: Path) -> Path:
    """The reference files without the charges: what the baseline's database needs first."""
    references = work / "references"
    references.mkdir(exist_ok=True)
    for name in ("organizations", "houses", "apartments", "accounts", "services"):
        shutil.copy(directory / f"{name}.csv", references / f"{name}.csv")
    return references


def fresh_postgres(admin_url: str, name: str) -> str:
    from bench._postgres import scratch_database
    from storage.migrate import upgrade

    url, _ = scratch_database(admin_url, name, fresh=True)
    upgrade(url)
    return url


def baseline_postgres(directory: Path, work: Path, admin_url: str) -> tuple[float, float, int]:
    """(seconds, CPU seconds, rows) of asyncpg executemany of the parsed rows."""
    from bench._postgres import connect, drop_database

    url = fresh_postgres(admin_url, "import_bench_baseline")
    run_child(references_only(directory, work), url)

    async def load() -> tuple[float, float, int]:
        connection = await connect(url)
        try:
            accounts = dict(await connection.fetch("SELECT number, id FROM accounts"))
            services = dict(await connection.fetch("SELECT code, id FROM services"))
            rows = parse_for_baseline(directory, accounts, services)
            started, cpu = time.perf_counter(), time.process_time()
            async with connection.transaction():
                await connection.executemany(
                    "INSERT INTO charges (account_id, period, service_id, tariff, volume, "
                    "opening, charged, recalculation, paid, closing) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    rows,
                )
            return time.perf_counter() - started, time.process_time() - cpu, len(rows)
        finally:
            await connection.close()

    try:
        return asyncio.run(load())
    finally:
        drop_database(admin_url, "import_bench_baseline")


def our_round(files: Path, work: Path, admin_url: str | None, number: int) -> dict:
    """One import through `storage.importer` into a fresh database, with the concurrent writer."""
    if admin_url is not None:
        url = fresh_postgres(admin_url, "import_bench")
    else:
        database = work / f"import-{number}.sqlite3"
        url = fresh_database(database)
    try:
        seconds, cpu, peak_mb, writes = run_with_writer(files, url)
    finally:
        if admin_url is None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb, **writes}


def baseline_round(files: Path, work: Path, admin_url: str | None) -> dict:
    if admin_url is not None:
        seconds, cpu, rows = baseline_postgres(files, work, admin_url)
    else:
        seconds, cpu, rows = baseline(files, work)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work / 'baseline.sqlite3'}{suffix}").unlink(missing_ok=True)
    return {"seconds": seconds, "cpu": cpu, "rows": rows}


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="charge rows (1 000 000)")
    parser.add_argument("--months", type=int, default=MONTHS, help="periods per account (12)")
    parser.add_argument(
        "--rounds", type=int, default=2,
        help="rounds of (ours, baseline), alternating which goes first (2)",
    )  # fmt: skip
    parser.add_argument("--keep", type=Path, help="keep the generated files and databases here")
    parser.add_argument(
        "--database-url",
        help="run on PostgreSQL: a server URL with a user that may create databases, e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1])
        return
    on_postgres = args.database_url is not None
    engine_name = "PostgreSQL" if on_postgres else "SQLite"
    baseline_name = "asyncpg executemany" if on_postgres else "sqlite3 executemany"

    work = args.keep or Path(tempfile.mkdtemp(prefix="import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    files = work / "files"
    files.mkdir(exist_ok=True)
    try:
        print(f"generating {args.rows} charge rows in {files} ...", file=sys.stderr)
        rows = generate(files, args.rows, args.months)
        size_mb = (files / "charges.csv").stat().st_size / 1e6
        ours, base = [], []
        for number in range(max(args.rounds, 1)):
            # ours first in even rounds, the baseline first in odd ones: drift in the shared
            # machine's load falls on both alike
            order = ("ours", "base") if number % 2 == 0 else ("base", "ours")
            for which in order:
                print(f"round {number + 1}: {which} ...", file=sys.stderr, flush=True)
                if which == "ours":
                    ours.append(our_round(files, work, args.database_url, number))
                else:
                    base.append(baseline_round(files, work, args.database_url))
        report(ours, base, rows, size_mb, engine_name, baseline_name)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
            if on_postgres:
                from bench._postgres import drop_database

                drop_database(args.database_url, "import_bench")


def report(
    ours: list[dict], base: list[dict], rows: int, size_mb: float, engine: str, baseline: str
) -> None:
    """The table of every round, the medians' ratios, the writer's figures; one JSON line."""
    print()
    print(f"charges CSV: {rows} rows, {size_mb:.0f} MB (cp1251, ';', decimal comma) into {engine}")
    print(f"{'':34} {'seconds':>8} {'rows/s':>9} {'CPU s':>7} {'rows/CPU s':>10} {'peak MB':>8}")
    for number, (our, their) in enumerate(zip(ours, base, strict=True), start=1):
        print(
            f"{f'{number}. import (parse+check+load)':34} {our['seconds']:8.1f} "
            f"{rows / our['seconds']:9.0f} {our['cpu']:7.1f} {rows / our['cpu']:10.0f} "
            f"{our['peak_mb']:8.0f}"
        )
        print(
            f"{f'{number}. baseline: {baseline}':34} {their['seconds']:8.1f} "
            f"{their['rows'] / their['seconds']:9.0f} {their['cpu']:7.1f} "
            f"{their['rows'] / their['cpu']:10.0f}"
        )
    seconds, cpu = median([r["seconds"] for r in ours]), median([r["cpu"] for r in ours])
    base_seconds, base_cpu = median([r["seconds"] for r in base]), median([r["cpu"] for r in base])
    base_rows = base[0]["rows"]
    ratio_wall = (rows / seconds) / (base_rows / base_seconds)
    ratio_cpu = (rows / cpu) / (base_rows / base_cpu)
    peak_mb = max(r["peak_mb"] for r in ours)
    writes = sum(r["writes"] for r in ours)
    failed = sum(r["failed"] for r in ours)
    max_wait = max(r["max_wait"] for r in ours)
    p99 = max(r["p99_wait"] for r in ours)
    print(
        f"medians of {len(ours)} rounds: {ratio_wall:.2f} of the baseline by wall time, "
        f"{ratio_cpu:.2f} by CPU time (target >= 0.20); peak memory {peak_mb:.0f} MB "
        f"(target < 300)"
    )
    print(
        f"concurrent writer (a reading every 50 ms through the bot's repository): {writes} "
        f"writes, longest wait {max_wait * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (worst round), "
        f"failed {failed} (target: none over 1 s, none failed)"
    )
    slow = [item for r in ours for item in r["slow"]]
    if slow:
        print(f"writes over 0.5 s (time, seconds): {slow[:20]}", file=sys.stderr)
    figures = {
        "bench": "import", "engine": engine, "rows": rows, "rounds": len(ours),
        "import_seconds": round(seconds, 2), "import_cpu_s": round(cpu, 2),
        "baseline_seconds": round(base_seconds, 2), "baseline_cpu_s": round(base_cpu, 2),
        "ratio_wall": round(ratio_wall, 3), "ratio_cpu": round(ratio_cpu, 3),
        "peak_mb": round(peak_mb),
        "writer_writes": writes, "writer_failed": failed,
        "writer_max_wait_ms": round(max_wait * 1000, 1),
        "writer_p99_wait_ms": round(p99 * 1000, 1),
    }  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
