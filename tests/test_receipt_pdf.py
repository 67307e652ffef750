"""The receipt PDF read back as a person and a banking app would: the text (pypdf), and the QR
code decoded from the rendered page (pypdfium2 + zxing-cpp)."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import replace
from decimal import Decimal as D

import pypdfium2 as pdfium
import pytest
import zxingcpp
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from receipts import qr
from receipts.data import (
    ChargeGroup,
    ChargeLine,
    MeterLine,
    ReceiptData,
    load_receipt,
    receipt_periods,
)
from receipts.pdf import render_receipt
from storage.demo import (
    GOLDEN_HOLDER,
    GOLDEN_LINES,
    GOLDEN_NUMBER,
    GOLDEN_PERIOD,
    GOLDEN_TOTALS,
    demo_organization,
)
from storage.money import Totals
from storage.periods import add_months
from tests import factories
from tests.test_qr import FIELD_ORDER, make_receipt


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text().replace("\u00a0", " ")


def decode_qr(pdf: bytes) -> str:
    page = pdfium.PdfDocument(pdf)[0]
    image = page.render(scale=3).to_pil()
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1, f"expected one QR code, found {len(results)}"
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    return results[0].bytes.decode("utf-8")


@pytest.fixture
async def golden_receipt(session: AsyncSession) -> ReceiptData:
    account = await factories.golden(session)
    await session.commit()
    receipt = await load_receipt(session, account.id, GOLDEN_PERIOD)
    assert receipt is not None
    return receipt


@pytest.fixture
def golden_pdf(golden_receipt: ReceiptData) -> bytes:
    return render_receipt(golden_receipt)


def test_one_a4_page_with_embedded_fonts(golden_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(golden_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    for ref in fonts.values():
        descendant = ref.get_object()["/DescendantFonts"][0].get_object()
        assert "/FontFile2" in descendant["/FontDescriptor"]  # no system font needed


def test_every_figure_of_the_golden_table(golden_pdf: bytes) -> None:
    lines = text_of(golden_pdf).splitlines()
    expected_rows = {
        "ГВС (т/н)": "м³ 18,83 1,9125 54,71 36,01 141,24 54,92 177,04",  # not «куб.м»
        "ГВС (т/з)": "Гкал 1 775,84 0,0992 267,62 176,20 784,74 268,80 959,76",
        "Отопление": "Гкал 1 775,84 0,7028 2 014,75 1 248,02 - 2 016,28 1 246,49",
    }
    for service, figures in expected_rows.items():
        row = [line for line in lines if line.startswith(service)]
        assert len(row) == 1, (service, lines)
        assert row[0].endswith(figures), row[0]
    totals = "2 337,08 1 460,23 925,98 2 340,00 2 383,29"
    assert f"ИТОГО {totals}" in lines
    assert f"Итого по группе «Теплоснабжение» {totals}" in lines
    assert "Итого к оплате: 2 383,29 ₽" in lines
    assert "куб.м" not in text_of(golden_pdf)  # one spelling of units everywhere (issue 16)
    # and the same numbers are the ones the demo defines (no copy drifted)
    assert GOLDEN_TOTALS["total"] == D("2383.29")
    assert [line.name for line in GOLDEN_LINES] == list(expected_rows)


def test_recalculations_are_marked_and_listed(golden_pdf: bytes) -> None:
    text = text_of(golden_pdf)
    assert "ГВС (т/н) *" in text and "ГВС (т/з) *" in text
    assert "Отопление *" not in text
    assert "* — перерасчёт за прошлые периоды." in text
    assert "Перерасчёты: ГВС (т/н) — 141,24 ₽; ГВС (т/з) — 784,74 ₽" in text


def test_russian_header_payee_payer_and_readings(golden_pdf: bytes) -> None:
    text = text_of(golden_pdf)
    org = demo_organization()
    for expected in (
        "ЕДИНЫЙ ПЛАТЁЖНЫЙ ДОКУМЕНТ",
        "за март 2020",
        org.name,
        f"ИНН {org.inn}   КПП {org.kpp}",
        f"Адрес: {org.address}",
        f"Банк: {org.bank_name}",
        f"БИК {org.bic}   к/с {org.corr_account}",
        f"р/с {org.settlement_account}",
        f"Лицевой счёт {GOLDEN_NUMBER}",
        f"ФИО {GOLDEN_HOLDER}",
        "Адрес г. Хабаровск, ул. Ленина, д. 1, кв. 1",
        "Площадь: 33,10 м²",
        "Тип собственности: Частная",
        "Расчётный период: март 2020",
        "Теплоснабжение",
        "Показания приборов учёта за расчётный период",
        "Горячая вода ГВ-0047114711 460,3 462,2125 1,9125 22.03.2020",
        "Холодная вода ХВ-0047110815 814,1 817,5 3,4 22.03.2020",
    ):
        assert expected in text, expected


def test_the_qr_code_on_the_page_carries_every_field(golden_pdf: bytes) -> None:
    decoded = decode_qr(golden_pdf)
    header, *parts = decoded.split("|")
    assert header == "ST00012"
    fields = dict(part.split("=", 1) for part in parts)
    assert [part.split("=", 1)[0] for part in parts] == FIELD_ORDER
    org = demo_organization()
    assert fields == {
        "Name": org.name,
        "PersonalAcc": org.settlement_account,
        "BankName": org.bank_name,
        "BIC": org.bic,
        "CorrespAcc": org.corr_account,
        "PayeeINN": org.inn,
        "KPP": org.kpp,
        "PersAcc": GOLDEN_NUMBER,
        "PaymPeriod": "032020",
        "PayerAddress": "г. Хабаровск, ул. Ленина, д. 1, кв. 1",
        "Sum": "238329",
    }


async def test_every_month_of_the_golden_account_renders(
    session: AsyncSession, golden_receipt: ReceiptData
) -> None:
    periods = await receipt_periods(session, golden_receipt.account_id)
    assert len(periods) == 24 and periods[0] == GOLDEN_PERIOD  # latest first
    oldest = await load_receipt(session, golden_receipt.account_id, periods[-1])
    assert oldest is not None
    text = text_of(render_receipt(oldest))
    assert f"за {'апрель 2018'}" in text and periods[-1] == add_months(GOLDEN_PERIOD, -23)
    assert qr.parse_payload(decode_qr(render_receipt(oldest)))["PaymPeriod"] == "042018"


async def test_no_charges_no_receipt(session: AsyncSession, golden_receipt: ReceiptData) -> None:
    assert await load_receipt(session, golden_receipt.account_id, dt.date(2030, 1, 1)) is None


def test_common_house_lines_are_marked() -> None:
    common = ChargeLine(
        "Электроэнергия", "кВт·ч", D("5.12"), D("3.5"), Totals(charged=D("17.92"), closing=D("17.92")),
        is_common=True,
    )  # fmt: skip
    receipt = make_receipt()
    group = ChargeGroup("Содержание общего имущества", (common,))
    pdf = render_receipt(replace(receipt, groups=(*receipt.groups, group)))
    text = text_of(pdf)
    assert "Электроэнергия (ОДН)" in text
    assert "ОДН — на общедомовые нужды." in text


def test_an_overpayment_is_shown_and_the_qr_asks_for_nothing() -> None:
    pdf = render_receipt(make_receipt(total=D("-120.50")))
    text = text_of(pdf)
    assert "Итого к оплате: 0,00 ₽" in text
    assert "Переплата: 120,50 ₽" in text
    assert qr.parse_payload(decode_qr(pdf))["Sum"] == "0"


def test_a_long_bill_stays_on_one_page_and_keeps_its_qr() -> None:
    lines = tuple(
        ChargeLine(f"Услуга № {n} с довольно длинным названием для проверки", "куб.м", D("10"),
                   D("1"), Totals(charged=D("10.00"), closing=D("10.00")))
        for n in range(40)
    )  # fmt: skip
    groups = tuple(ChargeGroup(f"Группа {g}", lines[g * 10 : (g + 1) * 10]) for g in range(4))
    meters = tuple(
        MeterLine("cold_water", f"SN-{n}", "", D("1"), D("2"), dt.date(2020, 3, 20))
        for n in range(4)
    )
    pdf = render_receipt(replace(make_receipt(), groups=groups, meters=meters))
    text = text_of(pdf)  # asserts a single page
    assert "Итого к оплате: 400,00 ₽" in text
    assert re.search(r"ИТОГО .* 400,00", text)
    assert qr.parse_payload(decode_qr(pdf))["Sum"] == "40000"


def test_characters_beyond_the_cut_font_still_print() -> None:
    receipt = replace(make_receipt(), payer="Ğülşən Ǆ Əliyeva")
    text = text_of(render_receipt(receipt))
    assert "Ğülşən Ǆ Əliyeva" in text


def test_rendering_is_repeatable() -> None:
    receipt = make_receipt()
    first, second = render_receipt(receipt), render_receipt(receipt)
    assert text_of(first) == text_of(second)
    assert decode_qr(first) == decode_qr(second)
