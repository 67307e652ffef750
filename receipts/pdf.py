"""The receipt PDF (ЕПД layout): one A4 page, fpdf2, Cyrillic through the shipped DejaVu TTF.

Fast on purpose: the monthly push renders tens of thousands of these.
- The fonts are cut once per process to the characters a receipt can use (Cyrillic, Latin,
  digits, punctuation, ₽ №), so each document parses and subsets a 30 KB font instead of
  the full 750 KB one; a character outside that set is drawn from the full font.
- The QR code is drawn as vector rectangles (one per horizontal run of dark modules), not as
  an embedded PNG: no image encoding or decoding per receipt, and it stays sharp when printed.
- Tables are plain cells; `FPDF.table()` does much more work than a fixed layout needs.
No aiogram imports here: this runs in the render pool's worker processes.
"""

from __future__ import annotations

import atexit
import copy
import logging
import shutil
import tempfile
import threading
from contextlib import AbstractContextManager
from decimal import Decimal
from pathlib import Path

from fontTools import subset as ftsubset
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import TextMode
from fpdf.fonts import SubsetMap, TTFFont

from receipts import qr
from receipts.content import ChargeLine, MeterLine, Payee, ReceiptData
from storage.money import Totals
from texts import fmt
from texts.ru import moneylines as tm
from texts.ru import receipts as t

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FILES = {"": FONT_DIR / "DejaVuSans.ttf"}
LINE_WIDTH = 0.2  # mm: table rules
BOLD_STROKE = 0.022  # mm per pt: outline width that makes the regular face bold (`_Receipt.font`)
FAMILY = "DejaVu"

# What billing data and our labels use. Anything else falls back to the full font.
RECEIPT_CHARSET = frozenset(
    [*range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x400, 0x460), 0x401, 0x451]
    + [ord(c) for c in "№₽−–—‒‘’‚“”„«»…•·×÷±≤≥°²³µ€"]
)

PAGE_W = 210.0
PAGE_H = 297.0
ROW_H = 4.5  # a table row, mm
MIN_ROW_H = 3.0
RECALC_ROW_H = 3.2  # a line of the reasons of recalculations, mm
HEADER_GRAY = 230
GROUP_GRAY = 245
MARGIN = 10.0
CONTENT_W = PAGE_W - 2 * MARGIN
QR_SIZE = 42.0
# Columns of the charges table (mm): 190 in all.
CHARGE_WIDTHS = (40.0, 14.0, 17.0, 16.0, 21.0, 20.0, 21.0, 20.0, 21.0)
METER_WIDTHS = (50.0, 36.0, 26.0, 26.0, 24.0, 28.0)

# fontTools logs every subset it makes (glyph lists included) at INFO: noise, and slow.
logging.getLogger("fontTools").setLevel(logging.WARNING)

_lock = threading.RLock()
_font_paths: dict[str, Path] | None = None


