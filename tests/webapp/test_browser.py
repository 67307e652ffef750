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


def telegram_stub(data: str, theme: dict[str, str], scheme: str, version: str = "8.0") -> str:
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
      version: {json.dumps(version)},
      isVersionAtLeast: function (v) {{
        var a = this.version.split(".").map(Number), b = String(v).split(".").map(Number);
        return a[0] > b[0] || (a[0] === b[0] && (a[1] || 0) >= (b[1] || 0));
      }},
      // what Telegram does with these is Telegram's: the stub records the page's requests
      openInvoice: function (url, callback) {{
        opened(["openInvoice", url]);
        setTimeout(function () {{ callback(window.__invoiceStatus || "paid"); }}, 0);
      }},
      downloadFile: function (params) {{ opened(["downloadFile", params]); }},
      openLink: function (url) {{ opened(["openLink", url]); }},
      close: function () {{ opened(["close"]); }},
    }} }};
    window.__opened = [];
    function opened(call) {{  // recorded, and marked in the DOM for the test to await
      window.__opened.push(call);
      document.documentElement.dataset.opened = String(window.__opened.length);
    }}
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
                query: str = "", version: str = "8.0"):  # fmt: skip
    context = await browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2
    )
    page = await context.new_page()
    await page.route("https://telegram.org/**", lambda route: route.fulfill(
        status=200, content_type="application/javascript", body="/* Telegram's script */"))  # fmt: skip
    if data is not None:
        await page.add_init_script(telegram_stub(data, theme, scheme, version))
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
            assert row[1] == fmt.unit(line.unit)  # м³, as everywhere (issue 16)
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
        # (selectors, not wait_for_function: the page's CSP forbids the eval that polls it)
        await page.wait_for_selector("#statement h2:text-is('апрель 2019 — март 2020')")
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
        labels = await page.eval_on_selector_all(
            "#account option", "o => o.map(x => x.textContent)"
        )
        assert labels[0] == f"л/с № {golden.number} · г. Хабаровск, ул. Ленина, д. 1, кв. 1"
        await page.select_option("#account", str(other.id))
        await page.wait_for_selector("#message:not([hidden])")
        assert await page.text_content("#message") == "Нет данных за этот период."
        assert any(f"/accounts/{other.id}/month" in url for url, _ in await device.api_requests())
        await page.select_option("#account", str(golden.id))
        await page.wait_for_selector("#to-pay:text-is('2\u00a0383,29\u00a0₽')")
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


# --- «Оплатить» and «Открыть PDF» -----------------------------------------------------------------


@asynccontextmanager
async def served_with_bot(settings, session_factory, tg):
    """The Mini App with a bot that talks to the fake Bot API (invoice links, the chat)."""
    from bot.app import create_bot

    bot = create_bot(settings.model_copy(update={"telegram_api_url": tg.url}))
    app = webapp.create_app(settings, session_factory, bot=bot)
    try:
        async with TestServer(app, host="127.0.0.1") as srv:
            yield srv
    finally:
        await bot.session.close()


@pytest.fixture
async def tg():
    from bot.fakeapi.server import FakeTelegram
    from tests.harness import BOT_TOKEN

    async with FakeTelegram(BOT_TOKEN) as fake:
        yield fake


async def open_receipts(device: Phone) -> None:
    page = device.page
    await page.wait_for_selector("#month-table tr.total")
    await page.click("button[data-tab=receipts]")
    await page.wait_for_selector("#pay:not([hidden]) #pay-button")


