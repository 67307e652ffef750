"""The five money columns of a charge (opening balance, charged, recalculation, paid, closing
balance), summed the same way for a service line, a group, a month and a receipt.

A leaf like `storage.periods`: standard library only, so the billing read models and the
receipt a render worker unpickles share one type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

ZERO = Decimal("0.00")


class HasTotals(Protocol):
    """Anything with the five columns as attributes (a charge, a read model's line)."""

    @property
    def opening(self) -> Decimal: ...
    @property
    def charged(self) -> Decimal: ...
    @property
    def recalculation(self) -> Decimal: ...
    @property
    def paid(self) -> Decimal: ...
    @property
    def closing(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class Totals:
    opening: Decimal = ZERO
    charged: Decimal = ZERO
    recalculation: Decimal = ZERO
    paid: Decimal = ZERO
    closing: Decimal = ZERO

    @classmethod
    def of(cls, lines: Iterable[HasTotals]) -> Totals:
        opening = charged = recalculation = paid = closing = ZERO
        for line in lines:
            opening += line.opening
            charged += line.charged
            recalculation += line.recalculation
            paid += line.paid
            closing += line.closing
        return cls(opening, charged, recalculation, paid, closing)
