"""The monthly push against the fake Bot API server with a real upload's round trip and Telegram's
30 messages/s limit.

    python bench/push_bench.py --count 2000 --latency-ms 200    # the issue's figure
    python bench/push_bench.py --count 2000 --latency-ms 0 100 200 --paid   # the README's table
    python bench/push_bench.py --count 500 --latency-ms 0        # a smoke run
    python bench/push_bench.py --count 2000 --paid               # PUSH_RATE_PER_SECOND=1000

The real `python -m bot push` process talks to the fake server (in this process) over loopback.
First `push --prepare` renders the period's PDFs into the spool with the 2-process render pool
(as an operator or the scheduler does right after an import); every run then starts from a copy
of that database and spool. Each sendDocument takes `--latency-ms` before the fake sees it, and
the fake answers 429 (retry_after) above 30 messages/s overall or 1 a second in a chat.

Interleaved in one run: the baseline (PUSH_CONCURRENCY=1, one send at a time as before, on
`--baseline-count` receipts: at 200 ms it crawls) and the push (PUSH_CONCURRENCY, default 8), both
at the default PUSH_RATE_PER_SECOND (25). Reported for each: the achieved rate (first to last
accepted document, as the fake saw them), `fraction_of_rate` (achieved / configured), 429s,
duplicates, lost, the bot process's CPU time (render workers included) and peak RSS, and the
whole push of 80 000 receipts at that rate. `--paid` adds a run at PUSH_RATE_PER_SECOND=1000
(Telegram's paid broadcasts) without upload latency and with the fake's overall limit off: how
far this machine gets, i.e. the CPU limit of the push loop. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import resource
import shutil
import sys
import tempfile
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, update

from bot.fakeapi.server import FakeTelegram
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
from tests.harness import BOT_TOKEN

DEFAULT_RATE = 25.0  # PUSH_RATE_PER_SECOND's default (bot/config.py)
PAID_RATE = 1000.0
TELEGRAM_LIMIT = 30  # the fake's overall limit, messages/s
WHOLE_PUSH = 80_000


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


async def run_bot(
    tg: FakeTelegram, url: str, cwd: Path, env: dict[str, str], *args: str
) -> dict[str, float]:
    """Run `python -m bot ARGS`; its wall time, CPU time (with its render workers) and peak RSS."""
    environment = bot_environment(
        tg, url, {"RENDER_WORKERS": "2", "PUSH_PER_CHAT_INTERVAL": "1", "LOG_LEVEL": "WARNING",
                  "RECEIPT_SPOOL_DIR": str(cwd / "spool"), **env},
    )  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    peaks: list[float] = []
    watcher = asyncio.create_task(watch_peak_rss(process.pid, peaks))
    _, err = await process.communicate()
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    if process.returncode != 0:
        raise SystemExit(f"`python -m bot {' '.join(args)}` failed:\n{err.decode()[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": max(peaks, default=0.0)}


def read_peak_rss_mb(pid: int) -> float | None:
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) / 1024
    except OSError:
        return None
    return None


async def watch_peak_rss(pid: int, peaks: list[float]) -> None:
    """The bot process's own peak RSS (VmHWM; render workers apart), read while it runs."""
    while (peak := await asyncio.to_thread(read_peak_rss_mb, pid)) is not None:
        peaks.append(peak)
        await asyncio.sleep(0.5)


