"""The operators' billing month through the real bot process and the fake Bot API server: in a
group where the bot is in privacy mode, a billing file sent as a reply to the bot's message is
checked, loaded, and its receipts pushed from the chat."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fakeapi.server import FakeTelegram
from storage.demo import add_golden_account
from storage.models import Charge
from tests import factories
from tests.test_operator_imports import APRIL, april_registry

OPS = -100500
OPERATOR = 5001
RESIDENT = 2001


async def test_an_operator_loads_a_month_and_pushes_its_receipts_from_the_group(
    fake_tg: FakeTelegram, start_bot, db_url: str, session: AsyncSession
) -> None:
    account = await add_golden_account(session)
    person = await factories.resident(session, telegram_id=RESIDENT)
    await factories.link(session, person, account)
    await session.commit()
    operators = fake_tg.group(OPS, "Операторы")
    operators.members = {OPERATOR, fake_tg.bot_id}
    operators.privacy_mode = True  # the bot is a plain member with privacy mode on
    env = {"OPERATORS_CHAT_ID": str(OPS), "ADMIN_IDS": "9000", "IMPORT_BATCH_SECONDS": "0.5"}
    env["SCHEDULER_ENABLED"] = "true"  # its push job runs the push the button asks for
    bot = await start_bot(db_url, env=env)
    await bot.wait_for_log("privacy mode is on")

    # a plain document does not reach the bot; a reply to its message does
    assert await operators.send_document(OPERATOR, april_registry(), "реестр.csv") is None
    await operators.send(OPERATOR, "/imports")
    answer = await operators.wait_for("Загрузок ещё не было")
    await operators.send_document(
        OPERATOR, april_registry(), "реестр.csv", reply_to_message_id=answer.result["message_id"]
    )
    preview = await operators.wait_for("Проверка без загрузки")
    assert "периоды: 04.2020" in preview.text and "апрель 2020: новый период" in preview.text

    await operators.click(OPERATOR, "Загрузить")
    summary = await operators.wait_for("загружено 3 строки")
    assert "Опубликован новый период: апрель 2020." in summary.text
    assert await session.scalar(select(func.count()).where(Charge.period == APRIL)) == 3

    await operators.click(OPERATOR, "Разослать квитанции за апрель 2020 (1 жителю)")
    resident = fake_tg.user(RESIDENT)
    receipt = await resident.wait_for(lambda call: call.method == "sendDocument", timeout=60)
    assert receipt.files["document"].startswith(b"%PDF")
    await operators.wait_for("разосланы: отправлено 1 из 1", timeout=60)

    await operators.send(OPERATOR, "/undo_import 1")
    await operators.wait_for("Квитанции этих периодов уже получил 1 житель")
    assert await bot.stop() == 0
    assert "Traceback" not in bot.stderr_text()
