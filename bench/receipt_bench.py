"""Receipt rendering speed: our renderer next to a naive fpdf2 receipt, in the same run.

    python bench/receipt_bench.py                   # full run (about 3 minutes on 2 cores)
    python bench/receipt_bench.py --quick           # a smoke run

The naive receipt is what one writes first with fpdf2: a new FPDF with `add_font` of the full
DejaVu TTFs, `pdf.table()` for the tables, the QR code as a PNG image (segno). It shows the same
content. Reported: receipts/s of each in one process, ours with a 2-process pool (the bot's render
pool), and the resident memory of the pool's workers before and after rendering 10 000 receipts.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import segno
from fpdf import FPDF

from receipts import qr
from receipts.data import Amounts, ChargeGroup, ChargeLine, MeterLine, Payee, ReceiptData
from receipts.pdf import FONT_DIR, render_receipt
from storage.demo import GOLDEN_GROUP, GOLDEN_LINES, GOLDEN_PERIOD, demo_organization
from texts import fmt
from texts.ru import receipts as t


def sample(n: int) -> ReceiptData:
    """The golden receipt, varied per n (account, payer, amounts) so nothing is cached by luck."""
    org = demo_organization()
    bump = D(n % 997) / 100
    lines = tuple(
        ChargeLine(
            line.name, line.unit, line.tariff, line.volume,
            Amounts(line.opening + bump, line.charged, line.recalculation, line.paid,
                    line.total + bump),
        )
        for line in GOLDEN_LINES
    )  # fmt: skip
    return ReceiptData(
        account_id=n,
        account_number=f"{n:08d}",
        payer=f"Иванов Иван Иванович {n}",
        address=f"г. Хабаровск, ул. Ленина, д. {n % 200 + 1}, кв. {n % 97 + 1}",
        area=D("33.10"),
        ownership_type="Частная",
        period=GOLDEN_PERIOD,
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
        groups=(ChargeGroup(GOLDEN_GROUP, lines),),
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
                fmt.money(a.paid), fmt.money(a.total),
            ))  # fmt: skip
        totals = receipt.totals
        table.row((t.PDF_GRAND_TOTAL, "", "", "", fmt.money(totals.opening),
                   fmt.money(totals.charged), fmt.money_or_dash(totals.recalculation),
                   fmt.money(totals.paid), fmt.money(totals.total)))  # fmt: skip
    with pdf.table() as table:
        table.row(t.PDF_METER_COLUMNS)
        for meter in receipt.meters:
            table.row((t.RESOURCES[meter.resource], meter.serial, fmt.volume(meter.previous),
                       fmt.volume(meter.current), fmt.volume(meter.consumption), "—"))  # fmt: skip
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(0, 8, t.PDF_TO_PAY.format(total=fmt.rub(receipt.to_pay)), align="R")
    return bytes(pdf.output())


def rate(render, count: int, start: int = 0) -> float:
    render(sample(start))  # warm-up: the first render of a process pays its one-time costs
    began = time.perf_counter()
    for n in range(start + 1, start + 1 + count):
        render(sample(n))
    return count / (time.perf_counter() - began)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _worker_batch(start: int, count: int) -> tuple[int, float]:
    for n in range(start, start + count):
        render_receipt(sample(n))
    return os.getpid(), rss_mb()


def _worker_rss() -> tuple[int, float]:
    render_receipt(sample(0))
    return os.getpid(), rss_mb()


def pool_rate(workers: int, count: int, memory_count: int) -> tuple[float, dict, dict]:
    """Receipts/s through a process pool (batches, as the push keeps the pool busy), and each
    worker's RSS after its first receipt and after `memory_count` receipts in all."""
    with ProcessPoolExecutor(workers) as pool:
        before: dict[int, float] = {}
        for future in [pool.submit(_worker_rss) for _ in range(workers * 4)]:
            pid, rss = future.result()
            before.setdefault(pid, rss)
        batch = 50
        began = time.perf_counter()
        futures = [pool.submit(_worker_batch, n, batch) for n in range(0, count, batch)]
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - began
        after: dict[int, float] = {}
        rest = max(memory_count - count, 0)
        futures = [pool.submit(_worker_batch, count + n, batch) for n in range(0, rest, batch)]
        for future in futures:
            pid, rss = future.result()
            after[pid] = rss
    return count / elapsed, before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    args = parser.parse_args()
    naive_n, ours_n, pool_n, memory_n = (5, 20, 100, 200) if args.quick else (40, 400, 2000, 10_000)

    naive = rate(render_naive, naive_n)
    ours = rate(render_receipt, ours_n)
    pooled, before, after = pool_rate(2, pool_n, memory_n)
    size_ours = len(render_receipt(sample(1)))
    size_naive = len(render_naive(sample(1)))
    print(
        f"naive fpdf2 receipt, 1 process:   {naive:7.1f} receipts/s  ({size_naive // 1024} KB each)"
    )
    print(
        f"our renderer, 1 process:          {ours:7.1f} receipts/s  ({size_ours // 1024} KB each)"
    )
    print(f"speed-up:                         {ours / naive:7.1f}x")
    print(f"our renderer, 2-process pool:     {pooled:7.1f} receipts/s")
    for pid in sorted(after):
        print(f"worker {pid}: RSS {before.get(pid, 0):.0f} MB after 1 receipt, "
              f"{after[pid]:.0f} MB after ~{memory_n // 2} receipts")  # fmt: skip


if __name__ == "__main__":
    main()
