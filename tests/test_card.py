"""The account card, the accounts list and the month's charges, as a resident sees them.

Every figure of the golden account is compared with DESIGN.md's table (figure 5 of the seed).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from aiogram.methods import EditMessageText, SendMessage

from handlers.views import plain
from keyboards.accounts import LinkStart
from keyboards.callbacks import (
    NewAppeal,
    NotFound,
    OpenCard,
    OpenMenu,
    OpenReadings,
    OpenReceipts,
)
from keyboards.card import ChargesDetail, ChargesMonth
from storage.demo import (
    GOLDEN_GROUP,
    GOLDEN_HOLDER,
    GOLDEN_LINES,
    GOLDEN_NUMBER,
    GOLDEN_PAYMENT,
    GOLDEN_TOTALS,
)
from storage.models import Charge
from tests import factories
from tests.harness import bad_request, inline_buttons
from texts import fmt
from texts.ru import card as tc
from texts.ru import common

NB = "\u00a0"


def money(text: str) -> str:
    """'2 383,29' with the non-breaking space the bot uses."""
    return text.replace(" ", NB)


@pytest.fixture
async def golden_resident(session):
    person = await factories.resident(session)
    account = await factories.golden(session)
    await factories.link(session, person, account)
    await session.commit()
    return person, account


def pre_blocks(text: str) -> list[list[str]]:
    return [block.split("\n") for block in re.findall(r"<pre>(.*?)</pre>", text, re.S)]


def rows(block: list[str]) -> dict[str, str]:
    """'На начало месяца       54,71' -> {'На начало месяца': '54,71'}."""
    out = {}
    for line in block:
        label, value = re.match(r"^(.*?)\s{2,}(\S.*)$|^(.*?) (\S+)$", line).group(1, 2)
        out[label.strip()] = value
    return out


def service_section(text: str, service: str) -> tuple[str, dict[str, str]]:
    """The header (title and tariff line) and the amount rows of one service's block."""
    match = re.search(rf"<b>{re.escape(service)}</b>(.*?)<pre>(.*?)</pre>", text, re.S)
    assert match, f"no block for {service!r} in {text!r}"
    return match.group(1), rows(match.group(2).split("\n"))


def assert_golden_card(text: str) -> None:
    shown = plain(text)
    assert f"л/с № {GOLDEN_NUMBER}" in shown
    assert GOLDEN_HOLDER in shown
    assert 'Поставщик: АО "ДЭК"' in shown
    assert 'Отделение/филиал: "Хабаровскэнергообл"' in shown
    assert f"К оплате: {money('2 383,29')}{NB}₽" in shown
    assert "Адрес: г. Хабаровск, ул. Ленина, д. 1, кв. 1" in shown
    assert "Площадь: 33,10 м²" in shown
    assert "Собственность: частная" in shown
    assert "по данным за март 2020" in shown


def assert_golden_month(text: str) -> None:
    """Figure 5 to the kopeck: each service's tariff, volume, opening, charged, recalculation
    (a dash for none), paid and total, then the totals."""
    assert f"Начисление «{GOLDEN_GROUP}» за март 2020" in text
    for line in GOLDEN_LINES:
        header, amounts = service_section(text, line.name)
        assert f"тариф {money(fmt.tariff(line.tariff))} ₽/{fmt.unit(line.unit)}" in header
        assert f"объём {fmt.volume(line.volume)} {fmt.unit(line.unit)}" in header
        assert amounts == {
            tc.ROW_OPENING: fmt.money(line.opening),
            tc.ROW_CHARGED: fmt.money(line.charged),
            tc.ROW_RECALCULATION: fmt.money(line.recalculation) if line.recalculation else "-",
            tc.ROW_PAID: fmt.money(line.paid),
            tc.ROW_TOTAL: fmt.money(line.total),
        }
        assert ("🔄 перерасчёт" in header) == bool(line.recalculation)
    # the literal figures of DESIGN.md's table, as printed there
    for figure in ("18,83", "1,9125", "54,71", "36,01", "141,24", "177,04", "1 775,84",
                   "0,0992", "267,62", "176,20", "784,74", "959,76", "0,7028", "2 014,75",
                   "1 248,02", "1 246,49"):  # fmt: skip
        assert money(figure) in text
    assert "Отопление</b>\n" in text and "🔄" not in service_section(text, "Отопление")[0]
    total = re.search(r"ИТОГО за март 2020</b>\n<pre>(.*?)</pre>", text, re.S)
    assert total
    assert rows(total.group(1).split("\n")) == {
        tc.ROW_OPENING: money("2 337,08"),
        tc.ROW_CHARGED: money("1 460,23"),
        tc.ROW_RECALCULATION: "925,98",
        tc.ROW_PAID: money("2 340,00"),
        tc.ROW_TOTAL: money("2 383,29"),
    }
    assert GOLDEN_TOTALS["total"] == Decimal("2383.29") and GOLDEN_PAYMENT == Decimal("2340.00")
    for block in pre_blocks(text):
        assert all(len(line) <= 36 for line in block), block
    assert "<code>" not in text
    assert "₽/м³ · объём 1,9125 м³" in text and "куб.м" not in text  # one spelling of units


