"""Пени, льготы, субсидии and the reasons of recalculations, end to end (issue 15): the flat
registry sample is imported, and a resident reads the month, the statement and the receipt.

Account 00000012 carries them as the registry's columns (12 services, пени and a льгота on
several rows, a субсидия, three recalculations with reasons and months); account 00000013 as rows
of their own («Пени», «Льгота ветерана труда»).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest
from aiogram.types import BufferedInputFile
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from handlers.views import plain
from receipts import qr
from receipts.data import MeterLine, load_receipt
from receipts.pdf import render_receipt
from storage.demo import GOLDEN_PERIOD, demo_organization
from storage.importer import import_files
from storage.models import Account, Charge, Service
from storage.repo import billing, versions
from tests import factories
from tests.harness import BotClient
from texts.ru import card as tc
from texts.ru import common

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "flat" / "реестр_начислений_пени_льготы_2020-03.csv"
NB = "\u00a0"
MARCH = dt.date(2020, 3, 1)

GVS_NOTE = "🔄 Перерасчёт за 01.2020: Перерасчёт по показаниям ИПУ — ГВС, 84,30 ₽"
HEATING_NOTE = (
    "🔄 Перерасчёт за 01.2020: Ненадлежащее качество отопления (акт № 15 от 20.01.2020) — "
    "Отопление, −312,50 ₽"
)
ODN_NOTE = (
    "🔄 Перерасчёт за 10.2019–12.2019: Корректировка ОДН по нормативу — Электроэнергия ОДН, "
    "−12,40 ₽"
)


def spaced(text: str) -> str:
    return text.replace(NB, " ")


async def imported(engine: AsyncEngine, session: AsyncSession) -> None:
    session.add(demo_organization())
    await session.commit()
    summary, _ = await import_files(engine, [SAMPLE])
    assert summary is not None and summary.periods == ["2020-03"]


async def account_of(session: AsyncSession, number: str) -> Account:
    account = await session.scalar(select(Account).where(Account.number == number))
    assert account is not None
    return account


@pytest.fixture
async def resident_of_12(engine: AsyncEngine, session: AsyncSession) -> Account:
    await imported(engine, session)
    person = await factories.resident(session)
    account = await account_of(session, "00000012")
    await factories.link(session, person, account)
    await session.commit()
    return account


def rows_of(text: str) -> dict[str, str]:
    """The label-value rows of every <pre> block: {'Пени': '37,27', ...}."""
    out = {}
    for block in re.findall(r"<pre>(.*?)</pre>", text, re.S):
        for line in block.split("\n"):
            label, value = re.match(r"^(.*?)\s{2,}(\S.*)$", line).group(1, 2)
            out[label.strip()] = spaced(value)
    return out


# --- what the import stores -----------------------------------------------------------------


async def test_the_registry_makes_lines_of_their_own_with_reasons(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    await imported(engine, session)
    kinds = dict((await session.execute(select(Service.name, Service.kind))).all())
    assert {name: kinds[name] for name in ("Пени", "Льгота", "Субсидия", "Льгота ветерана труда")} == {
        "Пени": "penalty", "Льгота": "benefit", "Субсидия": "subsidy",
        "Льгота ветерана труда": "benefit",
    }  # fmt: skip
    assert kinds["ХВС"] == kinds["Отопление"] == ""

    twelve = await account_of(session, "00000012")
    month = await billing.month_charges(session, twelve.id, MARCH)
    assert month is not None
    assert sum(len(group.lines) for group in month.groups) == 12  # services only
    extras = {(line.service, line.kind): line.charged for line in month.extras}
    # пени of two rows (2,10 + 35,17) and льготы of three (69,01 + 600,00 + 150,00): one line each
    assert extras == {
        ("Пени", "penalty"): D("37.27"), ("Льгота", "benefit"): D("-819.01"),
        ("Субсидия", "subsidy"): D("-500.00"),
    }  # fmt: skip
    assert (month.totals.penalties, month.totals.benefits, month.totals.subsidies) == (
        D("37.27"), D("-819.01"), D("-500.00")
    )  # fmt: skip
    # the services' own lines are what they charged: nothing of the пени or льготы in them
    heating = next(line for g in month.groups for line in g.lines if line.service == "Отопление")
    assert (heating.charged, heating.recalculation, heating.closing) == (
        D("3138.13"), D("-312.50"), D("2946.38")
    )  # fmt: skip
    notes = {
        line.service: (line.recalc_reason, line.recalc_from, line.recalc_to)
        for line in month.lines
        if line.recalc_reason
    }
    assert notes == {
        "ГВС": ("Перерасчёт по показаниям ИПУ", dt.date(2020, 1, 1), dt.date(2020, 1, 1)),
        "Отопление": (
            "Ненадлежащее качество отопления (акт № 15 от 20.01.2020)",
            dt.date(2020, 1, 1), dt.date(2020, 1, 1),
        ),
        "Электроэнергия ОДН": (
            "Корректировка ОДН по нормативу", dt.date(2019, 10, 1), dt.date(2019, 12, 1)
        ),
    }  # fmt: skip
    # the registry's closing of each row, summed: the balance to the kopeck
    assert month.totals.closing == (await billing.balance(session, twelve.id)).closing
    assert month.totals.closing == D("6759.11")
    assert month.totals.opening + month.totals.month - month.totals.paid == month.totals.closing

    thirteen = await account_of(session, "00000013")
    other = await billing.month_charges(session, thirteen.id, MARCH)
    assert {(line.service, line.kind, line.closing) for line in other.extras} == {
        ("Пени", "penalty", D("4.25")), ("Льгота ветерана труда", "benefit", D("-250.00")),
    }  # fmt: skip
    assert other.totals.closing == D("2767.35")


async def test_a_later_import_of_another_account_keeps_the_reasons(
    engine: AsyncEngine, session: AsyncSession, tmp_path: Path
) -> None:
    """The new version carries the accounts the file does not list over, reasons included."""
    await imported(engine, session)
    later = tmp_path / "later.csv"
    later.write_text("Л/С;Услуга;Начислено;Период\n00000013;ХВС;98,58;03.2020\n", encoding="utf-8")
    summary, _ = await import_files(engine, [later])
    assert summary is not None
    session.expire_all()
    twelve = await account_of(session, "00000012")
    reasons = await session.scalars(
        select(Charge.recalc_reason).where(
            Charge.account_id == twelve.id, Charge.recalc_reason != "", versions.visible(Charge)
        )
    )
    assert sorted(reasons) == [
        "Корректировка ОДН по нормативу",
        "Ненадлежащее качество отопления (акт № 15 от 20.01.2020)",
        "Перерасчёт по показаниям ИПУ",
    ]
    assert (await billing.balance(session, twelve.id)).closing == D("6759.11")


# --- what the resident reads ---------------------------------------------------------------


async def test_the_month_shows_penalties_benefits_and_why_recalculated(
    client: BotClient, resident_of_12: Account
) -> None:
    await client.send(common.BTN_ACCOUNTS)
    await client.click(tc.BTN_CHARGES)
    summary = client.last_text()
    amounts = rows_of(summary)
    assert amounts["Пени"] == "37,27"
    assert amounts["Льгота"] == "−819,01"
    assert amounts["Субсидия"] == "−500,00"
    assert amounts["Отопление"] == "2 825,63"  # the charge and its recalculation, no пени
    shown = spaced(plain(summary))
    for note in (GVS_NOTE, HEATING_NOTE, ODN_NOTE):
        assert note in shown, shown
    # what the month added, with its пени, льготы and субсидии, balances to what is due
    opening = D(amounts[tc.SUMMARY_OPENING].replace(" ", "").replace(",", "."))
    month = D(amounts[tc.SUMMARY_CHARGED].replace(" ", "").replace(",", "."))
    paid = D(amounts[tc.SUMMARY_PAID].replace(" ", "").replace(",", "."))
    assert opening + month - paid == D("6759.11")
    assert "К оплате: 6 759,11 ₽" in shown

    await client.click(tc.BTN_MONTH_DETAIL)
    detail = client.last_text()
    shown = spaced(plain(detail))
    # twelve services in full would not fit one message: each line's total, reasons kept
    assert "• Пени: 37,27" in shown and "• Льгота: −819,01" in shown
    for note in (GVS_NOTE, HEATING_NOTE, ODN_NOTE):
        assert note in shown
    assert "Льготы и субсидии уменьшают сумму к оплате" in shown
    total = rows_of(detail.split("ИТОГО за март 2020")[1])
    assert (total["Пени"], total["Льготы"], total["Субсидии"]) == ("37,27", "−819,01", "−500,00")
    assert total[tc.ROW_TOTAL] == "6 759,11"


async def test_rows_named_penalties_and_benefits_are_lines_of_their_own(
    client: BotClient, engine: AsyncEngine, session: AsyncSession
) -> None:
    await imported(engine, session)
    person = await factories.resident(session)
    await factories.link(session, person, await account_of(session, "00000013"))
    await session.commit()
    await client.send(common.BTN_ACCOUNTS)
    await client.click(tc.BTN_CHARGES)
    amounts = rows_of(client.last_text())
    assert amounts["Пени"] == "4,25"
    assert amounts["Льгота ветерана труда"] == "−250,00"
    assert "К оплате: 2 767,35 ₽" in spaced(plain(client.last_text()))
    await client.click(tc.BTN_MONTH_DETAIL)
    detail = client.last_text()
    section = detail.split("Пени, льготы и субсидии за март 2020")[1].split("ИТОГО")[0]
    assert rows_of(section) == {"Пени": "4,25", "Льгота ветерана труда": "−250,00"}
    total = rows_of(detail.split("ИТОГО за март 2020")[1])
    assert (total["Пени"], total["Льготы"], total[tc.ROW_TOTAL]) == ("4,25", "−250,00", "2 767,35")
    assert "Субсидии" not in total  # a sum that is not there is not shown


async def test_the_statement_lists_them_and_balances(
    client: BotClient, resident_of_12: Account
) -> None:
    await client.send(common.BTN_ACCOUNTS)
    await client.click(tc.BTN_PAYMENTS)
    await client.click("За март 2020")
    shown = spaced(plain(client.last_text()))
    assert "Пени: + 37,27 ₽" in shown
    assert "Льготы: − 819,01 ₽" in shown
    assert "Субсидии: − 500,00 ₽" in shown
    assert "Корректировка" not in shown  # the lines add up without one
    assert "Долг на конец периода: 6 759,11 ₽" in shown


async def test_the_receipt_from_the_chat_lists_them_with_reasons(
    client: BotClient, resident_of_12: Account
) -> None:
    await client.send(common.BTN_RECEIPTS)
    await client.click("март 2020", exact=True)
    [sent] = client.sent("sendDocument")
    assert isinstance(sent.document, BufferedInputFile)
    reader = PdfReader(io.BytesIO(sent.document.data))
    assert len(reader.pages) == 1
    text = spaced(reader.pages[0].extract_text())
    assert "Пени, льготы и субсидии" in text
    assert re.search(r"Пени 0,00 37,27 - 0,00 37,27", text), text
    assert re.search(r"Льгота 0,00 −819,01 - 0,00 −819,01", text), text
    assert re.search(r"Субсидия 0,00 −500,00 - 0,00 −500,00", text), text
    assert "Основания перерасчётов:" in text
    assert "ГВС — 84,30 ₽ за 01.2020: Перерасчёт по показаниям ИПУ" in text
    assert (
        "Электроэнергия ОДН — −12,40 ₽ за 10.2019–12.2019: Корректировка ОДН по нормативу" in text
    )
    assert "Итого к оплате: 6 759,11 ₽" in text
    assert "м³" in text and "куб.м" not in text


async def test_twelve_services_with_every_money_line_fit_one_a4_page(
    resident_of_12: Account, session: AsyncSession
) -> None:
    receipt = await load_receipt(session, resident_of_12.id, MARCH)
    assert receipt is not None
    assert len(receipt.groups) == 6 and sum(len(g.lines) for g in receipt.groups) == 12
    assert {line.kind for line in receipt.extras} == {"penalty", "benefit", "subsidy"}
    assert sum(1 for line in receipt.lines if line.recalc_reason) == 3
    assert [line.service for line in receipt.extras] == ["Пени", "Льгота", "Субсидия"]
    meters = tuple(  # and a full set of meters, the most a flat has
        MeterLine(resource, f"SN-{n}", zone, D("100"), D("112.5"), dt.date(2020, 3, 22))
        for n, (resource, zone) in enumerate(
            [("cold_water", ""), ("hot_water", ""), ("electricity", "day"),
             ("electricity", "night"), ("heat", "")]
        )
    )  # fmt: skip
    pdf = render_receipt(replace(receipt, meters=meters))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    text = spaced(reader.pages[0].extract_text())
    assert "Ненадлежащее качество отопления (акт № 15 от 20.01.2020)" in text
    assert "Итого к оплате: 6 759,11 ₽" in text
    assert "SN-4" in text  # the last meter is on the page too
    assert qr.parse_payload(qr.payload(receipt))["Sum"] == "675911"
    assert receipt.to_pay == D("6759.11")


async def test_the_golden_account_is_unchanged(session: AsyncSession) -> None:
    account = await factories.golden(session)
    await session.commit()
    month = await billing.month_charges(session, account.id, GOLDEN_PERIOD)
    assert month is not None and month.extras == ()
    assert (month.totals.penalties, month.totals.benefits, month.totals.subsidies) == (0, 0, 0)
    assert month.totals.closing == month.totals.opening + month.totals.month - month.totals.paid
    assert month.totals.closing == D("2383.29")
