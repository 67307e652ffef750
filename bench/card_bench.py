"""Account card and month-view throughput through the real dispatcher.

    python bench/card_bench.py                    # 100 000 accounts × 24 months (built once, cached)
    python bench/card_bench.py --accounts 2000    # a quick run

The demo database comes from `storage.demo.fill_demo` (what `python -m bot demo --accounts N`
writes) and is cached under --dir, keyed by N. Residents are then linked to random accounts (one
in ten has two: the list path). The benchmark feeds prepared updates one after another through
`create_dispatcher` (middlewares, FSM storage, routers, the real handlers and queries) with a
recording bot session instead of the network, and measures each `feed_update`:

- "🏠 Мои счета" messages (a resident with one account gets the card),
- OpenCard callbacks (the card, edited in place),
- ChargesMonth callbacks (the latest month, and a random month of the 24).

Each is measured one update at a time, then with --concurrency updates in flight (aiogram's
polling handles updates as concurrent tasks); the targets are checked on the concurrent run.
Also measured: the same dispatcher answering plain text no feature takes (the fallback): the
cost of the middlewares (throttling, DB session, resident, FSM state) and the routers' filters.
Next to it, in the same run: a bare dispatcher with one echo handler (no middlewares, no
database) fed the same number of updates: the floor set by aiogram itself.
Targets (issue 4): ≥ 300 card views/s in one process, p99 < 25 ms.

On SQLite the concurrent run is repeated with a writer in another process (raw sqlite3 writing
import-sized batches into a scratch table of the same database, as an import does), and the runs
with updates in flight report the event loop's longest stall: a ticker task on the loop notes how
late it wakes (anything the loop could not serve for that long: a blocking call on the loop
thread). The one-by-one run, whose CPU a view is the figure compared across trees, runs without
the ticker: its wake-ups every millisecond cost CPU while an update waits for the database.
Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot, Dispatcher, Router  # noqa: E402
from aiogram.types import CallbackQuery, Chat, Message, Update, User  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bot.app import create_bot, create_dispatcher, settle_heap  # noqa: E402
from bot.config import Settings  # noqa: E402
from keyboards.callbacks import OpenCard  # noqa: E402
from keyboards.card import ChargesMonth  # noqa: E402
from storage.db import create_engine, create_session_factory  # noqa: E402
from storage.migrate import upgrade_async  # noqa: E402
from storage.models import Account, AccountLink, Charge, Resident  # noqa: E402
from storage.periods import add_months, period_to_int  # noqa: E402
from tests.harness import BOT_TOKEN, BOT_USER, RecordingSession  # noqa: E402
from texts.ru import common  # noqa: E402

FIRST_USER = 5_000_000


async def build_database(url: str, accounts: int) -> None:
    from storage.demo import fill_demo

    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            started = time.perf_counter()
            summary = await fill_demo(session, accounts)
            await session.commit()
        print(
            f"demo database: {summary.counts['accounts']} accounts, "
            f"{summary.counts['charges']} charges in {time.perf_counter() - started:.0f} s"
        )
    finally:
        await engine.dispose()


async def postgres_database(admin_url: str, accounts: int) -> str:
    """The demo database `card_bench_<accounts>` on the server of `admin_url`, built once."""
    from bench._postgres import scratch_database_async

    name = f"card_bench_{accounts}"
    url, created = await scratch_database_async(admin_url, name, fresh=False)
    if not created:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                have = await connection.scalar(select(func.count(Account.id)))
        except Exception:  # not migrated: an earlier build was interrupted
            have = None
        finally:
            await engine.dispose()
        if have == accounts:
            return url
        url, created = await scratch_database_async(admin_url, name, fresh=True)
    print(f"building {name} on PostgreSQL (once; later runs reuse it) …", flush=True)
    await build_database(url, accounts)
    return url


async def link_residents(session_factory, residents: int, rnd: random.Random) -> list[int]:  # type: ignore[no-untyped-def]
    """Registered residents linked to random accounts; returns their Telegram ids.

    A cached database keeps the residents of an earlier run: deleting them would make SQLite
    check every foreign key to residents (readings.resident_id among them: millions of rows)."""
    async with session_factory() as session:
        existing = list(
            await session.scalars(
                select(Resident.telegram_id)
                .where(Resident.telegram_id >= FIRST_USER)
                .order_by(Resident.telegram_id)
            )
        )
        if len(existing) >= residents:
            return existing[:residents]
        first_new = FIRST_USER + len(existing)
        low, high = (
            await session.execute(select(func.min(Account.id), func.max(Account.id)))
        ).one()
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        ids = list(range(first_new, FIRST_USER + residents))
        await session.execute(
            insert(Resident),
            [
                {
                    "telegram_id": tid, "chat_id": tid, "phone": f"+7999{tid:07d}"[-12:],
                    "phone_verified_at": now, "agreed_at": now, "consent_at": now,
                    "registered_at": now,
                }
                for tid in ids
            ],
        )  # fmt: skip
        resident_ids = dict(
            (await session.execute(
                select(Resident.telegram_id, Resident.id).where(Resident.telegram_id >= FIRST_USER)
            )).all()
        )  # fmt: skip
        links = []
        for tid in ids:
            chosen = rnd.sample(range(low, high + 1), 2 if rnd.random() < 0.1 else 1)
            links.extend(
                {"resident_id": resident_ids[tid], "account_id": a, "method": "phone"}
                for a in chosen
            )
        await session.execute(insert(AccountLink), links)
        await session.commit()
    return existing + ids


async def workload(session_factory, user_ids: list[int], count: int, rnd: random.Random):  # type: ignore[no-untyped-def]
    """(kind, Update) pairs: card views and month views from many residents."""
    async with session_factory() as session:
        rows = (
            await session.execute(
                select(Resident.telegram_id, AccountLink.account_id)
                .join(AccountLink, AccountLink.resident_id == Resident.id)
                .where(Resident.telegram_id >= FIRST_USER)
            )
        ).all()
        # the latest period of one of the linked accounts (a max over all 24 M charges would
        # scan the table: there is no index on the period alone, and the bot never needs one)
        last = await session.scalar(
            select(func.max(Charge.period)).where(Charge.account_id == rows[0][1])
        )
    accounts_of: dict[int, list[int]] = {}
    for tid, account_id in rows:
        accounts_of.setdefault(tid, []).append(account_id)
    periods = [period_to_int(add_months(last, -m)) for m in range(24)]
    updates = []
    for n in range(count):
        tid = rnd.choice(user_ids)
        user = User(id=tid, is_bot=False, first_name="Житель", language_code="ru")
        chat = Chat(id=tid, type="private")
        now = dt.datetime.now(dt.UTC)
        roll = rnd.random()
        account_id = rnd.choice(accounts_of[tid])
        if roll < 0.35:
            kind = "card (message)"
            update = Update(
                update_id=n + 1,
                message=Message(
                    message_id=n + 1, date=now, chat=chat, from_user=user, text=common.BTN_ACCOUNTS
                ),
            )
        else:
            if roll < 0.7:
                kind, data = "card (callback)", OpenCard(account_id=account_id).pack()
            elif roll < 0.85:
                kind, data = "month (latest)", ChargesMonth(account_id=account_id).pack()
            else:
                kind = "month (any of 24)"
                data = ChargesMonth(account_id=account_id, period=rnd.choice(periods)).pack()
            bot_message = Message(
                message_id=10_000 + n, date=now, chat=chat, from_user=BOT_USER, text="карточка"
            )
            update = Update(
                update_id=n + 1,
                callback_query=CallbackQuery(
                    id=str(n), from_user=user, chat_instance="ci", message=bot_message, data=data
                ),
            )
        updates.append((kind, update))
    return updates


def _as_unknown_text(update: Update) -> Update:
    user = update.message.from_user if update.message else update.callback_query.from_user  # type: ignore[union-attr]
    return Update(
        update_id=update.update_id,
        message=Message(
            message_id=update.update_id,
            date=dt.datetime.now(dt.UTC),
            chat=Chat(id=user.id, type="private"),  # type: ignore[union-attr]
            from_user=user,
            text="привет",
        ),
    )


def echo_dispatcher() -> Dispatcher:
    dp = Dispatcher()
    r = Router()

    @r.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @r.callback_query()
    async def echo_callback(callback: CallbackQuery) -> None:
        await callback.answer(callback.data)

    dp.include_router(r)
    return dp


async def feed_all(
    dp: Dispatcher, bot: Bot, updates
) -> tuple[float, float, dict[str, list[float]]]:  # type: ignore[no-untyped-def]
    """Wall time, CPU time of the process (all threads) and per-kind latencies."""
    session: RecordingSession = bot.session  # type: ignore[assignment]
    latencies: dict[str, list[float]] = {}
    cpu = time.process_time()
    started = time.perf_counter()
    for kind, update in updates:
        t0 = time.perf_counter()
        await dp.feed_update(bot, update)
        latencies.setdefault(kind, []).append(time.perf_counter() - t0)
        if len(session.requests) > 1000:
            session.clear()
    return time.perf_counter() - started, time.process_time() - cpu, latencies


async def feed_concurrently(
    dp: Dispatcher, bot: Bot, updates, concurrency: int
) -> tuple[float, float, dict[str, list[float]]]:  # type: ignore[no-untyped-def]
    """As polling runs them (aiogram handles updates as concurrent tasks): at most
    `concurrency` updates in flight; latency is each update's own time from start to end."""
    session: RecordingSession = bot.session  # type: ignore[assignment]
    latencies: dict[str, list[float]] = {}
    gate = asyncio.Semaphore(concurrency)

    async def one(kind: str, update: Update) -> None:
        try:
            t0 = time.perf_counter()
            await dp.feed_update(bot, update)
            latencies.setdefault(kind, []).append(time.perf_counter() - t0)
        finally:
            gate.release()

    cpu = time.process_time()
    started = time.perf_counter()
    tasks = []
    for kind, update in updates:
        await gate.acquire()
        tasks.append(asyncio.create_task(one(kind, update)))
        if len(session.requests) > 1000:
            session.clear()
    await asyncio.gather(*tasks)
    return time.perf_counter() - started, time.process_time() - cpu, latencies


