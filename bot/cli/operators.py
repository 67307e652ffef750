"""Operators' commands: `announce`, `stats`, `appeals`."""

from __future__ import annotations

import argparse
import html
import re
import sys
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import Subcommands, database, require_token
from bot.config import Settings
from bot.errors import CommandError
from services import announcements, appeals, stats
from services.appeals import Status
from storage.models import Organization
from storage.repo import appeals as appeals_repo
from texts.ru import appeals as ta
from texts.ru import operators as t


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "announce",
        help="объявление жителям организации или дома",
        description=(
            "Отправить текст каждому зарегистрированному жителю, у которого есть лицевой счёт "
            "в организации (--org) или доме (--house, код дома из загрузки; с --org, если такой "
            "код есть у нескольких организаций), с соблюдением лимитов Telegram, каждому один "
            "раз. --dry-run показывает, кто получит объявление и как оно будет выглядеть, и "
            "ничего не отправляет. Прерванную рассылку завершает --resume ID."
        ),
    )
    parser.add_argument("--org", metavar="ID|КОД", help="организация: номер или код")
    parser.add_argument("--house", metavar="КОД", help="код дома, как в файле домов загрузки")
    parser.add_argument("--resume", metavar="ID", type=int, help="завершить прерванную рассылку")
    parser.add_argument(
        "--dry-run", action="store_true", help="только показать получателей и текст"
    )
    parser.add_argument("text", nargs="?", help="текст объявления (обычный текст)")
    parser.set_defaults(func=run_announce)

    parser = sub.add_parser("stats", help="statistics: residents, links, readings, appeals, push")
    parser.set_defaults(func=run_stats)

    parser = sub.add_parser("appeals", help="list appeals with their statuses (unposted flagged)")
    parser.add_argument(
        "--status", choices=[status.value for status in Status], help="only this status"
    )
    parser.add_argument(
        "--unposted", action="store_true", help="only appeals not yet in the operators' chat"
    )
    parser.add_argument(
        "--overdue", action="store_true", help="only appeals past their answer day, unanswered"
    )
    parser.add_argument("--limit", type=int, default=50, help="how many, newest first")
    parser.set_defaults(func=run_appeals)


async def _organization(session: AsyncSession, value: str) -> Organization:
    org = await announcements.organization(session, int(value)) if value.isdigit() else None
    if org is None:
        org = await session.scalar(select(Organization).where(Organization.code == value))
    if org is None:
        raise CommandError(f"нет организации с номером или кодом «{value}»")
    return org


async def _target(session: AsyncSession, args: argparse.Namespace) -> announcements.Target:
    """The organization (--org) or the house (--house CODE, --org when the code is ambiguous)."""
    if args.org is None and args.house is None:
        raise CommandError("укажите --org, --house или --resume")
    org = await _organization(session, args.org) if args.org is not None else None
    if args.house is None:
        assert org is not None
        return announcements.Target(org)
    houses = await announcements.houses_by_code(session, args.house, org.id if org else None)
    if not houses:
        raise CommandError(f"нет дома с кодом «{args.house}»")
    if len(houses) > 1:
        raise CommandError(
            f"дом с кодом «{args.house}» есть у нескольких организаций: укажите --org"
        )
    target = await announcements.target(session, houses[0].organization_id, houses[0].id)
    assert target is not None
    return target


def _checked_text(args: argparse.Namespace) -> str:
    text = (args.text or "").strip()
    if not text:
        raise CommandError("текст объявления пуст")
    if len(text) > announcements.MAX_TEXT:
        limit = announcements.MAX_TEXT
        raise CommandError(f"в тексте {len(text)} символов, можно не больше {limit}")
    return text


def _scope_line(target: announcements.Target) -> str:
    if target.house is not None:
        return f"дом «{target.house.code}», {target.house.address} ({target.organization.name})"
    return f"организация «{target.organization.name}»"


def _as_shown(rendered: str) -> str:
    """The announcement as a resident reads it: Telegram's HTML without the tags."""
    return html.unescape(re.sub(r"</?[a-z]+>", "", rendered))


