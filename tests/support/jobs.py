"""Running the job consumer inside a test, on the test's database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.services.consumer import Consumer, running
from ecommerce.services.mailer import Mailer
from ecommerce.services.webhook_client import WebhookClient


@asynccontextmanager
async def consuming(settings: Settings) -> AsyncIterator[Consumer]:
    """A consumer like a web worker's, on its own pool, for the life of the block."""
    assert settings.database_url is not None
    database = Database.connect(settings, settings.database_url)
    webhooks = WebhookClient.open(settings)
    try:
        consumer = Consumer(
            settings=settings,
            database=database,
            url=settings.database_url,
            webhooks=webhooks,
            mailer=Mailer(settings),
            concurrency=settings.worker_concurrency,
        )
        async with running(consumer):
            yield consumer
    finally:
        await webhooks.close()
        await database.dispose()
