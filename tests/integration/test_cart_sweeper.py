"""The app's own periodic sweep deletes expired carts (ECOMMERCE_CART_SWEEP_INTERVAL)."""

from __future__ import annotations

import asyncio
import time

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from tests.support.carts import new_cart


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cart_sweep_interval": 0.2})


async def test_the_running_service_deletes_expired_carts(
    client: AsyncClient, admin_engine: AsyncEngine, settings: Settings
) -> None:
    old = await new_cart(client)
    fresh = await new_cart(client)
    async with admin_engine.begin() as conn:
        await conn.execute(
            text("UPDATE cart SET updated_at = now() - make_interval(hours => :h) WHERE id = :id"),
            {"h": settings.cart_ttl_hours + 1, "id": old["id"]},
        )
    deadline = time.monotonic() + 30
    while True:
        async with admin_engine.connect() as conn:
            left = set((await conn.execute(text("SELECT id FROM cart"))).scalars())
        if old["id"] not in left or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert left == {fresh["id"]}
