"""The account card in the real bot process: a linked resident opens the card, moves a month
back, opens the payments statement and the chart."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.fakeapi.server import FakeTelegram
from storage.demo import GOLDEN_NUMBER
from tests import factories
from texts.ru import card as tc
from texts.ru import common
from texts.ru import history as th

NB = "\u00a0"


def rub(text: str) -> str:
    return text.replace(" ", NB) + f"{NB}₽"


async def test_a_resident_walks_the_card_statement_and_chart(
    fake_tg: FakeTelegram, start_bot, db_url: str, session: AsyncSession
) -> None:
    resident = await factories.resident(session, telegram_id=1001)
    account = await factories.golden(session)
    await factories.link(session, resident, account)
    await session.commit()

    bot = await start_bot(db_url)
    anna = fake_tg.user(1001, first_name="Анна")

    await anna.send(common.BTN_ACCOUNTS)
    card = await anna.wait_for("К оплате")
    shown = card.visible_text or ""
    assert f"л/с № {GOLDEN_NUMBER}" in shown
    assert f"К оплате: {rub('2 383,29')}" in shown
    assert "Площадь: 33,10 м²" in shown and "Собственность: частная" in shown

    await anna.click(tc.BTN_CHARGES)
    march = await anna.wait_for("Начисления за март 2020")
    assert march.method == "editMessageText"  # the card turned into the month
    for figure in ("2 337,08", "2 386,21", "2 340,00", "2 383,29"):  # the summary
        assert figure.replace(" ", NB) in (march.visible_text or "")
    await anna.click(tc.BTN_MONTH_DETAIL)
    detail = await anna.wait_for("Остаток на конец месяца")
    for figure in ("177,04", "959,76", "1 246,49", "2 337,08", "1 460,23", "925,98", "2 383,29"):
        assert figure.replace(" ", NB) in (detail.visible_text or "")
    await anna.click(tc.BTN_TO_MONTH)
    await anna.wait_for(lambda call: tc.BTN_MONTH_DETAIL in call.buttons())

    await anna.click("◀ февраль 2020")
    february = await anna.wait_for("Начисления за февраль 2020")
    assert "март 2020 ▶" in february.buttons()

    await anna.click(tc.BTN_TO_CARD)
    await anna.wait_for("К оплате")
    await anna.click(tc.BTN_PAYMENTS)
    await anna.wait_for("За какой период")
    await anna.click("За март 2020")
    statement = await anna.wait_for("Долг на конец периода")
    shown = statement.visible_text or ""
    assert f"Долг на начало периода: {rub('2 337,08')}" in shown
    assert f"Оплачено: − {rub('2 340,00')}" in shown
    assert f"Долг на конец периода: {rub('2 383,29')}" in shown

    await anna.click(common.BTN_BACK)  # to the choice of the period it came from
    await anna.wait_for("За какой период")
    await anna.click(common.BTN_BACK)
    await anna.wait_for("К оплате")
    await anna.click(tc.BTN_HISTORY)
    await anna.wait_for("Что показать?")
    await anna.click(th.BTN_CHARGES_CHART)
    photo = await anna.wait_for(lambda call: call.method == "sendPhoto", timeout=60)
    image = next(iter(photo.files.values()))
    assert image.startswith(b"\x89PNG")
    assert "\n" not in (photo.text or "") and GOLDEN_NUMBER in (photo.text or "")

    assert await bot.stop() == 0
    assert "Traceback" not in bot.stderr_text()
    assert "2 383,29".replace(" ", NB) not in bot.stderr_text()  # no money in the logs
