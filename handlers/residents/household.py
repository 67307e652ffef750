"""Household: invite family with a one-time link, see who has access to each account, take
access back. Opening a link (/start TOKEN) is registration's entry (`invite_link`): a registered
resident is linked at once, a newcomer right after the registration (`apply_pending`).

An account named by a button comes authorized by the account gate; an invite named by a button
is checked to be the resident's own by `services.household`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import registered_only
from handlers.ui import edit_or_send, say
from keyboards import household as kb
from keyboards.household import HouseholdAct, HouseholdAction
from services import household as service
from services.household import Accepted, Household, InviteRefusal, Outcome
from storage.models import Account, Resident
from texts import fmt
from texts.ru import household as t

log = logging.getLogger(__name__)

PENDING = "household"  # the FSM destiny holding a newcomer's invite (untouched by state.clear())
REFUSED = {
    Outcome.UNKNOWN: t.UNKNOWN,
    Outcome.USED: t.USED,
    Outcome.EXPIRED: t.EXPIRED,
    Outcome.REVOKED: t.REVOKED_LINK,
    Outcome.INVITER_LOST: t.INVITER_LOST,
    Outcome.OWN: t.OWN,
}


def _pending(state: FSMContext) -> FSMContext:
    return FSMContext(storage=state.storage, key=dataclasses.replace(state.key, destiny=PENDING))


def _who(name: str) -> str:
    return fmt.esc(name) if name else t.NO_NAME


def _address(account: Account) -> str:
    return fmt.esc(fmt.address(account.apartment.house.address, account.apartment.number))


def _until(account: Account, moment: dt.datetime) -> str:
    return fmt.local_time(moment, account.organization.timezone or "Europe/Moscow")


async def _notify(bot: Bot, chat_id: int, text: str) -> None:
    try:
        await bot.send_message(chat_id, text)
    except TelegramAPIError as error:
        log.info("household notice not delivered: %s", type(error).__name__)


# --- opening a link -------------------------------------------------------------------------------


async def show_outcome(message: Message, result: Accepted, name: str) -> None:
    account, inviter = result.account, result.inviter
    if result.outcome is Outcome.ALREADY_LINKED and account is not None:
        await message.answer(t.ALREADY_LINKED.format(number=fmt.esc(account.number)))
    elif result.outcome is not Outcome.LINKED or account is None:
        await message.answer(REFUSED.get(result.outcome, t.UNKNOWN))
    else:
        who = fmt.esc(inviter.name) if inviter is not None and inviter.name else None
        text = t.LINKED.format(
            number=fmt.esc(account.number),
            address=_address(account),
            inviter=f"«{who}»" if who else t.INVITER_ANONYMOUS,
        )
        await message.answer(text, reply_markup=kb.open_account(account.id, account.number))
        if inviter is not None and message.bot is not None:
            notice = t.JOINED_NOTICE.format(name=_who(name), number=fmt.esc(account.number))
            await _notify(message.bot, inviter.chat_id, notice)


async def invite_link(
    message: Message, state: FSMContext, session: AsyncSession, resident: Resident | None,
    payload: str | None,
) -> bool:  # fmt: skip
    """/start with an invite token: a registered resident is linked now (True: answered); a
    newcomer's invite waits for the end of the registration (False: registration goes on)."""
    if not service.is_token(payload) or message.from_user is None:
        return False
    token_hash = service.hash_token(payload or "")
    name = message.from_user.full_name
    if resident is not None and resident.is_registered:
        result = await service.accept(session, message.from_user.id, token_hash, name=name)
        await show_outcome(message, result, result.invitee_name)
        return True
    await _pending(state).set_data({"invite": token_hash})
    await message.answer(t.PENDING_REGISTRATION)
    return False


async def apply_pending(message: Message, state: FSMContext, session: AsyncSession) -> bool:
    """Right after a registration: the invite the newcomer came with, if any (True: linked)."""
    pending = _pending(state)
    token_hash = (await pending.get_data()).get("invite")
    if not token_hash:
        return False
    await pending.clear()
    # a private chat's id is its user's: `message` may be the bot's own (a pressed button's)
    result = await service.accept(session, message.chat.id, str(token_hash))
    await show_outcome(message, result, result.invitee_name)
    return result.outcome is Outcome.LINKED


# --- who has access -------------------------------------------------------------------------------


