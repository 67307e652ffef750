"""The readings file of a period for the billing system: the layout of the import's readings file
(docs/import-format.md), `;`-separated, decimal comma, so that it loads back through the import.
Shared by `python -m bot export-readings` and the operators' `/export_readings`.

Extra columns tell the billing system more: `review` (1 when the reading awaits the operators'
check: a spike or a meter rollover), its reason, the meter's serial and resource, the version
(corrections made within the window), and the photo the resident sent with the reading (its
Telegram file_id: empty when none; an operator gets the picture with `/photo <file_id>`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from storage.periods import format_period
from storage.repo import readings as repo

HEADER_RU = (
    "Организация",
    "Лицевой счет",
    "Код ПУ",
    "Период",
    "Показание",
    "Дата",
    "Источник",
    "На проверку",
    "Причина проверки",
    "Заводской номер",
    "Ресурс",
    "Зона",
    "Версия",
    "Фото",
)
HEADER = (
    "org",
    "account",
    "meter",
    "period",
    "value",
    "date",
    "source",
    "review",
    "review_reason",
    "serial",
    "resource",
    "zone",
    "version",
    "photo",
)


@dataclass(frozen=True)
class ReadingsFile:
    text: str
    readings: int
    to_review: int

    def encoded(self, bom: bool = True) -> bytes:
        """UTF-8, with the BOM by default so that Excel opens it as it is."""
        return self.text.encode("utf-8-sig" if bom else "utf-8")


def _number(value: Decimal) -> str:
    text = f"{value.normalize():f}" if value != value.to_integral() else f"{int(value)}"
    return text.replace(".", ",")


def render_csv(rows: list[repo.ExportRow], header: tuple[str, ...] = HEADER_RU) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            (
                row.organization,
                row.account,
                row.meter,
                format_period(row.period),
                _number(row.value),
                row.taken_on.strftime("%d.%m.%Y") if row.taken_on else "",
                row.source,
                "1" if row.needs_review else "0",
                row.review_reason,
                row.serial,
                row.resource,
                row.zone,
                row.version,
                row.photo_file_id or "",
            )
        )
    return out.getvalue()


async def export(
    session: AsyncSession,
    period: dt.date,
    organization_id: int | None = None,
    header: tuple[str, ...] = HEADER_RU,
) -> ReadingsFile:
    """The current reading of every meter of the period (of one organization, or all)."""
    rows = await repo.export_rows(session, period, organization_id)
    review = sum(1 for row in rows if row.needs_review)
    return ReadingsFile(render_csv(rows, header), len(rows), review)


def filename(period: dt.date) -> str:
    return f"readings_{format_period(period)}.csv"
