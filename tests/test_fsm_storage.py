"""Dialogue state lives in the database: a new storage object (a restarted bot) sees it."""

import asyncio
from collections.abc import Iterator

import pytest
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Message
from sqlalchemy import event

from storage.fsm import ChatLocks, DatabaseStorage
from storage.models import FsmRecord
from tests.harness import BotClient


@pytest.fixture
def state_reads(engine) -> Iterator[list[str]]:
    """The SELECTs of dialogue state the database receives (SQLAlchemy's statement events)."""
    reads: list[str] = []

    def record(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and FsmRecord.__tablename__ in statement:
            reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    yield reads
    event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_state_and_data_survive_a_new_storage(session_factory) -> None:
    key = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
    first = DatabaseStorage(session_factory)
    await first.set_state(key, "Registration:phone")
    await first.set_data(key, {"agreed": True})
    await first.close()

    second = DatabaseStorage(session_factory)
    assert await second.get_state(key) == "Registration:phone"
    assert await second.get_data(key) == {"agreed": True}

    await second.set_state(key, None)
    await second.set_data(key, {})
    assert await second.get_state(key) is None
    assert await second.get_data(key) == {}


async def test_the_cache_is_written_through_and_reads_as_the_database_does(
    session_factory,
) -> None:
    key = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
    cached = DatabaseStorage(session_factory, cache_size=100)
    await cached.set_state(key, "Readings:confirm")
    await cached.set_data(key, {"values": (1, 2), 7: "seven"})
    # what the database gives back (JSON: lists, string keys), from the cache as from a row
    expected = {"values": [1, 2], "7": "seven"}
    assert await cached.get_data(key) == expected
    (await cached.get_data(key))["values"].append(3)  # a caller's change stays the caller's
    assert await cached.get_data(key) == expected
    restarted = DatabaseStorage(session_factory)
    assert await restarted.get_state(key) == "Readings:confirm"
    assert await restarted.get_data(key) == expected


async def test_erasing_a_users_state_empties_the_cache_too(session_factory) -> None:
    from storage.fsm import erase_user_state

    mine = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
    other = StorageKey(bot_id=42, chat_id=1002, user_id=1002)
    cached = DatabaseStorage(session_factory, cache_size=100)
    for key in (mine, other):
        await cached.set_state(key, "Appeal:text")
        assert await cached.get_state(key) == "Appeal:text"
    async with session_factory() as session:
        await erase_user_state(session, 1001)
        await session.commit()
    assert await cached.get_state(mine) is None
    assert await cached.get_data(mine) == {}
    assert await cached.get_state(other) == "Appeal:text"


async def test_the_cache_is_bounded(session_factory, state_reads) -> None:
    cached = DatabaseStorage(session_factory, cache_size=2)
    keys = [StorageKey(bot_id=42, chat_id=n, user_id=n) for n in (1, 2, 3)]
    for n, key in enumerate(keys):
        await cached.set_state(key, f"S:{n}")
    state_reads.clear()
    assert [await cached.get_state(key) for key in keys[1:]] == ["S:1", "S:2"]
    assert state_reads == []  # the two latest from memory
    assert await cached.get_state(keys[0]) == "S:0"
    assert len(state_reads) == 1  # the oldest no longer kept: read from the database


async def test_users_without_a_dialogue_read_nothing_after_a_start(
    session_factory, state_reads
) -> None:
    """A start loads the few rows there are; a user the cache does not hold has no row, so
    their first update reads nothing."""
    midway = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
    await DatabaseStorage(session_factory).set_state(midway, "Appeal:text")
    started = DatabaseStorage(session_factory, cache_size=100)
    state_reads.clear()
    newcomers = [StorageKey(bot_id=42, chat_id=n, user_id=n) for n in (2001, 2002, 2003)]
    assert [await started.get_state(key) for key in newcomers] == [None, None, None]
    assert await started.get_state(midway) == "Appeal:text"
    assert len(state_reads) == 1  # the load at the first read, nothing per user
    # what this process writes is kept: a newcomer's dialogue, and its end
    await started.set_state(newcomers[0], "Readings:confirm")
    await started.set_data(newcomers[0], {"meter": 7})
    await started.set_state(midway, None)
    state_reads.clear()
    assert await started.get_state(newcomers[0]) == "Readings:confirm"
    assert await started.get_data(newcomers[0]) == {"meter": 7}
    assert await started.get_state(midway) is None
    assert state_reads == []
    restarted = DatabaseStorage(session_factory)
    assert await restarted.get_data(newcomers[0]) == {"meter": 7}
    assert await restarted.get_state(midway) is None


async def test_too_many_rows_or_an_erasure_and_a_miss_reads_the_row(
    session_factory, state_reads
) -> None:
    from storage.fsm import erase_user_state

    keys = [StorageKey(bot_id=42, chat_id=n, user_id=n) for n in (1, 2, 3)]
    for n, key in enumerate(keys):
        await DatabaseStorage(session_factory).set_state(key, f"S:{n}")
    small = DatabaseStorage(session_factory, cache_size=2)  # three rows do not fit
    state_reads.clear()
    assert await small.get_state(keys[2]) == "S:2"
    assert await small.get_state(StorageKey(bot_id=42, chat_id=9, user_id=9)) is None
    assert len(state_reads) == 3  # the attempt to load, then each miss

    whole = DatabaseStorage(session_factory, cache_size=100)
    assert await whole.get_state(keys[0]) == "S:0"
    async with session_factory() as session:
        await erase_user_state(session, 1)
        await session.rollback()  # an erasure that did not happen: the row is still there
    state_reads.clear()
    assert await whole.get_state(keys[0]) == "S:0"
    assert len(state_reads) == 1


async def test_only_the_embedded_default_caches(settings, session_factory, state_reads) -> None:
    """On PostgreSQL several processes share the state: each read goes to the database."""
    from bot.app import create_fsm_storage

    sqlite = settings.model_copy(update={"database_url": "sqlite+aiosqlite:///x.sqlite3",
                                         "redis_url": None})  # fmt: skip
    postgres = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://u@127.0.0.1/db", "redis_url": None}
    )
    key = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
    other = StorageKey(bot_id=42, chat_id=1002, user_id=1002)
    for configured, reads in ((sqlite, 0), (postgres, 1)):
        storage = create_fsm_storage(configured, session_factory)
        await storage.get_state(other)  # a first update (the cache loads what there is)
        await storage.set_state(key, "Appeal:text")
        state_reads.clear()
        assert await storage.get_state(key) == "Appeal:text"
        assert len(state_reads) == reads, configured.database_url


