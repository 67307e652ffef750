"""The Mini App in a real browser: Debian's chromium driven by Playwright (its own browser builds
are never installed), the real application on loopback over a seeded database, a phone-sized
window (360×740) and `window.Telegram.WebApp` stubbed with launch data signed by the test bot
token. Telegram's script is answered with an empty one, so the stub stays in place.

A failing test leaves a screenshot and the page's HTML; the failure names the folder.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot import webapp
from storage.demo import GOLDEN_LINES
from tests import factories
from tests.webapp.initdata import init_data
from texts import fmt

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)",
)
NB = "\u00a0"
LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "button_color": "#2481cc"}
DARK = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "secondary_bg_color": "#232e3c",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
}


def telegram_stub(data: str, theme: dict[str, str], scheme: str) -> str:
    """`window.Telegram.WebApp` as Telegram's script sets it up, with what the page uses."""
    return f"""
    window.__calls = [];
    window.Telegram = {{ WebApp: {{
      initData: {json.dumps(data)},
      initDataUnsafe: {{}},
      themeParams: {json.dumps(theme)},
      colorScheme: {json.dumps(scheme)},
      ready: function () {{ window.__calls.push("ready"); }},
      expand: function () {{ window.__calls.push("expand"); }},
      onEvent: function () {{}},
      BackButton: {{
        isVisible: false,
        show: function () {{ this.isVisible = true; }},
        hide: function () {{ this.isVisible = false; }},
        onClick: function (fn) {{ window.__back = fn; }},
      }},
    }} }};
    """


@pytest.fixture
async def server(settings, session_factory) -> AsyncIterator[TestServer]:
    async with TestServer(webapp.create_app(settings, session_factory), host="127.0.0.1") as srv:
        yield srv


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()


class Phone:
    """One page at a phone's size, recording every request it makes."""

    def __init__(self, page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.requests: list = []
        page.on("request", self.record)

    def record(self, request) -> None:
        self.requests.append(request)

    async def api_requests(self) -> list[tuple[str, str | None]]:
        return [
            (r.url, (await r.all_headers()).get("authorization"))
            for r in self.requests
            if "/app/api/" in r.url
        ]

    async def cells(self, selector: str) -> list[list[str]]:
        return await self.page.eval_on_selector_all(
            selector,
            "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
        )


@asynccontextmanager
async def phone(browser, server, tmp_path: Path, *, data: str | None, theme=LIGHT, scheme="light",
                query: str = ""):  # fmt: skip
    context = await browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2
    )
    page = await context.new_page()
    await page.route("https://telegram.org/**", lambda route: route.fulfill(
        status=200, content_type="application/javascript", body="/* Telegram's script */"))  # fmt: skip
    if data is not None:
        await page.add_init_script(telegram_stub(data, theme, scheme))
    device = Phone(page, tmp_path / "artifacts")
    try:
        await page.goto(str(server.make_url(f"/app/{query}")))
        yield device
    except BaseException:
        device.folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(device.folder / "failure.png"), full_page=True)
        (device.folder / "failure.html").write_text(await page.content(), encoding="utf-8")
        print(f"browser artifacts: {device.folder}")
        raise
    finally:
        await context.close()


@pytest.fixture
async def golden_resident(session):
    person = await factories.resident(session)
    golden = await factories.golden(session)
    await factories.link(session, person, golden)
    other = await factories.account(session, number="11112222")
    await factories.link(session, person, other)
    await session.commit()
    return golden, other


def expected_line(line) -> list[str]:
    """The row's figures as the seed prints them (DESIGN.md's table)."""
    recalculation = fmt.money(line.recalculation) if line.recalculation else "-"
    return [
        fmt.tariff(line.tariff),
        fmt.volume(line.volume),
        fmt.money(line.opening),
        fmt.money(line.charged),
        recalculation,
        fmt.money(line.paid),
        fmt.money(line.total),
    ]


money = fmt.money


async def test_month_table_shows_figure_5(browser, server, golden_resident, tmp_path) -> None:
    golden, _ = golden_resident
    async with phone(browser, server, tmp_path, data=init_data(),
                     query=f"?account={golden.id}&period=2020-03") as device:  # fmt: skip
        page = device.page
        await page.wait_for_selector("#month-table tr.total")
        assert await page.text_content("#month-title") == "март 2020"
        rows = await device.cells("#month-table tbody tr.line")
        assert [r[0] for r in rows] == ["ГВС (т/н)↻", "ГВС (т/з)↻", "Отопление"]
        for row, line in zip(rows, GOLDEN_LINES, strict=True):
            assert row[1] == line.unit
            assert row[2:] == expected_line(line), line.name
        [subtotal] = await device.cells("#month-table tr.subtotal")
        [total] = await device.cells("#month-table tr.total")
        figures = [f"2{NB}337,08", f"1{NB}460,23", "925,98", f"2{NB}340,00", f"2{NB}383,29"]
        assert subtotal == ["Итого по «Теплоснабжение»", "", "", "", *figures]
        assert total == ["ИТОГО за март 2020", "", "", "", *figures]
        assert await page.text_content("#to-pay") == f"2{NB}383,29{NB}₽"
        assert await page.evaluate("window.__calls") == ["ready", "expand"]
        if os.environ.get("MINIAPP_SCREENSHOT"):  # docs/miniapp-month.png (README)
            await page.screenshot(path=os.environ["MINIAPP_SCREENSHOT"])
        await assert_scrolls_with_service_fixed(page)
        if os.environ.get("MINIAPP_SCREENSHOT"):  # scrolled to the amounts, service in place
            scrolled = os.environ["MINIAPP_SCREENSHOT"].replace(".png", "-scrolled.png")
            await page.screenshot(path=scrolled)
        await assert_every_api_request_signed(device)


