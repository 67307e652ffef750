"""The kinds of a month's lines: an ordinary service, or a line of its own that is no service.

Пени (penalties for late payment) are never mixed into a service; льготы and субсидии (benefits
and subsidies) reduce the bill and are stored as negative lines. Each is a charge row on a
service of that kind, so that every sum over charges (the balance, the statement) stays exact
without knowing about kinds; only what is shown separates them. Standard library only: render
workers import it.
"""

from __future__ import annotations

import re
from enum import StrEnum


class LineKind(StrEnum):
    SERVICE = ""
    PENALTY = "penalty"
    BENEFIT = "benefit"
    SUBSIDY = "subsidy"


# the import's words for each kind (a services table's «Вид» column)
KIND_WORDS = {
    "": LineKind.SERVICE, "service": LineKind.SERVICE, "услуга": LineKind.SERVICE,
    "penalty": LineKind.PENALTY, "пени": LineKind.PENALTY, "пеня": LineKind.PENALTY,
    "benefit": LineKind.BENEFIT, "льгота": LineKind.BENEFIT, "льготы": LineKind.BENEFIT,
    "subsidy": LineKind.SUBSIDY, "субсидия": LineKind.SUBSIDY, "субсидии": LineKind.SUBSIDY,
}  # fmt: skip

# a service's name that says its kind: «Пени», «Пени за просрочку», «Льгота ветерана труда»,
# «Субсидия на оплату ЖКУ», «Компенсация (ЕДВ)»
_NAME_KINDS = (
    (re.compile(r"^\s*(?:пени|пеня)\b", re.IGNORECASE), LineKind.PENALTY),
    (re.compile(r"^\s*(?:льгот|компенсаци)", re.IGNORECASE), LineKind.BENEFIT),
    (re.compile(r"^\s*субсиди", re.IGNORECASE), LineKind.SUBSIDY),
)


# the order of the lines of their own after the services (as an ЕПД lists them)
KIND_ORDER = {LineKind.PENALTY: 1, LineKind.BENEFIT: 2, LineKind.SUBSIDY: 3}


def kind_of_name(name: str) -> LineKind:
    """The kind a service's name says (a flat registry has no kind column)."""
    for pattern, kind in _NAME_KINDS:
        if pattern.search(name):
            return kind
    return LineKind.SERVICE


def is_reduction(kind: str) -> bool:
    """Льготы and субсидии: lines that reduce the bill."""
    return kind in (LineKind.BENEFIT, LineKind.SUBSIDY)
