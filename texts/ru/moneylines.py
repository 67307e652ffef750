"""Пени, льготы, субсидии and the reasons of recalculations: their words wherever money is shown
(the month view, the statement, the receipt, the Mini App).

Kinds are the stored strings of `storage.kinds.LineKind` ("penalty", "benefit", "subsidy"); texts
import nothing of the storage layer.
"""

from __future__ import annotations

import datetime as dt

KIND_WORDS = {"penalty": "Пени", "benefit": "Льгота", "subsidy": "Субсидия"}
KIND_TITLES = {"penalty": "Пени", "benefit": "Льготы", "subsidy": "Субсидии"}  # sums

EXTRAS_TITLE = "<b>Пени, льготы и субсидии за {month}</b>"
RECALC_NOTE = "🔄 Перерасчёт{span}: {reason}{service}"
RECALC_SPAN = " за {span}"
RECALC_SERVICE = " — {service}, {amount}"
RECALC_NO_REASON = "причина не указана"
LEGEND_REDUCTIONS = "Льготы и субсидии уменьшают сумму к оплате (со знаком −)."

STATEMENT_PENALTIES = "Пени: + {amount}"
STATEMENT_BENEFITS = "Льготы: − {amount}"
STATEMENT_SUBSIDIES = "Субсидии: − {amount}"

PDF_EXTRAS = "Пени, льготы и субсидии"
PDF_RECALC_REASONS = "Основания перерасчётов:"


def line_label(kind: str, service: str) -> str:
    """«Пени», «Льгота ветерана труда», or «Льгота: ЕДВ» when the name does not say it."""
    word = KIND_WORDS.get(kind)
    if word is None or service.lower().startswith(word.lower()[:5]):
        return service
    return f"{word}: {service}"


def month_number(period: dt.date) -> str:
    return f"{period.month:02d}.{period.year}"


def span(first: dt.date | None, last: dt.date | None) -> str:
    """`01.2020`, or `10.2019–02.2020`; "" when the billing did not say."""
    if first is None:
        return ""
    if last is None or last == first:
        return month_number(first)
    return f"{month_number(first)}–{month_number(last)}"
