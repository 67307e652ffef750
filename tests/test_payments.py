"""Paying from the chat, as a resident does it: «💳 Оплатить» on the card, the invoice, Telegram's
pre-checkout query and successful payment, the pending line until the billing books the payment;
the payment QR as an image; the registry of bot payments for the billing."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import json
from decimal import Decimal

import pytest
import time_machine
import zxingcpp
from aiogram.methods import AnswerPreCheckoutQuery, SendInvoice, SendPhoto
from aiogram.types import PreCheckoutQuery, SuccessfulPayment, Update
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.cli import main as cli_main
from bot.config import Settings
from handlers.views import plain
from receipts.data import load_receipt
from receipts.qr import payload as qr_payload
from services import payments
from storage.demo import GOLDEN_NUMBER
from storage.importer import import_files
from storage.models import AccountLink, BotPayment, ImportRun
from tests import factories
from texts.ru import common
from texts.ru import payments as t

NB = "\u00a0"
SECRET = "test-secret-for-payload-signatures"
# A Wednesday after the golden account's March 2020 receipt: payments are made "now".
NOW = dt.datetime(2020, 4, 6, 9, 0, tzinfo=dt.UTC)
_ids = itertools.count(1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "payments_provider_token": SecretStr("284685063:TEST:token"),
            "payments_secret": SecretStr(SECRET),
        }
    )


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
async def golden_resident(session):
    person = await factories.resident(session)
    account = await factories.golden(session)
    await factories.link(session, person, account)
    await session.commit()
    return person, account


def invoice_of(client) -> SendInvoice:
    sent = client.sent("sendInvoice")
    assert sent, f"no invoice; the bot said: {client.texts()[-3:]}"
    return sent[-1]


async def pre_checkout(
    client, payload: str, total: int, currency: str = "RUB"
) -> AnswerPreCheckoutQuery:
    query = PreCheckoutQuery(
        id=f"pcq{next(_ids)}",
        from_user=client.user,
        currency=currency,
        total_amount=total,
        invoice_payload=payload,
    )
    made = await client.feed(Update(update_id=10_000 + next(_ids), pre_checkout_query=query))
    answers = [m for m in made if isinstance(m, AnswerPreCheckoutQuery)]
    assert len(answers) == 1
    return answers[0]


def successful_update(client, payload: str, total: int, charge: str) -> Update:
    paid = SuccessfulPayment(
        currency="RUB",
        total_amount=total,
        invoice_payload=payload,
        telegram_payment_charge_id=charge,
        provider_payment_charge_id=f"yk-{charge}",
    )
    return Update(update_id=20_000 + next(_ids), message=client.message(successful_payment=paid))


async def bot_payments(session) -> int:
    session.expire_all()
    return await session.scalar(select(func.count(BotPayment.id)))


async def pay_due(client) -> SendInvoice:
    await client.send(common.BTN_ACCOUNTS)
    await client.click(t.BTN_PAY)
    assert f"К оплате: 2{NB}383,29{NB}₽" in plain(client.last_text())
    await client.click("💳 Оплатить 2")
    return invoice_of(client)


async def test_paying_the_golden_account_end_to_end(
    client, session, engine, golden_resident, tmp_path
):
    invoice = await pay_due(client)
    assert invoice.currency == "RUB"
    assert [p.amount for p in invoice.prices] == [238329]
    assert len(invoice.title) <= 32 and GOLDEN_NUMBER in invoice.title
    assert len(invoice.description) <= 255
    assert GOLDEN_NUMBER in invoice.description and "март 2020" in invoice.description
    assert "ул. Ленина, д. 1, кв. 1" in invoice.description
    assert len(invoice.payload.encode()) <= 128
    receipt = json.loads(invoice.provider_data)["receipt"]
    assert receipt["items"][0]["amount"] == {"value": "2383.29", "currency": "RUB"}
    assert invoice.need_phone_number and invoice.send_phone_number_to_provider

    answer = await pre_checkout(client, invoice.payload, 238329)
    assert answer.ok is True

    await client.feed(successful_update(client, invoice.payload, 238329, "tg-charge-1"))
    assert f"Оплата 2{NB}383,29{NB}₽ получена" in client.last_text()
    assert await bot_payments(session) == 1

    # Telegram redelivers the update: nothing changes, nobody is thanked twice
    client.replies.clear()
    client.results.clear()
    await client.feed(successful_update(client, invoice.payload, 238329, "tg-charge-1"))
    assert client.texts() == []
    assert await bot_payments(session) == 1

    await client.send(common.BTN_ACCOUNTS)
    assert f"Оплачено через бот 2{NB}383,29{NB}₽ — в обработке" in plain(client.last_text())
    await client.click(t.BTN_PAY)
    assert "Задолженности нет" in plain(client.last_text())

    # the billing books it (its payments file carries the charge id): the pending line goes
    registry = tmp_path / "payments.csv"
    registry.write_text(
        "account,date,amount,period,source,charge_id\n"
        f"{GOLDEN_NUMBER},07.04.2020,2383.29,2020-04,Telegram-бот,tg-charge-1\n",
        encoding="utf-8",
    )
    await import_files(engine, [registry])
    await client.send(common.BTN_ACCOUNTS)
    assert "в обработке" not in client.last_text()


async def pay_in_full(client, charge_id: str) -> None:
    invoice = await pay_due(client)
    await pre_checkout(client, invoice.payload, 238329)
    await client.feed(successful_update(client, invoice.payload, 238329, charge_id))


async def card_after_import(client, engine, tmp_path, rows: str) -> str:
    """The card's text after the billing's payments file with `rows` is imported."""
    registry = tmp_path / "payments.csv"
    registry.write_text(f"account,date,amount,period\n{rows}", encoding="utf-8")
    await import_files(engine, [registry])
    await client.send(common.BTN_ACCOUNTS)
    return plain(client.last_text())


async def test_a_payment_booked_without_charge_id_matches_by_account_amount_and_date(
    client, session, engine, golden_resident, tmp_path
):
    await pay_in_full(client, "tg-charge-2")
    card = await card_after_import(
        client,
        engine,
        tmp_path,
        f"{GOLDEN_NUMBER},20.04.2020,2383.29,2020-04\n"  # too late: 14 days after
        f"{GOLDEN_NUMBER},08.04.2020,100.00,2020-04\n",  # another amount
    )
    assert "в обработке" in card
    card = await card_after_import(
        client, engine, tmp_path, f"{GOLDEN_NUMBER},08.04.2020,2383.29,2020-04\n"
    )
    assert "в обработке" not in card


async def test_only_the_published_payments_book_a_bot_payment(
    client, session, engine, golden_resident, tmp_path
):
    await pay_in_full(client, "tg-charge-3")
    card = await card_after_import(
        client, engine, tmp_path, f"{GOLDEN_NUMBER},08.04.2020,2383.29,2020-04\n"
    )
    assert "в обработке" not in card
    # the billing corrects April: the payment is not in it. The first version is kept for undo,
    # but residents no longer see it, so it books nothing
    card = await card_after_import(
        client, engine, tmp_path, f"{GOLDEN_NUMBER},09.04.2020,100.00,2020-04\n"
    )
    assert f"Оплачено через бот 2{NB}383,29{NB}₽ — в обработке" in card


async def test_a_forged_payload_is_refused_at_pre_checkout(client, session, golden_resident):
    invoice = await pay_due(client)
    body, _, signature = invoice.payload.rpartition(":")
    forged = body.replace(":238329:", ":100:") + ":" + signature
    answer = await pre_checkout(client, forged, 100)
    assert answer.ok is False and answer.error_message == t.ERROR_FORGED
    made_up = await pre_checkout(client, "p1:1:100:202003:" + "0" * 32, 100)
    assert made_up.ok is False and made_up.error_message == t.ERROR_FORGED
    wrong = await pre_checkout(client, invoice.payload, 100)
    assert wrong.ok is False and wrong.error_message == t.ERROR_WRONG_AMOUNT
    # a forged payload that somehow got paid is not booked to anyone's account
    await client.feed(successful_update(client, forged, 100, "tg-forged"))
    assert await bot_payments(session) == 0


async def test_an_account_unlinked_in_between_is_refused(client, session, golden_resident):
    invoice = await pay_due(client)
    person, _ = golden_resident
    link = await session.scalar(select(AccountLink).where(AccountLink.resident_id == person.id))
    await session.delete(link)
    await session.commit()
    answer = await pre_checkout(client, invoice.payload, 238329)
    assert answer.ok is False and answer.error_message == t.ERROR_NOT_LINKED


async def test_another_amount_in_rubles_and_kopecks(client, session, golden_resident):
    await client.send(common.BTN_ACCOUNTS)
    await client.click(t.BTN_PAY)
    await client.click(t.BTN_OTHER_AMOUNT)
    assert "От 100,00" in plain(client.last_text())
    await client.send("сто рублей")
    assert client.last_text() == t.BAD_AMOUNT
    await client.send("50")
    assert "Сумма должна быть от 100,00" in plain(client.last_text())
    assert client.sent("sendInvoice") == []
    await client.send("1 500,5")
    invoice = invoice_of(client)
    assert [p.amount for p in invoice.prices] == [150050]
    assert (await pre_checkout(client, invoice.payload, 150050)).ok is True


async def test_without_a_provider_token_only_the_qr_is_offered(
    client, session, golden_resident, settings
):
    settings.payments_provider_token = None
    await client.send(common.BTN_ACCOUNTS)
    await client.click(t.BTN_PAY)
    assert t.PAY_QR_ONLY in client.last_text()
    await client.click(t.BTN_QR)
    assert client.sent("sendInvoice") == []
    assert client.sent("sendPhoto")


def _decode_png(data: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    assert len(found) == 1
    return found[0].text


async def test_the_qr_image_decodes_to_the_receipts_payload(client, session, golden_resident, bot):
    _, account = golden_resident
    await client.send(common.BTN_ACCOUNTS)
    await client.click(t.BTN_QR)
    photo: SendPhoto = client.sent("sendPhoto")[-1]
    caption = plain(photo.caption)
    assert f"Сумма: 2{NB}383,29{NB}₽" in caption
    assert "БИК" in caption and "ИНН" in caption and GOLDEN_NUMBER in caption
    receipt = await load_receipt(session, account.id, dt.date(2020, 3, 1))
    assert _decode_png(photo.photo.data) == qr_payload(receipt)


async def test_the_receipt_carries_the_pay_buttons(client, session, golden_resident):
    await client.send(common.BTN_ACCOUNTS)
    await client.click("Скачать квитанцию")
    await client.click("март 2020")
    document = client.sent("sendDocument")[-1]
    labels = [b.text for row in document.reply_markup.inline_keyboard for b in row]
    assert t.BTN_PAY in labels and t.BTN_QR in labels


async def test_export_payments_cli_writes_the_registry(
    client, session, engine, golden_resident, settings, tmp_path, monkeypatch
):
    invoice = await pay_due(client)
    await pre_checkout(client, invoice.payload, 238329)
    await client.feed(successful_update(client, invoice.payload, 238329, "tg-export-1"))
    out = tmp_path / "payments.csv"
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    code = await _cli(
        ["export-payments", "--from", "01.04.2020", "--to", "30.04.2020", "-o", str(out)]
    )
    assert code == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "org,account,date,amount,period,source,charge_id"
    assert lines[1] == f"dek,{GOLDEN_NUMBER},06.04.2020,2383.29,2020-03,Telegram-бот,tg-export-1"
    # the registry loads back as the billing's payments and books the bot payment
    await import_files(engine, [out])
    assert await session.scalar(select(func.count(ImportRun.id))) == 1
    await client.send(common.BTN_ACCOUNTS)
    assert "в обработке" not in client.last_text()


async def _cli(argv: list[str]) -> int:
    """`python -m bot ...` in this process (its own event loop, hence a thread)."""

    def run() -> int:
        try:
            cli_main(argv)
        except SystemExit as exit_:
            return int(exit_.code or 0)
        return 0

    return await asyncio.to_thread(run)


async def test_unconfirmed_payments_are_listed_after_n_days(
    client, session, golden_resident, settings
):
    invoice = await pay_due(client)
    await pre_checkout(client, invoice.payload, 238329)
    await client.feed(successful_update(client, invoice.payload, 238329, "tg-late"))
    assert await payments.unconfirmed(session, settings, NOW.replace(tzinfo=None)) == []
    later = NOW.replace(tzinfo=None) + dt.timedelta(days=settings.payments_unconfirmed_days + 1)
    listed = await payments.unconfirmed(session, settings, later)
    assert [(u.account_number, u.amount) for u in listed] == [(GOLDEN_NUMBER, Decimal("2383.29"))]


def test_amounts_are_read_as_residents_type_them() -> None:
    assert payments.parse_amount("1500") == Decimal("1500.00")
    assert payments.parse_amount("1 500,50") == Decimal("1500.50")
    assert payments.parse_amount("1500.5 ₽") == Decimal("1500.50")
    assert payments.parse_amount("2383,29 руб.") == Decimal("2383.29")
    for bad in ("", "-5", "1,234", "1e5", "12.345", "abc"):
        assert payments.parse_amount(bad) is None, bad


async def test_export_payments_in_the_operators_chat(dp, bot, client, session, golden_resident):
    from tests.test_appeals import members, operators_chat

    invoice = await pay_due(client)
    await pre_checkout(client, invoice.payload, 238329)
    await client.feed(successful_update(client, invoice.payload, 238329, "tg-chat-1"))
    op = operators_chat(dp, bot, 5001)
    op.session.responses["getChatMember"] = members(5001)
    await op.send("/export_payments апрель")
    assert op.last_text() == t.EXPORT_USAGE
    await op.send("/export_payments 01.04.2020 30.04.2020")
    document = op.sent("sendDocument")[-1]
    assert document.caption == "Платежи через бот с 01.04.2020 по 30.04.2020: 1 платёж."
    rows = document.document.data.decode("utf-8-sig").splitlines()
    assert rows[1].endswith(",tg-chat-1")
    await op.send("/export_payments 01.05.2020 31.05.2020")
    assert op.last_text() == "Платежей через бот с 01.05.2020 по 31.05.2020 нет."
    intruder = operators_chat(dp, bot, 6666)
    await intruder.send("/export_payments 01.04.2020 30.04.2020")
    assert intruder.sent("sendDocument") == []


async def test_a_pushed_receipt_carries_the_pay_buttons(
    client, bot, session, session_factory, settings, golden_resident
):
    from keyboards.payments import pay_keyboard
    from receipts.push import build_push

    settings.receipt_spool_dir = ""
    progress = await build_push(bot, session_factory, settings, pay_keyboard).run(
        dt.date(2020, 3, 1)
    )
    assert progress is not None
    [document] = [m for m in bot.session.requests if m.__api_method__ == "sendDocument"]
    labels = [b.text for row in document.reply_markup.inline_keyboard for b in row]
    assert labels == [t.BTN_PAY, t.BTN_QR]
    await client.callback(document.reply_markup.inline_keyboard[0][0].callback_data)
    assert "К оплате" in plain(client.last_text())


# --- the pay-by date ----------------------------------------------------------------------------


def test_the_bill_is_due_on_the_organizations_day_of_the_next_month() -> None:
    from storage.periods import pay_by

    assert pay_by(dt.date(2020, 3, 1), 10) == dt.date(2020, 4, 10)
    assert pay_by(dt.date(2020, 1, 1), 31) == dt.date(2020, 2, 29)
    assert pay_by(dt.date(2020, 12, 1), 25) == dt.date(2021, 1, 25)


async def test_pay_by_date_in_the_card_month_view_and_receipt(client, session, golden_resident):
    await client.send(common.BTN_ACCOUNTS)
    assert "К оплате до 10.04.2020" in plain(client.last_text())
    await client.click("Начисления")
    # the month's summary says it on its one «К оплате» line (a 12-service month fits 25 lines)
    assert f"К оплате: 2{NB}383,29{NB}₽ (до 10.04.2020)" in plain(client.last_text())
    await client.click("Подробно")
    assert "К оплате до 10.04.2020" in plain(client.last_text())
    await client.click("Назад")
    await client.click("Скачать квитанцию")
    await client.click("март 2020")
    document = client.sent("sendDocument")[-1]
    assert "К оплате до 10.04.2020" in plain(document.caption)


async def test_an_organizations_due_day_comes_from_the_import(
    client, session, engine, golden_resident, tmp_path
):
    _, account = golden_resident
    await session.refresh(account, ["organization"])
    organizations = tmp_path / "organizations.csv"
    organizations.write_text(
        f"code,name,due_day\n{account.organization.code},{account.organization.name},25\n",
        encoding="utf-8",
    )
    await import_files(engine, [organizations])
    await client.send(common.BTN_ACCOUNTS)
    assert "К оплате до 25.04.2020" in plain(client.last_text())
