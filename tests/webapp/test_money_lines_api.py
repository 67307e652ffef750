"""The Mini App's month and statement with пени, льготы, субсидии and the reasons of
recalculations (issue 15; issue 17 point 2: recalculations marked with reason and period)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storage.demo import demo_organization
from storage.importer import import_files
from tests import factories
from tests.test_money_lines import SAMPLE, account_of
from tests.webapp.test_api import get


@pytest.fixture
async def account_12(engine, session):
    session.add(demo_organization())
    await session.commit()
    summary, _ = await import_files(engine, [SAMPLE])
    assert summary is not None
    person = await factories.resident(session)
    account = await account_of(session, "00000012")
    await factories.link(session, person, account)
    await session.commit()
    return account


async def test_month_json_has_lines_of_their_own_and_reasons(api, account_12) -> None:
    response = await get(api, f"/accounts/{account_12.id}/month", period="2020-03")
    assert response.status == 200
    body = await response.json()
    assert [(x["kind"], x["label"], x["charged"]["value"]) for x in body["extras"]] == [
        ("penalty", "Пени", "37.27"),
        ("benefit", "Льгота", "-819.01"),
        ("subsidy", "Субсидия", "-500.00"),
    ]
    services = [line for group in body["groups"] for line in group["lines"]]
    assert len(services) == 12 and {line["kind"] for line in services} == {"service"}
    recalcs = {line["service"]: line["recalc"] for line in services if line["recalc"]}
    assert recalcs == {
        "ГВС": {
            "reason": "Перерасчёт по показаниям ИПУ",
            "period": {"first": "2020-01", "last": "2020-01", "text": "01.2020"},
        },
        "Отопление": {
            "reason": "Ненадлежащее качество отопления (акт № 15 от 20.01.2020)",
            "period": {"first": "2020-01", "last": "2020-01", "text": "01.2020"},
        },
        "Электроэнергия ОДН": {
            "reason": "Корректировка ОДН по нормативу",
            "period": {"first": "2019-10", "last": "2019-12", "text": "10.2019–12.2019"},
        },
    }
    assert all(line["recalculated"] for line in services if line["recalc"])
    assert {line["unit"] for line in services} >= {"м³", "кВт·ч", "Гкал"}
    totals = {k: Decimal(v["value"]) for k, v in body["totals"].items()}
    assert (totals["penalties"], totals["benefits"], totals["subsidies"]) == (
        Decimal("37.27"), Decimal("-819.01"), Decimal("-500.00")
    )  # fmt: skip
    assert (
        totals["opening"] + totals["charged"] + totals["penalties"] + totals["benefits"]
        + totals["subsidies"] + totals["recalculation"] - totals["paid"]
        == totals["closing"] == Decimal("6759.11")
    )  # fmt: skip
    assert body["to_pay"]["value"] == "6759.11"


async def test_statement_json_balances_with_them(api, account_12) -> None:
    response = await get(
        api, f"/accounts/{account_12.id}/statement", **{"from": "2020-03", "to": "2020-03"}
    )
    assert response.status == 200
    body = await response.json()
    f = {k: Decimal(body[k]["value"]) for k in (
        "start", "charged", "penalties", "benefits", "subsidies", "recalculation", "paid",
        "adjustment", "end",
    )}  # fmt: skip
    assert (f["penalties"], f["benefits"], f["subsidies"]) == (
        Decimal("37.27"), Decimal("-819.01"), Decimal("-500.00")
    )  # fmt: skip
    assert f["adjustment"] == 0
    assert (
        f["start"] + f["charged"] + f["penalties"] + f["benefits"] + f["subsidies"]
        + f["recalculation"] - f["paid"]
        == f["end"] == Decimal("6759.11")
    )  # fmt: skip
