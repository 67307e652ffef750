"""Receipt rendering speed: our renderer next to a naive fpdf2 receipt, interleaved in one run.

    python bench/receipt_bench.py                   # full run (a few minutes on a shared machine)
    python bench/receipt_bench.py --quick           # a smoke run

The naive receipt is what one writes first with fpdf2: a new FPDF with `add_font` of the full
DejaVu TTFs, `pdf.table()` for the tables, the QR code as a PNG image (segno). It shows the same
content. The two are rendered in alternating rounds (one naive receipt, then several of ours) so
that both see the same machine load. Reported, for each: CPU time per receipt (process_time,
median over every sample: what a core can do, whatever else the shared machine runs) and the
wall rate; then ours through the bot's render pool (`receipts.pool`, 2 workers) and each
worker's resident memory after warm-up and after the run. Ends with one JSON line.

Heavy imports (the demo data's SQLAlchemy models) stay inside functions: a spawned pool worker
imports this script again as `__mp_main__`, and must stay as lean as under `python -m bot`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
from decimal import Decimal as D
from functools import cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import segno
from fpdf import FPDF

from receipts import pool, qr, worker
from receipts.content import ChargeGroup, ChargeLine, MeterLine, Payee, ReceiptData
from receipts.pdf import FONT_DIR, render_receipt
from storage.money import Totals
from texts import fmt
from texts.ru import receipts as t


@cache
def _golden():  # type: ignore[no-untyped-def]
    from storage import demo

    return demo.demo_organization(), demo.GOLDEN_LINES, demo.GOLDEN_GROUP, demo.GOLDEN_PERIOD


def sample(n: int) -> ReceiptData:
    """The golden receipt, varied per n (account, payer, amounts) so nothing is cached by luck."""
    org, golden_lines, golden_group, golden_period = _golden()
    bump = D(n % 997) / 100
    lines = tuple(
        ChargeLine(
            line.name, line.unit, line.tariff, line.volume,
            Totals(line.opening + bump, line.charged, line.recalculation, line.paid,
                    line.total + bump),
        )
        for line in golden_lines
    )  # fmt: skip
    return ReceiptData(
        account_id=n,
        account_number=f"{n:08d}",
        payer=f"Иванов Иван Иванович {n}",
        address=f"г. Хабаровск, ул. Ленина, д. {n % 200 + 1}, кв. {n % 97 + 1}",
        area=D("33.10"),
        ownership_type="Частная",
        period=golden_period,
        payee=Payee(
            org.name,
            org.inn,
            org.kpp,
            org.address,
            org.phone,
            org.bank_name,
            org.bic,
            org.corr_account,
            org.settlement_account,
        ),
        groups=(ChargeGroup(golden_group, lines),),
        meters=(
            MeterLine("cold_water", "ХВ-0047110815", "", D("814.1"), D("817.5"), None),
            MeterLine("hot_water", "ГВ-0047114711", "", D("460.3"), D("462.2125"), None),
        ),
    )


def render_naive(receipt: ReceiptData) -> bytes:
    """The straightforward fpdf2 receipt, for comparison."""
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(0, 7, t.PDF_TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.cell(
        0, 6, t.PDF_SUBTITLE.format(month=fmt.month(receipt.period)), new_x="LMARGIN", new_y="NEXT"
    )
    payee = receipt.payee
    pdf.set_font("DejaVu", "", 8)
    for line in (
        payee.name,
        t.PDF_INN_KPP.format(inn=payee.inn, kpp=payee.kpp),
        t.PDF_ADDRESS.format(address=payee.address),
        t.PDF_BANK.format(bank=payee.bank_name),
        t.PDF_BIC.format(bic=payee.bic, corr=payee.corr_account),
        t.PDF_SETTLEMENT.format(account=payee.settlement_account),
        f"{t.PDF_ACCOUNT}: {receipt.account_number}",
        f"{t.PDF_HOLDER}: {receipt.payer}",
        f"{t.PDF_PAYER_ADDRESS}: {receipt.address}",
    ):
        pdf.multi_cell(120, 4, line, new_x="LMARGIN", new_y="NEXT")
    png = io.BytesIO()
    segno.make_qr(qr.payload(receipt).encode("utf-8"), error="m").save(png, kind="png", scale=4)
    pdf.image(png, x=158, y=10, w=42, h=42)
    pdf.set_font("DejaVu", "", 7)
    with pdf.table(col_widths=(40, 14, 17, 16, 21, 20, 21, 20, 21)) as table:
        table.row(t.PDF_COLUMNS)
        for line in receipt.lines:
            a = line.amounts
            table.row((
                line.service, line.unit, fmt.tariff(line.tariff), fmt.volume(line.volume),
                fmt.money(a.opening), fmt.money(a.charged), fmt.money_or_dash(a.recalculation),
                fmt.money(a.paid), fmt.money(a.closing),
            ))  # fmt: skip
        totals = receipt.totals
        table.row((t.PDF_GRAND_TOTAL, "", "", "", fmt.money(totals.opening),
                   fmt.money(totals.charged), fmt.money_or_dash(totals.recalculation),
                   fmt.money(totals.paid), fmt.money(totals.closing)))  # fmt: skip
    with pdf.table() as table:
        table.row(t.PDF_METER_COLUMNS)
        for meter in receipt.meters:
            table.row((t.RESOURCES[meter.resource], meter.serial, fmt.volume(meter.previous),
                       fmt.volume(meter.current), fmt.volume(meter.consumption), "—"))  # fmt: skip
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(0, 8, t.PDF_TO_PAY.format(total=fmt.rub(receipt.to_pay)), align="R")
    return bytes(pdf.output())


def interleaved(rounds: int, ours_per_round: int) -> dict[str, list[float]]:
    """CPU and wall seconds of each receipt, naive and ours in alternating rounds."""
    render_naive(sample(0))  # warm-up: each renderer's first receipt pays one-time costs
    render_receipt(sample(0))
    times: dict[str, list[float]] = {
        "naive_cpu": [],
        "naive_wall": [],
        "ours_cpu": [],
        "ours_wall": [],
    }
    n = 1
    for round_ in range(rounds):
        order = [("naive", render_naive, 1), ("ours", render_receipt, ours_per_round)]
        for name, render, count in order if round_ % 2 == 0 else order[::-1]:
            for _ in range(count):
                data = sample(n)
                n += 1
                cpu, wall = time.process_time(), time.perf_counter()
                render(data)
                times[f"{name}_cpu"].append(time.process_time() - cpu)
                times[f"{name}_wall"].append(time.perf_counter() - wall)
    return times


async def pooled(workers: int, count: int) -> tuple[float, list[dict], list[dict]]:
    """Receipts/s through the bot's render pool, and each worker's status after its warm-up and
    after the run."""
    pool.configure(workers)
    try:
        warm = await pool.ready()
        jobs = [sample(n) for n in range(count)]
        began = time.perf_counter()
        await asyncio.gather(*(pool.run_cpu(render_receipt, data) for data in jobs))
        elapsed = time.perf_counter() - began
        after: dict[int, dict] = {}
        while len(after) < workers:  # any worker may answer: ask until each has
            status = await pool.run_cpu(worker.status)
            after[status["pid"]] = status
    finally:
        pool.shutdown()
    return count / elapsed, warm, list(after.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    args = parser.parse_args()
    rounds, ours_per_round, pool_n = (4, 5, 100) if args.quick else (40, 8, 600)

    times = interleaved(rounds, ours_per_round)
    ours_cpu = statistics.median(times["ours_cpu"]) * 1000
    naive_cpu = statistics.median(times["naive_cpu"]) * 1000
    ours_wall = len(times["ours_wall"]) / sum(times["ours_wall"])
    naive_wall = len(times["naive_wall"]) / sum(times["naive_wall"])
    pool_rate, warm, after = asyncio.run(pooled(2, pool_n))
    size_ours = len(render_receipt(sample(1)))
    size_naive = len(render_naive(sample(1)))
    print(f"samples: {len(times['ours_cpu'])} ours, {len(times['naive_cpu'])} naive, interleaved")
    print(f"naive fpdf2 receipt: {naive_cpu:6.1f} ms CPU each (median) = {1000 / naive_cpu:5.1f}/s "
          f"per core; wall {naive_wall:5.1f}/s; {size_naive // 1024} KB")  # fmt: skip
    print(f"our renderer:        {ours_cpu:6.1f} ms CPU each (median) = {1000 / ours_cpu:5.1f}/s "
          f"per core; wall {ours_wall:5.1f}/s; {size_ours // 1024} KB")  # fmt: skip
    print(f"speed-up by CPU time: {naive_cpu / ours_cpu:.1f}x")
    print(f"our renderer, 2-worker render pool: {pool_rate:.1f} receipts/s wall")
    for status in after:
        first = next((s for s in warm if s["pid"] == status["pid"]), None)
        warm_rss = f"{first['rss_mb']:.0f} MB" if first else "-"
        print(f"worker {status['pid']}: RSS {warm_rss} warm, "
              f"{status['rss_mb']:.0f} MB after the run (peak {status['peak_rss_mb']:.0f} MB); "
              f"bot packages loaded: {status['bot_packages'] or 'none'}")  # fmt: skip
    figures = {
        "ours_cpu_ms": round(ours_cpu, 2),
        "naive_cpu_ms": round(naive_cpu, 2),
        "ours_per_core_per_s": round(1000 / ours_cpu, 1),
        "speedup_cpu": round(naive_cpu / ours_cpu, 2),
        "ours_wall_per_s": round(ours_wall, 1),
        "naive_wall_per_s": round(naive_wall, 1),
        "ours_samples": len(times["ours_cpu"]),
        "naive_samples": len(times["naive_cpu"]),
        "pool_workers": 2,
        "pool_wall_per_s": round(pool_rate, 1),
        "worker_rss_mb": round(max(s["rss_mb"] for s in after), 1),
        "worker_peak_rss_mb": round(max(s["peak_rss_mb"] for s in after), 1),
        "worker_bot_packages": sorted({p for s in after for p in s["bot_packages"]}),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