async def test_one_account_shows_its_card_with_golden_figures(client, golden_resident) -> None:
    _, account = golden_resident
    await client.send(common.BTN_ACCOUNTS)
    assert_golden_card(client.last_text())
    buttons = {
        b.text: b.callback_data for b in inline_buttons(client.bot_messages()[-1].reply_markup)
    }
    assert buttons[tc.BTN_READINGS] == OpenReadings(account_id=account.id).pack()
    assert buttons[tc.BTN_RECEIPT] == OpenReceipts(account_id=account.id).pack()
    assert buttons[tc.BTN_APPEAL] == NewAppeal(account_id=account.id).pack()
    assert {tc.BTN_CHARGES, tc.BTN_PAYMENTS, tc.BTN_HISTORY} <= buttons.keys()
    assert tc.BTN_TO_LIST not in buttons  # one account: no list to go back to


async def test_accounts_command_shows_the_same_card(client, golden_resident) -> None:
    await client.send("/accounts")
    assert_golden_card(client.last_text())


def assert_golden_summary(text: str) -> None:
    """The month on one screen: each service's charge for the month (recalculation included),
    the group (three services), the month's total, the payment and what is due."""
    assert "Начисления за март 2020" in text
    (block,) = pre_blocks(text)
    assert rows(block) == {
        tc.SUMMARY_OPENING: money("2 337,08"),
        GOLDEN_GROUP: money("2 386,21"),  # 1 460,23 charged + 925,98 recalculated
        "· ГВС (т/н)": "177,25",  # 36,01 + 141,24
        "· ГВС (т/з)": "960,94",  # 176,20 + 784,74
        "· Отопление": money("1 248,02"),
        tc.SUMMARY_CHARGED: money("2 386,21"),
        tc.SUMMARY_PAID: money("2 340,00"),
    }
    assert f"К оплате: {money('2 383,29')}{NB}₽" in plain(text)  # 2 337,08 + 2 386,21 − 2 340
    assert "тариф" not in text and tc.ROW_TOTAL not in text  # the detail is one tap away


async def test_month_view_shows_figure_5_to_the_kopeck(client, golden_resident) -> None:
    await client.send(common.BTN_ACCOUNTS)
    made = await client.click(tc.BTN_CHARGES)
    edits = [m for m in made if isinstance(m, EditMessageText)]
    assert len(edits) == 1  # the card turns into the month, no new message
    text = edits[0].text
    assert "Начисления за март 2020" in text  # the latest month with charges by default
    assert_golden_summary(text)
    buttons = [b.text for b in inline_buttons(edits[0].reply_markup)]
    assert "◀ февраль 2020" in buttons
    assert not any(b.endswith("▶") for b in buttons)  # nothing after the latest month
    made = await client.click(tc.BTN_MONTH_DETAIL)
    assert [m for m in made if isinstance(m, EditMessageText)]  # the same message, in detail
    assert_golden_month(client.last_text())
    await client.click(tc.BTN_TO_MONTH)
    assert_golden_summary(client.last_text())