class LoopStalls:
    """The event loop's longest stall while in the `async with`: a ticker task sleeps `interval`
    again and again and keeps the worst lateness of its wake-ups."""

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.longest = 0.0
        self._due = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.longest = max(self.longest, loop.time() - self._due)

    async def __aenter__(self) -> LoopStalls:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)  # the ticker is running before the work starts
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        # a loop that never let the ticker wake up stalled from its last sleep to now
        self.longest = max(self.longest, asyncio.get_running_loop().time() - self._due)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


# A writer in another process, as an import is: batches of rows in one transaction each, as fast
# as SQLite lets it, into a scratch table it drops at the end. Prints "ready", then at SIGTERM
# the rows it wrote.
WRITER = """
import signal, sqlite3, sys
connection = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
connection.execute("PRAGMA journal_mode=WAL")
connection.execute("CREATE TABLE IF NOT EXISTS bench_writer (id INTEGER PRIMARY KEY, account INT, period INT, amount INT, note TEXT)")
stop = False
def finish(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, finish)
print("ready", flush=True)
rows = 0
while not stop:
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        "INSERT INTO bench_writer (account, period, amount, note) VALUES (?, ?, ?, ?)",
        [(n, 202003, n * 7, "начислено по нормативу") for n in range(rows, rows + 5000)],
    )
    connection.execute("COMMIT")
    rows += 5000
connection.execute("DROP TABLE bench_writer")
print(rows, flush=True)
"""