async def test_pay_by_invoice_shows_the_status(
    browser, golden_resident, tmp_path, settings, session_factory, tg
) -> None:
    from pydantic import SecretStr

    paying = settings.model_copy(
        update={
            "payments_provider_token": SecretStr("284685063:TEST:token"),
            "payments_secret": SecretStr("test-secret"),
        }
    )
    async with (
        served_with_bot(paying, session_factory, tg) as server,
        phone(browser, server, tmp_path, data=init_data()) as device,
    ):
        page = device.page
        await open_receipts(device)
        due = await page.text_content("#pay-due")
        assert due == f"К оплате: 2{NB}383,29{NB}₽ (по данным за март 2020)"
        assert await page.input_value("#pay-amount") == "2383,29"
        await page.click("#pay-button")
        await page.wait_for_selector("#pay-status:not([hidden])")
        assert await page.text_content("#pay-status") == (
            "Оплата прошла, спасибо! Она появится в начислениях, когда расчётный центр её проведёт."
        )
        [made] = tg.calls(method="createInvoiceLink")
        assert made.params["prices"][0]["amount"] == 238329
        assert await page.evaluate("window.__opened") == [["openInvoice", made.result]]
        # another amount, cancelled in Telegram's form
        await page.evaluate("window.__invoiceStatus = 'cancelled'")
        await page.fill("#pay-amount", "1500,50")
        await page.click("#pay-button")
        await page.wait_for_selector("#pay-status:text-is('Оплата отменена.')")
        assert tg.calls(method="createInvoiceLink")[-1].params["prices"][0]["amount"] == 150050
        # an amount under the minimum: the page says the limits, no invoice is made
        await page.fill("#pay-amount", "50")
        await page.click("#pay-button")
        await page.wait_for_selector("#pay-status:has-text('Сумма должна быть')")
        assert (
            await page.text_content("#pay-status")
            == f"Сумма должна быть от 100,00 до 250{NB}000,00{NB}₽."
        )
        assert len(tg.calls(method="createInvoiceLink")) == 2
        await assert_every_api_request_signed(device)


async def test_without_a_provider_paying_goes_back_to_the_chat(
    browser, golden_resident, tmp_path, settings, session_factory, tg
) -> None:
    async with (
        served_with_bot(settings, session_factory, tg) as server,
        phone(browser, server, tmp_path, data=init_data()) as device,
    ):
        page = device.page
        await open_receipts(device)
        assert await page.is_hidden("#pay-amount-label")
        assert "QR-код" in await page.text_content("#pay-hint")
        await page.click("#pay-button")
        await page.wait_for_selector("html[data-opened]", state="attached")
        assert await page.evaluate("window.__opened") == [["close"]]
        [sent] = tg.delivered(chat_id=1001, method="sendMessage")
        assert "Оплатите по QR-коду" in sent.params["text"]
        assert tg.calls(method="createInvoiceLink") == []


async def test_open_pdf_downloads_through_a_signed_link(
    browser, server, golden_resident, tmp_path, session
) -> None:
    import datetime as dt

    from receipts.data import load_receipt
    from receipts.pdf import render_receipt

    golden, _ = golden_resident
    async with phone(browser, server, tmp_path, data=init_data()) as device:
        page = device.page
        await open_receipts(device)
        await page.click("#receipts li:first-child button")
        await page.wait_for_selector("html[data-opened]", state="attached")
        [[method, params]] = await page.evaluate("window.__opened")
        assert method == "downloadFile"
        assert params["file_name"] == f"receipt_{golden.number}_2020-03.pdf"
        url = params["url"]
        assert url.startswith(str(server.make_url("/app/files/")))
        assert golden.number not in url and "tma" not in url
        # Telegram fetches the file itself: no launch data, the very bytes of the receipt
        response = await page.request.get(url)
        assert response.status == 200
        data = await load_receipt(session, golden.id, dt.date(2020, 3, 1))
        assert data is not None
        body = await response.body()
        assert body[:5] == b"%PDF-" and len(body) == len(render_receipt(data))
        await assert_every_api_request_signed(device)


async def test_open_pdf_before_bot_api_8_opens_the_link(
    browser, server, golden_resident, tmp_path
) -> None:
    async with phone(browser, server, tmp_path, data=init_data(), version="7.10") as device:
        page = device.page
        await open_receipts(device)
        await page.click("#receipts li:first-child button")
        await page.wait_for_selector("html[data-opened]", state="attached")
        [[method, url]] = await page.evaluate("window.__opened")
        assert method == "openLink" and "/app/files/" in url
