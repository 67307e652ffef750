""" "💳 Оплатить": the amount, the invoice, Telegram's pre-checkout query and the successful
payment; "📷 QR для оплаты": the receipt's payment QR as an image.

The account a button names arrives authorized as `account`; the verdicts, the record and the
figures are `services.payments`. A successful payment is handled without the registration gate
(the money has been taken: it is recorded whatever happened to the registration since).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.access import registered_only
from handlers.ui import PlainText, StepInput, say
from keyboards import payments as kb
from services import payments as service
from services.payments import Recorded, Verdict
from storage.models import Account, Resident
from storage.repo.accounts import get_linked_account
from texts import fmt
from texts.ru import payments as t

VERDICTS = {
    Verdict.FORGED: t.ERROR_FORGED,
    Verdict.NOT_LINKED: t.ERROR_NOT_LINKED,
    Verdict.WRONG_AMOUNT: t.ERROR_WRONG_AMOUNT,
}


class PayFlow(StatesGroup):
    amount = State()  # «Другая сумма»: waiting for the amount


@dataclass(frozen=True, slots=True)
class PayDialogue:
    account_id: int


class SuccessfulPayment(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.successful_payment is not None


def router() -> Router:
    r = registered_only(Router(name="payments"))
    r.callback_query.register(on_start, kb.PayStart.filter())
    r.callback_query.register(on_amount, kb.PayAmount.filter())
    r.callback_query.register(on_other, kb.PayOther.filter())
    r.callback_query.register(on_qr, kb.PayQr.filter())
    r.message.register(on_amount_text, StateFilter(PayFlow.amount), StepInput(), PlainText())
    r.message.register(on_amount_fallback, StateFilter(PayFlow.amount), StepInput())
    return r


def checkout_router() -> Router:
    """Telegram's side of a payment: first in the dispatcher after the operators' chat (a
    successful payment must reach no other handler, and no dialogue state may swallow it)."""
    r = Router(name="payments_checkout")
    r.pre_checkout_query.register(on_pre_checkout)
    r.message.register(on_successful_payment, SuccessfulPayment())
    return r


def _limits(settings: Settings) -> dict[str, str]:
    return {"min": fmt.rub(settings.payments_min_rub), "max": fmt.rub(settings.payments_max_rub)}


async def pay_screen(
    session: AsyncSession, settings: Settings, account: Account
) -> tuple[str, InlineKeyboardMarkup]:
    """The «💳 Оплатить» screen of an account: the amount due, and the buttons to pay it (also
    sent to the chat when the Mini App hands paying back to it)."""
    due = await service.due(session, settings, account.id)
    apartment = account.apartment
    address = fmt.address(apartment.house.address, apartment.number)
    lines = [t.PAY_TITLE.format(number=fmt.esc(account.number), address=fmt.esc(address)), ""]
    if due.amount > 0 and due.period is not None:
        lines.append(t.PAY_DUE.format(amount=fmt.rub(due.amount), month=fmt.month(due.period)))
    else:
        lines.append(t.PAY_NOTHING_DUE)
    if due.pending:
        lines.append(t.PAY_PENDING.format(amount=fmt.rub(due.pending)))
    lines.append("")
    lines.append(t.PAY_CHOOSE if settings.payments_enabled else t.PAY_QR_ONLY)
    offered = due.amount if due.amount > 0 and service.within_limits(settings, due.amount) else None
    markup = kb.amount_keyboard(account.id, offered, invoices=settings.payments_enabled)
    return "\n".join(lines), markup


async def on_start(
    callback: CallbackQuery, account: Account, session: AsyncSession, settings: Settings
) -> None:
    text, markup = await pay_screen(session, settings, account)
    await callback.answer()
    await say(callback, text, markup)


def invoice_fields(settings: Settings, invoice: service.Invoice) -> dict[str, Any]:
    """What `sendInvoice` (the chat) and `createInvoiceLink` (the Mini App) both take."""
    assert settings.payments_provider_token is not None
    return {
        "title": invoice.title,
        "description": invoice.description,
        "payload": invoice.payload,
        "currency": service.CURRENCY,
        "prices": [LabeledPrice(label=invoice.label, amount=invoice.kopecks)],
        "provider_token": settings.payments_provider_token.get_secret_value(),
        "provider_data": invoice.provider_data,
        "need_phone_number": True,
        "send_phone_number_to_provider": True,
    }


async def _send_invoice(
    bot: Bot, chat_id: int, session: AsyncSession, settings: Settings, account: Account,
    amount: Decimal,
) -> None:  # fmt: skip
    invoice = await service.invoice(session, settings, account, amount)
    await bot.send_invoice(chat_id, **invoice_fields(settings, invoice))


async def on_amount(
    callback: CallbackQuery, callback_data: kb.PayAmount, account: Account, bot: Bot,
    session: AsyncSession, settings: Settings,
) -> None:  # fmt: skip
    amount = Decimal(callback_data.kopecks) / 100
    if not settings.payments_enabled:
        await callback.answer(t.NOT_AVAILABLE, show_alert=True)
        return
    if not service.within_limits(settings, amount):
        await callback.answer(t.AMOUNT_OUT_OF_LIMITS.format(**_limits(settings)), show_alert=True)
        return
    await callback.answer()
    await _send_invoice(bot, callback.from_user.id, session, settings, account, amount)


async def on_other(
    callback: CallbackQuery, account: Account, state: FSMContext, settings: Settings
) -> None:
    if not settings.payments_enabled:
        await callback.answer(t.NOT_AVAILABLE, show_alert=True)
        return
    await state.set_state(PayFlow.amount)
    await state.update_data(**asdict(PayDialogue(account.id)))
    await callback.answer()
    await say(callback, t.ASK_AMOUNT.format(**_limits(settings)))


async def on_amount_text(
    message: Message, state: FSMContext, bot: Bot, session: AsyncSession, resident: Resident,
    settings: Settings,
) -> None:  # fmt: skip
    amount = service.parse_amount(message.text or "")
    if amount is None:
        await message.answer(t.BAD_AMOUNT)
        return
    if not service.within_limits(settings, amount):
        await message.answer(t.AMOUNT_OUT_OF_LIMITS.format(**_limits(settings)))
        return
    dialogue = PayDialogue(**await state.get_data())
    await state.clear()
    account = await get_linked_account(session, resident.id, dialogue.account_id)
    if account is None:  # unlinked while typing
        await message.answer(t.ERROR_NOT_LINKED)
        return
    await _send_invoice(bot, message.chat.id, session, settings, account, amount)


async def on_amount_fallback(message: Message) -> None:
    await message.answer(t.BAD_AMOUNT)


async def on_qr(callback: CallbackQuery, account: Account, bot: Bot, session: AsyncSession) -> None:
    qr = await service.payment_qr(session, account.id)
    if qr is None:
        await callback.answer(t.QR_NONE, show_alert=True)
        return
    await callback.answer()
    await bot.send_photo(
        callback.from_user.id,
        BufferedInputFile(qr.png, f"qr_{account.number}.png"),
        caption=qr.caption,
    )


async def on_pre_checkout(
    query: PreCheckoutQuery, session: AsyncSession, settings: Settings, resident: Resident | None
) -> None:
    """Answered at once (Telegram waits 10 seconds): one or two indexed reads."""
    verdict = await service.check(
        session,
        settings,
        resident.id if resident is not None else None,
        query.invoice_payload,
        query.currency,
        query.total_amount,
    )
    if verdict is Verdict.OK:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=VERDICTS[verdict])


async def on_successful_payment(
    message: Message, session: AsyncSession, settings: Settings, resident: Resident | None
) -> None:
    paid = message.successful_payment
    assert paid is not None
    outcome, amount = await service.record(
        session,
        settings,
        resident.id if resident is not None else None,
        paid.invoice_payload,
        paid.total_amount,
        paid.telegram_payment_charge_id,
        paid.provider_payment_charge_id,
    )
    if outcome is Recorded.NEW:
        await message.answer(t.THANKS.format(amount=fmt.rub(amount)))
    elif outcome is Recorded.REFUSED:
        await message.answer(t.NOT_RECORDED)