async def with_writer(path: Path, measure):  # type: ignore[no-untyped-def]
    """`await measure()` while the writer process runs; (its result, writer rows per second)."""
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, str(path), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert writer.stdout is not None
        ready = await writer.stdout.readline()
        assert ready.strip() == b"ready", ready
        started = time.perf_counter()
        result = await measure()
        elapsed = time.perf_counter() - started
    finally:
        writer.terminate()
        out, _ = await writer.communicate()
    return result, int(out.split()[-1]) / elapsed


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(
    name: str,
    elapsed: float,
    cpu: float,
    latencies: dict[str, list[float]],
    stalls: LoopStalls | None = None,
) -> dict[str, float]:
    every = [v for values in latencies.values() for v in values]
    rate = len(every) / elapsed
    p50, p99 = quantile(every, 0.5) * 1000, quantile(every, 0.99) * 1000
    cpu_ms = cpu / len(every) * 1000
    stall_ms = stalls.longest * 1000 if stalls is not None else float("nan")
    print(
        f"{name:<34} {rate:>7.0f} updates/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
        f"   CPU {cpu_ms:5.2f} ms/update   longest loop stall {stall_ms:6.1f} ms"
    )
    return {"rate": rate, "p50": p50, "p99": p99, "cpu_ms": cpu_ms, "stall_ms": stall_ms}