async def test_months_navigate_back_and_forth_only_where_data_is(client, golden_resident) -> None:
    await client.send(common.BTN_ACCOUNTS)
    await client.click(tc.BTN_CHARGES)
    await client.click("◀ февраль 2020")
    text = client.last_text()
    assert "Начисления за февраль 2020" in text
    assert "Начисления за март 2020" not in text
    buttons = [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]
    assert "◀ январь 2020" in buttons and "март 2020 ▶" in buttons
    await client.click("март 2020 ▶")
    assert_golden_summary(client.last_text())
    await client.click(tc.BTN_MONTH_DETAIL)
    assert_golden_month(client.last_text())
    # the first month of the 24 (April 2018) has no way further back
    _, account = golden_resident
    await client.callback(ChargesMonth(account_id=account.id, period=201804).pack())
    assert "Начисления за апрель 2018" in client.last_text()
    buttons = [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]
    assert "май 2018 ▶" in buttons and not any(b.startswith("◀ ") and "2018" in b for b in buttons)


async def test_month_with_common_house_line_is_marked(client, session, golden_resident) -> None:
    from storage.models import Service

    _, account = golden_resident
    service = Service(
        organization_id=account.organization_id, code="cw_odn", name="ХВС на ОДН", unit="куб.м",
        group_name="Водоснабжение", is_common=True, sort_order=10,
    )  # fmt: skip
    session.add(service)
    await session.flush()
    session.add(
        Charge(
            account_id=account.id, period=account_period(), service_id=service.id,
            tariff=Decimal("42.30"), volume=Decimal("0.1500"), opening=Decimal("0"),
            charged=Decimal("6.35"), recalculation=Decimal("-1.00"), paid=Decimal("0"),
            closing=Decimal("5.35"),
        )
    )  # fmt: skip
    await session.commit()
    await client.send(common.BTN_ACCOUNTS)
    assert f"К оплате: {money('2 388,64')}{NB}₽" in plain(client.last_text())
    await client.click(tc.BTN_CHARGES)
    await client.click(tc.BTN_MONTH_DETAIL)
    text = client.last_text()
    header, amounts = service_section(text, "ХВС на ОДН")
    assert "🏢 ОДН" in header and "🔄 перерасчёт" in header
    assert amounts[tc.ROW_RECALCULATION] == "−1,00"
    assert "Начисление «Водоснабжение» за март 2020" in text
    assert "Итого по «Теплоснабжение»" in text and "Итого по «Водоснабжение»" in text
    total = rows(
        re.search(r"ИТОГО за март 2020</b>\n<pre>(.*?)</pre>", text, re.S).group(1).split("\n")
    )
    assert total[tc.ROW_TOTAL] == money("2 388,64")
    assert total[tc.ROW_RECALCULATION] == "924,98"
    assert tc.LEGEND_COMMON in text


async def test_twelve_services_fit_one_screen_of_at_most_25_lines(client, session) -> None:
    """Six groups of two services each: the most lines twelve services can take."""
    from storage.models import Service

    person = await factories.resident(session)
    acc = await factories.account(session, number="12121212")
    await factories.link(session, person, acc)
    for i in range(12):
        service = Service(
            organization_id=acc.organization_id, code=f"s{i}", name=f"Услуга {i + 1}",
            unit="куб.м", group_name=f"Группа {i // 2 + 1}", sort_order=i,
        )  # fmt: skip
        session.add(service)
        await session.flush()
        session.add(
            Charge(account_id=acc.id, period=account_period(), service_id=service.id,
                   tariff=Decimal("42.30"), volume=Decimal("2.5"), opening=Decimal("10.00"),
                   charged=Decimal("105.75"), recalculation=Decimal("-5.75"),
                   paid=Decimal("10.00"), closing=Decimal("100.00"))
        )  # fmt: skip
    await session.commit()
    await client.send(common.BTN_ACCOUNTS)
    await client.click(tc.BTN_CHARGES)
    shown = plain(client.last_text())
    assert len(shown.split("\n")) <= 25, shown
    amounts = rows(pre_blocks(client.last_text())[0])
    assert amounts["Группа 1"] == "200,00" and amounts["· Услуга 12"] == "100,00"
    assert amounts[tc.SUMMARY_CHARGED] == money("1 200,00")
    assert amounts[tc.SUMMARY_PAID] == "120,00"
    assert f"К оплате: {money('1 200,00')}{NB}₽" in shown
    # «Подробно» opens every service's figures
    await client.click(tc.BTN_MONTH_DETAIL)
    detail = plain(client.last_text())
    assert all(f"Услуга {i} · 🔄 перерасчёт: 100,00" in detail for i in range(1, 13)), detail
    assert tc.ROW_RECALCULATION in detail and "−69,00" in detail


