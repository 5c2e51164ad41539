"""Carts untouched for ECOMMERCE_CART_TTL_HOURS: 404 at once, deleted by the sweep."""

from __future__ import annotations

import asyncio

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.services.cart_expiry import sweep_expired_carts
from tests.support.carts import add_line, cart_with, new_cart
from tests.support.shop import new_product


async def _age(engine: AsyncEngine, cart_ids: list[str], hours: float) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE cart SET updated_at = now() - make_interval(secs => :s) "
                "WHERE id = ANY(:ids)"
            ),
            {"s": hours * 3600, "ids": cart_ids},
        )


async def _cart_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM cart")) or 0)


async def test_an_expired_cart_is_404(
    client: AsyncClient,
    admin_engine: AsyncEngine,
    admin_headers: dict[str, str],
    settings: Settings,
) -> None:
    product = await new_product(client, admin_headers, stock=5)
    cart = await cart_with(client, [(product["id"], 1)])
    fresh = await new_cart(client)
    await _age(admin_engine, [cart["id"]], settings.cart_ttl_hours + 0.01)
    url = f"/api/v1/carts/{cart['id']}"
    assert (await client.get(url)).status_code == 404
    assert (await add_line(client, cart["id"], product["id"])).status_code == 404
    assert (await client.patch(url, json={"email": "a@b.co"})).status_code == 404
    assert (await client.get(f"{url}/shipping-options")).status_code == 404
    # Just under the TTL it is alive, and a write starts its TTL again.
    await _age(admin_engine, [fresh["id"]], settings.cart_ttl_hours - 0.01)
    touched = await add_line(client, fresh["id"], product["id"])
    assert touched.status_code == 200
    assert touched.json()["expires_at"] > fresh["expires_at"]


async def test_sweepers_delete_each_expired_cart_once(
    client: AsyncClient, admin_engine: AsyncEngine, settings: Settings, database_url: str
) -> None:
    expired = [(await new_cart(client))["id"] for _ in range(30)]
    alive = [(await new_cart(client))["id"] for _ in range(5)]
    await _age(admin_engine, expired, settings.cart_ttl_hours + 1)
    databases = [Database.connect(settings, database_url) for _ in range(3)]
    try:
        # Three workers (or instances) sweeping at once share the work without errors.
        counts = await asyncio.gather(*(sweep_expired_carts(db, settings) for db in databases))
    finally:
        for db in databases:
            await db.dispose()
    assert sum(counts) == 30
    assert await _cart_count(admin_engine) == 5
    for cart_id in alive:
        assert (await client.get(f"/api/v1/carts/{cart_id}")).status_code == 200