async def _new_announcement(session: AsyncSession, args: argparse.Namespace) -> int | None:
    """Store the announcement the arguments describe; its id (None for --dry-run)."""
    text = _checked_text(args)
    target = await _target(session, args)
    recipients = await announcements.count_recipients(session, target.scope)
    if not recipients:
        raise CommandError("там нет зарегистрированных жителей")
    if args.dry_run:
        from receipts import announce  # the sender's module: only for announce

        print(f"Получатели: {t.residents(recipients)}; {_scope_line(target)}.")
        print("Жители увидят:\n")
        print(_as_shown(announce.render(target.organization.name, text)))
        print("\nНичего не отправлено (--dry-run).")
        return None
    item = await announcements.create(session, target.scope, text)
    print(f"объявление № {item.id}: {t.residents(recipients)}", file=sys.stderr)
    return item.id


async def run_announce(args: argparse.Namespace, settings: Settings) -> int:
    if args.resume is not None and (args.org or args.house or args.text):
        raise CommandError("--resume продолжает готовую рассылку: без --org, --house и текста")
    dry_run = getattr(args, "dry_run", False)
    args.dry_run = dry_run
    if not dry_run:
        require_token(settings, "BOT_TOKEN не задан: объявления рассылает бот")
    async with database(settings) as (_engine, session_factory):
        async with session_factory() as session:
            if args.resume is not None:
                item = await announcements.get(session, args.resume)
                if item is None:
                    raise CommandError(f"нет объявления № {args.resume}")
                announcement_id: int | None = item.id
            else:
                announcement_id = await _new_announcement(session, args)
        if announcement_id is None:
            return 0
        result = await _send(settings, session_factory, announcement_id)
    if result.skipped:
        raise CommandError(f"объявление № {announcement_id} уже рассылает другой процесс")
    print(
        t.ANNOUNCE_DONE.format(
            id=announcement_id, sent=result.sent, blocked=result.blocked, failed=result.failed
        )
    )
    return 0


async def _send(settings: Settings, session_factory: Any, announcement_id: int) -> Any:
    from bot.app import create_bot  # Telegram's client only for this command
    from receipts import announce

    bot = create_bot(settings)
    try:

        def progress(done: int, total: int) -> None:
            if done == total or done % 50 == 0:
                print(f"  {done}/{total}", file=sys.stderr)

        return await announce.run(
            bot, session_factory, settings, announcement_id, progress=progress
        )
    finally:
        await bot.session.close()


async def run_stats(args: argparse.Namespace, settings: Settings) -> int:
    async with database(settings) as (_engine, session_factory):
        async with session_factory() as session:
            figures = await stats.collect(session, default_timezone=settings.default_timezone)
    print(t.stats(figures))
    return 0


async def run_appeals(args: argparse.Namespace, settings: Settings) -> int:
    async with database(settings) as (_engine, session_factory):
        async with session_factory() as session:
            items = await appeals_repo.list_all(
                session, status=args.status, unposted=args.unposted, limit=max(args.limit, 1)
            )
            unposted = await appeals_repo.count_unposted(session)
            overdue = await appeals.overdue(session)
    late = {appeal.id for appeal in overdue}
    if getattr(args, "overdue", False):  # past their answer day, the earliest first
        items = overdue[: max(args.limit, 1)]
    if not items:
        print("no appeals")
        return 0
    print(f"{'№':>6}  {'created (UTC)':16}  {'status':10}  {'topic':18}  {'account':10}  chat")
    for appeal in items:
        posted = (
            "posted"
            if appeal.operators_message_id is not None
            else f"UNPOSTED ({appeal.post_attempts} attempts)"
        )
        print(
            f"{appeal.id:>6}  {appeal.created_at:%Y-%m-%d %H:%M}  "
            f"{ta.STATUSES.get(appeal.status, appeal.status):10}  "
            f"{ta.TOPICS.get(appeal.topic, appeal.topic):18}  {appeal.account.number if appeal.account else '—':10}  {posted}"
            + ("  OVERDUE" if appeal.id in late else "")
        )
    if unposted:
        print(f"{unposted} not yet in the operators' chat: the bot retries them every minute")
    return 0
