"""The operators' billing month in the chat, through the real dispatcher: billing files sent as
documents (served by the recording session's getFile), the preview, «Загрузить», the receipts
push it offers, /imports, /undo_import, /export_readings; who may do it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import TelegramMethod
from aiogram.types import ChatMemberLeft, ChatMemberMember, ChatMemberOwner, User
from sqlalchemy import func, select

from handlers.operators import background
from handlers.operators.imports import check_operators_chat
from receipts.push import push_due
from storage.demo import add_golden_account
from storage.models import Charge, ImportRun, Push, ReceiptDelivery
from tests import factories
from tests.harness import BOT_ID, BOT_USER, BotClient, too_many_requests
from tests.test_appeals import OPS, operators_chat, post_stub
from texts.ru import imports as t

OPERATOR = 5001
ADMIN = 9000  # settings.admin_ids in tests/conftest.py
STRANGER = 5002
ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "samples" / "flat" / "реестр_начислений_2020-03.csv"
APRIL = dt.date(2020, 4, 1)


def april_registry() -> bytes:
    """The sample registry (cp1251, a title with the period, «Итого» rows) for April 2020: a
    month the golden account has no charges of yet."""
    text = REGISTRY.read_bytes().decode("cp1251")
    return text.replace("за март 2020 г.", "за апрель 2020 г.").encode("cp1251")


def download_dirs() -> set[Path]:
    """The bot's directories of downloaded billing files that exist now (in this test's temporary
    directory: see `quick`)."""
    return set(Path(tempfile.gettempdir()).glob("tg-import-*"))


def members(*user_ids: int):
    """getChatMember: these users (and the bot, a plain member) are in the operators' chat."""

    def respond(method: TelegramMethod[Any]) -> Any:
        user_id = method.user_id  # type: ignore[attr-defined]
        user = User(id=user_id, is_bot=user_id == BOT_ID, first_name="Оператор")
        if user_id in user_ids or user_id == BOT_ID:
            return ChatMemberMember(user=user)
        return ChatMemberLeft(user=user)

    return respond


@pytest.fixture
def quick(settings, tmp_path, monkeypatch):
    """Batches close 1 s after the last file (the default waits 3 s); receipts spool in tmp;
    temporary files (the downloaded ones too) go to this test's own directory, so that other
    processes' files in the shared one do not count."""
    settings.import_batch_seconds = 1.0
    settings.receipt_spool_dir = str(tmp_path / "spool")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return settings


async def golden_resident(session) -> Any:
    """The golden account (24 months up to March 2020) and a resident who gets its receipts."""
    account = await add_golden_account(session)
    person = await factories.resident(session, telegram_id=2001)
    await factories.link(session, person, account)
    await session.commit()
    return person


def operator(dp, bot) -> BotClient:
    op = operators_chat(dp, bot, OPERATOR)
    op.session.responses["getChatMember"] = members(OPERATOR)
    return op


async def april_charges(session_factory) -> tuple[int, Decimal]:
    async with session_factory() as session:
        rows, charged = (
            await session.execute(
                select(func.count(), func.sum(Charge.charged)).where(Charge.period == APRIL)
            )
        ).one()
    return rows, charged or Decimal(0)