async def assert_scrolls_with_service_fixed(page) -> None:
    """At 360 px the table is wider than the screen: it scrolls; the service column stays."""
    wide = await page.evaluate(
        "(() => { const s = document.querySelector('.scroll'); return [s.scrollWidth, s.clientWidth]; })()"
    )
    assert wide[0] > wide[1] and wide[1] <= 360
    before = await page.eval_on_selector(
        "tr.line td.service", "c => c.getBoundingClientRect().left"
    )
    await page.eval_on_selector(".scroll", "s => { s.scrollLeft = s.scrollWidth; }")
    after = await page.eval_on_selector("tr.line td.service", "c => c.getBoundingClientRect().left")
    moved = await page.eval_on_selector(
        "tr.line td.closing", "c => c.getBoundingClientRect().right"
    )
    assert after == before and round(moved) <= 360  # the last column came into view
    align = await page.eval_on_selector("tr.line td.charged", "c => getComputedStyle(c).textAlign")
    assert align == "right"


async def assert_every_api_request_signed(device: Phone) -> None:
    made = await device.api_requests()
    assert made, "the page asked the API nothing"
    data = await device.page.evaluate("window.Telegram.WebApp.initData")
    assert [url for url, auth in made if auth != f"tma {data}"] == []


async def test_statement_for_a_range(browser, server, golden_resident, tmp_path, session) -> None:
    from services.statements import statement_of_last

    golden, _ = golden_resident
    async with phone(browser, server, tmp_path, data=init_data()) as device:
        page = device.page
        await page.wait_for_selector("#month-table tr.total")
        await page.click("button[data-tab=statement]")
        await page.fill("#statement-from", "2019-04")
        await page.fill("#statement-to", "2020-03")
        await page.click("#statement-form button[type=submit]")
        await page.wait_for_function(
            "document.querySelector('#statement h2')?.textContent === 'апрель 2019 — март 2020'"
        )
        rows = dict(
            (r[0], r[1]) for r in await device.cells("#statement table.figures:first-of-type tr")
        )
        chat = await statement_of_last(session, golden.id, 12)
        assert chat is not None
        assert rows["Долг на начало периода"] == f"{money(chat.start)}{NB}₽"
        assert rows["Начислено"] == f"{money(chat.charged)}{NB}₽"
        assert rows["Оплачено"] == f"{money(chat.paid)}{NB}₽"
        assert rows["Долг на конец периода"] == f"2{NB}383,29{NB}₽"
        assert await page.evaluate("window.Telegram.WebApp.BackButton.isVisible")
        await page.evaluate("window.__back()")
        await page.wait_for_selector("#tab-month:not([hidden])")
        await assert_every_api_request_signed(device)


async def test_account_switcher(browser, server, golden_resident, tmp_path) -> None:
    golden, other = golden_resident
    async with phone(browser, server, tmp_path, data=init_data()) as device:
        page = device.page
        await page.wait_for_selector("#month-table tr.total")
        options = await page.eval_on_selector_all("#account option", "o => o.map(x => x.value)")
        assert options == [str(golden.id), str(other.id)]
        await page.select_option("#account", str(other.id))
        await page.wait_for_selector("#message:not([hidden])")
        assert await page.text_content("#message") == "Нет данных за этот период."
        assert any(f"/accounts/{other.id}/month" in url for url, _ in await device.api_requests())
        await page.select_option("#account", str(golden.id))
        await page.wait_for_function(
            "document.querySelector('#to-pay').textContent.startsWith('2\u00a0383,29')"
        )
        await assert_every_api_request_signed(device)


async def test_dark_theme_is_applied(browser, server, golden_resident, tmp_path) -> None:
    async with phone(
        browser, server, tmp_path, data=init_data(), theme=DARK, scheme="dark"
    ) as device:
        page = device.page
        await page.wait_for_selector("#month-table tr.total")
        assert await page.evaluate("document.documentElement.dataset.scheme") == "dark"
        colors = await page.evaluate(
            "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
        )
        assert colors == ["rgb(23, 33, 43)", "rgb(245, 245, 245)"]
        sticky = await page.eval_on_selector(
            "tr.line td.service", "c => getComputedStyle(c).backgroundColor"
        )
        assert sticky == "rgb(23, 33, 43)"  # the fixed column is not a white stripe


async def test_charts_and_receipts(browser, server, golden_resident, tmp_path) -> None:
    async with phone(browser, server, tmp_path, data=init_data()) as device:
        page = device.page
        await page.wait_for_selector("#month-table tr.total")
        await page.click("button[data-tab=charts]")
        await page.wait_for_selector("#chart-charges svg rect.bar")
        bars = await page.query_selector_all("#chart-charges rect.bar")
        await bars[-1].click()
        readout = await page.text_content("#chart-charges text.value")
        assert readout == f"март 2020 · Теплоснабжение: 1{NB}460,23 ₽"
        await page.click("button[data-tab=receipts]")
        await page.wait_for_selector("#receipts li button")
        first = await page.text_content("#receipts li span")
        assert first == "март 2020"
        await assert_every_api_request_signed(device)


async def test_without_telegram_nothing_is_asked(
    browser, server, golden_resident, tmp_path
) -> None:
    async with phone(browser, server, tmp_path, data=None) as device:
        await device.page.wait_for_selector("#message:not([hidden])")
        assert "из бота" in await device.page.text_content("#message")
        assert await device.api_requests() == []