def _receipt_fonts() -> dict[str, Path]:
    """The fonts cut to RECEIPT_CHARSET, made once per process in a private temporary folder."""
    global _font_paths
    with _lock:
        if _font_paths is None:
            folder = Path(tempfile.mkdtemp(prefix="receipt-fonts-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            paths = {}
            for style, source in FONT_FILES.items():
                font = TTFont(source, recalcTimestamp=False)
                options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True)
                options.layout_features = []
                # PDF viewers ignore TrueType hinting; without it the font is a third smaller
                # and fontTools has less to copy when it cuts each document's subset
                options.hinting = False
                options.drop_tables += ["GSUB", "GPOS", "GDEF", "FFTM", "hdmx", "kern", "MATH"]
                subsetter = ftsubset.Subsetter(options)
                subsetter.populate(unicodes=RECEIPT_CHARSET)
                subsetter.subset(font)
                path = folder / source.name
                font.save(path)
                paths[style] = path
            _font_paths = paths
        return _font_paths


_templates: dict[str, TTFFont] | None = None


def _font_templates() -> dict[str, TTFFont]:
    """The cut fonts as fpdf2 parsed them (metrics, cmap, widths), once per process."""
    global _templates
    with _lock:
        if _templates is None:
            parsed = FPDF()
            for style, path in _receipt_fonts().items():
                parsed.add_font(FAMILY, style, path)
            _templates = {
                style: parsed.fonts[f"{FAMILY.lower()}{style}"] for style in _receipt_fonts()
            }
        return _templates


def _fresh_font(template: TTFFont, index: int) -> TTFFont:
    """A document's own copy of a parsed font: what `add_font` would build, without parsing
    the font file again. The metrics, widths and cmap are shared (read only); the glyph subset
    and the fontTools font (which the output cuts down in place) are the document's own."""
    font = copy.copy(template)
    font.i = index
    font.ttfont = TTFont(font.ttffile, recalcTimestamp=False, lazy=True)
    # The cut font's bounding boxes are right: fontTools then copies each used glyph's bytes
    # at output instead of decoding and re-encoding it.
    font.ttfont.recalcBBoxes = False
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.subset = SubsetMap(font)
    return font


def _needs_full_font(receipt: ReceiptData) -> bool:
    values = [
        receipt.payer,
        receipt.address,
        receipt.ownership_type,
        *(getattr(receipt.payee, name) for name in receipt.payee.__slots__),
        *(line.service for line in receipt.lines),
        *(line.unit for line in receipt.lines),
        *(group.name for group in receipt.groups),
        *(meter.serial for meter in receipt.meters),
        *(line.recalc_reason for line in receipt.lines),
    ]
    return any(ord(char) not in RECEIPT_CHARSET for value in values for char in value)


class _Receipt(FPDF):
    """The page with our small drawing helpers."""

    def __init__(self, full_fonts: bool) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)
        self.set_creator("utility-cabinet-bot")
        self._bold: AbstractContextManager[object] | None = None
        self._bold_size = 0.0
        if full_fonts:
            for style, path in FONT_FILES.items():
                self.add_font(FAMILY, style, path)
        else:
            for template in _font_templates().values():
                self.fonts[template.fontkey] = _fresh_font(template, len(self.fonts) + 1)
        self.set_line_width(LINE_WIDTH)
        self.add_page()

    def font(self, size: float, bold: bool = False) -> None:
        """Bold is the regular face filled and outlined (PDF text rendering mode 2): one font
        to embed per document instead of two halves the font work, the costliest part. The
        mode lives in a saved graphics state (q … Q), so it never leaks into regular text."""
        if self._bold is not None and (not bold or size != self._bold_size):
            self._bold.__exit__(None, None, None)
            self._bold = None
        self.set_font(FAMILY, "", size)
        if bold and self._bold is None:
            self._bold = self.local_context(
                text_mode=TextMode.FILL_STROKE, line_width=size * BOLD_STROKE
            )
            self._bold.__enter__()
            self._bold_size = size

    def put(self, x: float, y: float, width: float, height: float, text: str, align: str) -> None:
        """Text in a box, vertically centred as `cell()` does it, at a fraction of its cost
        (a table has a hundred values, and `cell()` is the heaviest call of fpdf2's)."""
        if not text:
            return
        if align == "L":
            left = x + self.c_margin
        else:
            text_width = self.get_string_width(text)
            left = (
                x + width - self.c_margin - text_width
                if align == "R"
                else x + (width - text_width) / 2
            )
        self.text(left, y + 0.5 * height + 0.3 * self.font_size, text)

    def say(
        self, width: float, height: float, text: str, border: int | str = 0, align: str = "L"
    ) -> None:
        """`cell()` for what a receipt needs (one line, a box or a rule under it), drawn with
        `put()`; the position moves right by `width`, as after `cell()`."""
        x, y = self.get_x(), self.get_y()
        self.put(x, y, width, height, text, align)
        if border == 1:
            self.boxes([(x, y, width, height)])
        elif border == "B":
            self.boxes([(x, y + height, width, 0)])
        self.set_x(x + width)

    def boxes(
        self, boxes: list[tuple[float, float, float, float]], gray: int | None = None
    ) -> None:
        """Rectangles in one path, straight into the page's content stream: the table's rules
        (stroked) or a background (filled with `gray`)."""
        k, page_h = self.k, self.h
        path = " ".join(
            f"{x * k:.2f} {(page_h - y) * k:.2f} {w * k:.2f} {-h * k:.2f} re"
            for x, y, w, h in boxes
        )
        if gray is None:
            self._out(f"q {LINE_WIDTH * k:.2f} w 0 G {path} S Q")
        else:
            self._out(f"q {gray / 255:.3f} g {path} f Q")

    def row(
        self,
        values: tuple[str, ...],
        widths: tuple[float, ...],
        height: float,
        *,
        bold: bool = False,
        fill: int | None = None,
        header_align: str = "",
    ) -> None:
        """One table row with its rules: the first column left, the second centred, numbers
        right (`header_align` for all of a header's)."""
        y = self.get_y()
        if fill is not None:
            self.boxes([(MARGIN, y, sum(widths), height)], gray=fill)
        if bold:
            self.font(self.font_size_pt, bold=True)
        x = MARGIN
        cells = []
        for index, (value, width) in enumerate(zip(values, widths, strict=True)):
            align = header_align or ("L" if index == 0 else ("C" if index == 1 else "R"))
            self.put(x, y, width, height, value, align)
            cells.append((x, y, width, height))
            x += width
        if bold:
            self.font(self.font_size_pt, bold=False)
        self.boxes(cells)
        self.set_xy(MARGIN, y + height)


