"""The product trigger NOTIFYs committed changes; the listener hears them and reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.pg_listener import PgListener
from ecommerce.services.catalog_cache import CHANNEL
from tests.support.factories import create_product


class Heard:
    def __init__(self) -> None:
        self.payloads: asyncio.Queue[str] = asyncio.Queue()
        self.events: list[str] = []

    def message(self, payload: str) -> None:
        self.payloads.put_nowait(payload)

    async def next(self) -> str:
        return await asyncio.wait_for(self.payloads.get(), 10)


@pytest.fixture
async def listening(admin_engine: AsyncEngine) -> AsyncIterator[tuple[PgListener, Heard]]:
    heard = Heard()
    listener = PgListener.for_engine(
        admin_engine,
        CHANNEL,
        on_message=heard.message,
        on_connected=lambda: heard.events.append("connected"),
        on_lost=lambda: heard.events.append("lost"),
        check_interval=0.2,
    )
    task = asyncio.create_task(listener.run())
    assert await listener.wait_connected(10)
    yield listener, heard
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_committed_changes_are_announced_with_their_ids(
    admin_engine: AsyncEngine, listening: tuple[PgListener, Heard]
) -> None:
    _, heard = listening
    product = await create_product(admin_engine, "NOTIFY-1", "Notified mug", 900)
    assert await heard.next() == str(product.id)
    async with admin_engine.begin() as conn:
        await conn.execute(
            text("UPDATE product SET price = 950 WHERE id = :id"), {"id": product.id}
        )
    assert await heard.next() == str(product.id)


async def test_a_rolled_back_change_is_not_announced(
    admin_engine: AsyncEngine, listening: tuple[PgListener, Heard]
) -> None:
    _, heard = listening
    first = await create_product(admin_engine, "NOTIFY-2", "Kept", 100)
    second = await create_product(admin_engine, "NOTIFY-3", "Rolled back", 100)
    assert await heard.next() == str(first.id)
    assert await heard.next() == str(second.id)
    async with admin_engine.connect() as conn:
        await conn.execute(text("UPDATE product SET price = 1 WHERE id = :id"), {"id": first.id})
        await conn.rollback()
    async with admin_engine.begin() as conn:
        await conn.execute(text("UPDATE product SET price = 2 WHERE id = :id"), {"id": second.id})
    assert await heard.next() == str(second.id)  # and nothing about the first


async def test_many_rows_or_a_truncate_announce_everything(
    admin_engine: AsyncEngine, listening: tuple[PgListener, Heard]
) -> None:
    _, heard = listening
    async with admin_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO product (sku, name, price, currency, stock) "
                "SELECT 'BULK-' || i, 'Bulk ' || i, 100, 'USD', 1 FROM generate_series(1, 501) i"
            )
        )
    assert await heard.next() == "*"
    async with admin_engine.begin() as conn:
        await conn.execute(text("TRUNCATE product CASCADE"))
    assert await heard.next() == "*"


async def test_the_listener_reconnects_after_losing_its_connection(
    admin_engine: AsyncEngine, listening: tuple[PgListener, Heard]
) -> None:
    listener, heard = listening
    async with admin_engine.begin() as conn:
        killed = await conn.scalar(
            text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.server_pid}
        )
    assert killed is True
    for _ in range(200):
        if heard.events == ["connected", "lost", "connected"]:
            break
        await asyncio.sleep(0.05)
    assert heard.events == ["connected", "lost", "connected"]
    product = await create_product(admin_engine, "NOTIFY-4", "After the reconnect", 100)
    assert await heard.next() == str(product.id)
    assert listener.connected


async def test_a_listener_keeps_trying_while_the_database_is_unreachable() -> None:
    heard = Heard()
    listener = PgListener(
        {"host": "127.0.0.1", "port": 1, "user": "nobody", "database": "none"},
        CHANNEL,
        on_message=heard.message,
        on_connected=lambda: heard.events.append("connected"),
        on_lost=lambda: heard.events.append("lost"),
        connect_timeout=0.5,
    )
    task = asyncio.create_task(listener.run())
    assert not await listener.wait_connected(0.5)
    assert not task.done()  # still trying, not crashed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert heard.events == []
