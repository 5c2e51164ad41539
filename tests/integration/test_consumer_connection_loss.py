"""A job consumer whose database goes away (a restart, a failover, a cut network) says
so in a warning and connects again when it is back: no ERROR with a stack trace for an
expected outage (an operator's alert would fire on it)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from tests.support.db_switch import database_switch
from tests.support.jobs import consuming

CONSUMERS = text(
    "SELECT pid FROM pg_stat_activity "
    "WHERE application_name = 'ecommerce-consumer' AND datname = current_database()"
)


async def _wait_for_consumer(engine: AsyncEngine, other_than: set[int]) -> set[int]:
    """The server pids of consumer connections other than ``other_than``, once there."""
    for _ in range(400):
        async with engine.connect() as conn:
            pids = set((await conn.execute(CONSUMERS)).scalars()) - other_than
        if pids:
            return pids
        await asyncio.sleep(0.05)
    raise AssertionError("no consumer connection within 20 s")


async def test_a_lost_database_is_a_warning_and_the_consumer_comes_back(
    settings: Settings,
    database_url: str,
    admin_engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    with database_switch(database_url) as switch:
        through_switch = settings.model_copy(update={"database_url": switch.url})
        async with consuming(through_switch):
            first = await _wait_for_consumer(admin_engine, set())
            switch.cut()  # every connection dropped, no error message from the server
            await asyncio.sleep(1.5)
            switch.restore()
            await _wait_for_consumer(admin_engine, first)

    records = [r for r in caplog.records if r.name == "ecommerce.services.consumer"]
    assert any("lost the database" in r.getMessage() for r in records)
    # Nobody logs the outage as an error: neither the consumer nor pgqueuer under it.
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
