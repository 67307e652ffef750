"""The proof of ownership: a chosen account is linked at once by the phone on record, or after
the total of a recent receipt; repeated failures bring a captcha, then a wait."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.accounts.dialogue import Linking, LinkPath, save, stale
from keyboards import accounts as kb
from keyboards.accounts import LinkAccounts
from receipts.pool import run_cpu
from services import captcha, linking
from services.linking import Outcome, Proof
from storage.models import Account, Resident
from texts import fmt
from texts.ru import accounts as t


def _proof_text(account: Account) -> str:
    address = fmt.address(account.apartment.house.address, account.apartment.number)
    return t.PROOF_ASK.format(number=fmt.esc(account.number), address=fmt.esc(address))


def _back(account: Account) -> LinkAccounts:
    return LinkAccounts(apartment_id=account.apartment_id)


async def _send_captcha(
    message: Message, state: FSMContext, path: LinkPath, account: Account, caption: str
) -> None:
    answer = captcha.new_answer()
    await save(
        state,
        Linking.captcha,
        path.but(account_id=account.id, captcha=answer, captcha_passed=False),
    )
    picture = await run_cpu(captcha.render, answer)
    await message.answer_photo(
        BufferedInputFile(picture, filename="captcha.png"),
        caption=caption,
        reply_markup=kb.captcha(_back(account), account.organization_id),
    )


def _blocked(proof: Proof, settings: Settings) -> str:
    until = proof.blocked_until
    return t.PROOF_BLOCKED.format(time=fmt.local_time(until, settings.default_timezone))


def _captcha_caption(proof: Proof, wrong: str) -> str:
    """The captcha's caption always says to type the characters in the picture."""
    if not proof.failed:
        return t.CAPTCHA_ASK
    return t.PROOF_WRONG_CAPTCHA if wrong == t.PROOF_WRONG else wrong


async def _answer(
    message: Message,
    state: FSMContext,
    settings: Settings,
    path: LinkPath,
    account: Account,
    proof: Proof,
    wrong: str,
) -> None:
    """Tell the resident what a proof (or the choice of the account) came to."""
    number = fmt.esc(account.number)
    match proof.outcome:
        case Outcome.LINKED | Outcome.LINKED_BY_PHONE | Outcome.ALREADY_LINKED:
            texts = {Outcome.LINKED: t.LINKED, Outcome.LINKED_BY_PHONE: t.LINKED_BY_PHONE}
            await state.clear()
            text = texts.get(proof.outcome, t.ALREADY_LINKED).format(number=number)
            await message.answer(text, reply_markup=kb.linked(account.id))
        case Outcome.NO_RECEIPTS:
            await message.answer(
                t.PROOF_NO_RECEIPTS,
                reply_markup=kb.back_only(_back(account), account.organization_id),
            )
        case Outcome.BLOCKED if proof.failed:
            await state.clear()
            await message.answer(f"{wrong}\n\n{_blocked(proof, settings)}")
        case Outcome.BLOCKED:
            await message.answer(
                _blocked(proof, settings),
                reply_markup=kb.back_only(_back(account), account.organization_id),
            )
        case Outcome.CAPTCHA:
            await _send_captcha(message, state, path, account, _captcha_caption(proof, wrong))
        case Outcome.RETRY:
            await save(state, Linking.proof, path.but(account_id=account.id, captcha_passed=False))
            await message.answer(
                wrong, reply_markup=kb.back_only(_back(account), account.organization_id)
            )
        case Outcome.CAPTCHA_PASSED:
            await save(state, Linking.proof, path.but(captcha="", captcha_passed=True))
            await message.answer(
                t.CAPTCHA_OK, reply_markup=kb.back_only(_back(account), account.organization_id)
            )
        case Outcome.ASK_TOTAL:
            await save(state, Linking.proof, path.but(account_id=account.id, captcha_passed=False))
            await message.answer(
                _proof_text(account),
                reply_markup=kb.back_only(_back(account), account.organization_id),
            )


async def on_pick(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    resident: Resident,
    path: LinkPath,
    account: Account,
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    proof = await linking.pick(session, resident, account)
    if proof.outcome is Outcome.CAPTCHA:
        await callback.message.answer(_proof_text(account))
    await _answer(callback.message, state, settings, path, account, proof, t.PROOF_WRONG)


async def on_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    resident: Resident,
    path: LinkPath,
    account: Account,
    raw_state: str | None,
) -> None:
    """The typed proof: a receipt's total in the proof step, the picture's characters in the
    captcha step."""
    text = message.text or ""
    if raw_state == Linking.captcha.state:
        proof = await linking.solve_captcha(session, resident, account, path.captcha, text)
        wrong = t.CAPTCHA_AGAIN
    elif (total := linking.parse_total(text)) is not None:
        captcha_passed = path.captcha_passed
        proof = await linking.prove_total(
            session, resident, account, total, captcha_passed=captcha_passed
        )
        wrong = t.PROOF_WRONG
    else:
        await message.answer(t.PROOF_HINT)
        return
    if proof.outcome is Outcome.BLOCKED and not proof.failed:
        await message.answer(_blocked(proof, settings))
        return
    await _answer(message, state, settings, path, account, proof, wrong)


async def on_new_captcha(
    callback: CallbackQuery, state: FSMContext, path: LinkPath, account: Account
) -> None:
    if not isinstance(callback.message, Message):
        await stale(callback)
        return
    await callback.answer()
    await _send_captcha(callback.message, state, path, account, t.CAPTCHA_ASK)
