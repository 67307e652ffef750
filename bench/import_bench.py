"""Benchmark: importing charges from CSV into SQLite, next to raw sqlite3 executemany.

    python bench/import_bench.py [--rows 1000000] [--keep DIR]
    python bench/import_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/postgres

Generates a charges CSV as billing systems export it (`;`, cp1251, decimal comma) with its
reference files, then
  1. imports everything into a fresh SQLite file through our importer (`storage.importer`), in a
     child process whose peak memory (maxrss) is measured;
  2. the baseline: the same charge rows, already parsed into tuples of stored integers, inserted
     with plain `sqlite3` `executemany` into a fresh database of the same schema.
Target: at least 0.2 of the baseline's rows/s and peak memory under 300 MB.

With --database-url (a PostgreSQL server and a user that may create databases) both run on
PostgreSQL instead, in scratch databases `import_bench` and `import_bench_baseline` made there;
the baseline is then asyncpg's `executemany` of the same parsed rows.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
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
)  # fmt: skip
MONTHS = 12


def comma(kopecks: int, scale: int = 2) -> str:
    sign = "-" if kopecks < 0 else ""
    whole, frac = divmod(abs(kopecks), 10**scale)
    return f"{sign}{whole},{frac:0{scale}d}"


def generate(directory: Path, rows: int) -> int:
    """Reference files and the charges file; the number of charge rows written."""
    accounts = max(1, rows // (MONTHS * len(SERVICES)))
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
            for m in range(MONTHS):
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
    return min(rows, accounts * MONTHS * len(SERVICES))


def fresh_database(path: Path) -> str:
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    return url


def child(directory: Path, url: str) -> None:
    """Run the import in this (child) process; print the seconds it took as JSON."""
    from storage.db import create_engine
    from storage.importer import import_files

    files = sorted(directory.glob("*.csv"))

    async def main() -> tuple[float, float]:
        engine = create_engine(url)
        started, cpu = time.perf_counter(), time.process_time()
        await import_files(engine, files)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        await engine.dispose()
        return elapsed, cpu

    seconds, cpu = asyncio.run(main())
    print(json.dumps({"seconds": seconds, "cpu": cpu}))


def run_child(directory: Path, url: str) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak RSS in MB) of the import in a child process."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", str(directory), url],
        stdout=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"the import failed (exit code {process.returncode})")
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    result = json.loads(output)
    return result["seconds"], result["cpu"], peak_mb


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="charge rows (1 000 000)")
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
        rows = generate(files, args.rows)
        size_mb = (files / "charges.csv").stat().st_size / 1e6
        if on_postgres:
            url = fresh_postgres(args.database_url, "import_bench")
        else:
            url = fresh_database(work / "import.sqlite3")
        print(f"importing through storage.importer into {engine_name} ...", file=sys.stderr)
        seconds, cpu, peak_mb = run_child(files, url)
        print(f"baseline: {baseline_name} ...", file=sys.stderr)
        if on_postgres:
            base_seconds, base_cpu, base_rows = baseline_postgres(files, work, args.database_url)
        else:
            base_seconds, base_cpu, base_rows = baseline(files, work)
        ours, base = rows / seconds, base_rows / base_seconds
        print()
        print(
            f"charges CSV: {rows} rows, {size_mb:.0f} MB (cp1251, ';', decimal comma) "
            f"into {engine_name}"
        )
        print(
            f"{'':31} {'seconds':>8} {'rows/s':>9} {'CPU s':>7} {'rows/CPU s':>10} {'peak MB':>8}"
        )
        print(
            f"{'import (parse+validate+load)':31} {seconds:8.1f} {ours:9.0f} {cpu:7.1f} "
            f"{rows / cpu:10.0f} {peak_mb:8.0f}"
        )
        print(
            f"{'baseline: ' + baseline_name:31} {base_seconds:8.1f} {base:9.0f} "
            f"{base_cpu:7.1f} {base_rows / base_cpu:10.0f}"
        )
        print(f"ratio: {ours / base:.2f} of the baseline by wall time, "
              f"{(rows / cpu) / (base_rows / base_cpu):.2f} by CPU time (target >= 0.20); "
              f"peak memory {peak_mb:.0f} MB (target < 300)")  # fmt: skip
        figures = {
            "bench": "import", "engine": engine_name, "rows": rows,
            "import_seconds": round(seconds, 2), "import_cpu_s": round(cpu, 2),
            "baseline_seconds": round(base_seconds, 2), "baseline_cpu_s": round(base_cpu, 2),
            "ratio_wall": round(ours / base, 3),
            "ratio_cpu": round((rows / cpu) / (base_rows / base_cpu), 3),
            "peak_mb": round(peak_mb),
        }  # fmt: skip
        print(json.dumps(figures))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
            if on_postgres:
                from bench._postgres import drop_database

                drop_database(args.database_url, "import_bench")


if __name__ == "__main__":
    main()
