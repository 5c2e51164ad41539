"""Running the job consumer inside a test, on the test's database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.services import consumer
from ecommerce.services.consumer import Consumer


@asynccontextmanager
async def consuming(settings: Settings) -> AsyncIterator[Consumer]:
    """A consumer like a web worker's, on a pool of its own, for the life of the block."""
    assert settings.database_url is not None
    database = Database.connect(settings, settings.database_url)
    try:
        async with consumer.consuming(settings, database, settings.database_url) as running:
            yield running
    finally:
        await database.dispose()
