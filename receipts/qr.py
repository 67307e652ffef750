"""The payment QR code of ГОСТ Р 56042-2014: its payload and its module matrix.

`ST0001` is the format, `2` says the values are UTF-8, `|` separates the fields. The payload's
bytes are what banking apps read, so it is encoded as UTF-8 byte mode without ECI (as the
standard's samples and Russian banks do).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache

import segno

from receipts.content import ReceiptData
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


# Every mask is valid for every reader; choosing the "best" of the eight (segno's default) is
# half the CPU of a receipt (about 18 ms of 23), for a code printed at 42 mm that scans either way.
MASK = 0
_DARK_RUN = re.compile(b"\x01+")


@lru_cache(maxsize=64)
def _code(text: str) -> segno.QRCode:
    return segno.make_qr(text.encode("utf-8"), error="m", boost_error=False, mask=MASK)


def matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """Dark modules of the QR code (without the quiet zone), row by row."""
    return tuple(tuple(bool(cell) for cell in row) for row in _code(text).matrix)


def size(text: str) -> int:
    """Modules per side (without the quiet zone)."""
    return _code(text).symbol_size(scale=1, border=0)[0]


def runs(text: str) -> list[tuple[int, int, int]]:
    """The dark modules as horizontal runs `(row, first column, length)`: a few hundred
    rectangles instead of thousands of squares or an embedded image."""
    return [
        (y, found.start(), found.end() - found.start())
        for y, row in enumerate(_code(text).matrix)
        for found in _DARK_RUN.finditer(row)
    ]
