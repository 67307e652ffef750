"""The payment QR code of ГОСТ Р 56042-2014: payload fields, their order and cleaning, and a
matrix that a real decoder reads back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from receipts import qr
from receipts.data import ChargeGroup, ChargeLine, Payee, ReceiptData
from storage.money import Totals

FIELD_ORDER = [
    "Name",
    "PersonalAcc",
    "BankName",
    "BIC",
    "CorrespAcc",
    "PayeeINN",
    "KPP",
    "PersAcc",
    "PaymPeriod",
    "PayerAddress",
    "Sum",
]


def make_receipt(
    *,
    name: str = 'АО "ДЭК"',
    address: str = "г. Хабаровск, ул. Ленина, д. 1, кв. 1",
    total: D = D("2383.29"),
    period: dt.date = dt.date(2020, 3, 1),
    bank: str = 'ДАЛЬНЕВОСТОЧНЫЙ БАНК ПАО "СБЕРБАНК"',
) -> ReceiptData:
    line = ChargeLine("Отопление", "Гкал", D("1775.84"), D("1"), Totals(closing=total))
    return ReceiptData(
        account_id=1,
        account_number="00000000",
        payer="Иванов Иван Иванович",
        address=address,
        area=D("33.10"),
        ownership_type="Частная",
        period=period,
        payee=Payee(
            name=name,
            inn="2723088770",
            kpp="272301001",
            address="680000, г. Хабаровск, ул. Фрунзе, д. 49",
            phone="",
            bank_name=bank,
            bic="040813608",
            corr_account="30101810600000000608",
            settlement_account="40702810870000000001",
        ),
        groups=(ChargeGroup("Теплоснабжение", (line,)),),
    )


def test_golden_payload_is_exact() -> None:
    assert qr.payload(make_receipt()) == (
        'ST00012|Name=АО "ДЭК"|PersonalAcc=40702810870000000001'
        '|BankName=ДАЛЬНЕВОСТОЧНЫЙ БАНК ПАО "СБЕРБАНК"|BIC=040813608'
        "|CorrespAcc=30101810600000000608|PayeeINN=2723088770|KPP=272301001|PersAcc=00000000"
        "|PaymPeriod=032020|PayerAddress=г. Хабаровск, ул. Ленина, д. 1, кв. 1|Sum=238329"
    )


def test_fields_come_in_the_standard_order() -> None:
    text = qr.payload(make_receipt())
    assert [part.split("=", 1)[0] for part in text.split("|")[1:]] == FIELD_ORDER


def test_separators_and_line_breaks_are_removed_from_values() -> None:
    receipt = make_receipt(name="ООО | Рога\nи копыта", address="ул. Мира|5\r\nкв. 7")
    fields = qr.parse_payload(qr.payload(receipt))
    assert list(fields) == FIELD_ORDER
    assert fields["Name"] == "ООО Рога и копыта"
    assert fields["PayerAddress"] == "ул. Мира 5 кв. 7"


def test_period_is_mmyyyy_and_sum_is_kopecks() -> None:
    fields = qr.parse_payload(qr.payload(make_receipt(period=dt.date(2021, 11, 1), total=D("5"))))
    assert fields["PaymPeriod"] == "112021"
    assert fields["Sum"] == "500"


def test_an_overpayment_asks_for_nothing() -> None:
    fields = qr.parse_payload(qr.payload(make_receipt(total=D("-120.50"))))
    assert fields["Sum"] == "0"


@given(
    name=st.text(min_size=1, max_size=80),
    address=st.text(min_size=1, max_size=120),
    kopecks=st.integers(min_value=0, max_value=10**9),
)
def test_any_values_keep_the_format(name: str, address: str, kopecks: int) -> None:
    text = qr.payload(make_receipt(name=name, address=address, total=D(kopecks) / 100))
    fields = qr.parse_payload(text)
    assert list(fields) == FIELD_ORDER  # no value could add or split a field
    assert fields["Sum"] == str(kopecks)
    assert "|" not in fields["Name"] and "\n" not in fields["PayerAddress"]


def _image(matrix: tuple[tuple[bool, ...], ...], scale: int = 4, quiet: int = 4) -> Image.Image:
    size = (len(matrix) + 2 * quiet) * scale
    image = Image.new("L", (size, size), 255)
    pixels = image.load()
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    for dx in range(scale):
                        pixels[(x + quiet) * scale + dx, (y + quiet) * scale + dy] = 0
    return image


def test_matrix_decodes_to_the_utf8_payload() -> None:
    text = qr.payload(make_receipt())
    results = zxingcpp.read_barcodes(_image(qr.matrix(text)))
    assert len(results) == 1
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    assert results[0].bytes.decode("utf-8") == text


def test_runs_cover_exactly_the_dark_modules() -> None:
    text = qr.payload(make_receipt())
    matrix = qr.matrix(text)
    dark = {(y, x) for y, row in enumerate(matrix) for x, cell in enumerate(row) if cell}
    covered = set()
    for row, column, length in qr.runs(text):
        for x in range(column, column + length):
            assert (row, x) not in covered
            covered.add((row, x))
    assert covered == dark


@settings(max_examples=25, deadline=None)
@given(
    address=st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВ0123456789 .,-/", max_size=120),
    kopecks=st.integers(min_value=0, max_value=10**9),
)
def test_the_fixed_mask_decodes_whatever_the_payload(address: str, kopecks: int) -> None:
    """The code uses one mask instead of scoring all eight: a reader must still read any
    payload, whatever patterns that mask leaves."""
    text = qr.payload(make_receipt(address=address, total=D(kopecks) / 100))
    results = zxingcpp.read_barcodes(_image(qr.matrix(text)))
    assert [result.bytes.decode("utf-8") for result in results] == [text]
