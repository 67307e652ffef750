"""The monthly push at scale: 5 000 receipts through the fake Bot API server with its limit raised
to 200 messages/s.

    python bench/push_bench.py                 # 5 000 receipts (a few minutes on 2 cores)
    python bench/push_bench.py --count 500     # a smoke run
    python bench/push_bench.py --end-to-end    # also: render while sending, no preparation

The real `python -m bot push` process talks to the fake server (in this process) over loopback.
First `push --prepare` renders the period's PDFs into the spool with the 2-process render pool
(as an operator or the scheduler does right after an import); then `push` sends them, paced at
PUSH_RATE_PER_SECOND=200. Reported: the rendering rate, the achieved sending rate (first to last
accepted document, as the fake server saw them) against the limit, 429s, duplicates, and lost.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import sys
import tempfile
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from storage.db import create_engine
from storage.demo import GOLDEN_LINES, GOLDEN_PERIOD, demo_organization
from storage.migrate import upgrade
from storage.models import (
    Account,
    AccountLink,
    Apartment,
    Charge,
    House,
    Organization,
    Resident,
    Service,
    utcnow,
)
from tests.e2e.conftest import bot_environment
from tests.fakes.telegram_server import FakeTelegram
from tests.harness import BOT_TOKEN

LIMIT = 200


async def seed(url: str, count: int) -> set[tuple[int, str]]:
    """`count` registered residents, each with one account with the golden month's charges."""
    engine = create_engine(url)
    org = demo_organization()
    now = utcnow()
    async with engine.begin() as conn:
        org_id = (
            await conn.execute(
                insert(Organization).values(
                    code="bench", name=org.name, inn=org.inn, kpp=org.kpp, address=org.address,
                    bank_name=org.bank_name, bic=org.bic, corr_account=org.corr_account,
                    settlement_account=org.settlement_account,
                )
            )
        ).inserted_primary_key[0]  # fmt: skip
        service_ids = []
        for order, line in enumerate(GOLDEN_LINES):
            result = await conn.execute(
                insert(Service).values(
                    organization_id=org_id, code=line.code, name=line.name, unit=line.unit,
                    group_name="Теплоснабжение", resource=line.resource, sort_order=order,
                )
            )  # fmt: skip
            service_ids.append(result.inserted_primary_key[0])
        houses = (count + 99) // 100
        await conn.execute(
            insert(House),
            [
                {"id": h + 1, "organization_id": org_id, "code": f"h{h}",
                 "address": f"г. Хабаровск, ул. Ленина, д. {h + 1}"}
                for h in range(houses)
            ],
        )  # fmt: skip
        await conn.execute(
            insert(Apartment),
            [{"id": n + 1, "house_id": n // 100 + 1, "number": str(n % 100 + 1),
              "area": D("45.10")} for n in range(count)],
        )  # fmt: skip
        await conn.execute(
            insert(Account),
            [{"id": n + 1, "organization_id": org_id, "apartment_id": n + 1,
              "number": f"{n:08d}", "holder_name": f"Абонент {n}"} for n in range(count)],
        )  # fmt: skip
        await conn.execute(
            insert(Charge),
            [
                {"account_id": n + 1, "period": GOLDEN_PERIOD, "service_id": service_id,
                 "tariff": line.tariff, "volume": line.volume, "opening": line.opening,
                 "charged": line.charged, "recalculation": line.recalculation,
                 "paid": line.paid, "closing": line.total}
                for n in range(count)
                for service_id, line in zip(service_ids, GOLDEN_LINES, strict=True)
            ],
        )  # fmt: skip
        await conn.execute(
            insert(Resident),
            [{"id": n + 1, "telegram_id": 10_000 + n, "chat_id": 10_000 + n,
              "registered_at": now, "agreed_at": now, "consent_at": now,
              "push_telegram": True, "push_email": False, "created_at": now}
             for n in range(count)],
        )  # fmt: skip
        await conn.execute(
            insert(AccountLink),
            [{"resident_id": n + 1, "account_id": n + 1, "method": "phone", "created_at": now}
             for n in range(count)],
        )  # fmt: skip
    await engine.dispose()
    return {(10_000 + n, f"receipt_{n:08d}_2020-03.pdf") for n in range(count)}


async def run_bot(tg: FakeTelegram, url: str, cwd: Path, *args: str) -> tuple[int, float, str]:
    env = bot_environment(
        tg, url,
        {"RENDER_WORKERS": "2", "PUSH_RATE_PER_SECOND": str(LIMIT), "PUSH_PER_CHAT_INTERVAL": "1",
         "LOG_LEVEL": "WARNING", "RECEIPT_SPOOL_DIR": str(cwd / "spool")},
    )  # fmt: skip
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    elapsed = time.perf_counter() - began
    if process.returncode != 0:
        raise SystemExit(f"`python -m bot {' '.join(args)}` failed:\n{err.decode()}")
    return process.returncode, elapsed, out.decode().strip()


def report(tg: FakeTelegram, expected: set[tuple[int, str]], label: str) -> None:
    calls = tg.calls(method="sendDocument")
    accepted = [call for call in calls if call.ok]
    counted = collections.Counter((c.chat_id, c.filenames.get("document")) for c in accepted)
    duplicates = sum(n - 1 for n in counted.values())
    lost = len(expected - set(counted))
    refused = sum(1 for call in calls if call.status == 429)
    span = accepted[-1].time - accepted[0].time if len(accepted) > 1 else 0
    rate = (len(accepted) - 1) / span if span else 0.0
    print(f"{label}: {len(accepted)} receipts accepted in {span:.1f} s: {rate:.1f} msgs/s "
          f"= {rate / LIMIT:.2f} of the {LIMIT}/s limit; 429s {refused}, "
          f"duplicates {duplicates}, lost {lost}")  # fmt: skip


async def bench(count: int, end_to_end: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="push-bench-") as folder:
        work = Path(folder)
        url = f"sqlite+aiosqlite:///{work / 'bench.sqlite3'}"
        await asyncio.to_thread(upgrade, url)
        expected = await seed(url, count)
        async with FakeTelegram(BOT_TOKEN) as tg:
            tg.set_limits(global_per_second=LIMIT, per_chat_interval=1, per_chat_burst=1)
            _, elapsed, out = await run_bot(
                tg, url, work, "push", "--period", "2020-03", "--prepare"
            )
            print(f"prepare (2 render workers): {count} PDFs in {elapsed:.1f} s "
                  f"({count / elapsed:.1f}/s, process start included)")  # fmt: skip
            _, elapsed, out = await run_bot(tg, url, work, "push", "--period", "2020-03")
            print(f"push process: {elapsed:.1f} s in all; it said: {out}")
            report(tg, expected, "prepared push")
        if end_to_end:
            url2 = f"sqlite+aiosqlite:///{work / 'bench2.sqlite3'}"
            await asyncio.to_thread(upgrade, url2)
            await seed(url2, count)
            async with FakeTelegram(BOT_TOKEN) as tg:
                tg.set_limits(global_per_second=LIMIT, per_chat_interval=1, per_chat_burst=1)
                _, elapsed, out = await run_bot(
                    tg, url2, work / "e2e", "push", "--period", "2020-03"
                )
                report(tg, expected, "render-while-sending push")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--end-to-end", action="store_true")
    args = parser.parse_args()
    began = dt.datetime.now()
    asyncio.run(bench(args.count, args.end_to_end))
    print(f"bench took {(dt.datetime.now() - began).total_seconds():.0f} s")


if __name__ == "__main__":
    main()
