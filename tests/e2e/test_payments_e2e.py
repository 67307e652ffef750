"""Paying from the chat in the real bot process against the fake Bot API: the golden account is
paid, Telegram redelivers the payment (recorded once), a forged payload and an account unlinked in
between are refused at pre-checkout, and the billing's import books the payment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.fakeapi.server import FakeTelegram
from storage.demo import GOLDEN_NUMBER
from storage.importer import import_files
from storage.models import AccountLink, BotPayment
from tests import factories
from texts.ru import common
from texts.ru import payments as t

NB = "\u00a0"
ENV = {"PAYMENTS_PROVIDER_TOKEN": "284685063:TEST:token", "PAYMENTS_SECRET": "e2e-secret"}


async def recorded(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count(BotPayment.id))) or 0)


async def test_paying_the_golden_account(
    fake_tg: FakeTelegram,
    start_bot,
    db_url: str,
    session: AsyncSession,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    resident = await factories.resident(session, telegram_id=1001)
    account = await factories.golden(session)
    await factories.link(session, resident, account)
    await session.commit()
    bot = await start_bot(db_url, env=ENV)
    anna = fake_tg.user(1001, first_name="Анна")

    await anna.send(common.BTN_ACCOUNTS)
    await anna.wait_for("К оплате")
    await anna.click(t.BTN_PAY)
    await anna.wait_for("К оплате")
    await anna.click("💳 Оплатить 2")
    invoice = await anna.wait_for(lambda call: call.method == "sendInvoice")
    assert invoice.ok and GOLDEN_NUMBER in invoice.params["description"]

    # a forged payload (another amount under the same signature) is refused
    body, _, signature = invoice.params["payload"].rpartition(":")
    forged = body.replace(":238329:", ":10000:") + ":" + signature
    answer, message = await anna.pay(invoice, payload=forged, total=10000)
    assert answer.params["ok"] is False and answer.params["error_message"] == t.ERROR_FORGED
    assert message is None

    answer, message = await anna.pay(invoice)
    assert answer.params["ok"] is True and message is not None
    thanks = await anna.wait_for("получена")
    assert f"2{NB}383,29{NB}₽" in (thanks.visible_text or "")
    assert await recorded(session) == 1

    await anna.redeliver_payment(message)  # Telegram delivers the same update again
    await fake_tg.wait_confirmed()
    await anna.send(common.BTN_ACCOUNTS)
    card = await anna.wait_for("К оплате")
    assert f"Оплачено через бот 2{NB}383,29{NB}₽ — в обработке" in (card.visible_text or "")
    assert await recorded(session) == 1
    thanks = [c for c in anna.delivered("sendMessage") if "получена" in (c.text or "")]
    assert len(thanks) == 1  # thanked once

    # the billing books it: the pending line goes
    registry = tmp_path / "payments.csv"
    registry.write_text(
        "account,date,amount,period,charge_id\n"
        f"{GOLDEN_NUMBER},{message_day(message)},2383.29,2020-04,"
        f"{message['successful_payment']['telegram_payment_charge_id']}\n",
        encoding="utf-8",
    )
    await import_files(engine, [registry])
    await anna.send(common.BTN_ACCOUNTS)
    card = await anna.wait_for("К оплате")
    assert "в обработке" not in (card.visible_text or "")

    # unlinked between the invoice and the payment: refused
    await anna.click(t.BTN_PAY)
    await anna.click(t.BTN_OTHER_AMOUNT)
    await anna.wait_for("Введите сумму")
    await anna.send("500")
    second = await anna.wait_for(lambda call: call.method == "sendInvoice")
    await session.execute(AccountLink.__table__.delete())
    await session.commit()
    answer, message = await anna.pay(second)
    assert answer.params["ok"] is False and answer.params["error_message"] == t.ERROR_NOT_LINKED
    assert message is None and await recorded(session) == 1

    assert await bot.stop() == 0
    assert "Traceback" not in bot.stderr_text()
    assert "2 383,29".replace(" ", NB) not in bot.stderr_text()


def message_day(message: dict) -> str:
    return dt.datetime.fromtimestamp(message["date"], dt.UTC).strftime("%d.%m.%Y")
