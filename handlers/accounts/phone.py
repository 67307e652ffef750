"""Right after registration, the accounts whose phone on record is the resident's verified phone
are offered for linking in one tap each (the offer itself is shown by the registration). A tap
is authorized again: the account must still carry that phone, so a forged id links nothing."""

from __future__ import annotations

from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ui import edit_or_send
from keyboards.accounts import LinkByPhone, phone_offer
from services import linking
from services.linking import Outcome
from storage.models import Resident
from texts import fmt
from texts.ru import accounts as t


async def on_link_by_phone(
    callback: CallbackQuery, callback_data: LinkByPhone, session: AsyncSession, resident: Resident
) -> None:
    result = await linking.link_by_phone(session, resident, callback_data.account_id)
    if result is None:
        await callback.answer(t.PHONE_OFFER_REFUSED, show_alert=True)
        return
    proof, account = result
    await callback.answer()
    said = t.ALREADY_LINKED if proof.outcome is Outcome.ALREADY_LINKED else t.LINKED_BY_PHONE
    text = said.format(number=fmt.esc(account.number))
    rest = await linking.phone_offers(session, resident)
    if rest:
        text += "\n\n" + t.PHONE_OFFER_MORE
    await edit_or_send(callback, text, phone_offer(rest, opened=account.id))