def render_receipt(receipt: ReceiptData) -> bytes:
    """The receipt as PDF bytes. A module-level function of picklable data: runs in the pool."""
    pdf = _Receipt(full_fonts=_needs_full_font(receipt))
    pdf.set_title(f"Квитанция {receipt.account_number} {fmt.month(receipt.period)}")
    _header(pdf, receipt)
    _payee(pdf, receipt)
    _payer(pdf, receipt)
    _charges(pdf, receipt)
    _meters(pdf, receipt.meters)
    _total(pdf, receipt)
    pdf.font(7)  # closes a bold state still open
    return bytes(pdf.output())


def _header(pdf: _Receipt, receipt: ReceiptData) -> None:
    pdf.set_xy(MARGIN, MARGIN)
    pdf.font(13, bold=True)
    pdf.say(CONTENT_W - QR_SIZE - 4, 7, t.PDF_TITLE)
    pdf.set_xy(MARGIN, MARGIN + 7)
    pdf.font(11)
    pdf.say(CONTENT_W - QR_SIZE - 4, 6, t.PDF_SUBTITLE.format(month=fmt.month(receipt.period)))


def payee_lines(payee: Payee, *, bank_in_one_line: bool = False) -> list[str]:
    """The payee's requisites under its name (the receipt's and the statement's): INN/KPP, the
    address and phone when known, the bank, the BIC with the correspondent account, and the
    settlement account (on the BIC's line with `bank_in_one_line`)."""
    lines = [t.PDF_INN_KPP.format(inn=payee.inn, kpp=payee.kpp)]
    if payee.address:
        lines.append(t.PDF_ADDRESS.format(address=payee.address))
    if payee.phone:
        lines.append(t.PDF_PHONE.format(phone=payee.phone))
    lines.append(t.PDF_BANK.format(bank=payee.bank_name))
    bic = t.PDF_BIC.format(bic=payee.bic, corr=payee.corr_account)
    settlement = t.PDF_SETTLEMENT.format(account=payee.settlement_account)
    return [*lines, f"{bic}   {settlement}"] if bank_in_one_line else [*lines, bic, settlement]


def _payee(pdf: _Receipt, receipt: ReceiptData) -> None:
    payee = receipt.payee
    text_w = CONTENT_W - QR_SIZE - 4
    y = MARGIN + 16
    pdf.set_xy(MARGIN, y)
    pdf.font(8, bold=True)
    pdf.say(text_w, 4.5, t.PDF_PAYEE)
    y += 4.5
    pdf.set_xy(MARGIN, y)
    pdf.font(9, bold=True)
    _text(pdf, text_w, 4.5, payee.name)
    pdf.font(8)
    for line in payee_lines(payee):
        pdf.set_x(MARGIN)
        _text(pdf, text_w, 4, line)
    _qr(pdf, receipt, PAGE_W - MARGIN - QR_SIZE, MARGIN)
    pdf.set_y(max(pdf.get_y(), MARGIN + QR_SIZE + 8) + 2)


