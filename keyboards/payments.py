"""Paying: the pay screen's buttons (callback prefixes "y*": PayStart and PayQr are opened from
the card, the receipt and the pushed receipt)."""

from __future__ import annotations

from decimal import Decimal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from keyboards.callbacks import OpenCard
from keyboards.common import button, nav_row
from texts import fmt
from texts.ru import payments as t


class PayStart(CallbackData, prefix="y"):
    """The pay screen: the amount due and «Другая сумма»."""

    account_id: int


class PayAmount(CallbackData, prefix="ya"):
    """An invoice for `kopecks` (any amount within the limits: the invoice is checked anyway)."""

    account_id: int
    kopecks: int


class PayOther(CallbackData, prefix="yo"):
    account_id: int


class PayQr(CallbackData, prefix="yq"):
    account_id: int


def pay_buttons(account_id: int) -> list[InlineKeyboardButton]:
    """«💳 Оплатить» and «📷 QR для оплаты», for a row under a card or a receipt."""
    return [
        button(t.BTN_PAY, PayStart(account_id=account_id)),
        button(t.BTN_QR, PayQr(account_id=account_id)),
    ]


def pay_keyboard(account_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[pay_buttons(account_id)])


def amount_keyboard(
    account_id: int, due: Decimal | None, *, invoices: bool
) -> InlineKeyboardMarkup:
    """The amount due (when there is one), another amount, the QR, back to the card."""
    rows = []
    if invoices:
        if due is not None:
            kopecks = int(due * 100)
            label = t.BTN_PAY_DUE.format(amount=fmt.rub(due))
            rows.append([button(label, PayAmount(account_id=account_id, kopecks=kopecks))])
        rows.append([button(t.BTN_OTHER_AMOUNT, PayOther(account_id=account_id))])
    rows.append([button(t.BTN_QR, PayQr(account_id=account_id))])
    rows.append(nav_row(OpenCard(account_id=account_id)))
    return InlineKeyboardMarkup(inline_keyboard=rows)