async def measured(feed, *args):  # type: ignore[no-untyped-def]
    """`feed(*args)` with the loop's stalls watched: its figures and the stall meter. The garbage
    collector's full pass runs before the watch starts (a pass over the kept objects takes a few
    hundred ms here: a stall of the benchmark's own making, not of the bot)."""
    gc.collect()
    async with LoopStalls() as stalls:
        figures = await feed(*args)
    return (*figures, stalls)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--residents", type=int, default=5_000)
    parser.add_argument("--updates", type=int, default=5_000)
    parser.add_argument("--dir", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--concurrency", type=int, default=8, help="updates in flight, as polling runs them"
    )
    parser.add_argument(
        "--database-url",
        help="run on PostgreSQL: a server URL with a user that may create databases, e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres (the demo database "
        "card_bench_<accounts> is built there once and reused)",
    )
    parser.add_argument(
        "--redis-url", help="dialogue state and throttling in Redis, e.g. redis://127.0.0.1:6379/0"
    )
    args = parser.parse_args()

    if args.database_url:
        url = await postgres_database(args.database_url, args.accounts)
    else:
        args.dir.mkdir(parents=True, exist_ok=True)
        path = args.dir / f"demo-{args.accounts}.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        if not path.exists():
            print(f"building {path} (once; later runs reuse it) …", flush=True)
            await build_database(url, args.accounts)
    await upgrade_async(url)
    rnd = random.Random(args.seed)
    settings = Settings(
        _env_file=None, bot_token=BOT_TOKEN, database_url=url, redis_url=args.redis_url,
        scheduler_enabled=False,
        render_workers=0, throttle_rate=1e9, throttle_burst=10**9,
    )  # fmt: skip
    engine = create_engine(url)
    session_factory = create_session_factory(engine)
    try:
        user_ids = await link_residents(session_factory, args.residents, rnd)
        updates = await workload(session_factory, user_ids, args.updates, rnd)
        async with session_factory() as session:
            accounts = await session.scalar(select(func.count(Account.id)))
            charges = await session.scalar(
                select(func.count()).select_from(Charge).where(Charge.account_id == 1)
            )
        print(
            f"database: {accounts} accounts × {charges} charge lines of the first one;"
            f" {args.residents} residents; "
            f"{len(updates)} updates (Python {sys.version.split()[0]})"
        )

        bot = create_bot(settings, session=RecordingSession())
        dp = create_dispatcher(settings, session_factory)
        echo_bot = create_bot(settings, session=RecordingSession())
        echo = echo_dispatcher()
        settle_heap()  # as `python -m bot` does before it serves updates
        # warm up both (imports, statement caches, SQLite page cache)
        await feed_all(dp, bot, updates[: min(500, len(updates))])
        await feed_all(echo, echo_bot, updates[: min(500, len(updates))])

        baseline = report(
            "bare dispatcher, one echo handler",
            *await measured(feed_all, echo, echo_bot, updates),
        )
        # the same residents sending text no feature takes: middlewares, the FSM storage and
        # every router's filters, then the fallback's answer; no account queries
        floor = [(kind, _as_unknown_text(update)) for kind, update in updates]
        gc.collect()
        report("full stack, fallback answer", *await feed_all(dp, bot, floor))
        # without the stall meter: its ticker wakes the loop every millisecond while an update
        # waits for the database, CPU that the baselines (the bare dispatcher, an older tree's
        # bench) do not pay; the stalls are watched in the runs with updates in flight
        gc.collect()
        elapsed, cpu, latencies = await feed_all(dp, bot, updates)
        result = report("card and month views, one by one", elapsed, cpu, latencies)
        if args.concurrency > 1:
            gc.collect()
            report(
                f"bare dispatcher, {args.concurrency} in flight",
                *await feed_concurrently(echo, echo_bot, updates, args.concurrency),
            )
            elapsed, cpu, latencies, stalls = await measured(
                feed_concurrently, dp, bot, updates, args.concurrency
            )
            result = report(
                f"card and month views, {args.concurrency} in flight",
                elapsed,
                cpu,
                latencies,
                stalls,
            )
        written = None
        if not args.database_url:
            (*figures, stalls), writer_rate = await with_writer(
                path,
                lambda: measured(feed_concurrently, dp, bot, updates, max(args.concurrency, 1)),
            )
            written = report(
                f"  … with a writer process ({writer_rate:,.0f} rows/s)", *figures, stalls
            )
        for kind in sorted(latencies):
            values = latencies[kind]
            print(
                f"  {kind:<22} n={len(values):<6} p50 {quantile(values, 0.5) * 1000:6.2f} ms"
                f"   p99 {quantile(values, 0.99) * 1000:6.2f} ms"
                f"   mean {statistics.fmean(values) * 1000:6.2f} ms"
            )
        print(
            f"real / bare: {result['rate'] / baseline['rate']:.2f} of the bare dispatcher's rate;"
            f" CPU-bound ceiling on one core: {1000 / result['cpu_ms']:.0f} views/s"
        )
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end of the run")
        ok = result["rate"] >= 300 and result["p99"] < 25
        print(f"targets (≥ 300 views/s, p99 < 25 ms): {'met' if ok else 'NOT met'}")
        line = {
            "views_per_s": round(result["rate"], 1),
            "p50_ms": round(result["p50"], 2),
            "p99_ms": round(result["p99"], 2),
            "cpu_ms_per_view": round(result["cpu_ms"], 2),
            "loop_stall_max_ms": round(result["stall_ms"], 1),
            "bare_per_s": round(baseline["rate"], 1),
            "concurrency": args.concurrency,
            "accounts": accounts,
            "load_average": round(load, 1),
        }
        if written is not None:
            line |= {
                "views_per_s_with_writer": round(written["rate"], 1),
                "p99_ms_with_writer": round(written["p99"], 2),
                "loop_stall_max_ms_with_writer": round(written["stall_ms"], 1),
                "writer_rows_per_s": round(writer_rate),
            }
        print(json.dumps(line))
        await bot.session.close()
        await echo_bot.session.close()
    finally:
        await engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