async def test_an_operator_loads_a_month_pushes_receipts_and_sees_the_import(
    dp, bot, session, session_factory, quick
) -> None:
    person = await golden_resident(session)
    op = operator(dp, bot)
    before = download_dirs()

    await op.send_document(april_registry(), "реестр_апрель.csv")
    await op.during(background.finished())
    assert len(download_dirs() - before) == 1  # kept for «Загрузить»

    preview = op.last_text()
    assert "🔎 <b>Проверка без загрузки</b>: 3 строки в 1 таблице — ошибок нет." in preview
    assert "<b>реестр_апрель.csv</b>: " in preview
    assert "текст, Windows-1251, разделитель «;»" in preview
    assert "периоды: 04.2020" in preview
    assert "лицевых счетов: 1 (новых 0, известных 1)" in preview
    assert (
        "начислено 1\xa0460,23\xa0₽, перерасчёт 925,98\xa0₽, оплачено 2\xa0340,00\xa0₽" in preview
    )
    assert "пропущено строк «Итого»: 2" in preview
    assert "• апрель 2020: новый период — 1 лицевой счёт, начислено 1\xa0460,23\xa0₽" in preview
    assert op.sent("getFile") and await april_charges(session_factory) == (0, 0)

    await op.click(t.BTN_LOAD)
    await op.during(background.finished())

    assert await april_charges(session_factory) == (3, Decimal("1460.23")), op.texts()[-3:]
    assert download_dirs() <= before  # the files are gone once loaded
    [run] = (await session.scalars(select(ImportRun))).all()
    summary = op.bot_messages()[-1]
    assert summary.text.startswith(f"✅ <b>Загрузка № {run.id}</b>: загружено 3 строки.")
    assert "Опубликован новый период: апрель 2020." in summary.text
    [push] = [b.text for row in summary.reply_markup.inline_keyboard for b in row]
    assert push == "📨 Разослать квитанции за апрель 2020 (1 жителю)"

    await op.click("Разослать квитанции")
    assert op.last_text().startswith("📨 Рассылка квитанций за апрель 2020 поставлена в очередь")
    # the scheduler's push job runs it (this dispatcher has no scheduler: the job by hand)
    await op.during(asyncio.gather(push_due(bot, session_factory, quick), background.finished()))

    [receipt] = [m for m in op.session.requests if m.__api_method__ == "sendDocument"]
    assert receipt.chat_id == person.chat_id
    assert "Квитанции за апрель 2020 разосланы: отправлено 1 из 1" in op.last_text()
    delivered = await session.scalar(
        select(func.count()).where(
            ReceiptDelivery.period == APRIL, ReceiptDelivery.status == "sent"
        )
    )
    assert delivered == 1

    await op.send("/imports")
    listing = op.last_text()
    assert f"№ {run.id} · " in listing and "реестр_апрель.csv" in listing
    assert "периоды: 04.2020; 3 строки" in listing and "tg-import-" not in listing

    for wrong in ("/undo_import", "/undo_import abc", f"/undo_import {'9' * 12}"):
        await op.send(wrong)
        assert op.last_text() == t.UNDO_USAGE  # and nothing is undone
    await op.send(f"/undo_import {run.id}")
    question = op.last_text()
    assert question.startswith(f"↩️ Отменить загрузку № {run.id}?\nПериоды: 04.2020\n")
    assert "Квитанции этих периодов уже получил 1 житель" in question
    await op.click(t.BTN_UNDO.format(id=run.id))
    # April had no charges before this import: undone, it has none again (its rows deleted)
    assert op.last_text() == t.UNDO_DONE.format(id=run.id, periods="04.2020")
    assert await april_charges(session_factory) == (0, Decimal(0))


async def test_the_push_button_pressed_while_the_poll_pushes_the_period_is_that_one_push(
    dp, bot, session, session_factory, quick
) -> None:
    """The scheduler's push job owns every push: «Разослать» pressed while its poll is pushing
    the period starts no second one; its message follows the poll's push to the end."""
    person = await golden_resident(session)
    op = operator(dp, bot)
    await op.send_document(april_registry(), "реестр_апрель.csv")
    await op.during(background.finished())
    await op.click(t.BTN_LOAD)
    await op.during(background.finished())
    first_try = asyncio.Event()

    def busy_once(method: Any) -> Any:
        """Telegram's 429 (retry after 1 s) for the first receipt: the poll's push is on."""
        if first_try.is_set():
            return op.session.answer(method)
        first_try.set()
        return too_many_requests(1)

    op.session.responses["sendDocument"] = busy_once
    poll = asyncio.create_task(push_due(bot, session_factory, quick))  # the job's own poll
    await first_try.wait()
    await op.click("Разослать квитанции")
    await op.during(asyncio.gather(poll, background.finished()))

    sent = [m for m in op.session.requests if m.__api_method__ == "sendDocument"]
    assert [m.chat_id for m in sent] == [person.chat_id, person.chat_id]  # the 429, the retry
    assert "Квитанции за апрель 2020 разосланы: отправлено 1 из 1" in op.last_text()
    pushes = (await session.execute(select(Push.status).where(Push.period == APRIL))).all()
    assert pushes == [("done",)]
    delivered = await session.scalar(select(func.count()).where(ReceiptDelivery.period == APRIL))
    assert delivered == 1


async def test_files_of_several_messages_form_one_batch_and_cancel_removes_them(
    dp, bot, session, session_factory, quick, make_client
) -> None:
    await golden_resident(session)
    admin = make_client(ADMIN)  # an administrator in a private chat
    before = download_dirs()
    payments = "Лицевой счет;Дата;Сумма;Источник\r\n00000000;05.04.2020;100,00;Сбербанк\r\n"
    await admin.send_document(payments.encode("utf-8"), "оплаты.csv")
    await admin.send_document(april_registry(), "реестр.csv")
    await admin.during(background.finished())

    [preview] = [text for text in admin.texts() if text.startswith("🔎")]
    assert "в 2 таблицах" in preview
    assert "<b>оплаты.csv</b>" in preview and "<b>реестр.csv</b>" in preview
    assert "оплат на 100,00\xa0₽" in preview
    assert len(admin.sent("getFile")) == 2

    await admin.click(t.BTN_CANCEL)
    assert admin.last_text() == t.CANCELLED
    assert download_dirs() <= before  # the files are gone once cancelled
    await admin.callback(_load_data(admin))
    assert admin.alerts()[-1] == t.EXPIRED
    await admin.during(background.finished())
    assert await april_charges(session_factory) == (0, 0)


def _load_data(client: BotClient) -> str:
    """The «Загрузить» button's data of the (now cancelled) preview, pressed again."""
    for method in client.replies:
        markup = getattr(method, "reply_markup", None)
        for row in getattr(markup, "inline_keyboard", None) or []:
            for button in row:
                if button.text == t.BTN_LOAD:
                    return button.callback_data
    raise AssertionError("no preview was shown")


