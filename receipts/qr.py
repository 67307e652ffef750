"""The payment QR code of ГОСТ Р 56042-2014: its payload and its module matrix.

`ST0001` is the format, `2` says the values are UTF-8, `|` separates the fields. The payload's
bytes are what banking apps read, so it is encoded as UTF-8 byte mode without ECI (as the
standard's samples and Russian banks do).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

import segno

from receipts.data import ReceiptData
from texts.fmt import kopecks

HEADER = "ST00012"
SEPARATOR = "|"


def clean(value: str) -> str:
    """A value as the format allows it: no separators, no line breaks, trimmed."""
    return " ".join(value.replace(SEPARATOR, " ").split())


def payment_period(period: dt.date) -> str:
    """PaymPeriod is MMYYYY: March 2020 → `032020`."""
    return f"{period.month:02d}{period.year:04d}"


def payload_fields(receipt: ReceiptData) -> list[tuple[str, str]]:
    payee = receipt.payee
    return [
        ("Name", payee.name),
        ("PersonalAcc", payee.settlement_account),
        ("BankName", payee.bank_name),
        ("BIC", payee.bic),
        ("CorrespAcc", payee.corr_account),
        ("PayeeINN", payee.inn),
        ("KPP", payee.kpp),
        ("PersAcc", receipt.account_number),
        ("PaymPeriod", payment_period(receipt.period)),
        ("PayerAddress", receipt.address),
        ("Sum", str(sum_kopecks(receipt.to_pay))),
    ]


def sum_kopecks(amount: Decimal) -> int:
    return max(kopecks(amount), 0)


def payload(receipt: ReceiptData) -> str:
    """`ST00012|Name=…|PersonalAcc=…|…|Sum=238329`, fields in the order the standard lists them."""
    parts = [HEADER]
    parts.extend(f"{name}={clean(value)}" for name, value in payload_fields(receipt))
    return SEPARATOR.join(parts)


def parse_payload(text: str) -> dict[str, str]:
    """The fields of a payload (for tests and diagnostics); raises ValueError on another format."""
    header, *fields = text.split(SEPARATOR)
    if header != HEADER:
        raise ValueError(f"not a ГОСТ Р 56042-2014 UTF-8 payload: {header!r}")
    return dict(field.split("=", 1) for field in fields)


@lru_cache(maxsize=64)
def matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """Dark modules of the QR code (without the quiet zone), row by row."""
    code = segno.make_qr(text.encode("utf-8"), error="m", boost_error=False)
    return tuple(tuple(bool(cell) for cell in row) for row in code.matrix)


def runs(text: str) -> list[tuple[int, int, int]]:
    """The dark modules as horizontal runs `(row, first column, length)`: a few hundred
    rectangles instead of thousands of squares or an embedded image."""
    out = []
    for y, row in enumerate(matrix(text)):
        x = 0
        width = len(row)
        while x < width:
            if row[x]:
                start = x
                while x < width and row[x]:
                    x += 1
                out.append((y, start, x - start))
            else:
                x += 1
    return out
