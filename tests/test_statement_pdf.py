"""«📄 Выписка PDF»: a resident picks the first and the last month and gets the account statement
as a document whose figures are the chat's and the Mini App's statement, to the kopeck."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from aiogram.types import BufferedInputFile
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from keyboards.card import StatementMenu
from keyboards.statement_pdf import StatementPdfGet, StatementPdfMonths
from services import statements
from storage.models import Account
from tests import factories
from tests.harness import BotClient, inline_buttons
from texts import fmt
from texts.ru import common
from texts.ru import statement_pdf as t


@pytest.fixture
async def golden_linked(session: AsyncSession) -> Account:
    return await factories.golden_linked(session)


def pages_of(method) -> list[str]:
    document = method.document
    assert isinstance(document, BufferedInputFile)
    reader = PdfReader(io.BytesIO(document.data))
    return [re.sub(" +", " ", plain(page.extract_text())) for page in reader.pages]


def month_buttons(client: BotClient) -> list[str]:
    markup = client.bot_messages()[-1].reply_markup
    return [b.text for b in inline_buttons(markup) if b.callback_data.startswith(("cx:", "cy:"))]


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


async def totals_line(session: AsyncSession, account: Account, first, last) -> str:
    """The statement's totals as the chat and the Mini App compute them (services.statements)."""
    found = await statements.statement_between(session, account.id, first, last)
    assert found is not None
    figures = (found.start, found.charged, found.recalculation, found.paid, found.end)
    return plain("Итого за период " + " ".join(fmt.money(v) for v in figures))


async def test_first_then_last_month_gives_the_statement_pdf(
    client: BotClient, golden_linked: Account, session: AsyncSession
) -> None:
    await client.callback(StatementMenu(account_id=golden_linked.id).pack())
    await client.click(t.BTN_STATEMENT_PDF, exact=True)
    assert "Выберите <b>первый</b> месяц" in client.last_text()
    assert "апрель 2018 — март 2020" in client.last_text()
    assert month_buttons(client) == ["янв 2020", "фев 2020", "мар 2020", "◀ 2019"]
    await client.click("◀ 2019", exact=True)
    assert month_buttons(client)[:4] == ["янв 2019", "фев 2019", "мар 2019", "апр 2019"]
    await client.click("дек 2019", exact=True)
    assert "С месяца: декабрь 2019" in client.last_text()
    # the last month: the latest year first, nothing before the first month
    assert month_buttons(client) == [
        "янв 2020", "фев 2020", "мар 2020", "◀ 2019", t.BTN_OTHER_FIRST,
    ]  # fmt: skip
    await client.click("◀ 2019", exact=True)
    assert month_buttons(client) == ["дек 2019", "2020 ▶", t.BTN_OTHER_FIRST]
    await client.click("2020 ▶", exact=True)
    await client.click("мар 2020", exact=True)

    sent = client.sent("sendDocument")
    assert len(sent) == 1
    assert sent[0].document.filename == "statement_00000000_2019-12_2020-03.pdf"
    caption = plain(sent[0].caption)
    assert "Выписка по лицевому счёту № 00000000 за декабрь 2019 — март 2020" in caption
    assert "Долг на конец периода: <b>2 383,29 ₽</b>" in caption
    (text,) = pages_of(sent[0])
    assert "ВЫПИСКА ПО ЛИЦЕВОМУ СЧЁТУ № 00000000" in text
    assert "за период: декабрь 2019 — март 2020" in text
    # the organization's details and the payer
    assert 'АО "ДЭК"' in text and "ИНН 2723088770 КПП 272301001" in text
    assert "р/с 40702810870000000001" in text
    assert "Иванов Иван Иванович" in text and "г. Хабаровск, ул. Ленина, д. 1, кв. 1" in text
    # figure 5's month, to the kopeck: opening, charged, recalculation, paid, closing
    assert "март 2020 2 337,08 1 460,23 925,98 2 340,00 2 383,29" in text
    lines = text.splitlines()
    months = [line for line in lines if line.startswith(("декабрь 2019 ", "январь 2020 "))]
    assert len(months) == 2
    first, last = dt.date(2019, 12, 1), dt.date(2020, 3, 1)
    assert await totals_line(session, golden_linked, first, last) in text
    assert "Долг на конец периода: 2 383,29 ₽" in text
    assert "10.03.2020 2 340,00" in text  # the March payment among those received