def figures(
    tg: FakeTelegram, expected: set[tuple[int, str]], rate: float, run: dict[str, float]
) -> dict[str, float | int]:
    calls = tg.calls(method="sendDocument")
    accepted = [call for call in calls if call.ok]
    counted = collections.Counter((c.chat_id, c.filenames.get("document")) for c in accepted)
    span = accepted[-1].time - accepted[0].time if len(accepted) > 1 else 0
    achieved = (len(accepted) - 1) / span if span else 0.0
    return {
        "count": len(expected),
        "achieved_rate": round(achieved, 2),
        "fraction_of_rate": round(achieved / rate, 3),
        "duplicates": sum(n - 1 for n in counted.values()),
        "lost": len(expected - set(counted)),
        "http_429": sum(1 for call in calls if call.status == 429),
        "wall_s": round(run["wall_s"], 1),
        "bot_cpu_s": round(run["cpu_s"], 2),
        "bot_peak_rss_mb": round(run["peak_rss_mb"], 1),
        "estimate_80k_hours": round(WHOLE_PUSH / achieved / 3600, 2) if achieved else None,
    }  # type: ignore[return-value]


async def push_run(
    template: Path,
    work: Path,
    count: int,
    *,
    latency_ms: float,
    rate: float,
    concurrency: int,
    limit: float | None,
) -> dict[str, float | int]:
    """One push of the first `count` residents' receipts from a copy of the prepared template."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(template, work)
    url = f"sqlite+aiosqlite:///{work / 'bench.sqlite3'}"
    expected = await keep_first(url, count)
    async with FakeTelegram(BOT_TOKEN) as tg:
        tg.set_limits(global_per_second=limit, per_chat_interval=1, per_chat_burst=1)
        tg.upload_latency = latency_ms / 1000
        env = {"PUSH_RATE_PER_SECOND": str(rate), "PUSH_CONCURRENCY": str(concurrency)}
        run = await run_bot(tg, url, work, env, "push", "--period", "2020-03")
        result = figures(tg, expected, rate, run)
    shutil.rmtree(work, ignore_errors=True)
    return {"concurrency": concurrency, "rate_per_second": rate, "latency_ms": latency_ms,
            **result}  # fmt: skip


async def keep_first(url: str, count: int) -> set[tuple[int, str]]:
    """Unsubscribe every resident after the first `count` (the baseline's smaller push)."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(update(Resident).where(Resident.id > count).values(push_telegram=False))
    await engine.dispose()
    return {(10_000 + n, f"receipt_{n:08d}_2020-03.pdf") for n in range(count)}


def line(label: str, result: dict[str, float | int]) -> str:
    return (
        f"{label:<34} {result['count']:>6} receipts: {result['achieved_rate']:7.1f}/s = "
        f"{result['fraction_of_rate']:.2f} of {result['rate_per_second']:g}/s; 429s "
        f"{result['http_429']}, duplicates {result['duplicates']}, lost {result['lost']}; "
        f"bot CPU {result['bot_cpu_s']:.1f} s, "
        f"peak RSS {result['bot_peak_rss_mb']:.0f} MB; wall {result['wall_s']:.0f} s; "
        f"80 000 would take {result['estimate_80k_hours']} h"
    )


async def bench(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="push-bench-") as folder:
        template = Path(folder) / "template"
        template.mkdir()
        url = f"sqlite+aiosqlite:///{template / 'bench.sqlite3'}"
        await asyncio.to_thread(upgrade, url)
        await seed(url, args.count)
        async with FakeTelegram(BOT_TOKEN) as tg:
            prepared = await run_bot(tg, url, template, {}, "push", "--period", "2020-03",
                                     "--prepare")  # fmt: skip
        print(f"prepare (2 render workers): {args.count} PDFs in {prepared['wall_s']:.1f} s, "
              f"CPU {prepared['cpu_s']:.1f} s ({1000 * prepared['cpu_s'] / args.count:.0f} ms "
              "each, process start included)", flush=True)  # fmt: skip
        work = Path(folder) / "run"

        async def push(
            count: int,
            latency_ms: float,
            rate: float,
            concurrency: int,
            limit: float | None,
            label: str,
        ) -> dict[str, float | int]:
            result = await push_run(template, work, count, latency_ms=latency_ms, rate=rate,
                                    concurrency=concurrency, limit=limit)  # fmt: skip
            print(line(label, result), flush=True)
            return result

        idle = await push(0, 0, DEFAULT_RATE, args.concurrency, TELEGRAM_LIMIT, "nothing to send")
        startup_cpu = float(idle["bot_cpu_s"])
        print(f"  (the bot process's start and stop cost {startup_cpu:.1f} s of CPU: taken off "
              "the per-receipt CPU below)", flush=True)  # fmt: skip
        by_latency: dict[str, dict[str, object]] = {}
        for latency in args.latency_ms:
            runs: dict[str, list[dict[str, float | int]]] = {"baseline": [], "push": []}
            for _ in range(args.rounds):  # interleaved: the baseline, then the push
                runs["baseline"].append(await push(
                    min(args.baseline_count, args.count), latency, DEFAULT_RATE, 1,
                    TELEGRAM_LIMIT, f"{latency:g} ms: baseline, one at a time",
                ))  # fmt: skip
                runs["push"].append(await push(
                    args.count, latency, DEFAULT_RATE, args.concurrency, TELEGRAM_LIMIT,
                    f"{latency:g} ms: push, {args.concurrency} in flight",
                ))  # fmt: skip
            by_latency[f"{latency:g}"] = summarize(runs, startup_cpu)
        paid = None
        if args.paid:
            runs = {"push": [], "baseline": []}
            for _ in range(args.rounds):
                runs["push"].append(await push(
                    args.count, 0, PAID_RATE, args.paid_concurrency, None,
                    f"paid 1000/s, {args.paid_concurrency} in flight",
                ))  # fmt: skip
            paid = summarize(runs, startup_cpu)
    main_figures = by_latency[f"{args.latency_ms[-1]:g}"]
    return {
        "bench": "push",
        "count": args.count,
        "latency_ms": args.latency_ms[-1],
        "rate_per_second": DEFAULT_RATE,
        "concurrency": args.concurrency,
        **{key: value for key, value in main_figures.items() if key != "runs"},
        "startup_cpu_s": round(startup_cpu, 2),
        "prepare_s": round(prepared["wall_s"], 1),
        "by_latency_ms": by_latency,
        "paid": paid,
    }


def summarize(
    runs: dict[str, list[dict[str, float | int]]], startup_cpu: float
) -> dict[str, object]:
    """The best push run's figures (the machine is shared: the best is the least disturbed), the
    totals of what must be zero, and the baseline's rate."""
    best = max(runs["push"], key=lambda r: r["achieved_rate"])
    net_cpu = max(float(best["bot_cpu_s"]) - startup_cpu, 0.0)
    baseline = max((r["achieved_rate"] for r in runs["baseline"]), default=None)
    return {
        "achieved_rate": best["achieved_rate"],
        "fraction_of_rate": best["fraction_of_rate"],
        "duplicates": sum(int(r["duplicates"]) for r in runs["push"]),
        "lost": sum(int(r["lost"]) for r in runs["push"]),
        "http_429": sum(int(r["http_429"]) for r in runs["push"]),
        "bot_cpu_s": best["bot_cpu_s"],
        "bot_cpu_ms_per_receipt": round(1000 * net_cpu / max(int(best["count"]), 1), 2),
        "bot_peak_rss_mb": best["bot_peak_rss_mb"],
        "estimate_80k_hours": best["estimate_80k_hours"],
        "baseline_rate": baseline,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument(
        "--latency-ms",
        type=float,
        nargs="+",
        default=[200.0],
        help="per sendDocument; several values: one run each, one preparation",
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--baseline-count", type=int, default=200,
                        help="receipts of the one-at-a-time baseline run")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1, help="interleaved baseline/push rounds")
    parser.add_argument("--paid", action="store_true", help="also PUSH_RATE_PER_SECOND=1000")
    parser.add_argument("--paid-concurrency", type=int, default=32)
    args = parser.parse_args()
    began = time.perf_counter()
    summary = asyncio.run(bench(args))
    print(f"bench took {time.perf_counter() - began:.0f} s")
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
