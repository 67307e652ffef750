"""`export-readings`: the current readings of a period, in the import's layout, review flagged."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import CommandError, build_parser
from bot.config import Settings
from services.readings.export import HEADER, HEADER_RU
from storage.models import Meter, Organization, Reading
from tests import factories
from tests.test_cli import run_cli

APRIL = dt.date(2020, 4, 1)
MARCH = dt.date(2020, 3, 1)


@pytest.fixture
async def data(session: AsyncSession) -> dict[str, object]:
    account = await factories.golden(session)
    meters = {
        m.resource: m
        for m in await session.scalars(select(Meter).where(Meter.account_id == account.id))
    }
    cold, hot = meters["cold_water"], meters["hot_water"]
    # a correction: version 2 is the current one
    await factories.reading(session, cold, APRIL, "820,5".replace(",", "."), source="resident")
    await factories.reading(
        session, cold, APRIL, "821.25", source="resident", version=2, taken_on=APRIL.replace(day=23)
    )
    await factories.reading(
        session,
        hot,
        APRIL,
        "499",
        source="resident",
        needs_review=True,
        review_reason="spike",
        photo_file_id="AgACAgIAAxkBAAIBw2VmZmZm",  # the resident's photo of the meter
    )
    # another organization's reading of the same period
    other_org = await factories.organization(session)
    other = await factories.account(session, other_org, number="12345678")
    dial = await factories.meter(session, other, code="e-1", resource="electricity", decimals=1)
    await factories.reading(session, dial, APRIL, "1200.5", source="resident")
    await session.commit()
    org = await session.get(Organization, account.organization_id)
    return {"org": org, "other_org": other_org}


async def export(settings: Settings, *args: str) -> int:
    parsed = build_parser().parse_args(["export-readings", *args])
    return await parsed.func(parsed, settings)


RU_TO_EN = dict(zip(HEADER_RU, HEADER, strict=True))


def read(path: Path) -> list[dict[str, str]]:
    """The rows by the English column names, whichever header the file has."""
    text = path.read_text(encoding="utf-8-sig")
    rows = csv.DictReader(io.StringIO(text), delimiter=";")
    return [{RU_TO_EN.get(key, key): value for key, value in row.items()} for row in rows]


async def test_exports_the_latest_version_with_review_flag(
    settings: Settings, data: dict[str, object], tmp_path: Path
) -> None:
    out = tmp_path / "readings.csv"
    assert await export(settings, "--period", "2020-04", "--org", "dek", "-o", str(out)) == 0
    rows = read(out)
    assert [(r["account"], r["meter"], r["value"], r["version"]) for r in rows] == [
        ("00000000", "golden-cw", "821,25", "2"),
        ("00000000", "golden-hw", "499", "1"),
    ]
    cold, hot = rows
    assert (cold["org"], cold["period"], cold["date"], cold["source"]) == (
        "dek",
        "2020-04",
        "23.04.2020",
        "resident",
    )
    assert (cold["review"], hot["review"], hot["review_reason"]) == ("0", "1", "spike")
    assert (cold["photo"], hot["photo"]) == ("", "AgACAgIAAxkBAAIBw2VmZmZm")  # evidence, by file_id
    # for Excel: UTF-8 with a BOM and a Russian header
    raw = out.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    assert raw[3:].decode().startswith("Организация;Лицевой счет;Код ПУ;Период;Показание;Дата")
    english = tmp_path / "en.csv"
    args = ("--period", "2020-04", "--org", "dek", "--header", "en", "--no-bom", "-o", str(english))
    assert await export(settings, *args) == 0
    assert english.read_text(encoding="utf-8").startswith("org;account;meter;period;value;date")
    assert read(english) == rows


async def test_all_organizations_by_default_and_by_id(
    settings: Settings, data: dict[str, object], tmp_path: Path
) -> None:
    out = tmp_path / "all.csv"
    await export(settings, "--period", "2020-04", "-o", str(out))
    assert {r["org"] for r in read(out)} == {"dek", data["other_org"].code}  # type: ignore[attr-defined]
    assert [r["value"] for r in read(out) if r["meter"] == "e-1"] == ["1200,5"]
    await export(
        settings, "--period", "2020-04", "--org", str(data["other_org"].id), "-o", str(out)
    )  # type: ignore[attr-defined]
    assert [r["account"] for r in read(out)] == ["12345678"]


async def test_operator_errors_are_one_clear_line(
    settings: Settings, data: dict[str, object], tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="expected YYYY-MM"):
        await export(settings, "--period", "апрель", "-o", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="no such organization"):
        await export(settings, "--period", "2020-04", "--org", "nope", "-o", str(tmp_path / "x"))


async def test_the_export_loads_back_with_import(
    settings: Settings, data: dict[str, object], session: AsyncSession, tmp_path: Path
) -> None:
    """Same layout as the import's readings file: importing it back (either header) changes
    nothing."""
    ru, en = tmp_path / "readings.csv", tmp_path / "readings_en.csv"
    await export(settings, "--period", "2020-04", "-o", str(ru))
    await export(settings, "--period", "2020-04", "--header", "en", "-o", str(en))
    before = await session.scalar(select(func.count()).select_from(Reading))
    for out in (ru, en):
        result = run_cli(
            "import", str(out), "--progress", "none", env={"DATABASE_URL": settings.database_url}
        )
        assert result.returncode == 0, result.stderr
        assert "показания, 3 строки" in result.stdout
    assert await session.scalar(select(func.count()).select_from(Reading)) == before


def test_cli_process_writes_the_file(tmp_path: Path, db_url: str) -> None:
    out = tmp_path / "empty.csv"
    result = run_cli(
        "export-readings", "--period", "2020-04", "-o", str(out), env={"DATABASE_URL": db_url}
    )
    assert result.returncode == 0, result.stderr
    assert "exported 0 readings of 2020-04" in result.stderr
    assert out.read_text(encoding="utf-8-sig").startswith("Организация;Лицевой счет;Код ПУ")