def account_period():
    from storage.demo import GOLDEN_PERIOD

    return GOLDEN_PERIOD


async def test_several_accounts_give_a_list_then_a_card(client, session) -> None:
    person = await factories.resident(session)
    golden = await factories.golden(session)
    other = await factories.account(session, number="55500011", apartment_number="7")
    await factories.link(session, person, golden)
    await factories.link(session, person, other)
    await session.commit()

    await client.send(common.BTN_ACCOUNTS)
    shown = plain(client.last_text())
    assert "2 счёта" in shown
    assert f"л/с № {GOLDEN_NUMBER}" in shown and "л/с № 55500011" in shown
    assert "г. Хабаровск, ул. Ленина, д. 1, кв. 1" in shown
    assert f"долг {money('2 383,29')}{NB}₽" in shown
    assert "начислений пока нет" in shown  # the second account has no charges

    await client.click("л/с № 55500011")
    shown = plain(client.last_text())
    assert "л/с № 55500011" in shown and "Начислений по счёту пока нет." in shown
    await client.click(tc.BTN_TO_LIST)
    await client.click(f"л/с № {GOLDEN_NUMBER}")
    assert_golden_card(client.last_text())
    buttons = [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]
    assert tc.BTN_TO_LIST in buttons


async def test_overpayment_is_shown_as_such(client, session) -> None:
    person = await factories.resident(session)
    acc = await factories.account(session)
    await factories.link(session, person, acc)
    service = await _service(session, acc.organization_id)
    session.add(
        Charge(account_id=acc.id, period=account_period(), service_id=service.id,
               opening=Decimal("0"), charged=Decimal("100"), paid=Decimal("250.50"),
               closing=Decimal("-150.50"))
    )  # fmt: skip
    await session.commit()
    await client.send("/accounts")
    assert f"Переплата: {money('150,50')}{NB}₽" in plain(client.last_text())


async def _service(session, organization_id: int):
    from storage.models import Service

    service = Service(organization_id=organization_id, code="s1", name="Вывоз ТКО", unit="чел.")
    session.add(service)
    await session.flush()
    return service


async def test_no_accounts_offers_linking(client, session) -> None:
    await factories.resident(session)
    await session.commit()
    await client.send(common.BTN_ACCOUNTS)
    text = client.last_text()
    assert common.NO_ACCOUNTS in text
    buttons = inline_buttons(client.bot_messages()[-1].reply_markup)
    assert [(b.text, b.callback_data) for b in buttons] == [
        (tc.BTN_LINK, LinkStart().pack()),
        (common.BTN_NOT_FOUND, NotFound().pack()),  # no one is left without a way to write
        (common.BTN_MENU, OpenMenu().pack()),
    ]


async def test_unregistered_user_is_sent_to_start(client) -> None:
    await client.send("/accounts")
    assert client.last_text() == common.NOT_REGISTERED


