"""Dialogue state lives in the database: a new storage object (a restarted bot) sees it."""

from aiogram.fsm.storage.base import StorageKey

from storage.fsm import DatabaseStorage


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