def _qr(pdf: _Receipt, receipt: ReceiptData, x: float, y: float) -> None:
    text = qr.payload(receipt)
    size = qr.size(text)
    quiet = 4  # modules of white border the standard requires around the code
    module = QR_SIZE / (size + 2 * quiet)
    pdf.set_fill_color(0, 0, 0)
    # One path of rectangles written straight into the page's content stream: a QR code has
    # about 1 500 runs, and FPDF.rect() per run would cost more than the rest of the page.
    k = pdf.k
    page_h = pdf.h
    origin_x = x + quiet * module
    origin_y = y + quiet * module
    # a hair of overlap so that renderers leave no seams between neighbouring rows
    height = -module * 1.02 * k
    ops = [
        f"{(origin_x + column * module) * k:.3f} {(page_h - origin_y - row * module) * k:.3f} "
        f"{length * module * k:.3f} {height:.3f} re"
        for row, column, length in qr.runs(text)
    ]
    ops.append("f")
    pdf._out("\n".join(ops))
    pdf.font(6.5)
    for index, caption in enumerate(t.PDF_QR_CAPTION.splitlines()):
        pdf.set_xy(x, y + QR_SIZE + 3 * index)
        pdf.say(QR_SIZE, 3, caption, align="C")


def _payer(pdf: _Receipt, receipt: ReceiptData) -> None:
    rows = [
        (t.PDF_ACCOUNT, receipt.account_number),
        (t.PDF_HOLDER, receipt.payer),
        (t.PDF_PAYER_ADDRESS, receipt.address),
    ]
    details = []
    if receipt.area is not None:
        details.append(f"{t.PDF_AREA}: {t.PDF_AREA_VALUE.format(area=fmt.money(receipt.area))}")
    if receipt.ownership_type:
        details.append(f"{t.PDF_OWNERSHIP}: {receipt.ownership_type}")
    details.append(f"{t.PDF_PERIOD}: {fmt.month(receipt.period)}")
    pdf.font(8, bold=True)
    pdf.set_x(MARGIN)
    pdf.say(CONTENT_W, 5, t.PDF_PAYER, border="B")
    pdf.ln(6)
    for label, value in rows:
        pdf.set_x(MARGIN)
        pdf.font(8)
        pdf.say(28, 4.5, label)
        pdf.font(8, bold=True)
        _text(pdf, CONTENT_W - 28, 4.5, value)
    pdf.font(8)
    pdf.set_x(MARGIN)
    pdf.say(CONTENT_W, 4.5, "   ".join(details))
    pdf.ln(7)


def _text(pdf: _Receipt, width: float, height: float, text: str) -> None:
    """A line of text at the current position, wrapped only when it does not fit (multi_cell's
    line breaking is slow, and almost every value fits)."""
    if pdf.get_string_width(text) <= width - 2 * pdf.c_margin:
        pdf.say(width, height, text)
        pdf.set_xy(MARGIN, pdf.get_y() + height)
    else:
        pdf.multi_cell(width, height, text)
        pdf.set_x(MARGIN)


def _amount_cells(amounts: Totals) -> tuple[str, ...]:
    return (
        fmt.money(amounts.opening),
        fmt.money(amounts.charged),
        fmt.money_or_dash(amounts.recalculation),
        fmt.money(amounts.paid),
        fmt.money(amounts.closing),
    )


def _service_label(line: ChargeLine) -> str:
    label = tm.line_label(line.kind, line.service)
    if line.is_common and t.PDF_COMMON_MARK not in label:
        label = f"{label} ({t.PDF_COMMON_MARK})"
    if line.has_recalculation:
        label = f"{label} {t.PDF_RECALC_MARK}"
    return label