async def test_chat_locks_serialize_one_chat_and_are_dropped_when_unused() -> None:
    import gc
    import tracemalloc

    locks = ChatLocks()
    anna, boris = (StorageKey(bot_id=42, chat_id=n, user_id=n) for n in (1001, 1002))
    order: list[str] = []
    inside = asyncio.Event()

    async def first() -> None:
        async with locks.lock(anna):
            order.append("anna 1 in")
            inside.set()
            await asyncio.sleep(0.05)
            order.append("anna 1 out")

    async def second() -> None:
        await inside.wait()
        async with locks.lock(anna):
            order.append("anna 2")

    async def other() -> None:
        await inside.wait()
        async with locks.lock(boris):  # another chat does not wait
            order.append("boris")

    await asyncio.gather(first(), second(), other())
    assert order == ["anna 1 in", "boris", "anna 1 out", "anna 2"]

    # nothing kept for chats that are quiet: 5 000 chats seen once leave no memory behind
    # (a lock kept per chat would hold over 1 MB)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for chat in range(5_000):
            async with locks.lock(StorageKey(bot_id=42, chat_id=chat, user_id=chat)):
                pass
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 200_000, kept
    assert locks.in_use() == 0


def busy_bot(locks: ChatLocks) -> tuple[Dispatcher, asyncio.Event, asyncio.Event, list[str]]:
    """A dispatcher over `locks` whose "slow" update waits for `release` once `entered`."""
    from bot import apology

    entered, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []
    dp = Dispatcher(events_isolation=locks)
    dp.include_router(apology.router())

    async def handle(message: Message) -> None:  # (no filters: aiogram runs sync ones in threads)
        if message.text == "slow":
            order.append("slow in")
            entered.set()
            await release.wait()
            order.append("slow out")
            await message.answer("готово")
        else:
            order.append("fast")
            await message.answer("быстро")

    dp.message.register(handle)
    return dp, entered, release, order


async def test_a_shutdown_during_a_busy_update_lets_it_finish_alone(bot: Bot) -> None:
    """Fault 2 of issue 12: the shutdown closed the chat locks under a running update; the next
    update of the same chat ran beside it, and the first one ended in a KeyError (the resident
    got the apology instead of the answer)."""
    locks = ChatLocks()
    dp, entered, release, order = busy_bot(locks)
    anna = BotClient(dp, bot)
    slow = asyncio.create_task(anna.send("slow"))
    await entered.wait()
    await dp.emit_shutdown(bot=bot)  # aiogram closes the events isolation here
    fast = asyncio.create_task(anna.send("fast"))  # an update already fetched
    for _ in range(100):  # no I/O here: ample turns of the loop for "fast" to run if it may
        await asyncio.sleep(0)
    release.set()
    await asyncio.gather(slow, fast)
    assert order == ["slow in", "slow out", "fast"]
    said = anna.texts(anna.session.requests)  # (the two feeds overlap in anna.replies)
    assert said == ["готово", "быстро"]  # no apology (tc.ERROR)
    assert locks.in_use() == 0
