"""The Mini App's fixtures: its real aiohttp application on the test database, and the golden
account linked to resident 1001."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import webapp
from bot.config import Settings
from tests import factories

WEBAPP_URL = "https://bot.example.org/app/"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webapp_url": WEBAPP_URL})


@pytest.fixture
async def golden_resident(session):
    person = await factories.resident(session)
    account = await factories.golden(session)
    await factories.link(session, person, account)
    await session.commit()
    return person, account


@pytest.fixture
async def api(settings, session_factory) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(webapp.create_app(settings, session_factory))) as client:
        yield client