def _fit(pdf: _Receipt, text: str, width: float) -> str:
    """Cut a too-long cell value with an ellipsis instead of overflowing into the next cell."""
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "…") > width - 2:
        text = text[:-1]
    return text + "…"


def _recalc_reasons(receipt: ReceiptData) -> list[str]:
    """«ГВС (т/н) — 141,24 ₽ за 01.2020: причина», one line each, for the recalculations the
    billing explained (the ЕПД's «основания перерасчётов»)."""
    recalculations = receipt.recalculations
    if not any(line.recalc_reason or line.recalc_from for line in recalculations):
        return []
    out = []
    for line in recalculations:
        months = tm.span(line.recalc_from, line.recalc_to)
        text = f"{tm.line_label(line.kind, line.service)} — {fmt.rub(line.amounts.recalculation)}"
        if months:
            text += f" за {months}"
        if line.recalc_reason:
            text += f": {line.recalc_reason}"
        out.append(text)
    return out


def _table_row_height(pdf: _Receipt, receipt: ReceiptData) -> float:
    """Rows shrink (down to a still readable size) so that a long bill stays on one page."""
    rows = len(receipt.lines) + 1 + sum(2 for group in receipt.groups if group.name)
    rows += 1 if receipt.extras else 0  # the heading of пени, льготы, субсидии
    reasons = _recalc_reasons(receipt)
    # notes, readings, total, footer; the reasons of recalculations a line each
    after = 52 + ROW_H * max(len(receipt.meters), 1) + (RECALC_ROW_H * (len(reasons) + 1))
    available = PAGE_H - MARGIN - pdf.get_y() - 12 - after
    return max(min(ROW_H, available / rows), MIN_ROW_H)


def _charges(pdf: _Receipt, receipt: ReceiptData) -> None:
    pdf.font(8, bold=True)
    pdf.set_x(MARGIN)
    pdf.say(CONTENT_W, 5, t.PDF_CHARGES, border="B")
    pdf.ln(6)
    row_h = _table_row_height(pdf, receipt)
    size = 7 * row_h / ROW_H
    pdf.font(6.5, bold=True)
    pdf.row(tuple(t.PDF_COLUMNS), CHARGE_WIDTHS, 6, bold=True, fill=HEADER_GRAY, header_align="C")
    pdf.font(size)
    for group in receipt.groups:
        if group.name:
            pdf.row((group.name,), (CONTENT_W,), row_h, bold=True, fill=GROUP_GRAY)
        for line in group.lines:
            _charge_row(pdf, line, row_h)
        if group.name:
            label = _fit(pdf, f"{t.PDF_GROUP_TOTAL} «{group.name}»", sum(CHARGE_WIDTHS[:4]))
            _total_row(pdf, label, group.subtotal, row_h, size)
    if receipt.extras:  # пени, льготы, субсидии: lines of their own, never inside a service
        pdf.row((tm.PDF_EXTRAS,), (CONTENT_W,), row_h, bold=True, fill=GROUP_GRAY)
        pdf.font(size)
        for line in receipt.extras:
            _charge_row(pdf, line, row_h)
    _total_row(pdf, t.PDF_GRAND_TOTAL, receipt.totals, row_h, size)
    _charge_notes(pdf, receipt)


def _charge_row(pdf: _Receipt, line: ChargeLine, row_h: float) -> None:
    plain = not line.tariff and not line.volume and line.kind  # пени, льгота: no tariff
    values = (
        _fit(pdf, _service_label(line), CHARGE_WIDTHS[0]),
        _fit(pdf, fmt.unit(line.unit), CHARGE_WIDTHS[1]),
        "" if plain else fmt.tariff(line.tariff),
        "" if plain else fmt.volume(line.volume),
        *_amount_cells(line.amounts),
    )
    pdf.row(values, CHARGE_WIDTHS, row_h)


