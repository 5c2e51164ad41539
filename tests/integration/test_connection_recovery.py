"""Without a ping per checkout, connections the server dropped are still never a 500:
the pool replaces those it knows closed, and a request that meets a dead one answers 503
once, invalidating it; the next requests are served on new connections."""

from __future__ import annotations

import asyncio

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from ecommerce.core.database import APPLICATION_NAME
from tests.support.factories import new_product

Headers = dict[str, str]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Catalog cache off: every product read goes to the database here.
    return settings.model_copy(update={"catalog_cache_ttl": 0.0})


async def drop_service_connections(engine: AsyncEngine) -> int:
    """What a database restart does to the service's pooled connections."""
    async with engine.begin() as conn:
        killed = await conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name"
            ),
            {"name": APPLICATION_NAME},
        )
    return int(killed or 0)


async def statuses_after_drop(client: AsyncClient, url: str, headers: Headers) -> list[int]:
    statuses = []
    for _ in range(5):
        response = await client.get(url, headers=headers)
        statuses.append(response.status_code)
        if response.status_code == 200:
            break
        await asyncio.sleep(0.05)
    return statuses


async def test_reads_recover_after_the_server_drops_every_connection(
    client: AsyncClient,
    admin_headers: Headers,
    customer_headers: Headers,
    admin_engine: AsyncEngine,
) -> None:
    product = await new_product(client, admin_headers, stock=1)
    routes = [
        (f"/api/v1/products/{product['id']}", {}),  # the driver-level read path
        ("/api/v1/products?limit=5", {}),
        ("/api/v1/users/me", customer_headers),  # SQLAlchemy sessions
        ("/api/v1/orders", customer_headers),
    ]
    for url, headers in routes:  # every path has pooled connections now
        assert (await client.get(url, headers=headers)).status_code == 200
    for url, headers in routes:
        assert await drop_service_connections(admin_engine) >= 1
        statuses = await statuses_after_drop(client, url, headers)
        assert statuses[-1] == 200, (url, statuses)
        assert set(statuses) <= {200, 503}, (url, statuses)  # never a 500
        assert len(statuses) <= 2, (url, statuses)  # at most the one request that met it