async def test_long_month_keeps_to_one_message(client, session) -> None:
    """Thirty services do not fit the detailed layout: the short one still shows the totals."""
    from storage.models import Service

    person = await factories.resident(session)
    acc = await factories.account(session)
    await factories.link(session, person, acc)
    for i in range(30):
        service = Service(
            organization_id=acc.organization_id, code=f"x{i}",
            name=f"Очень длинное название услуги номер {i} по содержанию общего имущества",
            unit="кв.м", group_name="Содержание", sort_order=i,
        )  # fmt: skip
        session.add(service)
        await session.flush()
        session.add(
            Charge(account_id=acc.id, period=account_period(), service_id=service.id,
                   tariff=Decimal("12345.6789"), volume=Decimal("1234.5678"),
                   opening=Decimal("100000.00"), charged=Decimal("1234567.89"),
                   paid=Decimal("0"), closing=Decimal("1334567.89"))
        )  # fmt: skip
    await session.commit()
    await client.send("/accounts")
    await client.click(tc.BTN_CHARGES)
    assert len(client.last_text()) <= 4096
    await client.click(tc.BTN_MONTH_DETAIL)
    text = client.last_text()
    assert len(text) <= 4096
    assert tc.MONTH_SHORTENED in text
    assert money("40 037 036,70") in text  # 30 × 1 334 567,89
    for block in pre_blocks(text):
        assert all(len(line) <= 36 for line in block), block


# --- forged navigation ---------------------------------------------------------------------------


@pytest.fixture
async def stranger_account(session, golden_resident):
    """Another resident's account with numbers of its own."""
    owner = await factories.resident(session, telegram_id=2002, phone="+79990000002")
    acc = await factories.account(session, number="77700077", holder_name="Сидорова Анна")
    await factories.link(session, owner, acc)
    service = await _service(session, acc.organization_id)
    session.add(
        Charge(account_id=acc.id, period=account_period(), service_id=service.id,
               opening=Decimal("0"), charged=Decimal("9876.54"), paid=Decimal("0"),
               closing=Decimal("9876.54"))
    )  # fmt: skip
    await session.commit()
    return acc


def leaked(client, *needles: str) -> bool:
    return any(n in t for t in client.texts() + client.alerts() for n in needles)


@pytest.mark.parametrize(
    "data",
    [
        lambda a: OpenCard(account_id=a).pack(),
        lambda a: ChargesMonth(account_id=a).pack(),
        lambda a: ChargesMonth(account_id=a, period=202003).pack(),
        lambda a: ChargesDetail(account_id=a, period=202003).pack(),
    ],
)
async def test_another_residents_account_is_refused(client, stranger_account, data) -> None:
    await client.callback(data(stranger_account.id))
    assert client.alerts() == [common.ACCOUNT_NOT_AVAILABLE]
    assert not client.sent("sendMessage") and not client.sent("editMessageText")
    assert not leaked(client, "77700077", "Сидорова", money("9 876,54"))


@pytest.mark.parametrize("account_id", [0, -1, -(2**70), 2**63, 10**30])
async def test_negative_and_huge_ids_are_refused(client, golden_resident, account_id) -> None:
    await client.callback(f"c:{account_id}")
    await client.callback(f"cm:{account_id}:202003")
    assert client.alerts() == [common.ACCOUNT_NOT_AVAILABLE] * 2
    assert not client.sent("sendMessage") and not client.sent("editMessageText")


@pytest.mark.parametrize("period", [201001, 202004, 203012])
async def test_period_without_data_says_so(client, golden_resident, period) -> None:
    _, account = golden_resident
    await client.callback(ChargesMonth(account_id=account.id, period=period).pack())
    assert len(client.alerts()) == 1 and "начислений нет" in client.alerts()[0]
    assert not client.sent("editMessageText") and not client.sent("sendMessage")


@pytest.mark.parametrize("period", [202013, 202000, 99, -202003, 10**12])
async def test_malformed_period_is_no_data(client, golden_resident, period) -> None:
    _, account = golden_resident
    await client.callback(f"cm:{account.id}:{period}")
    assert client.alerts() == [tc.NO_DATA]
    assert not client.sent("editMessageText") and not client.sent("sendMessage")


@pytest.mark.parametrize("data", ["cm:abc:202003", "cm:1", "c:1:2", "c:", "cl:1"])
async def test_garbage_callback_data_changes_nothing(client, golden_resident, data) -> None:
    await client.callback(data)
    assert client.alerts() == [common.STALE_BUTTON]
    assert not client.sent("editMessageText") and not client.sent("sendMessage")


