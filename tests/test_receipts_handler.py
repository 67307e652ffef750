"""The resident's receipts: "🧾 Квитанции", /receipts and the card's button; account and month
pickers; the PDF as a document; forged callback data changes nothing."""

from __future__ import annotations

import io

import pytest
from aiogram.types import BufferedInputFile
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import ui
from keyboards.callbacks import OpenReceipts
from keyboards.receipts import ReceiptGet, ReceiptMonths
from storage.demo import GOLDEN_PERIOD
from storage.models import Account, Charge, Service
from tests import factories
from tests.harness import BotClient, inline_buttons
from texts.ru import common
from texts.ru import receipts as t


@pytest.fixture
async def golden_linked(session: AsyncSession) -> Account:
    return await factories.golden_linked(session)


def documents(client: BotClient) -> list:
    return client.sent("sendDocument")


def pdf_text(method) -> str:
    document = method.document
    assert isinstance(document, BufferedInputFile)
    reader = PdfReader(io.BytesIO(document.data))
    return reader.pages[0].extract_text().replace("\u00a0", " ")


def all_buttons(client: BotClient) -> list[str]:
    return [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]


def month_buttons(client: BotClient) -> list[str]:
    message = client.bot_messages()[-1]
    return [
        b.text
        for b in inline_buttons(message.reply_markup)
        if b.callback_data and b.callback_data.startswith("qg:")
    ]


async def test_menu_button_then_month_gives_the_pdf(
    client: BotClient, golden_linked: Account
) -> None:
    await client.send(common.BTN_RECEIPTS)
    assert "00000000" in client.last_text()
    months = month_buttons(client)
    assert months[0] == "март 2020"  # latest first
    assert months[:3] == ["март 2020", "февраль 2020", "январь 2020"]
    assert len(months) == 12
    await client.click("март 2020", exact=True)
    sent = documents(client)
    assert len(sent) == 1
    assert sent[0].document.filename == "receipt_00000000_2020-03.pdf"
    caption = sent[0].caption.replace("\u00a0", " ")
    assert "март 2020" in caption and "2 383,29 ₽" in caption
    text = pdf_text(sent[0])
    assert "Итого к оплате: 2 383,29 ₽" in text
    assert "ГВС (т/н) * м³ 18,83 1,9125 54,71 36,01 141,24 54,92 177,04" in text  # м³ everywhere
    assert t.PREPARING in client.alerts() or any(
        getattr(m, "text", None) == t.PREPARING for m in client.sent("answerCallbackQuery")
    )


async def test_receipts_command_and_paging_to_older_months(
    client: BotClient, golden_linked: Account
) -> None:
    await client.send("/receipts")
    assert t.BTN_NEWER not in all_buttons(client)  # the latest months: nothing later
    await client.click(t.BTN_OLDER, exact=True)  # ◀ always means earlier
    older = month_buttons(client)
    assert older[0] == "март 2019" and older[-1] == "апрель 2018"
    await client.click("апрель 2018", exact=True)
    sent = documents(client)
    assert sent[-1].document.filename == "receipt_00000000_2018-04.pdf"
    assert "за апрель 2018" in pdf_text(sent[-1])
    assert t.BTN_OLDER not in all_buttons(client)  # April 2018 is the first month
    await client.click(t.BTN_NEWER, exact=True)
    assert month_buttons(client)[0] == "март 2020"


async def test_several_accounts_are_picked_first(
    client: BotClient, session: AsyncSession, golden_linked: Account
) -> None:
    person = await factories.resident(session, telegram_id=5555, phone="+79990005555")
    other = await factories.account(session, number="12345678")
    service = Service(organization_id=other.organization_id, code="x", name="ХВС", unit="куб.м")
    session.add(service)
    await session.flush()
    session.add(
        Charge(account_id=other.id, period=GOLDEN_PERIOD, service_id=service.id,
               charged=100, closing=100)
    )  # fmt: skip
    resident = await factories.resident(session, telegram_id=7777, phone="+79990007777")
    await factories.link(session, resident, other)
    await factories.link(session, resident, golden_linked)
    await session.commit()
    assert person.id  # an unrelated resident exists; nothing of theirs shows

    me = BotClient(client.dp, client.bot, user_id=7777)
    await me.send(common.BTN_RECEIPTS)
    assert me.last_text() == t.CHOOSE_ACCOUNT
    await me.click("12345678")
    assert month_buttons(me) == ["март 2020"]
    await me.click(common.BTN_BACK)
    await me.click("00000000")
    assert month_buttons(me)[0] == "март 2020"
    await me.click("февраль 2020", exact=True)
    assert me.sent("sendDocument")[-1].document.filename == "receipt_00000000_2020-02.pdf"


async def test_the_card_button_opens_the_month_picker(
    client: BotClient, golden_linked: Account
) -> None:
    await client.callback(OpenReceipts(account_id=golden_linked.id).pack())
    assert "00000000" in client.last_text()
    assert month_buttons(client)[0] == "март 2020"


async def test_forged_account_ids_are_refused(
    client: BotClient, session: AsyncSession, golden_linked: Account
) -> None:
    stranger = await factories.account(session, number="99999999")
    await session.commit()
    for data in (
        OpenReceipts(account_id=stranger.id).pack(),
        ReceiptMonths(account_id=stranger.id).pack(),
        ReceiptGet(account_id=stranger.id, period=202003).pack(),
        ReceiptGet(account_id=2**70, period=202003).pack(),
        ReceiptGet(account_id=-1, period=202003).pack(),
    ):
        await client.callback(data)
    assert client.alerts() == [common.ACCOUNT_NOT_AVAILABLE] * 5
    assert documents(client) == []
    assert not any("99999999" in text for text in client.texts())


async def test_forged_periods_are_refused(client: BotClient, golden_linked: Account) -> None:
    await client.callback(ReceiptGet(account_id=golden_linked.id, period=999999).pack())
    await client.callback(ReceiptGet(account_id=golden_linked.id, period=203001).pack())
    assert client.alerts() == [common.STALE_BUTTON, t.PERIOD_NOT_AVAILABLE]
    assert documents(client) == []


async def test_rendering_goes_through_the_pool(
    client: BotClient, golden_linked: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = ui.run_cpu

    async def spy(fn, *args, **kwargs):
        calls.append(fn.__name__)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(ui, "run_cpu", spy)  # every document goes through send_rendered
    await client.callback(ReceiptGet(account_id=golden_linked.id, period=202003).pack())
    assert calls == ["receipt_pdf"]
    assert len(documents(client)) == 1


async def test_a_failed_render_is_answered(
    client: BotClient, golden_linked: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(fn, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ui, "run_cpu", broken)
    await client.callback(ReceiptGet(account_id=golden_linked.id, period=202003).pack())
    assert client.last_text() == t.RENDER_FAILED
    assert documents(client) == []


async def test_without_accounts_the_resident_is_told(
    client: BotClient, session: AsyncSession
) -> None:
    await factories.resident(session)
    await session.commit()
    await client.send(common.BTN_RECEIPTS)
    assert client.last_text() == common.NO_ACCOUNTS


async def test_an_account_without_charges_says_so(client: BotClient, session: AsyncSession) -> None:
    person = await factories.resident(session)
    account = await factories.account(session, number="55555555")
    await factories.link(session, person, account)
    await session.commit()
    await client.send("/receipts")
    assert client.last_text() == t.NO_PERIODS.format(number="55555555")


async def test_unregistered_users_are_sent_to_start(client: BotClient) -> None:
    await client.send(common.BTN_RECEIPTS)
    assert client.last_text() == common.NOT_REGISTERED