def _account_block(item: Household) -> tuple[list[str], list[tuple[str, HouseholdAct, int, int]]]:
    account = item.account
    lines = [t.ACCOUNT.format(number=fmt.esc(account.number), address=_address(account)), t.ACCESS]
    buttons = [(t.BTN_INVITE.format(number=account.number), HouseholdAct.INVITE, account.id, 0)]
    for member in item.members:
        if member.is_you:
            lines.append(t.MEMBER_YOU)
        elif member.invite_id is not None:
            lines.append(t.MEMBER_INVITED.format(name=_who(member.name)))
            label = t.BTN_REMOVE.format(name=member.name or t.NO_NAME)
            buttons.append((label, HouseholdAct.REMOVE_ASK, account.id, member.invite_id))
        else:
            lines.append(t.MEMBER.format(name=_who(member.name)))
    if item.pending:
        until = _until(account, item.pending[-1].expires_at)
        lines.append(t.PENDING.format(n=len(item.pending), until=until))
    for invite in item.pending:
        label = t.BTN_REVOKE.format(until=_until(account, invite.expires_at))
        buttons.append((label, HouseholdAct.REVOKE, account.id, invite.id))
    return lines, buttons


async def screen(session: AsyncSession, resident: Resident) -> tuple[str, InlineKeyboardMarkup]:
    households = await service.of_resident(session, resident)
    if not households:
        return f"{t.TITLE}\n\n{t.NO_ACCOUNTS}", kb.household([])
    lines, buttons = [t.TITLE, "", t.INTRO], []
    for item in households:
        block, more = _account_block(item)
        lines += ["", *block]
        buttons += more
    return "\n".join(lines), kb.household(buttons)


async def on_show(callback: CallbackQuery, session: AsyncSession, resident: Resident) -> None:
    await callback.answer()
    await edit_or_send(callback, *await screen(session, resident))


async def on_invite(
    callback: CallbackQuery, account: Account, bot: Bot, session: AsyncSession, resident: Resident
) -> None:
    name = callback.from_user.full_name
    made = await service.create_invite(session, resident, account, name=name)
    if made is InviteRefusal.TOO_MANY:
        pending = service.MAX_PENDING
        await callback.answer(t.TOO_MANY.format(links=t.links(pending)), show_alert=True)
        return
    if isinstance(made, InviteRefusal):
        await callback.answer(t.NOT_AVAILABLE, show_alert=True)
        return
    await callback.answer()
    link = f"https://t.me/{(await bot.me()).username}?start={made.token}"
    text = t.INVITE.format(
        number=fmt.esc(account.number), address=_address(account), link=link,
        until=_until(account, made.expires_at),
    )  # fmt: skip
    await say(callback, text)
    await say(callback, *await screen(session, resident))


async def on_revoke(
    callback: CallbackQuery, callback_data: HouseholdAction, session: AsyncSession,
    resident: Resident,
) -> None:  # fmt: skip
    revoked = await service.revoke_invite(session, resident, callback_data.invite_id)
    await callback.answer(t.REVOKED if revoked else t.NOT_AVAILABLE, show_alert=not revoked)
    await edit_or_send(callback, *await screen(session, resident))


async def on_remove_ask(
    callback: CallbackQuery, callback_data: HouseholdAction, account: Account,
    session: AsyncSession, resident: Resident,
) -> None:  # fmt: skip
    households = await service.of_resident(session, resident)
    names = [
        m.name
        for h in households
        for m in h.members
        if m.invite_id == callback_data.invite_id and h.account.id == account.id
    ]
    if not names:
        await callback.answer(t.NOT_AVAILABLE, show_alert=True)
        return
    await callback.answer()
    text = t.REMOVE_CONFIRM.format(number=fmt.esc(account.number), name=_who(names[0]))
    await edit_or_send(callback, text, kb.remove_confirm(account.id, callback_data.invite_id))


async def on_remove(
    callback: CallbackQuery, callback_data: HouseholdAction, bot: Bot, session: AsyncSession,
    resident: Resident,
) -> None:  # fmt: skip
    removed = await service.remove_member(session, resident, callback_data.invite_id)
    if removed is None:
        await callback.answer(t.NOT_AVAILABLE, show_alert=True)
        await edit_or_send(callback, *await screen(session, resident))
        return
    number = fmt.esc(removed.account.number)
    await callback.answer(t.REMOVED.format(number=number, name=removed.name or t.NO_NAME))
    notice = t.REMOVED_NOTICE.format(number=number, address=_address(removed.account))
    await _notify(bot, removed.chat_id, notice)
    await edit_or_send(callback, *await screen(session, resident))


def router() -> Router:
    r = registered_only(Router(name="household"))
    pressed = HouseholdAction.filter
    r.callback_query.register(on_show, pressed(F.action == HouseholdAct.SHOW))
    r.callback_query.register(on_invite, pressed(F.action == HouseholdAct.INVITE))
    r.callback_query.register(on_revoke, pressed(F.action == HouseholdAct.REVOKE))
    r.callback_query.register(on_remove_ask, pressed(F.action == HouseholdAct.REMOVE_ASK))
    r.callback_query.register(on_remove, pressed(F.action == HouseholdAct.REMOVE))
    return r