async def test_unregistered_user_cannot_open_a_card(client, session) -> None:
    account = await factories.golden(session)
    await factories.resident(session, registered=False)
    await session.commit()
    await client.callback(OpenCard(account_id=account.id).pack())
    assert client.alerts() == [common.NOT_REGISTERED]
    assert not leaked(client, "2 383,29", GOLDEN_HOLDER)


async def test_card_message_is_answered_not_edited_for_a_stub(client, golden_resident) -> None:
    """A callback whose message the bot can't edit (e.g. a photo) gets a new message."""
    _, account = golden_resident
    made = await client.callback(OpenCard(account_id=account.id).pack())
    assert any(isinstance(m, SendMessage) for m in made)
    assert_golden_card(client.last_text())


# --- python -m bot card ---------------------------------------------------------------------------


async def test_cli_prints_the_card_and_month_exactly_as_the_bot_sends_them(
    client, golden_resident, db_url
) -> None:
    from tests.test_cli import run_cli

    result = run_cli(
        "card", GOLDEN_NUMBER, "--period", "2020-03", "--detail", env={"DATABASE_URL": db_url}
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # every figure of the golden account, as the operator reads it
    assert_golden_card(out)
    assert "Начисление «Теплоснабжение» за март 2020" in out
    for line in GOLDEN_LINES:
        block = out.split(f"\n{line.name}", 1)[1].split("\n\n", 1)[0]
        assert f"тариф {money(fmt.tariff(line.tariff))} ₽/{fmt.unit(line.unit)}" in block
        assert f"объём {fmt.volume(line.volume)} {fmt.unit(line.unit)}" in block
        amounts = rows(block.split("\n")[2:])
        assert amounts[tc.ROW_OPENING] == fmt.money(line.opening)
        assert amounts[tc.ROW_CHARGED] == fmt.money(line.charged)
        assert amounts[tc.ROW_RECALCULATION] == (fmt.money_or_dash(line.recalculation))
        assert amounts[tc.ROW_PAID] == fmt.money(line.paid)
        assert amounts[tc.ROW_TOTAL] == fmt.money(line.total)
    totals = rows(out.split("ИТОГО за март 2020\n", 1)[1].split("\n\n", 1)[0].split("\n"))
    assert totals == {
        tc.ROW_OPENING: money("2 337,08"),
        tc.ROW_CHARGED: money("1 460,23"),
        tc.ROW_RECALCULATION: "925,98",
        tc.ROW_PAID: money("2 340,00"),
        tc.ROW_TOTAL: money("2 383,29"),
    }
    # and it is exactly what the bot sent: the card, then the month in detail
    await client.send("/accounts")
    card = plain(client.last_text())
    await client.click(tc.BTN_CHARGES)
    await client.click(tc.BTN_MONTH_DETAIL)
    month = plain(client.last_text())
    assert out == f"{card}\n\n{month}\n"


async def run_card_in_process(settings, capsys, *args: str) -> str:
    """The same command in this process (the subprocess test above covers `python -m bot`)."""
    from bot.cli import build_parser

    parsed = build_parser().parse_args(["card", *args])
    assert await parsed.func(parsed, settings) == 0
    return capsys.readouterr().out


async def test_cli_defaults_to_the_latest_month(golden_resident, settings, capsys) -> None:
    out = await run_card_in_process(settings, capsys, GOLDEN_NUMBER)
    assert "Начисления за март 2020" in out
    assert_golden_card(out)


async def test_cli_prints_the_months_summary_as_the_chat_shows_it(
    client, golden_resident, settings, capsys
) -> None:
    out = await run_card_in_process(settings, capsys, GOLDEN_NUMBER, "--period", "2020-03")
    await client.send("/accounts")
    card = plain(client.last_text())
    await client.click(tc.BTN_CHARGES)
    summary = plain(client.last_text())
    assert out == f"{card}\n\n{summary}\n"  # the summary, not the detail
    assert "тариф" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["99999999"], "not found"),
        ([GOLDEN_NUMBER, "--period", "2020-13"], "YYYY-MM"),
        ([GOLDEN_NUMBER, "--org", "nope"], "not found"),
    ],
)
async def test_cli_operator_errors_are_one_clear_line(
    golden_resident, settings, capsys, args, message
) -> None:
    from bot.cli import CommandError

    with pytest.raises(CommandError, match=message):
        await run_card_in_process(settings, capsys, *args)