async def test_the_whole_history_runs_over_pages_with_the_header_on_each(
    client: BotClient, golden_linked: Account, session: AsyncSession
) -> None:
    await client.callback(StatementPdfMonths(account_id=golden_linked.id, year=2018).pack())
    assert month_buttons(client)[:3] == ["апр 2018", "май 2018", "июн 2018"]
    await client.click("апр 2018", exact=True)
    await client.click("мар 2020", exact=True)
    (sent,) = client.sent("sendDocument")
    pages = pages_of(sent)
    assert len(pages) >= 2
    text = "\n".join(pages)
    for month in range(24):
        period = dt.date(2018 + (month + 3) // 12, (month + 3) % 12 + 1, 1)
        assert f"\n{fmt.month(period)} " in text, period
    header = "Месяц Долг на начало Начислено Перерасчёт Оплачено Долг на конец"
    assert header in pages[0]
    first, last = dt.date(2018, 4, 1), dt.date(2020, 3, 1)
    assert await totals_line(session, golden_linked, first, last) in text


async def test_a_reversed_range_is_the_same_statement(
    client: BotClient, golden_linked: Account, session: AsyncSession
) -> None:
    forward = StatementPdfGet(account_id=golden_linked.id, first=202001, last=202003)
    backward = StatementPdfGet(account_id=golden_linked.id, first=202003, last=202001)
    await client.callback(forward.pack())
    await client.callback(backward.pack())
    one, other = client.sent("sendDocument")
    assert (
        one.document.filename
        == other.document.filename
        == ("statement_00000000_2020-01_2020-03.pdf")
    )
    expected = await totals_line(session, golden_linked, dt.date(2020, 1, 1), dt.date(2020, 3, 1))
    for method in (one, other):
        (text,) = pages_of(method)
        assert "за период: январь 2020 — март 2020" in text
        assert expected in text


async def test_a_forged_account_or_month_is_refused(
    client: BotClient, golden_linked: Account, session: AsyncSession
) -> None:
    stranger = await factories.account(session, number="77777777")
    await session.commit()
    for data in (
        StatementPdfMonths(account_id=stranger.id),
        StatementPdfMonths(account_id=stranger.id, first=202003),
        StatementPdfGet(account_id=stranger.id, first=202001, last=202003),
        StatementPdfGet(account_id=2**62, first=202001, last=202003),
    ):
        await client.callback(data.pack())
        assert client.alerts()[-1] == common.ACCOUNT_NOT_AVAILABLE
    for data in (
        StatementPdfGet(account_id=golden_linked.id, first=999999, last=202003),
        StatementPdfMonths(account_id=golden_linked.id, first=201001),  # before any charges
    ):
        await client.callback(data.pack())
        assert client.alerts()[-1] == common.STALE_BUTTON
    await client.callback(
        StatementPdfGet(account_id=golden_linked.id, first=201001, last=201012).pack()
    )
    assert client.alerts()[-1] == t.NO_CHARGES
    await client.callback(
        StatementPdfGet(account_id=golden_linked.id, first=200001, last=202003).pack()
    )
    assert client.alerts()[-1] == t.TOO_LONG.format(months=statements.MAX_SPAN_MONTHS)
    assert client.sent("sendDocument") == []


def test_the_table_takes_the_figures_the_statement_gives() -> None:
    """Пени and льготы (issue 15) are columns of their own when the statement has them."""
    from decimal import Decimal as D

    from receipts.content import Payee
    from receipts.statement_content import StatementDocument, StatementMonth
    from receipts.statement_pdf import render_statement

    march = dt.date(2020, 3, 1)
    columns = ("opening", "charged", "penalties", "benefits", "recalculation", "paid", "closing")
    row = (D("100.00"), D("50.00"), D("1.25"), D("-10.00"), D("0.00"), D("200.00"), D("-58.75"))
    document = StatementDocument(
        account_number="12345678",
        holder="Петров Пётр Петрович",
        address="г. Хабаровск, ул. Ленина, д. 1, кв. 2",
        payee=Payee("ООО «УК»", "2721000010", "272101001", "", "", "Банк", "040813608", "1", "2"),
        first=march,
        last=march,
        columns=columns,
        months=(StatementMonth(march, row),),
        totals=row,
        end=D("-58.75"),
        adjustment=D("0.00"),
        payments=(),
        made_on=dt.date(2020, 4, 1),
    )
    pdf = render_statement(document)
    (text,) = [re.sub(" +", " ", plain(p.extract_text())) for p in PdfReader(io.BytesIO(pdf)).pages]
    assert "Месяц Долг на начало Начислено Пени Льготы Перерасчёт Оплачено Долг на конец" in text
    assert "март 2020 100,00 50,00 1,25 −10,00 - 200,00 −58,75" in text
    assert "Переплата на конец периода: 58,75 ₽" in text
    assert t.PDF_NO_PAYMENTS in text
