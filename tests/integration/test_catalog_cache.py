"""The catalog cache over HTTP: read your writes, other instances hear of changes, off switch.

Two apps with their own lifespans against one database are two instances (each has its
own cache and its own LISTEN connection), as two gunicorn workers or two machines are.
The TTL is long here, so a change that shows up was announced, not timed out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from ecommerce.core.pg_listener import APPLICATION_NAME
from ecommerce.main import create_app
from ecommerce.services.catalog_cache import CatalogCache
from tests.support.factories import new_customer, new_product, order_body
from tests.support.lifespan import running

Headers = dict[str, str]
T = TypeVar("T")
LONG_TTL = 600.0
ANNOUNCED_WITHIN = 10.0  # seconds a test waits for a change to show (the TTL is far longer)


@asynccontextmanager
async def instance(settings: Settings) -> AsyncIterator[tuple[AsyncClient, CatalogCache]]:
    app = create_app(settings)
    async with running(app) as live:
        transport = ASGITransport(app=live.asgi, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            assert live.resources.catalog_cache.active, "the listener did not connect"
            yield http, live.resources.catalog_cache


@pytest.fixture
def cached_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"catalog_cache_ttl": LONG_TTL})


async def price_of(http: AsyncClient, product_id: int) -> int:
    response = await http.get(f"/api/v1/products/{product_id}")
    assert response.status_code == 200, response.text
    price: int = response.json()["price"]
    return price


async def eventually(read: Callable[[], Awaitable[T]], wanted: T) -> T:
    seen = await read()
    deadline = asyncio.get_running_loop().time() + ANNOUNCED_WITHIN
    while seen != wanted and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
        seen = await read()
    return seen


async def change_unannounced(engine: AsyncEngine, product_id: int, price: int) -> None:
    """Change a price with triggers off (a replica's apply mode): no NOTIFY goes out."""
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(
            text("UPDATE product SET price = :price WHERE id = :id"),
            {"price": price, "id": product_id},
        )


async def test_reads_come_from_memory_within_the_ttl(
    cached_settings: Settings, admin_headers: Headers, admin_engine: AsyncEngine
) -> None:
    async with instance(cached_settings) as (http, cache):
        product = await new_product(http, admin_headers, stock=5, price=1000)
        # The insert's own announcement arrives on its own time: let it pass first.
        assert await eventually(lambda: asyncio.sleep(0, cache.notifications), 1) == 1
        assert await price_of(http, product["id"]) == 1000
        await change_unannounced(admin_engine, product["id"], 1234)
        assert await price_of(http, product["id"]) == 1000  # served from memory
        assert len(cache) == 1


async def test_the_writer_reads_its_write_at_once(
    cached_settings: Settings, admin_headers: Headers
) -> None:
    async with instance(cached_settings) as (http, _):
        product = await new_product(http, admin_headers, stock=5, price=1000)
        assert await price_of(http, product["id"]) == 1000
        first_page = await http.get("/api/v1/products")
        assert first_page.json()["items"][0]["price"] == 1000
        patched = await http.patch(
            f"/api/v1/products/{product['id']}", json={"price": 1500}, headers=admin_headers
        )
        assert patched.status_code == 200
        # The very next reads, with no chance for a notification to arrive in between.
        assert await price_of(http, product["id"]) == 1500
        assert (await http.get("/api/v1/products")).json()["items"][0]["price"] == 1500
        restocked = await http.post(
            f"/api/v1/products/{product['id']}/stock", json={"delta": 7}, headers=admin_headers
        )
        assert restocked.status_code == 200
        assert (await http.get(f"/api/v1/products/{product['id']}")).json()["stock"] == 12


async def test_another_instance_hears_of_a_price_change(
    cached_settings: Settings, admin_headers: Headers
) -> None:
    async with instance(cached_settings) as (writer, _), instance(cached_settings) as (other, _):
        product = await new_product(writer, admin_headers, stock=5, price=1000)
        assert await price_of(other, product["id"]) == 1000  # now in the other's cache
        search = {"q": product["sku"]}
        assert (await other.get("/api/v1/products", params=search)).json()["items"][0][
            "price"
        ] == 1000
        patched = await writer.patch(
            f"/api/v1/products/{product['id']}", json={"price": 2500}, headers=admin_headers
        )
        assert patched.status_code == 200
        assert await eventually(lambda: price_of(other, product["id"]), 2500) == 2500

        async def searched_price() -> int:
            page = await other.get("/api/v1/products", params=search)
            price: int = page.json()["items"][0]["price"]
            return price

        assert await eventually(searched_price, 2500) == 2500


async def test_a_checkout_elsewhere_shows_in_the_stock(
    cached_settings: Settings, admin_headers: Headers
) -> None:
    async with instance(cached_settings) as (shop, _), instance(cached_settings) as (reader, _):
        product = await new_product(shop, admin_headers, stock=5, price=1000)

        async def stock() -> int:
            response = await reader.get(f"/api/v1/products/{product['id']}")
            value: int = response.json()["stock"]
            return value

        assert await stock() == 5
        customer = await new_customer(shop)
        order = await shop.post(
            "/api/v1/orders", json=order_body((product["id"], 2)), headers=customer
        )
        assert order.status_code == 201, order.text
        assert await eventually(stock, 3) == 3


async def test_a_lost_listener_empties_the_cache_until_it_listens_again(
    cached_settings: Settings, admin_headers: Headers, admin_engine: AsyncEngine
) -> None:
    async with instance(cached_settings) as (http, cache):
        product = await new_product(http, admin_headers, stock=5, price=1000)
        assert await price_of(http, product["id"]) == 1000
        await change_unannounced(admin_engine, product["id"], 1111)
        async with admin_engine.begin() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": APPLICATION_NAME},
            )
        # Whether still reconnecting (suspended) or back (emptied on resume): not stale.
        assert await eventually(lambda: price_of(http, product["id"]), 1111) == 1111
        assert await eventually(lambda: asyncio.sleep(0, cache.active), True)


async def test_the_cache_can_be_turned_off(
    settings: Settings, admin_headers: Headers, admin_engine: AsyncEngine
) -> None:
    off = settings.model_copy(update={"catalog_cache_ttl": 0.0})
    app = create_app(off)
    async with running(app) as live:
        transport = ASGITransport(app=live.asgi, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            product = await new_product(http, admin_headers, stock=5, price=1000)
            assert await price_of(http, product["id"]) == 1000
            await change_unannounced(admin_engine, product["id"], 4321)
            assert await price_of(http, product["id"]) == 4321
            assert not live.resources.catalog_cache.active
            assert len(live.resources.catalog_cache) == 0
