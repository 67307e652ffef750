"""The Mini App's month page on a phone with пени, льготы, субсидии and recalculations marked
with their reason and months (issue 17 point 2), through headless Chromium."""

from __future__ import annotations

import pytest

from tests.webapp.initdata import init_data
from tests.webapp.test_browser import CHROMIUM, browser, phone, server  # noqa: F401 - fixtures
from tests.webapp.test_money_lines_api import account_12  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
NB = "\u00a0"


async def test_month_page_marks_money_lines_and_reasons(
    browser,  # noqa: F811
    server,  # noqa: F811
    account_12,  # noqa: F811
    tmp_path,
) -> None:
    async with phone(browser, server, tmp_path, data=init_data(),
                     query=f"?account={account_12.id}&period=2020-03") as device:  # fmt: skip
        page = device.page
        await page.wait_for_selector("#month-table tr.total")
        notes = [r[0] for r in await device.cells("#month-table tr.note")]
        assert notes == [
            "Перерасчёт за 01.2020: Перерасчёт по показаниям ИПУ",
            "Перерасчёт за 01.2020: Ненадлежащее качество отопления (акт № 15 от 20.01.2020)",
            "Перерасчёт за 10.2019–12.2019: Корректировка ОДН по нормативу",
        ]
        lines = {r[0]: r for r in await device.cells("#month-table tr.line")}
        assert lines["Пени"][-1] == "37,27"
        assert lines["Льгота"][-1] == "−819,01"
        assert lines["Субсидия"][-1] == "−500,00"
        assert [r[0] for r in await device.cells("#month-table tr.group.extras")] == [
            "Пени, льготы и субсидии"
        ]
        [total] = await device.cells("#month-table tr.total")
        assert total[-1] == f"6{NB}759,11"
