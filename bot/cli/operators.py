"""Operators' commands: `announce`, `stats`, `appeals`."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import Subcommands, database, require_token
from bot.config import Settings
from bot.errors import CommandError
from services import announcements, stats
from services.appeals import Status
from storage.models import Organization
from storage.repo import appeals as appeals_repo
from texts.ru import appeals as ta
from texts.ru import operators as t


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "announce",
        help="send an announcement to the residents of an organization or a house",
        description=(
            "Send a text to every registered resident linked to an account in the organization "
            "(--org) or the house (--house), paced under Telegram's limits, once each. "
            "An interrupted run is finished with --resume ID."
        ),
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--org", metavar="ID|CODE", help="organization id or code")
    target.add_argument("--house", metavar="ID", type=int, help="house id")
    target.add_argument("--resume", metavar="ID", type=int, help="finish an interrupted run")
    parser.add_argument("text", nargs="?", help="the announcement (plain text)")
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
    parser.add_argument("--limit", type=int, default=50, help="how many, newest first")
    parser.set_defaults(func=run_appeals)


async def _organization(session: AsyncSession, value: str) -> Organization:
    org = await announcements.organization(session, int(value)) if value.isdigit() else None
    if org is None:
        org = await session.scalar(select(Organization).where(Organization.code == value))
    if org is None:
        raise CommandError(f"no organization with id or code {value!r}")
    return org


async def _new_announcement(session: AsyncSession, args: argparse.Namespace) -> int:
    """Store the announcement the arguments describe; its id."""
    text = (args.text or "").strip()
    if not text:
        raise CommandError("the announcement text is empty")
    if len(text) > announcements.MAX_TEXT:
        raise CommandError(f"the text is {len(text)} characters; at most {announcements.MAX_TEXT}")
    if args.house is not None:
        house = await announcements.house(session, args.house)
        if house is None:
            raise CommandError(f"no house with id {args.house}")
        scope = announcements.Scope(house_id=house.id)
    else:
        org = await _organization(session, args.org)
        scope = announcements.Scope(organization_id=org.id)
    recipients = await announcements.count_recipients(session, scope)
    if not recipients:
        raise CommandError("no registered residents there")
    item = await announcements.create(session, scope, text)
    print(f"announcement {item.id}: {t.residents(recipients)}", file=sys.stderr)
    return item.id


async def run_announce(args: argparse.Namespace, settings: Settings) -> int:
    require_token(settings, "BOT_TOKEN is not set: announcements are sent by the bot")
    async with database(settings) as (_engine, session_factory):
        async with session_factory() as session:
            if args.resume is not None:
                item = await announcements.get(session, args.resume)
                if item is None:
                    raise CommandError(f"no announcement {args.resume}")
                announcement_id = item.id
            else:
                announcement_id = await _new_announcement(session, args)

        from bot.app import create_bot
        from receipts import announce  # the sender: Telegram's client only for this command

        bot = create_bot(settings)
        try:

            def progress(done: int, total: int) -> None:
                if done == total or done % 50 == 0:
                    print(f"  {done}/{total}", file=sys.stderr)

            result = await announce.run(
                bot, session_factory, settings, announcement_id, progress=progress
            )
        finally:
            await bot.session.close()
    if result.skipped:
        raise CommandError(f"announcement {announcement_id} is being sent by another process")
    print(
        t.ANNOUNCE_DONE.format(
            id=announcement_id, sent=result.sent, blocked=result.blocked, failed=result.failed
        )
    )
    return 0


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
            f"{ta.TOPICS.get(appeal.topic, appeal.topic):18}  {appeal.account.number:10}  {posted}"
        )
    if unposted:
        print(f"{unposted} not yet in the operators' chat: the bot retries them every minute")
    return 0
