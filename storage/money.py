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


# пени, льготы, субсидии (the kinds of `storage.kinds`, whose lines carry `kind`): their
# `charged` is summed apart from the services'
_KIND_FIELDS = {"penalty": "penalties", "benefit": "benefits", "subsidy": "subsidies"}
_EXTRA_FIELDS = tuple(_KIND_FIELDS.values())


@dataclass(frozen=True, slots=True)
class Totals:
    """The five columns; over lines that carry a kind, `charged` is the services' alone and
    пени, льготы and субсидии (negative) are their own sums: `closing = opening + charged +
    penalties + benefits + subsidies + recalculation − paid`."""

    opening: Decimal = ZERO
    charged: Decimal = ZERO
    recalculation: Decimal = ZERO
    paid: Decimal = ZERO
    closing: Decimal = ZERO
    penalties: Decimal = ZERO
    benefits: Decimal = ZERO
    subsidies: Decimal = ZERO

    @property
    def month(self) -> Decimal:
        """What the month itself added: charges, пени, льготы, субсидии and recalculations."""
        return self.charged + self.penalties + self.benefits + self.subsidies + self.recalculation

    @classmethod
    def of(cls, lines: Iterable[HasTotals]) -> Totals:
        sums = dict.fromkeys(("opening", "charged", "recalculation", "paid", "closing"), ZERO)
        extras = dict.fromkeys(_EXTRA_FIELDS, ZERO)
        for line in lines:
            sums["opening"] += line.opening
            field = _KIND_FIELDS.get(getattr(line, "kind", ""))
            if field is None:
                sums["charged"] += line.charged
            else:
                extras[field] += line.charged
            sums["recalculation"] += line.recalculation
            sums["paid"] += line.paid
            sums["closing"] += line.closing
            if isinstance(line, Totals):  # a sum of sums keeps its пени, льготы, субсидии
                for name in _EXTRA_FIELDS:
                    extras[name] += getattr(line, name)
        return cls(**sums, **extras)