def _charge_notes(pdf: _Receipt, receipt: ReceiptData) -> None:
    recalculations = receipt.recalculations
    notes = [t.PDF_NOTE_COMMON] if any(line.is_common for line in receipt.lines) else []
    if recalculations:
        notes.append(t.PDF_NOTE_RECALC)
    pdf.font(6.5)
    if notes:
        pdf.set_x(MARGIN)
        pdf.say(CONTENT_W, 4, " ".join(notes))
        pdf.ln(4)
    reasons = _recalc_reasons(receipt)
    if reasons:
        pdf.set_x(MARGIN)
        pdf.say(CONTENT_W, RECALC_ROW_H, tm.PDF_RECALC_REASONS)
        pdf.ln(RECALC_ROW_H)
        for reason in reasons:
            pdf.set_x(MARGIN)
            pdf.say(CONTENT_W, RECALC_ROW_H, _fit(pdf, reason, CONTENT_W))
            pdf.ln(RECALC_ROW_H)
    elif recalculations:
        listed = "; ".join(
            f"{line.service} — {fmt.rub(line.amounts.recalculation)}" for line in recalculations
        )
        pdf.set_x(MARGIN)
        _text(pdf, CONTENT_W, 3.5, _fit(pdf, t.PDF_RECALCULATIONS + listed, CONTENT_W))
    pdf.ln(3)


def _total_row(pdf: _Receipt, label: str, amounts: Totals, row_h: float, size: float) -> None:
    widths = (sum(CHARGE_WIDTHS[:4]), *CHARGE_WIDTHS[4:])
    pdf.font(size)
    pdf.row((label, *_amount_cells(amounts)), widths, row_h, bold=True, header_align="")


def _meter_name(meter: MeterLine) -> str:
    name = t.RESOURCES.get(meter.resource, meter.resource)
    zone = t.ZONES.get(meter.zone, meter.zone)
    return f"{name} ({zone})" if zone else name


def _reading(value: Decimal | None) -> str:
    return fmt.volume(value) if value is not None else t.PDF_NO_READING


def _meters(pdf: _Receipt, meters: tuple[MeterLine, ...]) -> None:
    pdf.font(8, bold=True)
    pdf.set_x(MARGIN)
    pdf.say(CONTENT_W, 5, t.PDF_METERS, border="B")
    pdf.ln(6)
    if not meters:
        pdf.font(7)
        pdf.set_x(MARGIN)
        pdf.say(CONTENT_W, 4.5, t.PDF_NO_METERS)
        pdf.ln(7)
        return
    pdf.font(6.5, bold=True)
    pdf.row(
        tuple(t.PDF_METER_COLUMNS), METER_WIDTHS, 5, bold=True, fill=HEADER_GRAY, header_align="C"
    )
    pdf.font(7)
    for meter in meters:
        consumption = meter.consumption
        values = (
            _fit(pdf, _meter_name(meter), METER_WIDTHS[0]),
            _fit(pdf, meter.serial, METER_WIDTHS[1]),
            _reading(meter.previous),
            _reading(meter.current),
            fmt.volume(consumption) if consumption is not None else "—",
            fmt.day(meter.taken_on) if meter.taken_on else "—",
        )
        pdf.row(values, METER_WIDTHS, 4.5)
    pdf.ln(4)


def _total(pdf: _Receipt, receipt: ReceiptData) -> None:
    total = receipt.totals.closing
    pdf.set_x(MARGIN)
    pdf.font(13, bold=True)
    pdf.say(CONTENT_W, 8, t.PDF_TO_PAY.format(total=fmt.rub(receipt.to_pay)), border=1, align="R")
    pdf.ln(9)
    if total < 0:
        pdf.font(8)
        pdf.set_x(MARGIN)
        pdf.say(CONTENT_W, 4.5, t.PDF_OVERPAID.format(amount=fmt.rub(-total)), align="R")
        pdf.ln(5)
    pdf.font(7)
    pdf.set_x(MARGIN)
    _text(pdf, CONTENT_W, 3.5, t.PDF_FOOTER)


# The page and its drawing helpers, shared with the account statement (receipts.statement_pdf).
Page = _Receipt
fit = _fit
text_line = _text
