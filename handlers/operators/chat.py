"""The operators' chat: answers to appeals (a reply to a post, or /reply N text), the post's
take/close buttons, /stats. Only members of the chat act; anything else here is left alone."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, ReplyParameters
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers.operators.filters import FromOperator, InOperatorsChat, IsReply, OperatorCheck
from handlers.posting import Delivery, TelegramOperatorsChat, deliver
from handlers.ui import arguments, command_of, on_usage
from keyboards import appeals as kb_appeals
from keyboards import operators as kb
from keyboards.operators import PostAction
from services import appeals as service
from services import stats
from services.appeals import AnswerProblem, Status, Topic
from storage.models import Appeal
from texts import fmt
from texts.ru import appeals as ta
from texts.ru import common as tc
from texts.ru import operators as t

ANSWER_OUTCOMES = {
    Delivery.SENT: t.ANSWER_SENT,
    Delivery.BLOCKED: t.ANSWER_BLOCKED,
    Delivery.FAILED: t.ANSWER_FAILED,
    Delivery.NO_RESIDENT: t.ANSWER_NO_RESIDENT,
}
ANSWER_PROBLEMS = {
    AnswerProblem.CLOSED: t.ANSWER_CLOSED,
    AnswerProblem.EMPTY: t.ANSWER_EMPTY,
    AnswerProblem.TOO_LONG: t.ANSWER_TOO_LONG,
}


def router() -> Router:
    r = Router(name="operators_chat")
    in_chat = InOperatorsChat(OperatorCheck())  # one membership cache per router
    r.message.filter(in_chat)
    r.callback_query.filter(in_chat)
    reply = Command("reply", magic=arguments("reply", _reply_args))
    r.message.register(on_reply_command, reply, FromOperator())
    usage = {"usage": t.REPLY_USAGE}
    r.message.register(on_usage, Command("reply"), FromOperator(), flags=usage)
    r.message.register(on_stats, Command("stats"), FromOperator())
    r.message.register(on_open_appeals, Command("appeals"), FromOperator())
    r.message.register(on_reply, IsReply())
    r.message.register(swallow)
    r.callback_query.register(on_button, kb.OperatorAppeal.filter())
    r.callback_query.register(stale)
    return r


def _operator_name(event: Message | CallbackQuery) -> str:
    if isinstance(event, Message) and event.sender_chat is not None:
        return fmt.esc(event.sender_chat.title or "")
    return fmt.esc(event.from_user.full_name if event.from_user else "")


def _topic(appeal: Appeal) -> str:
    return ta.TOPICS.get(appeal.topic, appeal.topic)


async def answer(
    message: Message, bot: Bot, session: AsyncSession, settings: Settings, appeal: Appeal,
    text: str, photos: list[str],
) -> None:  # fmt: skip
    """Store an operator's answer, deliver it to the resident, tell the operator how it went."""
    reply_here = ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
    draft = service.Answer(
        text=text,
        photos=photos,
        operator_id=message.from_user.id if message.from_user else 0,
        operators_message_id=message.message_id,
    )
    problem = service.check_answer(appeal, draft)
    if problem is not None:
        note = ANSWER_PROBLEMS[problem].format(id=appeal.id, limit=service.MAX_ANSWER)
        await message.answer(note, reply_parameters=reply_here)
        return
    was_new = appeal.status == Status.NEW
    item = await service.record_answer(session, appeal, draft)
    notice = ta.OPERATOR_ANSWER.format(id=appeal.id, topic=_topic(appeal), text=fmt.esc(text))
    outcome = await deliver(
        bot, session, appeal, notice, kb_appeals.answer_received(appeal.id), photos
    )
    await service.mark_delivered(session, item, outcome is Delivery.SENT)
    if was_new:  # "Взять в работу" is no longer offered; an emergency is no longer pinned
        chat = TelegramOperatorsChat(bot, settings.operators_chat_id)
        await chat.update_buttons(appeal)
        await service.release_pin(session, chat, appeal)
    await message.answer(ANSWER_OUTCOMES[outcome].format(id=appeal.id), reply_parameters=reply_here)


def _reply_args(args: str) -> tuple[int, str] | None:
    """`/reply N text`: the appeal's number (after an optional № or #) and the answer."""
    number, _, text = args.strip().partition(" ")
    digits = number.lstrip("№#")
    if not (digits.isascii() and digits.isdigit()) or not text.strip():
        return None
    return int(digits), text.strip()


async def on_reply_command(
    message: Message, reply: tuple[int, str], bot: Bot, session: AsyncSession, settings: Settings
) -> None:
    number, text = reply
    appeal = await service.find(session, number)  # an id no row can have is not found
    if appeal is None:
        await message.answer(t.APPEAL_NOT_FOUND.format(id=number))
        return
    await answer(message, bot, session, settings, appeal, text, [])