async def test_cli_asks_for_the_organization_when_the_number_is_ambiguous(
    session, golden_resident, settings, capsys
) -> None:
    from bot.cli import CommandError

    await factories.account(session, number=GOLDEN_NUMBER)
    await session.commit()
    with pytest.raises(CommandError, match="--org"):
        await run_card_in_process(settings, capsys, GOLDEN_NUMBER)
    out = await run_card_in_process(settings, capsys, GOLDEN_NUMBER, "--org", "dek")
    assert_golden_card(out)


async def test_cli_month_without_data(golden_resident, settings, capsys) -> None:
    out = await run_card_in_process(settings, capsys, GOLDEN_NUMBER, "--period", "2021-01")
    assert "К оплате" in out and "За январь 2021 начислений нет." in out


async def test_a_message_telegram_will_not_edit_is_replaced_by_a_new_one(
    client, golden_resident
) -> None:

    await client.send("/accounts")
    client.session.fail_with["editMessageText"] = bad_request("message can't be edited")
    made = await client.click(tc.BTN_CHARGES)
    assert any(isinstance(m, SendMessage) and "Начисления за март 2020" in m.text for m in made)
    assert common.ERROR not in client.texts()


async def test_pressing_the_same_button_twice_is_quiet(client, golden_resident) -> None:

    await client.send("/accounts")
    client.session.fail_with["editMessageText"] = bad_request("message is not modified")
    made = await client.click(tc.BTN_CHARGES)
    assert not any(isinstance(m, SendMessage) for m in made)
    assert common.ERROR not in client.texts()
    assert client.sent("answerCallbackQuery")


# --- figures kept between imports -------------------------------------------------------------


async def test_an_import_by_another_process_shows_on_the_card_and_in_the_month(
    client, golden_resident, db_url, tmp_path
) -> None:
    """The card's figures are kept until the billing data changes: an import by the CLI, in its
    own process, shows in this one once the cache looks again (at most a second later)."""
    import datetime as dt

    import time_machine

    from tests.test_cli import run_cli

    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        await client.send(common.BTN_ACCOUNTS)
        assert f"К оплате: {money('2 383,29')}{NB}₽" in plain(client.last_text())
        await client.click(tc.BTN_CHARGES)
        assert "Начисления за март 2020" in client.last_text()

        # April's charges, as the billing exports them: each line opens with March's total
        charges = tmp_path / "charges_2020-04.csv"
        lines = [
            "account;period;service;tariff;volume;opening;charged;recalculation;paid;closing",
            *(
                f"{GOLDEN_NUMBER};04.2020;{line.code};{line.tariff};{line.volume};{line.total};"
                f"{line.charged};0;0;{line.total + line.charged}"
                for line in GOLDEN_LINES
            ),
        ]
        charges.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = run_cli("import", str(charges), env={"DATABASE_URL": db_url})
        assert result.returncode == 0, result.stderr

        clock.shift(dt.timedelta(seconds=2))
        await client.send(common.BTN_ACCOUNTS)
        card = plain(client.last_text())
        assert f"К оплате: {money('3 843,52')}{NB}₽" in card  # 2 383,29 + 1 460,23
        assert "по данным за апрель 2020" in card
        await client.click(tc.BTN_CHARGES)
        assert "Начисления за апрель 2020" in client.last_text()
        buttons = [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]
        assert "◀ март 2020" in buttons
        await client.click("◀ март 2020")
        assert_golden_summary(client.last_text())
        await client.click(tc.BTN_MONTH_DETAIL)
        assert_golden_month(client.last_text())