async def test_bad_rows_are_listed_as_file_line_reason_all_in_a_report_and_nothing_loads(
    dp, bot, session, session_factory, quick
) -> None:
    await golden_resident(session)
    op = operator(dp, bot)
    text = april_registry().decode("cp1251")
    header, _, rest = text.partition("Сальдо на конец\r\n")
    bad_row = "00000000;Иванов;ул. Ленина, д. 1, кв. 1;33,10;Тепло;ГВС;куб.м;18,83;x;1;1;1;1;1\r\n"
    broken = header + "Сальдо на конец\r\n" + bad_row * 12 + rest

    await op.send_document(broken.encode("cp1251"), "реестр.csv")
    await op.during(background.finished())

    refusal = op.texts()[-2]  # then the report
    assert refusal.startswith("⛔ <b>Не загружено</b>: 12 ошибок в 1 файле.")
    assert "реестр.csv:5: " in refusal and "tg-import-" not in refusal
    assert "… и ещё 2: все ошибки — в файле ниже." in refusal
    [report] = op.sent("sendDocument")
    assert report.caption == t.REFUSED_REPORT_CAPTION
    lines = report.document.data.decode("utf-8-sig").splitlines()
    assert len(lines) == 12 and lines[-1].startswith("реестр.csv:16: ")
    assert not any(t.BTN_LOAD in str(m) for m in op.sent("editMessageText"))
    assert await april_charges(session_factory) == (0, 0)


async def test_who_may_send_files_and_what_is_refused(
    dp, bot, session, session_factory, quick, make_client
) -> None:
    await golden_resident(session)
    stranger = operators_chat(dp, bot, STRANGER)
    stranger.session.responses["getChatMember"] = members(OPERATOR)
    await stranger.send_document(april_registry(), "реестр.csv")
    resident = make_client(2001)
    await resident.send_document(april_registry(), "реестр.csv")
    assert await stranger.during(background.finished()) == []  # nothing checked in the background
    assert stranger.replies == [m for m in stranger.replies if m.__api_method__ == "getChatMember"]
    assert resident.texts() == [t.NOT_FOR_RESIDENTS]
    assert not stranger.sent("getFile") and not resident.sent("getFile")

    op = operator(dp, bot)
    await op.send_document(b"x", "big.zip", size=25 * 1024 * 1024)
    assert "весит 25,0 МБ" in op.last_text() and "python -m bot import" in op.last_text()
    await op.send_document(b"MZ", "program.exe")
    assert "не похож на выгрузку биллинга" in op.last_text()
    assert await op.during(background.finished()) == []
    assert not op.sent("getFile")
    assert await april_charges(session_factory) == (0, 0)


async def test_a_document_sent_as_a_reply_to_the_bots_message_is_a_billing_file(
    dp, bot, session, session_factory, quick
) -> None:
    """In privacy mode a group's bot sees documents only when they reply to it: such a document
    is taken as a billing file (not as an answer to an appeal)."""
    await golden_resident(session)
    op = operator(dp, bot)
    await op.send_document(april_registry(), "реестр.csv", reply_to_message=post_stub(777))
    await op.during(background.finished())
    assert op.last_text().startswith("🔎")


async def test_export_readings_sends_the_period_file(dp, bot, session, quick) -> None:
    account = await factories.account(session)
    meter = await factories.meter(session, account)
    await factories.reading(session, meter, APRIL, "123.5")
    await session.commit()
    op = operator(dp, bot)

    await op.send("/export_readings 04.2020")
    [document] = op.sent("sendDocument")
    assert document.document.filename == "readings_2020-04.csv"
    data = document.document.data.decode("utf-8-sig")
    assert data.startswith("Организация;Лицевой счет;Код ПУ;Период;Показание")
    assert f";{account.number};" in data
    assert document.caption.startswith("Показания за апрель 2020: 1 показание")

    await op.send("/export_readings 13.2020")
    assert op.last_text() == t.EXPORT_USAGE
    await op.send("/export_readings 05.2020")
    assert op.last_text() == t.EXPORT_EMPTY.format(month="май 2020")


async def test_start_up_warns_when_the_bot_cannot_see_documents_in_the_group(
    bot, quick, caplog
) -> None:
    bot.session.responses["getChatMember"] = members()
    with caplog.at_level(logging.INFO, logger="handlers.operators.imports"):
        await check_operators_chat(bot, quick)
    assert "privacy mode is on" in caplog.text and "docs/operators.md" in caplog.text

    caplog.clear()
    bot.session.responses["getChatMember"] = lambda method: ChatMemberOwner(
        user=BOT_USER, is_anonymous=False
    )
    with caplog.at_level(logging.INFO, logger="handlers.operators.imports"):
        await check_operators_chat(bot, quick)
    assert "sees every message" in caplog.text and "privacy" not in caplog.text
    assert OPS == quick.operators_chat_id