async def on_stats(message: Message, session: AsyncSession, settings: Settings) -> None:
    figures = await stats.collect(session, default_timezone=settings.default_timezone)
    await message.answer(fmt.esc(t.stats(figures)))


def _open_line(appeal: Appeal) -> str:
    due = fmt.day(appeal.answer_due) if appeal.answer_due else t.OPEN_NO_DUE
    icon = "🚨 " if appeal.topic == Topic.EMERGENCY else ""
    status = ta.STATUSES.get(appeal.status, appeal.status)
    return t.OPEN_LINE.format(icon=icon, id=appeal.id, topic=_topic(appeal), status=status, due=due)


async def on_open_appeals(message: Message, session: AsyncSession) -> None:
    """/appeals: what waits for an answer, the overdue first (past the organization's answer
    time, counted in its working days)."""
    found = await service.open_for_operators(session)
    if not found.total:
        await message.answer(t.OPEN_NONE)
        return
    lines = [t.OPEN_TITLE.format(total=found.total, overdue=len(found.overdue))]
    for title, items in ((t.OPEN_OVERDUE, found.overdue), (t.OPEN_WAITING, found.waiting)):
        if items:
            lines += ["", title, *(_open_line(a) for a in items)]
    listed = len(found.overdue) + len(found.waiting)
    if found.total > listed:
        lines += ["", t.OPEN_MORE.format(n=found.total - listed)]
    await message.answer("\n".join(lines))


async def on_reply(
    message: Message, bot: Bot, session: AsyncSession, settings: Settings, operators: OperatorCheck
) -> None:
    """A reply to an appeal's post (or to any message of its thread) answers the resident."""
    replied = message.reply_to_message
    if replied is None or command_of(message.text) is not None:
        return
    appeal = await service.find_by_post(session, replied.message_id)
    if appeal is None:
        return  # an ordinary conversation between operators
    if not await operators.message_from_operator(message, bot, settings):
        return
    text = message.text or message.caption or ""
    photos = [message.photo[-1].file_id] if message.photo else []
    await answer(message, bot, session, settings, appeal, text, photos)


async def swallow(message: Message) -> None:
    """Operators talk among themselves here: no feature answers anything in this chat."""


async def on_button(
    callback: CallbackQuery, callback_data: kb.OperatorAppeal, bot: Bot, session: AsyncSession,
    settings: Settings, operators: OperatorCheck,
) -> None:  # fmt: skip
    if not await operators.is_operator(bot, settings, callback.from_user.id):
        await callback.answer(t.NOT_AN_OPERATOR, show_alert=True)
        return
    appeal = await service.find(session, callback_data.appeal_id)  # forged ids: not found
    if appeal is None:
        await callback.answer(
            t.APPEAL_NOT_FOUND.format(id=callback_data.appeal_id), show_alert=True
        )
        return
    chat = TelegramOperatorsChat(bot, settings.operators_chat_id)
    if appeal.status == Status.CLOSED:
        await callback.answer(t.ALERT_ALREADY_CLOSED.format(id=appeal.id), show_alert=True)
    elif callback_data.action is PostAction.TAKE:
        await take(callback, bot, session, chat, appeal)
    else:
        await close(callback, bot, session, chat, appeal)
    await chat.update_buttons(appeal)
    await service.release_pin(session, chat, appeal)


async def take(
    callback: CallbackQuery, bot: Bot, session: AsyncSession, chat: TelegramOperatorsChat,
    appeal: Appeal,
) -> None:  # fmt: skip
    if await service.take(session, appeal):
        notice = ta.TAKEN_IN_WORK.format(id=appeal.id, topic=_topic(appeal))
        await deliver(bot, session, appeal, notice, kb_appeals.answer_received(appeal.id))
        await chat.notify(appeal, t.TAKEN.format(id=appeal.id, operator=_operator_name(callback)))
    await callback.answer(t.ALERT_TAKEN.format(id=appeal.id))


async def close(
    callback: CallbackQuery, bot: Bot, session: AsyncSession, chat: TelegramOperatorsChat,
    appeal: Appeal,
) -> None:  # fmt: skip
    await service.close(session, appeal)
    notice = ta.CLOSED_BY_OPERATOR.format(id=appeal.id, topic=_topic(appeal))
    await deliver(bot, session, appeal, notice, kb_appeals.answer_received(appeal.id, closed=True))
    await chat.notify(appeal, t.CLOSED.format(id=appeal.id, operator=_operator_name(callback)))
    await callback.answer(t.ALERT_CLOSED.format(id=appeal.id))


async def stale(callback: CallbackQuery) -> None:
    await callback.answer(tc.STALE_BUTTON, show_alert=True)
